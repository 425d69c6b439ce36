package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/postgres"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// roundTrips counts the messages a connection waits on the server for:
// every Query, QueryRow and Exec (begin and commit included), every batch
// (one round trip, however many statements) and every separate Prepare.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (r *roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
func (r *roundTrips) TracePrepareStart(ctx context.Context, _ *pgx.Conn, _ pgx.TracePrepareStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (r *roundTrips) TracePrepareEnd(context.Context, *pgx.Conn, pgx.TracePrepareEndData) {}

// openStore opens a Store on url with its own pool, after tweak changes the
// pool's configuration.
func openStore(tb testing.TB, url string, tweak func(*pgxpool.Config)) *postgres.Store {
	tb.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	if tweak != nil {
		tweak(cfg)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	st := postgres.New(pool)
	tb.Cleanup(func() { st.Close(); pool.Close() })
	if err := st.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return st
}

// TestRoundTrips counts the round trips of each operation, as the Manager
// runs it, on one connection whose statements are already prepared, and
// prints "roundtrips <op> <n>". It fails above each budget (issue 13): an
// activation with a grace period in at most 4, the commit alone in 1 (so
// the audit head lock is held in that last round trip only), a message to
// an open session in 1, one that opens a new session in 1 and one that
// replaces a session that is over with a new one in at most 2; a
// commit creating a schedule in 1 and each schedule read in 1 (R23).
func TestRoundTrips(t *testing.T) {
	_, url := newStore(t)
	tr := &roundTrips{}
	st := openStore(t, url, func(c *pgxpool.Config) {
		c.MaxConns = 1 // one connection, so warming it up prepares every statement
		c.ConnConfig.Tracer = tr
	})
	ctx := context.Background()
	clk := &stepClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	sys := lifecycle.System("round trips")
	if _, err := m.GrantRole(ctx, sys, "mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
	mia := lifecycle.User("mia")
	sender := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	var ids []lifecycle.BotID
	for i := 0; i < 3; i++ {
		b, err := m.Create(ctx, mia, lifecycle.Create{Name: fmt.Sprintf("b%d", i), Channel: "sms", Senders: []lifecycle.Sender{sender}, Definition: definition()})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, b.ID)
	}
	if _, err := m.Activate(ctx, mia, ids[0], lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		t.Fatal(err)
	}
	user := 0
	// active and draining index ids; next is the third, which is Inactive.
	active, draining := 0, -1
	next := func() int {
		for j := range ids {
			if j != active && j != draining {
				return j
			}
		}
		panic("three bots")
	}
	ops := []struct {
		name   string
		budget int64
		run    func(i int) error
	}{
		{"activate-grace", 4, func(int) error {
			// Each activation replaces the Active bot with a grace period,
			// ending the drain of the one before (R5, R6).
			n := next()
			_, err := m.Activate(ctx, mia, ids[n], lifecycle.Grace(time.Hour), lifecycle.Ack{})
			active, draining = n, active
			return err
		}},
		{"route-new-session", 1, func(int) error { // issue 25: opened by the routing statement
			user++
			_, err := m.Route(ctx, sender, fmt.Sprintf("u%d", user))
			return err
		}},
		{"route-open-session", 1, func(int) error {
			_, err := m.Route(ctx, sender, fmt.Sprintf("u%d", user))
			return err
		}},
		{"route-replacing-a-closed-session", 2, func(int) error {
			// The end user's session is over (its bot was replaced at
			// once): close it and open one on the new Active bot.
			n := next()
			if _, err := m.Activate(ctx, mia, ids[n], lifecycle.Immediate(), lifecycle.Ack{}); err != nil {
				return err
			}
			active = n
			tr.n.Store(0)
			_, err := m.Route(ctx, sender, fmt.Sprintf("u%d", user))
			return err
		}},
		{"rollback-grace", 7, func(int) error { // the reads of lifecycle.ReadSnapshot, 1 commit
			// Replace the Active bot with a grace period, then roll back to
			// it while it drains (R20): SenderBots, the group of both bots,
			// and the commit.
			n := next()
			if _, err := m.Activate(ctx, mia, ids[n], lifecycle.Grace(time.Hour), lifecycle.Ack{}); err != nil {
				return err
			}
			active, draining = n, active
			tr.n.Store(0)
			_, err := m.Rollback(ctx, mia, ids[active], lifecycle.Grace(time.Hour), lifecycle.Ack{})
			active, draining = draining, active
			return err
		}},
		{"commit-of-an-activation-with-grace", 1, func(int) error {
			// The commit alone: bots, senders, audit (and its lock) in one
			// round trip, so the audit head lock is held in that one only.
			n := next()
			p, err := m.Plan(ctx, mia, lifecycle.Activate{Bot: ids[n], Decision: lifecycle.Grace(time.Hour)})
			if err != nil {
				return err
			}
			tr.n.Store(0)
			if _, err := st.Commit(ctx, p); err != nil {
				return err
			}
			active, draining = n, active
			return nil
		}},
		{"commit-only", 1, func(int) error {
			_, err := st.Commit(ctx, lifecycle.Plan{Op: lifecycle.OpGet, Audit: []lifecycle.AuditEntry{{Time: clk.Now(), Actor: "x", Action: lifecycle.OpGet, Denied: true}}})
			return err
		}},
		{"audit-read", 1, func(int) error {
			_, err := st.AuditLog(ctx, "", 0, 10)
			return err
		}},
		{"schedule-commit", 1, func(int) error { // R23: the schedule and its Seq in the commit's one round trip
			p, err := m.Plan(ctx, mia, lifecycle.CreateSchedule{At: clk.Now().Add(time.Hour), Do: lifecycle.Deactivate{Bot: ids[active]}})
			if err != nil {
				return err
			}
			tr.n.Store(0)
			_, err = st.Commit(ctx, p)
			return err
		}},
		{"schedule-read", 1, func(int) error {
			_, err := st.Schedule(ctx, "", "nope")
			if errors.Is(err, lifecycle.ErrNotFound) {
				err = nil
			}
			return err
		}},
		{"schedules-list", 1, func(int) error {
			_, err := st.Schedules(ctx, "", 0, 10)
			return err
		}},
		{"due", 1, func(int) error { // due drains and due schedules
			_, err := st.Due(ctx, "", clk.Now().Add(2*time.Hour), 10)
			return err
		}},
	}
	i := 0
	for _, op := range ops {
		for warm := 0; warm < 2; warm++ { // prepare the statements on the connection
			i++
			if err := op.run(i); err != nil {
				t.Fatalf("%s: %v", op.name, err)
			}
		}
		i++
		tr.n.Store(0)
		if err := op.run(i); err != nil {
			t.Fatalf("%s: %v", op.name, err)
		}
		n := tr.n.Load()
		fmt.Printf("roundtrips %s %d\n", op.name, n)
		if n > op.budget {
			t.Errorf("%s took %d round trips, budget %d", op.name, n, op.budget)
		}
	}
}

// stepClock is a goroutine-safe clock that moves one microsecond per
// reading: benchmarks measure the operation, not the clock (clock.Mock's
// Add and Set sleep a millisecond).
type stepClock struct {
	t time.Time
	n atomic.Int64
}

func (c *stepClock) Now() time.Time { return c.t.Add(time.Duration(c.n.Add(1)) * time.Microsecond) }
