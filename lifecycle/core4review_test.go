package lifecycle_test

import (
	"context"
	"errors"
	"slices"
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

// R21, P1: a rollback of a bot id that is not one - empty, not text, too
// long - never reaches the store: reading the bot Active last before it
// (R20) read the id unchecked, so a custom store saw it. The permission is
// still checked first: a user without it is denied (and audited, R16), one
// with it told the id is bad input; a dry run (R17) answers the same.
func TestR21RollbackOfAMalformedIDNeverReachesTheStore(t *testing.T) {
	e := newEnv(t)
	e.live("b", "100")
	st := &botReadsStore{Store: e.st}
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct {
		name string
		id   lifecycle.BotID
	}{{"empty", ""}, {"blank", " "}, {"nul", "b\x00"}, {"not-utf8", "b\xff"}, {"too-long", lifecycle.BotID(strings.Repeat("b", lifecycle.MaxIDBytes+1))}} {
		id := bad.id
		for _, tc := range []struct {
			name   string
			want   error
			denied bool
			op     func() error
		}{
			{"P1/denied-first", lifecycle.ErrForbidden, true, func() error {
				_, err := m.Rollback(e.ctx, stranger, id, lifecycle.Immediate(), lifecycle.Ack{})
				return err
			}},
			{"R21/bad-input", lifecycle.ErrInvalidInput, false, func() error {
				_, err := m.Rollback(e.ctx, manager, id, lifecycle.Immediate(), lifecycle.Ack{})
				return err
			}},
			{"R17/dry-run", lifecycle.ErrInvalidInput, false, func() error {
				_, err := m.Plan(e.ctx, manager, lifecycle.Rollback{Bot: id, Decision: lifecycle.Immediate()})
				return err
			}},
		} {
			t.Run(tc.name+"/"+bad.name, func(t *testing.T) {
				st.read = nil
				e.refused(tc.want, tc.denied, tc.op)
				if slices.Contains(st.read, id) {
					t.Errorf("R21: the store was asked for bot %q", id)
				}
			})
		}
	}
}

// botReadsStore records the ids it is asked to read a bot by.
type botReadsStore struct {
	lifecycle.Store
	read []lifecycle.BotID
}

func (s *botReadsStore) Bot(ctx context.Context, ws lifecycle.Workspace, id lifecycle.BotID) (lifecycle.Bot, error) {
	s.read = append(s.read, id)
	return s.Store.Bot(ctx, ws, id)
}
