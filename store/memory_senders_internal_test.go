package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// TestSenderRecordsFollowTheBots: the store forgets a sender once no bot
// holds a slot, a departure or a group of sessions on it - senders a bot
// dropped, a deleted bot's, a closed test session's (R26) - so memory for
// senders no bot names stays bounded; a sender a live bot serves, or one
// it left Active on (R20's departure), is kept.
func TestSenderRecordsFollowTheBots(t *testing.T) {
	ctx := context.Background()
	st := NewMemory(WithRetention(0))
	clk := &atomicClock{}
	clk.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	mia := lifecycle.User("mia")
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.GrantRole(ctx, lifecycle.System("test"), "mia", roles.Manager))
	def, err := lifecycle.ReferenceDefinition(validate.Definition{EntryDialog: "a", FallbackDialog: "a", Dialogs: []validate.Dialog{{ID: "a", Name: "a", Elements: []validate.Element{{Type: validate.Close}}}}})
	if err != nil {
		t.Fatal(err)
	}
	records := func() (n int) {
		sp := st.read("")
		for i := range sp.shards {
			sp.shards[i].mu.Lock()
			n += len(sp.shards[i].senders)
			sp.shards[i].mu.Unlock()
		}
		return n
	}
	senders := make([]lifecycle.Sender, 50)
	for i := range senders {
		senders[i] = lifecycle.Sender{Channel: "sms", Address: fmt.Sprintf("+1555%04d", i)}
	}
	live, err := m.Create(ctx, mia, lifecycle.Create{Name: "live", Channel: "sms", Senders: senders[:1], Definition: def})
	if err != nil {
		t.Fatal(err)
	}
	must(m.Activate(ctx, mia, live.ID, lifecycle.Decision{}, lifecycle.Ack{}))
	draft, err := m.Create(ctx, mia, lifecycle.Create{Name: "draft", Channel: "sms", Senders: senders[1:], Definition: def})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		ts, err := m.OpenTestSession(ctx, mia, draft.ID)
		if err != nil {
			t.Fatal(err)
		}
		must(m.CloseTestSession(ctx, mia, ts.ID))
	}
	must(m.Update(ctx, mia, lifecycle.Update{Bot: draft.ID, Senders: &[]lifecycle.Sender{senders[1]}}))
	if n := records(); n > 2 {
		t.Errorf("after the draft dropped 48 senders and closed its test sessions: %d sender records, want at most 2", n)
	}
	must(nil, m.Delete(ctx, mia, draft.ID))
	must(m.Deactivate(ctx, mia, live.ID, 0))
	if n := records(); n != 1 {
		t.Errorf("after the draft was deleted: %d sender records, want 1 (the live bot's departure, R20)", n)
	}
}
