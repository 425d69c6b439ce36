package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Durability (issue 25): under SyncCommits, the default, every write runs
// with synchronous=FULL - a commit, a session opened, closed or swept -
// except a message to an open session, which runs with NORMAL; under the
// other settings every write runs with the one chosen.
func TestSynchronousPerWrite(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	snd := lifecycle.Sender{Channel: "sms", Address: "1"}
	b := lifecycle.Bot{ID: "b", Name: "b", Channel: "sms", State: lifecycle.Active, Revision: 1, Activations: 1, IdleTimeout: time.Minute,
		Senders: []lifecycle.Sender{snd}, Live: []lifecycle.SenderState{{Sender: snd, State: lifecycle.Active, Activation: 1}}}
	steps := []struct {
		name    string
		durable bool
		run     func(st *Store) error
	}{
		{"commit", true, func(st *Store) error {
			_, err := st.Commit(ctx, lifecycle.Plan{Changes: []lifecycle.Change{{Bot: "b", To: lifecycle.Active, After: &b}}})
			return err
		}},
		{"route opening a session", true, func(st *Store) error { _, err := st.Route(ctx, "", snd, "u", now); return err }},
		{"route to the open session", false, func(st *Store) error { _, err := st.Route(ctx, "", snd, "u", now.Add(time.Second)); return err }},
		{"commit after a route", true, func(st *Store) error {
			_, err := st.Commit(ctx, lifecycle.Plan{Audit: []lifecycle.AuditEntry{{Time: now, Actor: "a", Action: lifecycle.OpGet}}})
			return err
		}},
		{"route to the open session again", false, func(st *Store) error { _, err := st.Route(ctx, "", snd, "u", now.Add(2*time.Second)); return err }},
		{"route closing an idle session and opening one", true, func(st *Store) error { _, err := st.Route(ctx, "", snd, "u", now.Add(time.Hour)); return err }},
		{"route to the new session", false, func(st *Store) error {
			_, err := st.Route(ctx, "", snd, "u", now.Add(time.Hour+time.Second))
			return err
		}},
		{"close", true, func(st *Store) error {
			_, err := st.CloseSession(ctx, "", 2, lifecycle.CloseCompleted, now.Add(time.Hour+time.Second))
			return err
		}},
		{"route opening a session", true, func(st *Store) error { _, err := st.Route(ctx, "", snd, "v", now.Add(2*time.Hour)); return err }},
		{"route to the open session", false, func(st *Store) error {
			_, err := st.Route(ctx, "", snd, "v", now.Add(2*time.Hour+time.Second))
			return err
		}},
		{"sweep", true, func(st *Store) error { _, err := st.SweepSessions(ctx, "", now.Add(3*time.Hour), 10); return err }},
	}
	for _, tc := range []struct {
		opt                 Synchronous
		durable, notDurable int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{
		{"", 2, 1},
		{SyncFull, 2, 2},
		{SyncNormal, 1, 1},
	} {
		t.Run("sync="+string(tc.opt), func(t *testing.T) {
			st, err := OpenWith(ctx, filepath.Join(t.TempDir(), "s.db"), Options{Synchronous: tc.opt})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			for _, step := range steps {
				if err := step.run(st); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				var got int
				if err := st.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&got); err != nil {
					t.Fatal(err)
				}
				want := tc.notDurable
				if step.durable {
					want = tc.durable
				}
				if got != want {
					t.Errorf("after %s: synchronous = %d, want %d", step.name, got, want)
				}
			}
		})
	}
}

// Durability: a context ended while the writer's synchronous setting
// changes may interrupt the call after SQLite applied it - the driver then
// reports the context's error - so after a failed change the store does
// not trust the setting it last gave: the next write sets its own again.
// (A Route whose context ended at that instant left the setting NORMAL
// while the store believed FULL, and every commit after it ran unsynced
// until the next message: 70 in 530,000 cancelled Routes here.)
func TestSynchronousAfterAnInterruptedChange(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.wsync != SyncFull {
		t.Fatalf("writer starts at %s, want FULL", st.wsync)
	}
	ended, cancel := context.WithCancel(ctx)
	cancel()
	snd := lifecycle.Sender{Channel: "sms", Address: "1"}
	if _, err := st.Route(ended, "", snd, "u", time.Now()); err == nil {
		t.Fatal("Route with an ended context succeeded")
	}
	// What the interrupted change may have done all the same.
	if _, err := st.w.ExecContext(ctx, `PRAGMA synchronous = NORMAL`); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Commit(ctx, lifecycle.Plan{Audit: []lifecycle.AuditEntry{{Time: time.Now(), Actor: "a", Action: lifecycle.OpGet}}}); err != nil {
		t.Fatal(err)
	}
	var got int
	if err := st.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&got); err != nil || got != 2 {
		t.Fatalf("after a commit that followed an interrupted change: synchronous = %d, %v; want 2 (FULL)", got, err)
	}
}
