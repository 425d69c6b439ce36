package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/google/go-cmp/cmp"
)

// R9: a drain that cannot be settled does not cut ExpireDue's batch
// short: with more drains due than one batch holds and the first of them
// failing, every other one ends in the same run.
func TestR9ExpireDueSettlesEveryBatchPastAFailure(t *testing.T) {
	e := newEnv(t)
	const n = 101 // one more than ExpireDue reads at a time
	var first lifecycle.BotID
	for i := range n {
		b := e.live(fmt.Sprint("b", i), fmt.Sprint(1000+i))
		e.must(e.m.Deactivate(e.ctx, manager, b.ID, time.Minute+time.Duration(i)*time.Second))
		if i == 0 {
			first = b.ID // the earliest deadline: the first ExpireDue tries
		}
	}
	e.clk.Add(time.Hour)
	m, err := lifecycle.New(lifecycle.Config{Store: failingStore{Store: e.st, bot: first}, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.ExpireDue(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.DrainsEnded) != n-1 || len(got.Failed) != 1 || got.Failed[0] != first {
		t.Errorf("R9: ExpireDue ended %d drains and failed %v; want %d ended and %s failed", len(got.DrainsEnded), got.Failed, n-1, first)
	}
}

// R16, P1: the denial of a read that names something - a bot to get,
// export or validate (or whose test session it is), a user's roles, a
// schedule - names it in its audit
// entry, as the denial of a command does (TestR16DenialNamesWhatWasTried):
// the log said only that a Supervisor was refused an export, not of
// which bot.
func TestR16DeniedReadNamesWhatItRead(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100")
	tess := lifecycle.User("tess") // a tester who loses the role
	e.must(e.m.GrantRole(e.ctx, admin, "tess", roles.Supervisor))
	ts, err := e.m.OpenTestSession(e.ctx, tess, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.m.RevokeRole(e.ctx, admin, "tess", roles.Supervisor))
	for _, tc := range []struct {
		name string
		op   func() error
		want lifecycle.AuditEntry // Bot, User, Schedule
	}{
		{"a tester who lost the role sends a test message", func() error { _, err := e.m.SendTest(e.ctx, tess, ts.ID); return err }, lifecycle.AuditEntry{Bot: b.ID}},
		{"a tester who lost the role reads a test session", func() error { _, err := e.m.TestSession(e.ctx, tess, ts.ID); return err }, lifecycle.AuditEntry{Bot: b.ID}},
		{"an id no Manager made names nothing", func() error { _, err := e.m.TestSession(e.ctx, tess, "not an id"); return err }, lifecycle.AuditEntry{}},
		{"a supervisor exports a bot", func() error { _, err := e.m.Export(e.ctx, supervisor, b.ID); return err }, lifecycle.AuditEntry{Bot: b.ID}},
		{"an analyzer gets a bot in detail", func() error { _, err := e.m.Get(e.ctx, analyzer, b.ID); return err }, lifecycle.AuditEntry{Bot: b.ID}},
		{"an analyzer validates a bot", func() error { _, err := e.m.Validate(e.ctx, analyzer, b.ID); return err }, lifecycle.AuditEntry{Bot: b.ID}},
		{"a manager reads a user's roles", func() error { _, err := e.m.UserRoles(e.ctx, manager, "ada"); return err }, lifecycle.AuditEntry{User: "ada"}},
		{"an analyzer reads a schedule", func() error { _, err := e.m.GetSchedule(e.ctx, analyzer, "s1"); return err }, lifecycle.AuditEntry{Schedule: "s1"}},
		{"a bot id that is not text is not stored", func() error { _, err := e.m.Export(e.ctx, supervisor, "b\x00"); return err }, lifecycle.AuditEntry{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.refused(lifecycle.ErrForbidden, true, tc.op)
			log := e.audit()
			got := log[len(log)-1]
			got = lifecycle.AuditEntry{Bot: got.Bot, User: got.User, Schedule: got.Schedule}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("R16: the denial names (-want +got):\n%s", diff)
			}
		})
	}
}

// R17: a plan ApplyPlan refuses as a conflict says to plan again - and
// not also to retry the operation, which with the same plan can never
// succeed - whether it was applied already, what it read changed before
// or while it was committed, or it is too old.
func TestR17ApplyPlanConflictSaysPlanAgainOnly(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100")
	plan := func() lifecycle.Plan {
		p, err := e.m.Plan(e.ctx, designer, lifecycle.Update{Bot: b.ID, Name: ptr("renamed")})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	check := func(name string, p lifecycle.Plan) {
		t.Helper()
		m := e.m
		if name == "another commit came first" {
			m, _ = lifecycle.New(lifecycle.Config{Store: conflictingStore{e.st}, Clock: e.clk})
		}
		_, err := m.ApplyPlan(e.ctx, p)
		if !errors.Is(err, lifecycle.ErrConflict) {
			t.Fatalf("%s: ApplyPlan = %v, want ErrConflict", name, err)
		}
		if msg := err.Error(); !strings.HasSuffix(msg, "plan again") || strings.Contains(msg, "retry") {
			t.Errorf("R17: %s: the conflict says %q; want it to end by saying to plan again, and nothing of a retry", name, msg)
		}
	}
	applied := plan()
	e.must(e.m.ApplyPlan(e.ctx, applied))
	check("applied already", applied)
	moved := plan()
	e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, Description: ptr("moved")}))
	check("what it read changed", moved)
	check("another commit came first", plan())
	stale := plan()
	e.clk.Add(lifecycle.DefaultMaxPlanAge + time.Minute)
	check("too old", stale)
}

// conflictingStore refuses every commit as a conflict, as a store does
// when another operation committed first.
type conflictingStore struct{ lifecycle.Store }

func (conflictingStore) Commit(context.Context, lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	return nil, &lifecycle.ConflictError{Reason: "bot revision moved"}
}
