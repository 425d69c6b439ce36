package postgres_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/postgres"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// tracer records the statements a Store sends, how many times each, and
// the SQLSTATEs of those that fail.
type tracer struct {
	mu    sync.Mutex
	texts map[string]int
	codes []string
}

func (tr *tracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if tr.texts == nil {
		tr.texts = map[string]int{}
	}
	tr.texts[d.SQL]++
	return ctx
}

func (tr *tracer) TraceQueryEnd(_ context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	tr.failed(d.Err)
}

func (tr *tracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (tr *tracer) TraceBatchQuery(ctx context.Context, c *pgx.Conn, d pgx.TraceBatchQueryData) {
	tr.TraceQueryStart(ctx, c, pgx.TraceQueryStartData{SQL: d.SQL})
	tr.failed(d.Err)
}

func (tr *tracer) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// failed records the SQLSTATE of err, if it has one.
func (tr *tracer) failed(err error) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		tr.mu.Lock()
		tr.codes = append(tr.codes, pe.Code)
		tr.mu.Unlock()
	}
}

// reset returns the statement texts and failures recorded so far, and
// forgets them.
func (tr *tracer) reset() (texts, codes []string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for q := range tr.texts {
		texts = append(texts, q)
	}
	slices.Sort(texts)
	codes, tr.texts, tr.codes = tr.codes, nil, nil
	return texts, codes
}

// counts returns how many times each statement was sent since the last
// reset or counts, and forgets them.
func (tr *tracer) counts() map[string]int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := tr.texts
	tr.texts, tr.codes = nil, nil
	return n
}

// tracedStore returns a Store on the (migrated) database at url whose
// connections report to the returned tracer.
func tracedStore(t *testing.T, url string) (*postgres.Store, *tracer) {
	t.Helper()
	return tracedStoreWith(t, url, func(*pgxpool.Config) {})
}

// tracedStoreWith is tracedStore with the pool's configuration as tweak
// leaves it.
func tracedStoreWith(t *testing.T, url string, tweak func(*pgxpool.Config)) (*postgres.Store, *tracer) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	tweak(cfg)
	tr := &tracer{}
	cfg.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := postgres.New(pool)
	t.Cleanup(func() { st.Close(); pool.Close() })
	return st, tr
}

// R9: a sweep's statements are the same text whatever its limit, and
// however many sessions it has closed: the limit is a parameter. Written
// into the text, each limit was another prepared statement on every
// connection, churning pgx's statement cache (and the server's memory).
// Sweeps with limits 1, 2 and 3 (closing 1, 2 and 3 of a group's six
// sessions, then visiting the next group) send the texts one sweep sends.
func TestR9SweepStatementsDoNotVaryWithTheLimit(t *testing.T) {
	f := newFixture(t)
	st, tr := tracedStore(t, f.url)
	for _, addr := range []string{"+15550100", "+15550101"} {
		snd := lifecycle.Sender{Channel: "sms", Address: addr}
		if _, err := f.liveBot(snd); err != nil {
			t.Fatal(err)
		}
		for _, u := range []string{"u1", "u2", "u3", "u4", "u5", "u6"} {
			if _, err := f.st.Route(f.ctx, "", snd, u, f.clk.Now()); err != nil {
				t.Fatal(err)
			}
		}
	}
	later := f.clk.Now().Add(2 * time.Hour)
	sweep := func(limit int) []string {
		t.Helper()
		if n, err := st.SweepSessions(f.ctx, "", later, limit); err != nil || n != limit {
			t.Fatalf("SweepSessions(limit %d) = %d, %v; want %d", limit, n, err, limit)
		}
		texts, codes := tr.reset()
		if len(codes) > 0 {
			t.Fatalf("statements failed: %v", codes)
		}
		return texts
	}
	one := sweep(1)
	for _, limit := range []int{2, 3, 4} {
		if diff := cmp.Diff(one, sweep(limit)); diff != "" {
			t.Errorf("a sweep with limit %d sent statements a sweep with limit 1 did not (-limit 1 +limit %d):\n%s", limit, limit, diff)
		}
	}
}
