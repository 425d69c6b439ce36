package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Issue 14: no raw SQLSTATE reaches a caller. Every database error wraps a
// library sentinel, keeps the driver's error for errors.As, and says what
// happened in words.
func TestErrorMapping(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want error
	}{
		{"R1/unique violation", context.Background(), &pgconn.PgError{Code: "23505", ConstraintName: "one_active_bot_per_sender"}, lifecycle.ErrConflict},
		{"R15/serialization failure", context.Background(), &pgconn.PgError{Code: "40001"}, lifecycle.ErrConflict},
		{"R15/deadlock", context.Background(), &pgconn.PgError{Code: "40P01"}, lifecycle.ErrConflict},
		{"R15/revision check", context.Background(), &pgconn.PgError{Code: "BL409", Message: "bot b changed"}, lifecycle.ErrConflict},
		{"R21/NUL in jsonb", context.Background(), &pgconn.PgError{Code: "22P05"}, lifecycle.ErrInvalidInput},
		{"R21/NUL or bad UTF-8 in text", context.Background(), &pgconn.PgError{Code: "22021"}, lifecycle.ErrInvalidInput},
		{"R21/index row too large", context.Background(), &pgconn.PgError{Code: "54000"}, lifecycle.ErrInvalidInput},
		{"connection failure", context.Background(), &pgconn.PgError{Code: "08006"}, lifecycle.ErrUnavailable},
		{"admin shutdown", context.Background(), &pgconn.PgError{Code: "57P01"}, lifecycle.ErrUnavailable},
		{"too many connections", context.Background(), &pgconn.PgError{Code: "53300"}, lifecycle.ErrUnavailable},
		{"statement timeout", context.Background(), &pgconn.PgError{Code: "57014"}, lifecycle.ErrUnavailable},
		{"lock timeout", context.Background(), &pgconn.PgError{Code: "55P03"}, lifecycle.ErrUnavailable},
		{"internal error", context.Background(), &pgconn.PgError{Code: "XX000"}, lifecycle.ErrUnavailable},
		{"connection lost", context.Background(), fmt.Errorf("read: %w", io.ErrUnexpectedEOF), lifecycle.ErrUnavailable},
		{"closed pool", context.Background(), errors.New("closed pool"), lifecycle.ErrUnavailable},
		{"caller gave up", canceled, errors.New("timeout: context already done"), lifecycle.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := postgres.Fail(tc.ctx, "testing", tc.err)
			if !errors.Is(got, tc.want) {
				t.Fatalf("mapped %v to %v, want it to wrap %v", tc.err, got, tc.want)
			}
			if strings.Contains(got.Error(), "SQLSTATE") {
				t.Errorf("message shows a raw SQLSTATE: %v", got)
			}
			var pe *pgconn.PgError
			if errors.As(tc.err, &pe) && tc.want != lifecycle.ErrConflict && !errors.As(got, &pe) {
				t.Errorf("the driver's error is lost: %v", got)
			}
			if tc.ctx.Err() != nil && !errors.Is(got, tc.ctx.Err()) {
				t.Errorf("the context's error is lost: %v", got)
			}
		})
	}
}

// Issue 14: a database that cannot be reached, is out of connections,
// times out or drops the connection gives errors wrapping ErrUnavailable,
// on the real server.
func TestUnavailable(t *testing.T) {
	st, url := newStore(t)
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	withParam := func(param string) string {
		if strings.Contains(url, "?") {
			return url + "&" + param
		}
		return url + "?" + param
	}
	// holdAuditLock keeps the default workspace's audit head locked until
	// the test ends, so commits wait for it.
	holdAuditLock := func(t *testing.T) {
		tx, err := admin.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback(ctx) })
		if _, err := tx.Exec(ctx, `INSERT INTO workspace_heads VALUES ('', 'audit', 0)
			ON CONFLICT (workspace, head) DO UPDATE SET seq = workspace_heads.seq`); err != nil {
			t.Fatal(err)
		}
	}
	commit := func(st *postgres.Store) error {
		_, err := st.Commit(ctx, lifecycle.Plan{Audit: []lifecycle.AuditEntry{{Time: time.Now(), Actor: "x", Action: lifecycle.OpGet}}})
		return err
	}
	for _, tc := range []struct {
		name   string
		pgCode string // the SQLSTATE errors.As must find, if any
		run    func(t *testing.T) error
	}{
		{"connection refused", "", func(t *testing.T) error {
			port, err := freePort()
			if err != nil {
				t.Fatal(err)
			}
			_, err = postgres.Open(ctx, fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=5", port))
			return err
		}},
		{"too many connections", "53300", func(t *testing.T) error {
			if _, err := admin.Exec(ctx, `DO $$ BEGIN CREATE ROLE botlife_limited LOGIN CONNECTION LIMIT 0; EXCEPTION WHEN duplicate_object THEN NULL; END $$`); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _, _ = admin.Exec(ctx, `DROP ROLE IF EXISTS botlife_limited`) })
			_, err := postgres.Open(ctx, strings.Replace(url, "postgres://postgres@", "postgres://botlife_limited@", 1))
			return err
		}},
		{"lock timeout", "55P03", func(t *testing.T) error {
			holdAuditLock(t)
			return commit(openStore(t, withParam("lock_timeout=50"), nil))
		}},
		{"statement timeout", "57014", func(t *testing.T) error {
			holdAuditLock(t)
			return commit(openStore(t, withParam("statement_timeout=50"), nil))
		}},
		{"backend terminated", "", func(t *testing.T) error {
			s := openStore(t, url, func(c *pgxpool.Config) {
				c.MaxConns = 1
				c.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
			})
			var pid int32
			if err := s.Pool().QueryRow(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
				t.Fatal(err)
			}
			if _, err := admin.Exec(ctx, `SELECT pg_terminate_backend($1, 10000)`, pid); err != nil {
				t.Fatal(err)
			}
			_, err := s.Bot(ctx, "", "b")
			return err
		}},
		{"caller's deadline", "", func(t *testing.T) error {
			holdAuditLock(t)
			ctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_, err := st.Commit(ctx, lifecycle.Plan{Audit: []lifecycle.AuditEntry{{Time: time.Now(), Actor: "x", Action: lifecycle.OpGet}}})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("%v does not wrap the context's error", err)
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.run(t)
			if !errors.Is(err, lifecycle.ErrUnavailable) {
				t.Fatalf("got %v, want an error wrapping ErrUnavailable", err)
			}
			if strings.Contains(err.Error(), "SQLSTATE") {
				t.Errorf("message shows a raw SQLSTATE: %v", err)
			}
			var pe *pgconn.PgError
			if tc.pgCode != "" && (!errors.As(err, &pe) || pe.Code != tc.pgCode) {
				t.Errorf("errors.As finds %v, want the server's error %s", pe, tc.pgCode)
			}
		})
	}
}

// R15, R16: the audit entries are written in the same transaction as the
// changes they record. A commit that fails after the audit insert - here a
// deferred trigger that refuses the bot at COMMIT, after every statement
// ran - leaves the audit log and the bots as they were. If the audit insert
// were committed on its own, the entry would remain and this test fail.
func TestAuditIsAtomicWithTheCommit(t *testing.T) {
	f := newFixture(t)
	if _, err := f.st.Pool().Exec(f.ctx, `
		CREATE FUNCTION refuse_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF position(convert_to('refused at commit', 'UTF8') IN NEW.doc) > 0 THEN
				RAISE EXCEPTION USING ERRCODE = 'BL409', MESSAGE = 'refused at commit';
			END IF;
			RETURN NULL;
		END $$;
		CREATE CONSTRAINT TRIGGER refuse_at_commit AFTER INSERT OR UPDATE ON bots
		DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refuse_at_commit();`); err != nil {
		t.Fatal(err)
	}
	f.create("fine", "+15550100")
	before := f.contents()
	p, err := lifecycle.Decide(lifecycle.Snapshot{Actor: f.mia, ActorRoles: roles.MustSet(roles.Manager)},
		lifecycle.Create{ID: "late", Name: "refused at commit", Channel: "sms", Definition: definition()}, f.clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Audit) == 0 {
		t.Fatal("the plan has no audit entry")
	}
	if _, err := f.st.Commit(f.ctx, p); !errors.Is(err, lifecycle.ErrConflict) {
		t.Fatalf("Commit = %v, want the late refusal as ErrConflict", err)
	}
	after := f.contents()
	if len(after.Audit) != len(before.Audit) || len(after.Bots) != len(before.Bots) {
		t.Fatalf("R15: a failed commit left %d audit entries (was %d) and %d bots (was %d)",
			len(after.Audit), len(before.Audit), len(after.Bots), len(before.Bots))
	}
	// The next commit numbers its entry right after the last stored one.
	f.create("fine too", "+15550101")
	all, err := f.st.AuditLog(f.ctx, "", 0, everything)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range all {
		if e.Seq != uint64(i+1) {
			t.Fatalf("R16: entry %d has seq %d: a gap", i, e.Seq)
		}
	}
}
