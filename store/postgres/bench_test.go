package postgres_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/postgres"
	"github.com/botlife/botlife/store/storetest"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Benchmarks against the real server, with a clock that does not sleep
// (stepClock). Compare with the memory store's BenchmarkRoute and
// BenchmarkActivateReplace in the root module.

// rotation replaces the Active bot on one sender with a grace period,
// over and over: three bots take turns being Active, draining and
// Inactive (R5, R6).
type rotation struct {
	m                *lifecycle.Manager
	ids              [3]lifecycle.BotID
	active, draining int
}

func (r *rotation) step(ctx context.Context, actor lifecycle.Actor) error {
	next := 0
	for next == r.active || next == r.draining {
		next++
	}
	if _, err := r.m.Activate(ctx, actor, r.ids[next], lifecycle.Grace(time.Hour), lifecycle.Ack{}); err != nil {
		return err
	}
	r.active, r.draining = next, r.active
	return nil
}

// benchManager returns a Manager on a fresh database, a Manager-role user,
// and one rotation on each of senders senders.
func benchManager(b *testing.B, senders int) (*lifecycle.Manager, lifecycle.Actor, []*rotation) {
	_, url := newStore(b)
	st := openStore(b, url, func(c *pgxpool.Config) { c.MaxConns = 16 })
	ctx := context.Background()
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: &stepClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.System("bench"), "mia", roles.Manager); err != nil {
		b.Fatal(err)
	}
	mia := lifecycle.User("mia")
	var rots []*rotation
	for s := 0; s < senders; s++ {
		sender := lifecycle.Sender{Channel: "sms", Address: fmt.Sprintf("+1555010%d", s)}
		r := &rotation{m: m, draining: -1}
		for i := range r.ids {
			bot, err := m.Create(ctx, mia, lifecycle.Create{Name: fmt.Sprint("b", i), Channel: "sms", Senders: []lifecycle.Sender{sender}, Definition: definition()})
			if err != nil {
				b.Fatal(err)
			}
			r.ids[i] = bot.ID
		}
		if _, err := m.Activate(ctx, mia, r.ids[0], lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
			b.Fatal(err)
		}
		rots = append(rots, r)
	}
	return m, mia, rots
}

// BenchmarkActivate replaces the Active bot with a grace period, one
// activation per op (issue 13: 4 round trips, see TestRoundTrips).
func BenchmarkActivate(b *testing.B) {
	_, mia, rots := benchManager(b, 1)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := rots[0].step(ctx, mia); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkActivateParallel measures activation throughput with 1
// goroutine and with 8 goroutines on 8 different senders, interleaved in
// rounds in one run, and reports both and their ratio (issue 13: at least
// 1.3). Commits on different senders share only the audit head lock, held
// for the last statement of each commit.
func BenchmarkActivateParallel(b *testing.B) {
	const goroutines, perRound = 8, 10
	_, mia, rots := benchManager(b, goroutines)
	ctx := context.Background()
	var one, eight time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		for k := 0; k < perRound; k++ {
			if err := rots[0].step(ctx, mia); err != nil {
				b.Fatal(err)
			}
		}
		one += time.Since(start)

		start = time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, goroutines)
		for g := 0; g < goroutines; g++ {
			wg.Add(1)
			go func(r *rotation) {
				defer wg.Done()
				for k := 0; k < perRound; k++ {
					if err := r.step(ctx, mia); err != nil {
						errs <- err
						return
					}
				}
			}(rots[g])
		}
		wg.Wait()
		eight += time.Since(start)
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
	}
	perSec1 := float64(b.N*perRound) / one.Seconds()
	perSec8 := float64(b.N*perRound*goroutines) / eight.Seconds()
	b.ReportMetric(perSec1, "activations/s-1")
	b.ReportMetric(perSec8, "activations/s-8")
	b.ReportMetric(perSec8/perSec1, "speedup-8v1")
}

// bareUpdate is the floor Route is measured against (issue 25): a bare
// one-row UPDATE ... RETURNING in autocommit, with the durability Route
// chooses for a message on an open session (asynchronous commit).
type bareUpdate struct {
	pool *pgxpool.Pool
	rows int
}

func newBareUpdate(b *testing.B, st *postgres.Store, rows int) *bareUpdate {
	_, err := st.Pool().Exec(context.Background(), `CREATE TABLE bare (id int PRIMARY KEY, n bigint NOT NULL, at bigint NOT NULL);
		INSERT INTO bare SELECT i, 0, 0 FROM generate_series(0, `+fmt.Sprint(rows-1)+`) AS i`)
	if err != nil {
		b.Fatal(err)
	}
	return &bareUpdate{st.Pool(), rows}
}

// run updates row i and reports how long it took.
func (u *bareUpdate) run(b *testing.B, i int) time.Duration {
	start := time.Now()
	var n int64
	if err := u.pool.QueryRow(context.Background(), `UPDATE bare SET n = n + 1, at = $1
		FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async WHERE id = $2 RETURNING n`,
		start.UnixNano(), i%u.rows).Scan(&n); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// benchRoute returns a Manager routing to an Active bot on senders senders
// (+15550100, +15550101, ...), its store, and the senders.
func benchRoute(b *testing.B, senders int) (*lifecycle.Manager, *postgres.Store, []lifecycle.Sender) {
	_, url := newStore(b)
	st := openStore(b, url, func(c *pgxpool.Config) { c.MaxConns = 64 })
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: &stepClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}})
	if err != nil {
		b.Fatal(err)
	}
	var ss []lifecycle.Sender
	for i := 0; i < senders; i++ {
		ss = append(ss, lifecycle.Sender{Channel: "sms", Address: fmt.Sprintf("+155501%02d", i)})
	}
	setupRouting(b, m, ss...)
	return m, st, ss
}

// route routes a message and reports how long it took.
func route(b *testing.B, m *lifecycle.Manager, sender lifecycle.Sender, user string, want func(uint64) bool) time.Duration {
	start := time.Now()
	s, err := m.Route(context.Background(), sender, user)
	if err != nil || !want(s.Messages) {
		b.Fatal(s, err)
	}
	return time.Since(start)
}

// BenchmarkRoute routes messages to 1,000 open sessions (1 round trip) and,
// in turn, runs the bare UPDATE on 1,000 rows; it reports both and their
// ratio (issue 25: at most 1.5).
func BenchmarkRoute(b *testing.B) {
	m, st, ss := benchRoute(b, 1)
	const users = 1000
	for i := 0; i < users; i++ {
		route(b, m, ss[0], fmt.Sprintf("u%d", i), func(n uint64) bool { return n == 1 })
	}
	bare := newBareUpdate(b, st, users)
	var routing, floor time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		routing += route(b, m, ss[0], fmt.Sprintf("u%d", i%users), func(n uint64) bool { return n >= 2 })
		floor += bare.run(b, i)
	}
	reportVsFloor(b, routing, floor)
}

func reportVsFloor(b *testing.B, routing, floor time.Duration) {
	b.ReportMetric(float64(routing.Nanoseconds())/float64(b.N), "route-ns")
	b.ReportMetric(float64(floor.Nanoseconds())/float64(b.N), "update-ns")
	b.ReportMetric(float64(routing)/float64(floor), "route/update")
}

// BenchmarkRouteNewSession opens a new session per op (1 round trip) and,
// in turn, runs the bare UPDATE; it reports both and their ratio (issue
// 25: at most 2.5).
func BenchmarkRouteNewSession(b *testing.B) {
	m, st, ss := benchRoute(b, 1)
	bare := newBareUpdate(b, st, 1000)
	var routing, floor time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		routing += route(b, m, ss[0], fmt.Sprintf("new%d", i), func(n uint64) bool { return n == 1 })
		floor += bare.run(b, i)
	}
	reportVsFloor(b, routing, floor)
}

// BenchmarkRouteParallel routes messages to open sessions with 1
// goroutine, then with 8 and 64 (b.RunParallel; 8 and 64 rounded up to a
// multiple of GOMAXPROCS), each goroutine on a sender and end users of its
// own; it reports messages per second and the speedups (issue 25: 64
// goroutines at least 4 times 1).
func BenchmarkRouteParallel(b *testing.B) {
	const users = 8
	m, _, ss := benchRoute(b, 64)
	for _, sender := range ss {
		for u := 0; u < users; u++ {
			route(b, m, sender, fmt.Sprint("u", u), func(n uint64) bool { return n == 1 })
		}
	}
	open := func(n uint64) bool { return n >= 2 }
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		route(b, m, ss[0], fmt.Sprint("u", i%users), open)
	}
	one := float64(b.N) / time.Since(start).Seconds()
	b.ReportMetric(one, "msgs/s-1")
	for _, goroutines := range []int{8, 64} {
		procs := runtime.GOMAXPROCS(0)
		b.SetParallelism((goroutines + procs - 1) / procs)
		var next atomic.Int64
		run := func() {
			b.RunParallel(func(pb *testing.PB) {
				sender := ss[(next.Add(1)-1)%int64(len(ss))]
				for i := 0; pb.Next(); i++ {
					route(b, m, sender, fmt.Sprint("u", i%users), open)
				}
			})
		}
		// Once untimed: the pool's new connections connect, prepare the
		// statements and plan them. Timed with the messages, they were
		// most of the time of 64 goroutines at 2,000 messages.
		b.StopTimer()
		run()
		b.StartTimer()
		start := time.Now()
		run()
		perSec := float64(b.N) / time.Since(start).Seconds()
		b.ReportMetric(perSec, fmt.Sprintf("msgs/s-%d", goroutines))
		b.ReportMetric(perSec/one, fmt.Sprintf("speedup-%dv1", goroutines))
	}
}

// BenchmarkWatchLatency reports the time from the start of a Commit on one
// replica to the return of WaitAudit on another (R24, issue 15).
func BenchmarkWatchLatency(b *testing.B) {
	_, url := newStore(b)
	a, w := openStore(b, url, nil), openStore(b, url, nil)
	ctx := context.Background()
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		head := uint64(i)
		waiting, woke := make(chan struct{}), make(chan time.Time, 1)
		go func() {
			close(waiting)
			if err := w.WaitAudit(ctx, "", head); err != nil {
				b.Error(err)
			}
			woke <- time.Now()
		}()
		<-waiting
		time.Sleep(2 * time.Millisecond) // let it block
		b.StartTimer()
		start := time.Now()
		if _, err := a.Commit(ctx, auditOnly("bench")); err != nil {
			b.Fatal(err)
		}
		total += (<-woke).Sub(start)
	}
	b.ReportMetric(float64(total.Microseconds())/float64(b.N), "µs-commit-to-wake")
}

// BenchmarkWorkspaces: R27's cost to one workspace of 1,000 others in the
// database (goal: route and activate at most 1.2x of a database holding
// one).
func BenchmarkWorkspaces(b *testing.B) {
	storetest.BenchmarkWorkspaces(b, 1000, func(b *testing.B) lifecycle.Store {
		st, _ := newStore(b)
		return st
	})
}
