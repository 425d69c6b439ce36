package lifecycle_test

import (
	"errors"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/google/go-cmp/cmp"
)

func importDraft(t *testing.T, id lifecycle.BotID, data []byte) (lifecycle.Bot, error) {
	p, err := lifecycle.Decide(lifecycle.Snapshot{Actor: designer, ActorRoles: roles.MustSet(roles.Designer)}, lifecycle.Import{ID: id, Data: data}, start)
	if err != nil {
		return lifecycle.Bot{}, err
	}
	b, ok := p.Bot(id)
	if !ok {
		t.Fatalf("import plan has no bot %s: %+v", id, p)
	}
	return b, nil
}

// R13: import yields an error or a Draft that round-trips; it never panics.
func FuzzImport(f *testing.F) {
	b := lifecycle.Bot{Name: "Support", Description: "d", Channel: "sms", Senders: []lifecycle.Sender{sms("+15550100")}, Definition: cleanDef(), IdleTimeout: 1800e9}
	doc, err := lifecycle.EncodeExport(b)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(doc)
	f.Add([]byte(`{"format":"botlife.chatbot","version":2,"name":"x","channel":"livechat","senders":[{"channel":"livechat","address":"w1"}],"idle_timeout":"1m","definition":{"format":"botlife.reference/v1","text":"{\"entry_dialog\":\"\",\"dialogs\":null}"}}`))
	f.Add([]byte(`{"format":"botlife.chatbot","version":2,"name":"x","channel":"sms","senders":[],"idle_timeout":"1m","definition":{"format":"acme.flow/v1","text":"start: a"}}`))
	f.Add([]byte(`{"format":"botlife.chatbot","version":3}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		first, err := importDraft(t, "a", data)
		if err != nil {
			if !errors.Is(err, lifecycle.ErrInvalidInput) {
				t.Fatalf("import error %v does not wrap ErrInvalidInput", err)
			}
			return
		}
		if first.State != lifecycle.Draft {
			t.Fatalf("imported a %v bot", first.State)
		}
		out, err := lifecycle.EncodeExport(first)
		if err != nil {
			t.Fatalf("export of an imported bot: %v", err)
		}
		second, err := importDraft(t, "a", out)
		if err != nil {
			t.Fatalf("re-import of an export failed: %v\n%s", err, out)
		}
		if diff := cmp.Diff(first, second); diff != "" {
			t.Fatalf("import(export(b)) != b (-b +again):\n%s", diff)
		}
		again, _ := lifecycle.EncodeExport(second)
		if string(again) != string(out) {
			t.Fatalf("export(import(x)) != x for x = export(b):\n%s\n%s", out, again)
		}
	})
}
