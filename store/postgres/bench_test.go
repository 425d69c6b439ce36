package postgres_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
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
// 1.3). Commits on different senders share only the audit_head lock, held
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

// benchRoute returns a Manager with an Active bot on one sender.
func benchRoute(b *testing.B) (*lifecycle.Manager, lifecycle.Sender) {
	m, _, _ := benchManager(b, 1)
	return m, lifecycle.Sender{Channel: "sms", Address: "+15550100"}
}

// BenchmarkRoute routes messages to 1,000 open sessions (1 round trip).
func BenchmarkRoute(b *testing.B) {
	m, sender := benchRoute(b)
	ctx := context.Background()
	const users = 1000
	for i := 0; i < users; i++ {
		if _, err := m.Route(ctx, sender, fmt.Sprintf("u%d", i)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := m.Route(ctx, sender, fmt.Sprintf("u%d", i%users))
		if err != nil || s.Messages < 2 {
			b.Fatal(s, err)
		}
	}
}

// BenchmarkRouteNewSession opens a new session per op (2 round trips).
func BenchmarkRouteNewSession(b *testing.B) {
	m, sender := benchRoute(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s, err := m.Route(ctx, sender, fmt.Sprintf("new%d", i))
		if err != nil || s.Messages != 1 {
			b.Fatal(s, err)
		}
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
			if err := w.WaitAudit(ctx, head); err != nil {
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
