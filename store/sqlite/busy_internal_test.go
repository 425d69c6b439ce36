package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Options.BusyTimeout is how long a write waits for another process's
// write lock, whatever its size: one too long for SQLite's busy_timeout (an
// int of milliseconds: "wait as long as it takes", math.MaxInt64) waits
// the longest SQLite can, and one below a millisecond waits a millisecond -
// neither turns into no wait at all, failing at once with ErrUnavailable.
func TestBusyTimeoutAtItsEdges(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		timeout time.Duration
		want    int64 // PRAGMA busy_timeout, milliseconds
	}{
		{math.MaxInt64, math.MaxInt32},
		{40 * 24 * time.Hour, math.MaxInt32},
		{time.Microsecond, 1},
		{1500 * time.Millisecond, 1500},
	} {
		st, err := OpenWith(ctx, filepath.Join(t.TempDir(), "busy.db"), Options{BusyTimeout: tc.timeout})
		if err != nil {
			t.Fatal(err)
		}
		var got int64
		if err := st.w.QueryRowContext(ctx, `PRAGMA busy_timeout`).Scan(&got); err != nil || got != tc.want {
			t.Errorf("BusyTimeout %v: busy_timeout = %d, %v; want %d", tc.timeout, got, err, tc.want)
		}
		if tc.timeout == math.MaxInt64 {
			// Another process holds the write lock for a moment: the
			// commit waits for it.
			other, err := sql.Open("sqlite", st.Path())
			if err != nil {
				t.Fatal(err)
			}
			tx, err := other.Begin()
			if err == nil {
				_, err = tx.Exec(`INSERT INTO role_assignments (workspace, user_id, roles) VALUES ('', 'x', 1)`)
			}
			if err != nil {
				t.Fatal(err)
			}
			go func() { time.Sleep(200 * time.Millisecond); tx.Rollback() }()
			_, err = st.Commit(ctx, lifecycle.Plan{Audit: []lifecycle.AuditEntry{{Time: time.Now(), Actor: "a", Action: lifecycle.OpGet}}})
			if errors.Is(err, lifecycle.ErrUnavailable) {
				t.Errorf("BusyTimeout %v: a commit while another process holds the write lock for 200ms = %v; want it to wait", tc.timeout, err)
			}
			other.Close()
		}
		st.Close()
	}
}
