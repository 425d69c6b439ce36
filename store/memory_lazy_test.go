package store

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// R9, R10 and issue 25: routing forward in time stamps a session and leaves
// its key in its group behind, until a rekeyEvery-th of the idle timeout
// has passed since the key; that message re-keys it, as does a message
// before its key (the clock stepped back). The answers are those of every
// store.
func TestR10RoutingKeysSessionsLazily(t *testing.T) {
	f := newMemFixture(t)
	s := smsSender("1")
	idle := rekeyEvery * time.Minute // a message a minute or more after the key re-keys
	f.commit(activeBot("a", idle, s))
	first := f.route(s, "u1", tm)
	rec := f.m.def().sessions.get(uint64(first.ID))
	for i, step := range []struct {
		name    string
		at      time.Time
		wantKey time.Time
	}{
		{"within a sixteenth of the idle timeout of the key: stamped only", tm.Add(30 * time.Second), tm},
		{"again, later", tm.Add(59 * time.Second), tm},
		{"a sixteenth past the key: re-keyed", tm.Add(time.Minute), tm.Add(time.Minute)},
		{"the clock stepped back before the key: re-keyed at once", tm.Add(50 * time.Second), tm.Add(50 * time.Second)},
	} {
		got := f.route(s, "u1", step.at)
		if got.ID != first.ID || got.Messages != uint64(i+2) || !got.LastActivityAt.Equal(step.at) {
			t.Fatalf("%s: session %d, %d messages, last active %v; want %d, %d, %v", step.name, got.ID, got.Messages, got.LastActivityAt, first.ID, i+2, step.at)
		}
		if !rec.key.Equal(step.wantKey) {
			t.Errorf("%s: key %v, want %v", step.name, rec.key, step.wantKey)
		}
	}
}

// Cost rule (issue 25): however messages fall, no open session's key is a
// rekeyEvery-th of the idle timeout or more behind its last activity, so
// a sweep re-keys only sessions over within that much of its now - never
// every session active since it last ran.
func TestSweepReKeysOnlySessionsAboutToBeDue(t *testing.T) {
	f := newMemFixture(t)
	s := smsSender("1")
	idle := 8 * time.Minute
	bound := idle / 16 // the documented bound, not rekeyEvery: it must fail if that grows
	f.commit(activeBot("a", idle, s))
	rng := rand.New(rand.NewPCG(1, 2))
	now, users := tm, 50
	for i := 0; i < 5000; i++ {
		now = now.Add(time.Duration(rng.Int64N(int64(20 * time.Second))))
		f.route(s, fmt.Sprintf("u%d", rng.IntN(users)), now)
		if i%500 == 0 {
			if _, err := f.m.SweepSessions(f.ctx, "", now, 1000); err != nil {
				t.Fatal(err)
			}
		}
	}
	open := 0
	sp := f.m.def()
	for i := range sp.shards {
		for _, rec := range sp.shards[i].open {
			for ; rec != nil; rec = rec.coll {
				if lag := rec.s.LastActivityAt.Sub(rec.key); rec.s.Open() && (lag < 0 || lag >= bound) {
					t.Errorf("session %d: key %v behind its last activity (less than %v allowed)", rec.s.ID, lag, bound)
				}
				open++
			}
		}
	}
	if open == 0 {
		t.Fatal("no open session was checked")
	}
}

// R9: a sweep re-keys the sessions it meets that were active since they
// were keyed, and closes the one behind them that is over; the group is
// then due when its new first session can idle out.
func TestR9SweepReKeysSessionsItMeets(t *testing.T) {
	f := newMemFixture(t)
	s := smsSender("1")
	idle := rekeyEvery * time.Minute
	f.commit(activeBot("a", idle, s))
	u1 := f.route(s, "u1", tm)
	u2 := f.route(s, "u2", tm.Add(time.Minute))
	f.route(s, "u1", tm.Add(30*time.Second)) // stamped: u1 stays keyed at tm
	if n, _ := f.m.SweepSessions(f.ctx, "", tm.Add(idle), 10); n != 0 {
		t.Fatalf("R9: sweep at u1's key's idle end closed %d, want 0 (u1 was active since)", n)
	}
	rec := f.m.def().sessions.get(uint64(u1.ID))
	if !rec.key.Equal(tm.Add(30*time.Second)) || !rec.grp.at.Equal(tm.Add(30*time.Second+idle)) {
		t.Fatalf("after the sweep: u1 keyed %v, group due %v; want %v, %v", rec.key, rec.grp.at, tm.Add(30*time.Second), tm.Add(30*time.Second+idle))
	}
	if n, _ := f.m.SweepSessions(f.ctx, "", tm.Add(30*time.Second+idle), 10); n != 1 {
		t.Fatalf("R9: sweep at u1's idle end closed %d, want 1", n)
	}
	if n, _ := f.m.SweepSessions(f.ctx, "", tm.Add(time.Minute+idle), 10); n != 1 {
		t.Fatalf("R9: sweep at u2's idle end closed %d, want 1", n)
	}
	if got, _ := f.m.Sessions(f.ctx, "", u2.ID-1, 1); len(got) != 1 || got[0].CloseReason != lifecycle.CloseIdleTimeout {
		t.Fatalf("R9: u2 after the sweep = %+v; want closed idle", got)
	}
}

// Store contract: routing a message to an open session does not allocate,
// whether it only stamps the session or re-keys it.
func TestRouteToOpenSessionDoesNotAllocate(t *testing.T) {
	f := newMemFixture(t)
	s := smsSender("1")
	f.commit(activeBot("a", 10*time.Minute, s))
	now := tm
	f.route(s, "u1", now)
	for _, step := range []time.Duration{time.Second, 3 * time.Minute} { // every message re-keys: 3m > 10m/16
		if n := testing.AllocsPerRun(100, func() {
			now = now.Add(step)
			if _, err := f.m.Route(f.ctx, "", s, "u1", now); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("messages %v apart: %v allocations per message, want 0", step, n)
		}
	}
}
