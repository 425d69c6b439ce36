package lifecycle_test

import (
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/google/go-cmp/cmp"
)

// S1: every (state, event) pair against the transitions rules.md lists, and
// nothing else.
func TestS1TransitionTable(t *testing.T) {
	type key struct {
		from lifecycle.State
		e    lifecycle.Event
	}
	allowed := map[key]lifecycle.State{
		{lifecycle.Draft, lifecycle.EventActivate}:       lifecycle.Active,      // Draft -> Active
		{lifecycle.Inactive, lifecycle.EventActivate}:    lifecycle.Active,      // Inactive -> Active
		{lifecycle.Active, lifecycle.EventDeactivate}:    lifecycle.Inactive,    // no grace
		{lifecycle.Active, lifecycle.EventDrain}:         lifecycle.Deactivated, // grace, or replaced with grace
		{lifecycle.Deactivated, lifecycle.EventEndDrain}: lifecycle.Inactive,    // grace ends, or cascade
		{lifecycle.Draft, lifecycle.EventDelete}:         lifecycle.Deleted,     // Draft -> deleted
		{lifecycle.Draft, lifecycle.EventEdit}:           lifecycle.Draft,       // R11: edit off-line only
		{lifecycle.Inactive, lifecycle.EventEdit}:        lifecycle.Inactive,
	}
	// Past the states and events of the table: states that are no state,
	// events that are none (another case, empty, a prefix).
	states := []lifecycle.State{lifecycle.Draft, lifecycle.Active, lifecycle.Deactivated, lifecycle.Inactive, lifecycle.Deleted, lifecycle.Deleted + 1, 255}
	events := []lifecycle.Event{lifecycle.EventActivate, lifecycle.EventDeactivate, lifecycle.EventDrain, lifecycle.EventEndDrain, lifecycle.EventDelete, lifecycle.EventEdit,
		"Activate", "", "drai", "pause"}
	for _, s := range states {
		for _, e := range events {
			t.Run(fmt.Sprintf("S1/%v/%s", s, e), func(t *testing.T) {
				to, ok := lifecycle.Next(s, e)
				want, wantOK := allowed[key{s, e}]
				if ok != wantOK || to != want {
					t.Errorf("Next(%v, %s) = %v, %v; want %v, %v", s, e, to, ok, want, wantOK)
				}
			})
		}
	}
}

// S2: the diagram is drawn from the one table.
func TestS2Diagram(t *testing.T) {
	want := `stateDiagram-v2
    [*] --> Draft
    Active --> Inactive: deactivate
    Active --> Deactivated: drain
    Deactivated --> Inactive: end_drain
    Draft --> Active: activate
    Draft --> Deleted: delete
    Draft --> Draft: edit
    Inactive --> Active: activate
    Inactive --> Inactive: edit
`
	if diff := cmp.Diff(want, lifecycle.Diagram()); diff != "" {
		t.Errorf("Diagram() (-want +got):\n%s", diff)
	}
	if got := lifecycle.Events(lifecycle.Active); !cmp.Equal(got, []lifecycle.Event{lifecycle.EventDeactivate, lifecycle.EventDrain}) {
		t.Errorf("Events(Active) = %v", got)
	}
}

// S2, R22: the per-sender table is data too, drawn from itself; it allows
// exactly the moves a bot makes on one sender.
func TestS2SenderDiagram(t *testing.T) {
	want := `stateDiagram-v2
    [*] --> Inactive
    Active --> Inactive: deactivate
    Active --> Deactivated: drain
    Deactivated --> Inactive: end_drain
    Inactive --> Active: activate
`
	if diff := cmp.Diff(want, lifecycle.SenderDiagram()); diff != "" {
		t.Errorf("SenderDiagram() (-want +got):\n%s", diff)
	}
	for _, tt := range []struct {
		from lifecycle.State
		e    lifecycle.Event
		to   lifecycle.State
		ok   bool
	}{
		{lifecycle.Inactive, lifecycle.EventActivate, lifecycle.Active, true},
		{lifecycle.Active, lifecycle.EventDrain, lifecycle.Deactivated, true},
		{lifecycle.Active, lifecycle.EventDeactivate, lifecycle.Inactive, true},
		{lifecycle.Deactivated, lifecycle.EventEndDrain, lifecycle.Inactive, true},
		{lifecycle.Deactivated, lifecycle.EventActivate, 0, false},
		{lifecycle.Active, lifecycle.EventActivate, 0, false},
		{lifecycle.Draft, lifecycle.EventActivate, 0, false}, // a sender is never Draft
		{lifecycle.Inactive, lifecycle.EventEdit, 0, false},
		{lifecycle.State(99), lifecycle.EventActivate, 0, false},
	} {
		if to, ok := lifecycle.NextOnSender(tt.from, tt.e); to != tt.to || ok != tt.ok {
			t.Errorf("NextOnSender(%v, %s) = %v, %v; want %v, %v", tt.from, tt.e, to, ok, tt.to, tt.ok)
		}
	}
}

func TestStateText(t *testing.T) {
	for _, s := range []lifecycle.State{lifecycle.Draft, lifecycle.Active, lifecycle.Deactivated, lifecycle.Inactive, lifecycle.Deleted} {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back lifecycle.State
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("%v round trip: %v, %v", s, back, err)
		}
	}
	var s lifecycle.State
	if err := s.UnmarshalText([]byte("live")); err == nil {
		t.Error("unknown state accepted")
	}
	if !lifecycle.Deactivated.Live() || lifecycle.Inactive.Live() {
		t.Error("R3: Live")
	}
}

// Plans and audit entries travel as JSON (an HTTP API, a log); a created
// bot's "from" state is the zero State.
func TestPlanAndAuditJSONRoundTrip(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100")
	p, err := e.m.Activate(e.ctx, manager, b.ID, lifecycle.Decision{}, lifecycle.Ack{})
	if err != nil {
		t.Fatal(err)
	}
	p.Command = nil // not part of the JSON: a plan from JSON is read, not applied
	for _, v := range []any{p, e.audit()} {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("marshal %T: %v", v, err)
		}
		back := reflect.New(reflect.TypeOf(v))
		if err := json.Unmarshal(raw, back.Interface()); err != nil {
			t.Fatalf("unmarshal %T: %v", v, err)
		}
		if diff := cmp.Diff(v, back.Elem().Interface()); diff != "" {
			t.Errorf("%T JSON round trip (-want +got):\n%s", v, diff)
		}
	}
}
