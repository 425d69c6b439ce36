package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/google/go-cmp/cmp"
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

// R9: ExpireDue stops when a batch brings nothing it has not run yet. A
// store that kept listing as due, in full batches, drains ExpireDue had
// settled - its commit said so, or the bot was gone - kept ExpireDue
// running them again forever. They are left for the next run: reported in
// Failed unless their commit succeeded.
func TestR9ExpireDueStopsWhenTheStoreKeepsListingWhatItSettled(t *testing.T) {
	const n = 100 // one full batch
	for _, tc := range []struct {
		name string
		// store wraps e's store; bots are the n drains due.
		store                 func(st lifecycle.Store, bots []lifecycle.BotID) lifecycle.Store
		wantEnded, wantFailed func(bots []lifecycle.BotID) []lifecycle.BotID
	}{
		{"R9/commits-it-loses", func(st lifecycle.Store, _ []lifecycle.BotID) lifecycle.Store { return losingStore{Store: st} },
			func(bots []lifecycle.BotID) []lifecycle.BotID { return bots }, func([]lifecycle.BotID) []lifecycle.BotID { return nil }},
		{"R9/lists-bots-it-does-not-have", func(st lifecycle.Store, bots []lifecycle.BotID) lifecycle.Store {
			var ghosts []lifecycle.Bot
			for _, id := range bots {
				ghosts = append(ghosts, lifecycle.Bot{ID: "ghost-" + id, State: lifecycle.Deactivated, GraceDeadline: start})
			}
			return ghostStore{Store: st, ghosts: ghosts}
		}, func([]lifecycle.BotID) []lifecycle.BotID { return nil }, func(bots []lifecycle.BotID) []lifecycle.BotID {
			out := make([]lifecycle.BotID, len(bots))
			for i, id := range bots {
				out[i] = "ghost-" + id
			}
			return out
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			var bots []lifecycle.BotID
			for i := range n {
				b := e.live(fmt.Sprint("b", i), fmt.Sprint(1000+i))
				e.must(e.m.Deactivate(e.ctx, manager, b.ID, time.Minute+time.Duration(i)*time.Second))
				bots = append(bots, b.ID) // earliest deadline first
			}
			e.clk.Add(time.Hour)
			st := &dueCountingStore{Store: tc.store(e.st, bots)}
			m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: e.clk})
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.ExpireDue(e.ctx)
			if err != nil {
				t.Fatalf("R9: ExpireDue = %v", err)
			}
			if diff := cmp.Diff(tc.wantEnded(bots), got.DrainsEnded); diff != "" {
				t.Errorf("R9: drains ended (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantFailed(bots), got.Failed); diff != "" {
				t.Errorf("R9: drains left for the next run (-want +got):\n%s", diff)
			}
		})
	}
}

// dueCountingStore refuses to list what is due more than a few times in
// one test: an ExpireDue that never stops fails instead of hanging.
type dueCountingStore struct {
	lifecycle.Store
	calls int
}

func (s *dueCountingStore) Due(ctx context.Context, ws lifecycle.Workspace, now time.Time, limit int) (lifecycle.Due, error) {
	if s.calls++; s.calls > 20 {
		return lifecycle.Due{}, fmt.Errorf("listed what is due %d times: ExpireDue does not stop", s.calls)
	}
	return s.Store.Due(ctx, ws, now, limit)
}

// losingStore says it committed the end of a drain (R9) and stores
// nothing of it: the drain stays due.
type losingStore struct{ lifecycle.Store }

func (s losingStore) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	if p.Op == lifecycle.OpExpireGrace {
		return nil, nil
	}
	return s.Store.Commit(ctx, p)
}

// ghostStore lists as due, instead of its own drains, bots it does not
// have: ending their drains finds no bot, which ExpireDue reads as
// settled meanwhile.
type ghostStore struct {
	lifecycle.Store
	ghosts []lifecycle.Bot
}

func (s ghostStore) Due(ctx context.Context, ws lifecycle.Workspace, now time.Time, limit int) (lifecycle.Due, error) {
	due, err := s.Store.Due(ctx, ws, now, limit)
	due.Drains = s.ghosts[:min(limit, len(s.ghosts))]
	return due, err
}
