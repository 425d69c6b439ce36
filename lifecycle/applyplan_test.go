package lifecycle_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/google/go-cmp/cmp"
)

// R17, R9: a plan takes effect when it is committed. A plan made at 09:01
// and applied at 09:03 records 09:03 (its audit time, the grace deadline
// and the end of the sessions it closes shift by the same two minutes), so
// a session opened at 09:02 never reads closed before it opened.
func TestR17PlanAppliedLaterTakesEffectWhenCommitted(t *testing.T) {
	for _, tc := range []struct {
		name string
		// cmd is planned at 09:01 with live, the bot the end user talks
		// to, Active on sms:100 and next a Draft on it.
		cmd        func(live, next lifecycle.BotID) (lifecycle.Actor, lifecycle.Command)
		wantReason lifecycle.CloseReason
		// wantEnd is when the session ends, after the apply at 09:03.
		wantEnd time.Duration
	}{
		{"R17/deactivate-with-grace", func(live, _ lifecycle.BotID) (lifecycle.Actor, lifecycle.Command) {
			return manager, lifecycle.Deactivate{Bot: live, Grace: 10 * time.Minute}
		}, lifecycle.CloseGraceExpired, 10 * time.Minute},
		{"R17/deactivate-now", func(live, _ lifecycle.BotID) (lifecycle.Actor, lifecycle.Command) {
			return manager, lifecycle.Deactivate{Bot: live}
		}, lifecycle.CloseDeactivated, 0},
		{"R17/activate-immediate", func(_, next lifecycle.BotID) (lifecycle.Actor, lifecycle.Command) {
			return manager, lifecycle.Activate{Bot: next, Decision: lifecycle.Immediate()}
		}, lifecycle.CloseReplaced, 0},
		{"R17/activate-with-grace", func(_, next lifecycle.BotID) (lifecycle.Actor, lifecycle.Command) {
			return manager, lifecycle.Activate{Bot: next, Decision: lifecycle.Grace(5 * time.Minute)}
		}, lifecycle.CloseGraceExpired, 5 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			live := e.live("v1", "100")
			next := e.draft("v2", "100")
			e.clk.Add(time.Minute) // 12:01
			actor, cmd := tc.cmd(live.ID, next.ID)
			plan, err := e.m.Plan(e.ctx, actor, cmd)
			if err != nil {
				t.Fatal(err)
			}
			e.clk.Add(time.Minute) // 12:02: an end user writes
			sess, err := e.m.Route(e.ctx, sms("100"), "+4477")
			if err != nil {
				t.Fatal(err)
			}
			e.clk.Add(time.Minute) // 12:03: the plan is applied
			applied := e.clk.Now()
			got, err := e.m.ApplyPlan(e.ctx, plan)
			if err != nil {
				t.Fatalf("R17: %v", err)
			}
			for _, a := range got.Audit {
				if !a.Time.Equal(applied) {
					t.Errorf("R17: audit entry %d reads %v, want the commit's time %v", a.Seq, a.Time, applied)
				}
			}
			for _, a := range e.audit()[len(e.audit())-len(got.Audit):] {
				if !a.Time.Equal(applied) {
					t.Errorf("R17: stored audit entry %d reads %v, want %v", a.Seq, a.Time, applied)
				}
			}
			wantEnd := applied.Add(tc.wantEnd)
			if b, _ := got.Bot(live.ID); !b.GraceDeadline.IsZero() && !b.GraceDeadline.Equal(wantEnd) {
				t.Errorf("R17: grace deadline %v, want %v", b.GraceDeadline, wantEnd)
			}
			// Read as the session is now, and as recorded after a sweep past
			// every deadline: both say the session ended when the applied
			// plan says, never before it opened (R9).
			e.clk.Add(time.Hour)
			now, err := e.m.Session(e.ctx, sess.ID)
			if err != nil {
				t.Fatal(err)
			}
			e.must(e.m.ExpireDue(e.ctx))
			rec, err := storedSession(e.ctx, e.st, sess.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []lifecycle.Session{now, rec} {
				if !s.ClosedAt.Equal(wantEnd) || s.CloseReason != tc.wantReason {
					t.Errorf("R9/R17: session closed %v at %v, want %v at %v (opened %v)", s.CloseReason, s.ClosedAt, tc.wantReason, wantEnd, s.OpenedAt)
				}
			}
		})
	}
}

// R17: applying a plan a second time is a conflict that says so - not a
// state error of the operation, nor an input error about an id the caller
// never chose - and it changes nothing.
func TestR17ApplyingAPlanTwiceIsAConflict(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  func(e *env) (lifecycle.Actor, lifecycle.Command)
	}{
		{"R17/activate", func(e *env) (lifecycle.Actor, lifecycle.Command) {
			return manager, lifecycle.Activate{Bot: e.draft("v2", "100").ID, Decision: lifecycle.Immediate()}
		}},
		{"R17/create", func(e *env) (lifecycle.Actor, lifecycle.Command) {
			return designer, lifecycle.Create{Name: "n", Channel: "sms", Senders: []lifecycle.Sender{sms("500")}, Definition: cleanDef()}
		}},
		{"R17/deactivate", func(e *env) (lifecycle.Actor, lifecycle.Command) {
			return manager, lifecycle.Deactivate{Bot: e.live("v1", "200").ID, Grace: time.Minute}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			actor, cmd := tc.cmd(e)
			plan, err := e.m.Plan(e.ctx, actor, cmd)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.m.ApplyPlan(e.ctx, plan); err != nil {
				t.Fatal(err)
			}
			err = e.refused(lifecycle.ErrConflict, false, func() error { _, err := e.m.ApplyPlan(e.ctx, plan); return err })
			for _, wrong := range []error{lifecycle.ErrInvalidTransition, lifecycle.ErrInvalidInput} {
				if errors.Is(err, wrong) {
					t.Errorf("R17: the second apply is also %v: %v", wrong, err)
				}
			}
			if !strings.Contains(err.Error(), "applied already") {
				t.Errorf("R17: the conflict does not say the plan may have been applied already: %v", err)
			}
		})
	}
}

// R17: a plan whose decision no longer holds at the commit's time - here a
// drain it leaves running ends in between - is refused as a conflict, and
// nothing changes.
func TestR17PlanThatNoLongerHoldsIsAConflict(t *testing.T) {
	e := newEnv(t)
	drain := e.live("drain", "300")
	e.must(e.m.Deactivate(e.ctx, manager, drain.ID, 2*time.Minute))
	next := e.draft("next", "400")
	plan, err := e.m.Plan(e.ctx, manager, lifecycle.Activate{Bot: next.ID})
	if err != nil {
		t.Fatal(err)
	}
	// The drain is not among the bots the activation read, so its end
	// does not touch that plan; it does touch a plan to end it early.
	p2, err := e.m.Plan(e.ctx, manager, lifecycle.EndGrace{Bot: drain.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Add(3 * time.Minute)
	e.refused(lifecycle.ErrConflict, false, func() error { _, err := e.m.ApplyPlan(e.ctx, p2); return err })
	if _, err := e.m.ApplyPlan(e.ctx, plan); err != nil {
		t.Fatalf("R17: a plan that still holds: %v", err)
	}
}

// An ApplyPlan of a plan that Plan never made names its operation.
func TestApplyPlanWithoutCommandNamesItsOperation(t *testing.T) {
	e := newEnv(t)
	_, err := e.m.ApplyPlan(e.ctx, lifecycle.Plan{})
	var le *lifecycle.Error
	if !errors.As(err, &le) || le.Op != lifecycle.OpApplyPlan || !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Fatalf("ApplyPlan(Plan{}) = %v, want an apply_plan input error", err)
	}
	if diff := cmp.Diff("apply_plan: invalid plan \"\": has no command; apply a plan that Manager.Plan returned", err.Error()); diff != "" {
		t.Error(diff)
	}
}

// R17, R9: which ended activations a bot keeps the ends of is bookkeeping
// that follows the sessions still recorded open (Bot.OpenActivations). A
// sweep that records an old session closed between Plan and ApplyPlan
// moves nothing the plan decided: the plan still applies.
func TestR17PlanHoldsAfterASweep(t *testing.T) {
	e := newEnv(t)
	v1 := e.live("v1", "100")
	if _, err := e.m.Route(e.ctx, sms("100"), "u1"); err != nil {
		t.Fatal(err)
	}
	e.clk.Add(time.Minute)
	e.must(e.m.Deactivate(e.ctx, manager, v1.ID, 0)) // u1's session is over; recorded open until a sweep
	e.clk.Add(time.Minute)
	p, err := e.m.Plan(e.ctx, manager, lifecycle.Activate{Bot: v1.ID, Decision: lifecycle.Immediate()})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Add(time.Second)
	if _, err := e.m.ExpireDue(e.ctx); err != nil { // records u1's session closed
		t.Fatal(err)
	}
	applied, err := e.m.ApplyPlan(e.ctx, p)
	if err != nil {
		t.Fatalf("R17: the plan still holds (only a session was recorded closed), but ApplyPlan refused it: %v", err)
	}
	if b, _ := applied.Bot(v1.ID); len(b.Ends) != 0 {
		t.Errorf("R9: the applied plan keeps ends no open session needs: %+v", b.Ends)
	}
}

// R16, R17: a plan whose actor lost the permission since it was made is
// refused when it is applied, and that refusal is audited at the time it
// happened - not at the plan's time, which would date the denial before the
// revocation that caused it.
func TestR16ApplyPlanDenialIsAuditedWhenRefused(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100")
	p, err := e.m.Plan(e.ctx, manager, lifecycle.Activate{Bot: b.ID, Decision: lifecycle.Immediate()})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Add(2 * time.Minute)
	e.must(e.m.RevokeRole(e.ctx, admin, "mia", roles.Manager))
	e.clk.Add(3 * time.Minute)
	e.refused(lifecycle.ErrForbidden, true, func() error { _, err := e.m.ApplyPlan(e.ctx, p); return err })
	log := e.audit()
	revoke, denial := log[len(log)-2], log[len(log)-1]
	if revoke.Action != lifecycle.OpRevokeRole || !denial.Denied || !denial.Time.Equal(e.clk.Now()) {
		t.Fatalf("R16: the denial of the applied plan is audited at %v (revocation at %v); want the time of the refusal, %v", denial.Time, revoke.Time, e.clk.Now())
	}
}
