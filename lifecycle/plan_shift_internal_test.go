package lifecycle

import (
	"testing"
	"time"
)

// R17: a plan applied later is the plan made earlier with every instant
// shifted by one delay and nothing else changed - a nil list and an empty
// one differ (a re-decision that reads a bot's senders as none where the
// plan read an empty list has read something else), as do lists of
// different lengths and instants shifted by another delay.
func TestR17ShiftedByComparesExactly(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 1, 0, 0, time.UTC)
	plan := func(at time.Time, senders []Sender) Plan {
		return Plan{Time: at, Changes: []Change{{Bot: "b1", To: Draft, After: &Bot{ID: "b1", Senders: senders, UpdatedAt: at}}}}
	}
	s := []Sender{{Channel: "sms", Address: "+15550001"}}
	for _, tc := range []struct {
		name  string
		p, q  Plan
		delay time.Duration
		want  bool
	}{
		{"the same plan", plan(t0, s), plan(t0, s), 0, true},
		{"every instant shifted by the delay", plan(t0, s), plan(t0.Add(2*time.Minute), s), 2 * time.Minute, true},
		{"shifted by another delay", plan(t0, s), plan(t0.Add(time.Minute), s), 2 * time.Minute, false},
		{"nil senders against empty", plan(t0, nil), plan(t0, []Sender{}), 0, false},
		{"empty senders against nil", plan(t0, []Sender{}), plan(t0, nil), 0, false},
		{"one sender more", plan(t0, s), plan(t0, append(s[:1:1], Sender{Channel: "sms", Address: "+15550002"})), 0, false},
	} {
		if got := shiftedBy(tc.p, tc.q, tc.delay); got != tc.want {
			t.Errorf("%s: shiftedBy = %v, want %v", tc.name, got, tc.want)
		}
	}
}
