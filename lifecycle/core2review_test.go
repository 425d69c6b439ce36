package lifecycle_test

import (
	"errors"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/google/go-cmp/cmp"
)

// R11, R13: a bot made with the policy's idle timeout can be duplicated
// (the redeploy of R11) and its export imported again (R13). A policy idle
// timeout longer than a bot's own may be (MaxIdleTimeout) gave bots one
// that Duplicate and Import then refused ("invalid idle timeout"): New
// refuses it, and Decide, given it in a hand-built Snapshot, holds it to
// MaxIdleTimeout.
func TestR13PolicyIdleTimeoutIsOneABotMayHave(t *testing.T) {
	e := newEnv(t)
	long := lifecycle.MaxIdleTimeout + time.Hour
	if _, err := lifecycle.New(lifecycle.Config{Store: e.st, Policy: lifecycle.Policy{IdleTimeout: long}}); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Errorf("New with Policy.IdleTimeout %v = %v, want ErrInvalidInput", long, err)
	}
	if _, err := lifecycle.New(lifecycle.Config{Store: e.st, Policy: lifecycle.Policy{IdleTimeout: lifecycle.MaxIdleTimeout}}); err != nil {
		t.Errorf("New with Policy.IdleTimeout = MaxIdleTimeout: %v", err)
	}

	snap := lifecycle.Snapshot{Actor: designer, ActorRoles: 1 << roles.Designer, Policy: lifecycle.Policy{IdleTimeout: long}}
	p, err := lifecycle.Decide(snap, lifecycle.Create{ID: "b", Name: "b", Channel: "sms", Senders: []lifecycle.Sender{sms("100")}, Definition: cleanDef()}, start)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := p.Bot("b")
	if b.IdleTimeout != lifecycle.MaxIdleTimeout {
		t.Fatalf("idle timeout of a bot made with Policy.IdleTimeout %v = %v, want MaxIdleTimeout", long, b.IdleTimeout)
	}
	snap.Bots = []lifecycle.Bot{b}
	if _, err := lifecycle.Decide(snap, lifecycle.Duplicate{Bot: "b", ID: "c"}, start); err != nil {
		t.Errorf("R11: duplicating it = %v", err)
	}
}

// P1, R16: ApplyPlan checks the actor's permission before anything else.
// A plan whose actor lost the permission was refused as a conflict ("plan
// again"), unaudited, when it was also older than MaxPlanAge: the denial
// went unrecorded and the message told the user to retry what they may
// not do.
func TestP1ApplyPlanOfAStalePlanIsDeniedAndAudited(t *testing.T) {
	for _, tc := range []struct {
		name  string
		clock time.Duration // the clock when the plan is applied, after the plan's time
	}{
		{"older than MaxPlanAge", lifecycle.DefaultMaxPlanAge + time.Minute},
		{"made in the future (the clock stepped back)", -time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.draft("b", "100")
			p, err := e.m.Plan(e.ctx, manager, lifecycle.Activate{Bot: b.ID, Decision: lifecycle.Immediate()})
			if err != nil {
				t.Fatal(err)
			}
			e.must(e.m.RevokeRole(e.ctx, admin, "mia", roles.Manager))
			e.clk.Set(start.Add(tc.clock))
			e.refused(lifecycle.ErrForbidden, true, func() error { _, err := e.m.ApplyPlan(e.ctx, p); return err })
			if denial := e.audit()[len(e.audit())-1]; denial.Action != lifecycle.OpActivate || denial.Actor != "mia" || !denial.Time.Equal(e.clk.Now()) {
				t.Errorf("the denial is audited as %+v; want mia's activate at %v", denial, e.clk.Now())
			}
		})
	}
	// A stale plan of an actor who still holds the permission stays a
	// conflict, unaudited.
	e := newEnv(t)
	b := e.draft("b", "100")
	p, err := e.m.Plan(e.ctx, manager, lifecycle.Activate{Bot: b.ID, Decision: lifecycle.Immediate()})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Add(lifecycle.DefaultMaxPlanAge + time.Minute)
	e.refused(lifecycle.ErrConflict, false, func() error { _, err := e.m.ApplyPlan(e.ctx, p); return err })
}

// R16, P1: the audit entry of a refusal on permission grounds says what
// the refused operation named - the bot, the user and role of a role
// change, the schedule - so that the log tells who tried what on what (a
// Manager granting themselves Admin, a Designer activating a bot). It named
// only the actor and the action. Text that is not an id is left out (R21).
func TestR16DenialNamesWhatWasTried(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100")
	for _, tc := range []struct {
		name string
		op   func() error
		want lifecycle.AuditEntry // Bot, User, Role, Schedule
	}{
		{"a designer activates a bot", func() error {
			_, err := e.m.Activate(e.ctx, designer, b.ID, lifecycle.Immediate(), lifecycle.Ack{})
			return err
		}, lifecycle.AuditEntry{Bot: b.ID}},
		{"a supervisor deletes a bot", func() error { return e.m.Delete(e.ctx, supervisor, b.ID) }, lifecycle.AuditEntry{Bot: b.ID}},
		{"the system rolls a bot back", func() error {
			_, err := e.m.Rollback(e.ctx, lifecycle.System("cleanup"), b.ID, lifecycle.Immediate(), lifecycle.Ack{})
			return err
		}, lifecycle.AuditEntry{Bot: b.ID}},
		{"a manager grants themselves Admin", func() error {
			_, err := e.m.GrantRole(e.ctx, manager, "mia", roles.Admin)
			return err
		}, lifecycle.AuditEntry{User: "mia", Role: roles.Admin}},
		{"a designer cancels a schedule", func() error {
			_, err := e.m.CancelSchedule(e.ctx, designer, "s1")
			return err
		}, lifecycle.AuditEntry{Schedule: "s1"}},
		{"a bot id that is not text is not stored", func() error {
			_, err := e.m.Activate(e.ctx, designer, "b\x00", lifecycle.Immediate(), lifecycle.Ack{})
			return err
		}, lifecycle.AuditEntry{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.refused(lifecycle.ErrForbidden, true, tc.op)
			log := e.audit()
			got := log[len(log)-1]
			got = lifecycle.AuditEntry{Bot: got.Bot, User: got.User, Role: got.Role, Schedule: got.Schedule}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("R16: the denial names (-want +got):\n%s", diff)
			}
		})
	}
}
