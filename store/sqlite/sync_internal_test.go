package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Under SyncCommits a commit runs with synchronous=FULL and a route with
// NORMAL; under the other settings every write runs with the one chosen.
func TestSynchronousPerWrite(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		opt           Synchronous
		commit, route int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{
		{SyncFull, 2, 2},
		{SyncCommits, 2, 1},
		{SyncNormal, 1, 1},
	} {
		t.Run(string(tc.opt), func(t *testing.T) {
			st, err := OpenWith(ctx, filepath.Join(t.TempDir(), "s.db"), Options{Synchronous: tc.opt})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			setting := func() int {
				var n int
				if err := st.w.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			b := lifecycle.Bot{ID: "b", Name: "b", Channel: "sms", State: lifecycle.Active, Revision: 1, Activations: 1,
				Senders: []lifecycle.Sender{{Channel: "sms", Address: "1"}},
				Live:    []lifecycle.SenderState{{Sender: lifecycle.Sender{Channel: "sms", Address: "1"}, State: lifecycle.Active, Activation: 1}}}
			if _, err := st.Commit(ctx, lifecycle.Plan{Changes: []lifecycle.Change{{Bot: "b", To: lifecycle.Active, After: &b}}}); err != nil {
				t.Fatal(err)
			}
			if got := setting(); got != tc.commit {
				t.Errorf("after a commit: synchronous = %d, want %d", got, tc.commit)
			}
			if _, err := st.Route(ctx, b.Senders[0], "u", now); err != nil {
				t.Fatal(err)
			}
			if got := setting(); got != tc.route {
				t.Errorf("after a route: synchronous = %d, want %d", got, tc.route)
			}
			if _, err := st.Commit(ctx, lifecycle.Plan{Audit: []lifecycle.AuditEntry{{Time: now, Actor: "a", Action: lifecycle.OpGet}}}); err != nil {
				t.Fatal(err)
			}
			if got := setting(); got != tc.commit {
				t.Errorf("after a commit that follows a route: synchronous = %d, want %d", got, tc.commit)
			}
		})
	}
}
