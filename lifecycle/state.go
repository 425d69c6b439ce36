package lifecycle

import (
	"fmt"
	"slices"
	"strings"

	"github.com/looplab/fsm"
)

// State is where a bot is in its lifecycle.
type State uint8

// The states of a bot. See the package documentation for their meaning.
const (
	Draft       State = iota + 1 // created, imported or duplicated, never activated
	Active                       // live: new sessions on its senders go to it
	Deactivated                  // draining: serves its open sessions until its grace deadline
	Inactive                     // was live, now offline; its sessions are closed
	// Deleted is the end of a deleted Draft. No stored bot is ever in it; it
	// exists so the transition table can say where delete leads.
	Deleted
)

var stateNames = [...]string{"", "Draft", "Active", "Deactivated", "Inactive", "Deleted"}

// String returns the state's name ("Deactivated"); the zero State is "none".
func (s State) String() string {
	if s == 0 {
		return "none"
	}
	if s >= Draft && s <= Deleted {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// Live reports whether a bot in this state serves sessions: Active, or
// Deactivated (R3).
func (s State) Live() bool { return s == Active || s == Deactivated }

// MarshalText encodes the state as its lower-case name, and the zero State
// (the "from" of a bot being created) as "".
func (s State) MarshalText() ([]byte, error) {
	if s == 0 {
		return []byte{}, nil
	}
	if s > Deleted {
		return nil, fmt.Errorf("lifecycle: invalid state %d", uint8(s))
	}
	return []byte(strings.ToLower(stateNames[s])), nil
}

// UnmarshalText decodes a state name, case-insensitively; "" is the zero
// State.
func (s *State) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*s = 0
		return nil
	}
	for v := Draft; v <= Deleted; v++ {
		if strings.EqualFold(string(b), stateNames[v]) {
			*s = v
			return nil
		}
	}
	return &InputError{Field: "state", Value: string(b), Problem: "is not a state; use draft, active, deactivated or inactive"}
}

// Event names a transition of the table.
type Event string

// The events of the transition table (S1).
const (
	EventActivate   Event = "activate"   // Draft or Inactive -> Active
	EventDeactivate Event = "deactivate" // Active -> Inactive: no grace, replaced immediately, or cascade
	EventDrain      Event = "drain"      // Active -> Deactivated: deactivated or replaced with a grace period
	EventEndDrain   Event = "end_drain"  // Deactivated -> Inactive: grace ended, ended early, superseded, or cascade
	EventDelete     Event = "delete"     // Draft -> Deleted
	EventEdit       Event = "edit"       // Draft -> Draft, Inactive -> Inactive: settings and definition change only off-line (R11)
)

// table is the transition table: the one place transitions are decided (S2).
// It is plain data handed to looplab/fsm, which draws it.
var table = fsm.Events{
	{Name: string(EventActivate), Src: []string{Draft.String(), Inactive.String()}, Dst: Active.String()},
	{Name: string(EventDeactivate), Src: []string{Active.String()}, Dst: Inactive.String()},
	{Name: string(EventDrain), Src: []string{Active.String()}, Dst: Deactivated.String()},
	{Name: string(EventEndDrain), Src: []string{Deactivated.String()}, Dst: Inactive.String()},
	{Name: string(EventDelete), Src: []string{Draft.String()}, Dst: Deleted.String()},
	{Name: string(EventEdit), Src: []string{Draft.String()}, Dst: Draft.String()},
	{Name: string(EventEdit), Src: []string{Inactive.String()}, Dst: Inactive.String()},
}

// edges is the table as a lookup, built once from table. An FSM object per
// bot is never kept: bots live in the Store.
var edges = edgesOf(table)

// nextTo is edges of the package's events as a flat array for Next: a row
// of 256 per event so that any State indexes it without a check (a state
// past Deleted finds 0: not allowed), and a last row of zeros for noSlot.
var nextTo = func() (out [noSlot + 1][256]State) {
	for i, tr := range edges.known {
		copy(out[i][:], tr.to[:])
	}
	return out
}()

// transitions is a table as a lookup: per event, where it leads from each
// state (0 where the table does not allow it). The events of this package
// are found by eventSlot, with one comparison; any other event of a table
// is searched for among others.
type transitions struct {
	known  [6]transition
	others []transition
}

type transition struct {
	event Event
	to    [Deleted + 1]State
}

// eventSlot numbers the events of this package for the lookup; noSlot for
// any other string.
func eventSlot(e Event) int {
	// The events' lengths differ, so one switch on the length and one
	// comparison with a constant (which the compiler does in registers)
	// find the slot: a string switch searched the constants by content.
	switch len(e) {
	case len(EventActivate):
		if e == EventActivate {
			return 0
		}
	case len(EventDeactivate):
		if e == EventDeactivate {
			return 1
		}
	case len(EventDrain):
		if e == EventDrain {
			return 2
		}
	case len(EventEndDrain):
		if e == EventEndDrain {
			return 3
		}
	case len(EventDelete):
		if e == EventDelete {
			return 4
		}
	case len(EventEdit):
		if e == EventEdit {
			return 5
		}
	}
	return noSlot
}

// noSlot is eventSlot's answer for an event not of this package.
const noSlot = len(transitions{}.known)

// edgesOf builds the lookup of a table.
func edgesOf(t fsm.Events) *transitions {
	byName := map[string]State{}
	for s := Draft; s <= Deleted; s++ {
		byName[s.String()] = s
	}
	x := &transitions{}
	for _, e := range t {
		tr := x.find(Event(e.Name))
		if tr == nil {
			x.others = append(x.others, transition{event: Event(e.Name)})
			tr = &x.others[len(x.others)-1]
		}
		for _, src := range e.Src {
			tr.to[byName[src]] = byName[e.Dst]
		}
	}
	return x
}

// find returns the transitions of e.
func (x *transitions) find(e Event) *transition {
	if i := eventSlot(e); i != noSlot {
		return &x.known[i]
	}
	for i := range x.others {
		if x.others[i].event == e {
			return &x.others[i]
		}
	}
	return nil
}

// Next returns the state that event e leads to from state s, and whether the
// table allows it at all (S1). It does not allocate.
//
// Every event of the bot table is one of this package's, so Next needs no
// search (TestS1NextKnowsEveryEventOfTheTable); it is small enough for the
// compiler to inline at the call.
func Next(s State, e Event) (State, bool) {
	to := nextTo[eventSlot(e)][s]
	return to, to != 0
}

func next(x *transitions, s State, e Event) (State, bool) {
	if s > Deleted {
		return 0, false
	}
	if tr := x.find(e); tr != nil && tr.to[s] != 0 {
		return tr.to[s], true
	}
	return 0, false
}

// events lists the events allowed from s, in table order.
func events(s State) []Event { return eventsOf(table, Next, s) }

// Sources lists the states from which the table allows e, in state order.
func sources(e Event) []State { return sourcesOf(Next, e) }

func senderEvents(s State) []Event  { return eventsOf(senderTable, nextOnSender, s) }
func senderSources(e Event) []State { return sourcesOf(nextOnSender, e) }

func eventsOf(t fsm.Events, next func(State, Event) (State, bool), s State) []Event {
	var out []Event
	for _, e := range t {
		ev := Event(e.Name)
		if _, ok := next(s, ev); ok && !slices.Contains(out, ev) {
			out = append(out, ev)
		}
	}
	return out
}

func sourcesOf(next func(State, Event) (State, bool), e Event) []State {
	var out []State
	for s := Draft; s <= Deleted; s++ {
		if _, ok := next(s, e); ok {
			out = append(out, s)
		}
	}
	return out
}

// botDiagram returns the transition table as a Mermaid state diagram, drawn
// by looplab/fsm from the same table Next reads (S2): the diagram of the
// package documentation and the README, which a test keeps equal to it.
func botDiagram() string { return diagram(Draft, table) }

func diagram(initial State, t fsm.Events) string {
	f := fsm.NewFSM(initial.String(), t, nil)
	out, err := fsm.VisualizeForMermaidWithGraphType(f, fsm.StateDiagram)
	if err != nil {
		panic(err) // unreachable: StateDiagram is a known diagram type
	}
	return out
}
