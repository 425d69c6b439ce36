package lifecycle

import (
	"testing"

	"github.com/looplab/fsm"
)

// S1: a table whose events' names share a length is looked up as it says:
// the events found by length and those searched for among others alike.
func TestS1LookupOfEventsSharingALength(t *testing.T) {
	x := edgesOf(fsm.Events{
		{Name: "go", Src: []string{Draft.String()}, Dst: Active.String()},
		{Name: "up", Src: []string{Active.String(), Inactive.String()}, Dst: Deactivated.String()},
		{Name: "go", Src: []string{Inactive.String()}, Dst: Draft.String()},
	})
	for _, tc := range []struct {
		s    State
		e    Event
		want State
	}{
		{Draft, "go", Active}, {Inactive, "go", Draft}, {Active, "go", 0},
		{Active, "up", Deactivated}, {Inactive, "up", Deactivated}, {Draft, "up", 0},
		{Draft, "no", 0}, {Draft, "", 0}, {Deleted + 1, "go", 0},
	} {
		if to, ok := next(x, tc.s, tc.e); to != tc.want || ok != (tc.want != 0) {
			t.Errorf("next(%v, %q) = %v, %v; want %v", tc.s, tc.e, to, ok, tc.want)
		}
	}
}

// S1: every event of the bot table is one of the package's, which Next
// relies on to look it up without a search.
func TestS1NextKnowsEveryEventOfTheTable(t *testing.T) {
	if len(edges.others) != 0 {
		t.Errorf("the bot table has events Next does not know: %v", edges.others)
	}
}
