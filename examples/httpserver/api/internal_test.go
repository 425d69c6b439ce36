package api

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// problemOf maps each sentinel to its kind through a wrapping error, and
// the types are unique.
func TestProblemTable(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Problems() {
		if seen[k.Type()] {
			t.Errorf("type %s twice", k.Type())
		}
		seen[k.Type()] = true
		if k.Sentinel == nil {
			continue
		}
		p := problemOf(fmt.Errorf("op: %w", k.Sentinel))
		if p.Type != k.Type() && !errors.Is(k.Sentinel, lifecycle.ErrForbidden) {
			t.Errorf("%v maps to %s, want %s", k.Sentinel, p.Type, k.Type())
		}
	}
	if p := problemOf(errors.New("boom")); p.Status != 500 || strings.Contains(p.Detail, "boom") {
		t.Errorf("an unknown error: %+v", p)
	}
	if p := problemOf(fmt.Errorf("store: %w", lifecycle.ErrUnavailable)); p.Status != 503 || strings.Contains(p.Detail, "store:") {
		t.Errorf("unavailable: %+v", p)
	}
}

// FuzzDecodeBody: the one body decoder never panics, refuses with a 400
// problem, and what it accepts decodes again to the same value; an
// activation it accepts has a sound decision, and senders it names (R22)
// are passed on as given.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{``, `{}`, ` `, `{"decision":"grace:15m","ack":{"codes":["x"]}}`,
		`{"decision":"immediate","ack":{"fingerprint":"ab"}}`, `{"x":1}`, `[]`, `{"decision":"grace:-1s"}`,
		`{} {"decision":"immediate"} ###`, `{"Decision":"immediate"}`, `{"decision":"immediate","decision":""}`,
		`{"ack":{"codes":["a"],"codes":[]}}`, "{\"decision\":\"\xff\"}", `null`, `{"ack":null}`,
		`{"senders":[{"address":"+15550100"}]}`, `{"senders":[{"address":"1","address":"2"}]}`, `{"senders":{}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := decodeActivate(data, "bot-1")
		if err != nil {
			p := problemOf(err)
			if p.Status != 400 {
				t.Fatalf("refusal %+v", p)
			}
			return
		}
		if grace, ok := a.Decision.GracePeriod(); ok && grace <= 0 {
			t.Fatalf("accepted grace %v", grace)
		}
		var again activateRequest
		if err := decodeJSON(data, &again, bodyMayBeEmpty); err != nil {
			t.Fatalf("second decode: %v", err)
		}
		if again.Ack.Fingerprint != a.Ack.Fingerprint || len(again.Ack.Codes) != len(a.Ack.Codes) || len(again.Senders) != len(a.Senders) || a.Bot != "bot-1" {
			t.Fatalf("decoded differently: %+v vs %+v", again, a)
		}
	})
}

// TestOccupiedSpeaksHTTP: a 409 sender-occupied tells an HTTP client what
// to send, not which Go function to call (issue 28).
func TestOccupiedSpeaksHTTP(t *testing.T) {
	err := &lifecycle.OccupiedError{Op: lifecycle.OpActivate, Bot: "bot-2", Occupants: []lifecycle.Occupant{
		{Sender: lifecycle.Sender{Channel: "sms", Address: "+15550100"}, Bot: "bot-1", Name: "Pizza"}}}
	p := problemOf(err)
	if !strings.Contains(p.Detail, `{"decision":"grace:15m"}`) || strings.Contains(p.Detail, "Grace(d)") || strings.Contains(p.Detail, "Immediate()") {
		t.Errorf("the detail speaks Go, not HTTP: %q", p.Detail)
	}
}

// A kept plan decodes to the very plan kept (R17: ApplyPlan compares the
// plan it decides again with it value for value), for every command a dry
// run can plan, empty slices and decisions included.
func TestKeptPlanRoundTrip(t *testing.T) {
	at := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	s := []lifecycle.Sender{{Channel: "sms", Address: "+15550100"}}
	name, none := "n", []lifecycle.Sender{}
	act := lifecycle.Activate{Bot: "b", Decision: lifecycle.Grace(time.Minute), Ack: lifecycle.Ack{Codes: []string{"w"}}, Senders: s}
	for _, cmd := range []lifecycle.Command{
		lifecycle.Create{ID: "b", Name: "n", Senders: none, Definition: lifecycle.Definition{Text: "x"}, IdleTimeout: time.Hour},
		lifecycle.Import{ID: "b", Data: []byte("{}")}, lifecycle.Update{Bot: "b", Name: &name, Senders: &none},
		lifecycle.Delete{Bot: "b"}, lifecycle.Duplicate{Bot: "b", ID: "c"}, act, lifecycle.Activate{Bot: "b"},
		lifecycle.Deactivate{Bot: "b", Grace: time.Minute, Senders: s}, lifecycle.EndGrace{Bot: "b"},
		lifecycle.Rollback{Bot: "b", Decision: lifecycle.Immediate()}, lifecycle.GrantRole{User: "u", Role: roles.Designer},
		lifecycle.RevokeRole{User: "u", Role: roles.Designer}, lifecycle.CreateSchedule{ID: "s", At: at, Do: act},
		lifecycle.CreateSchedule{ID: "s", At: at, Do: lifecycle.Deactivate{Bot: "b"}}, lifecycle.CancelSchedule{ID: "s"},
		lifecycle.OpenTestSession{Bot: "b"}, lifecycle.CloseTestSession{Bot: "b", Activation: 2},
	} {
		p := lifecycle.Plan{Op: "op", Actor: lifecycle.User("mia"), Time: at, Workspace: "acme", Command: cmd,
			Changes: []lifecycle.Change{{Bot: "b", Revision: 2, After: &lifecycle.Bot{ID: "b", Senders: s,
				Live: []lifecycle.SenderState{}, Left: []lifecycle.SenderLeft{{Sender: s[0], At: at}}, CreatedAt: at}}},
			Roles: []lifecycle.RoleChange{}, Audit: []lifecycle.AuditEntry{{Time: at, Actor: "mia", Senders: []lifecycle.SenderTransition{}}}}
		b, err := encodePlan(p)
		if err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
		q, err := decodePlan(b)
		if err != nil || !reflect.DeepEqual(p, q) {
			t.Errorf("%T: %v\n%#v\n%#v", cmd, err, p, q)
		}
	}
	if _, err := decodePlan([]byte(`{"plan":{},"command":{}}`)); err == nil {
		t.Error("a plan without a command decodes")
	}
}

// TestLiveBotShowsNoEarlierEnd: a bot live again - rolled back to, or
// activated after going Inactive - shows no end of an earlier activation as
// its own (issue 28); an Inactive bot shows how it ended.
func TestLiveBotShowsNoEarlierEnd(t *testing.T) {
	ended := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	for _, st := range []lifecycle.State{lifecycle.Active, lifecycle.Deactivated, lifecycle.Inactive} {
		got := bot(lifecycle.Bot{ID: "b", State: st, EndedAt: ended, EndReason: lifecycle.CloseReplaced})
		if shown := got.EndedAt != "" || got.EndReason != ""; shown != (st == lifecycle.Inactive) {
			t.Errorf("a %v bot shows ended_at %q, end_reason %q", st, got.EndedAt, got.EndReason)
		}
	}
}

// R23: names that are not clean never enter the zone cache, however many:
// the cache holds one entry per zone.
func TestZoneCacheBounded(t *testing.T) {
	if _, err := loadZone("Europe/Berlin"); err != nil {
		t.Fatal(err)
	}
	zones.Lock()
	before := len(zones.m)
	zones.Unlock()
	for i := range 200 {
		name := "Europe/" + strings.Repeat("./", i%100+1) + strings.Repeat("/", i/100) + "Berlin"
		if _, err := loadZone(name); err == nil {
			t.Errorf("%q was taken as a zone", name)
		}
	}
	zones.Lock()
	after := len(zones.m)
	zones.Unlock()
	if after != before {
		t.Errorf("the zone cache grew from %d to %d entries on names of one zone", before, after)
	}
}
