package lifecycle_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// R19, R21, R17: a hand-built plan whose actor is not one Decide accepts -
// the system without a reason, a user id that is not text - is bad input
// (ErrInvalidInput) that says what to fix, fresh or stale: ApplyPlan
// reported it as a conflict ("plan again"), which planning again never
// cures. The store is left as it was, and nothing is audited.
func TestR19ApplyPlanOfASystemPlanWithoutReasonIsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name  string
		actor lifecycle.Actor
		age   time.Duration // how long after the plan it is applied
		want  string        // in the error
	}{
		{"R19/system-without-reason", lifecycle.Actor{ID: "system", System: true}, 0, "the system must say why it acts"},
		{"R19/system-without-reason-stale", lifecycle.Actor{ID: "system", System: true}, lifecycle.DefaultMaxPlanAge + time.Minute, "the system must say why it acts"},
		{"R21/user-id-not-text", lifecycle.Actor{ID: "mia\x00"}, 0, "invalid actor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.live("b", "100")
			p, err := e.m.Plan(e.ctx, lifecycle.System("account out of credit"), lifecycle.Deactivate{Bot: b.ID})
			if err != nil {
				t.Fatal(err)
			}
			p.Actor = tc.actor // the hand-built part
			e.clk.Add(tc.age)
			err = e.refused(lifecycle.ErrInvalidInput, false, func() error { _, err := e.m.ApplyPlan(e.ctx, p); return err })
			if errors.Is(err, lifecycle.ErrConflict) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ApplyPlan = %v; want bad input that says %q, not a conflict", err, tc.want)
			}
		})
	}
}
