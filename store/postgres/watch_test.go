package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/postgres"
)

func auditOnly(actor string) lifecycle.Plan {
	return lifecycle.Plan{Op: lifecycle.OpGet, Audit: []lifecycle.AuditEntry{{Time: time.Now(), Actor: actor, Action: lifecycle.OpGet, Denied: true, Reason: "test"}}}
}

// R24, R27: an entry committed through one replica (its own pool) wakes a
// waiter on its workspace on another, rounds alternating the default
// workspace and acme. The safety-net poll is set to an hour, so only the
// notification sent by the committing transaction can wake it before the
// waiter's 30 s deadline (a bound, not a measure: the waiter's first round
// connects its listener, which a loaded machine can take a while to do).
func TestWaitAuditAcrossReplicas(t *testing.T) {
	defer postgres.SetWaitTiming(time.Hour, time.Minute)()
	_, url := newStore(t)
	a, b := openStore(t, url, nil), openStore(t, url, nil)
	ctx := context.Background()
	for round := 0; round < 6; round++ {
		ws := []lifecycle.Workspace{"", "acme"}[round%2]
		entries, err := a.AuditLog(ctx, ws, 0, everything)
		if err != nil {
			t.Fatal(err)
		}
		head := uint64(len(entries))
		woke := make(chan error, 1)
		waiting := make(chan struct{})
		go func() {
			ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			close(waiting)
			woke <- b.WaitAudit(ctx, ws, head)
		}()
		<-waiting
		time.Sleep(20 * time.Millisecond) // let it block (it is correct either way)
		p := auditOnly(fmt.Sprint("round", round))
		p.Workspace = ws
		if _, err := a.Commit(ctx, p); err != nil {
			t.Fatal(err)
		}
		if err := <-woke; err != nil {
			t.Fatalf("R24, R27: round %d: the waiter on workspace %q on the other pool was not woken within 30 s: %v", round, ws, err)
		}
	}
}

// R24: with 8 goroutines committing through two replicas at once, a
// watcher on a third never finds an entry below one it has seen: every
// page continues exactly where the last ended, and it gets every entry.
func TestWatchOrderUnderConcurrentCommitters(t *testing.T) {
	_, url := newStore(t)
	replicas := []*postgres.Store{openStore(t, url, nil), openStore(t, url, nil)}
	watcher, err := lifecycle.New(lifecycle.Config{Store: openStore(t, url, nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx0 := context.Background()
	if _, err := watcher.GrantRole(ctx0, lifecycle.System("test"), "ada", roles.Admin); err != nil {
		t.Fatal(err)
	}
	if _, err := watcher.GrantRole(ctx0, lifecycle.System("test"), "mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
	const granted = 2 // the audit entries of the grants
	const committers, each = 8, 25
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, committers)
	for g := 0; g < committers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			m, err := lifecycle.New(lifecycle.Config{Store: replicas[g%2]})
			if err != nil {
				errs <- err
				return
			}
			for i := 0; i < each; i++ {
				if _, err := m.Create(ctx, lifecycle.User("mia"), lifecycle.Create{Name: fmt.Sprintf("g%d-%d", g, i), Channel: "sms", Definition: definition()}); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	var last uint64
	for e, err := range watcher.Watch(ctx, lifecycle.User("ada"), 0) {
		if err != nil {
			t.Fatalf("R24: after %d: %v", last, err)
		}
		if e.Seq != last+1 {
			t.Fatalf("R24: the watcher got %d after %d", e.Seq, last)
		}
		last = e.Seq
		if last == granted+committers*each {
			break
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if rest, _ := replicas[0].AuditLog(context.Background(), "", last, everything); len(rest) != 0 {
		t.Fatalf("R24: %d entries after the watcher's last", len(rest))
	}
}

// listenerGoroutines counts goroutines running the store's listener or
// waiting in WaitAudit.
func listenerGoroutines() int {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "store/postgres.(*listener).run") || strings.Contains(g, "store/postgres.(*Store).WaitAudit") {
			n++
		}
	}
	return n
}

// R24: Close wakes every waiter, which returns ErrUnavailable, and a
// waiter arriving after Close returns at once.
func TestCloseWakesWaiters(t *testing.T) {
	defer postgres.SetWaitTiming(time.Hour, time.Minute)()
	_, url := newStore(t)
	st := openStore(t, url, nil)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs[i] = st.WaitAudit(context.Background(), "", 0)
		}(i)
	}
	for deadline := time.Now().Add(5 * time.Second); listenerGoroutines() < len(errs)+1 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	st.Close()
	wg.Wait()
	errs = append(errs, st.WaitAudit(context.Background(), "", 0))
	for _, err := range errs {
		if !errors.Is(err, lifecycle.ErrUnavailable) {
			t.Fatalf("WaitAudit on a closed store = %v, want ErrUnavailable", err)
		}
	}
	if n := goroutinesLeft(); n != 0 {
		t.Fatalf("%d goroutines of the store left", n)
	}
}

// goroutinesLeft counts the store's goroutines, giving one that has
// signalled its end a moment to return: Close waits for the listener's
// signal, sent from its deferred calls, not for its stack to unwind.
func goroutinesLeft() int {
	n := listenerGoroutines()
	for deadline := time.Now().Add(2 * time.Second); n != 0 && time.Now().Before(deadline); n = listenerGoroutines() {
		time.Sleep(5 * time.Millisecond)
	}
	return n
}

// R24: WaitAudit returns when its context ends, and no goroutine of the
// store is left after Close - or, with no linger, after the last waiter
// leaves.
func TestWaitAuditLeavesNoGoroutine(t *testing.T) {
	for _, tc := range []struct {
		name   string
		linger time.Duration
		close  bool
	}{
		{"after Close", time.Minute, true},
		{"after the last waiter, without linger", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer postgres.SetWaitTiming(time.Hour, tc.linger)()
			_, url := newStore(t)
			st := openStore(t, url, nil)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			errs := make([]error, 3)
			for i := range errs {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					errs[i] = st.WaitAudit(ctx, "", 0)
				}(i)
			}
			// Let the waiters block on the listener (the test holds without it).
			for deadline := time.Now().Add(5 * time.Second); listenerGoroutines() < len(errs)+1 && time.Now().Before(deadline); {
				time.Sleep(10 * time.Millisecond)
			}
			cancel()
			wg.Wait()
			for _, err := range errs {
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("WaitAudit after its context ended = %v, want context.Canceled", err)
				}
			}
			if tc.close {
				st.Close()
			}
			if n := goroutinesLeft(); n != 0 {
				t.Fatalf("%d goroutines of the store left", n)
			}
		})
	}
}

// R24: when the listening connection is lost, waiters still learn of new
// entries: the listener reconnects and wakes them to check, and the poll
// is the safety net for notifications sent while nobody listened.
func TestWaitAuditSurvivesALostListener(t *testing.T) {
	defer postgres.SetWaitTiming(200*time.Millisecond, time.Minute)()
	_, url := newStore(t)
	a, b := openStore(t, url, nil), openStore(t, url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Start b's listener, then kill its connection. The short waiter only
	// starts it (it lingers a minute): on a loaded machine its connection
	// may not have run LISTEN when the waiter gives up, so look for it
	// until it has, bounded by ctx.
	short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	_ = b.WaitAudit(short, "", 0)
	stop()
	for {
		tag, err := a.Pool().Exec(ctx, `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
			WHERE datname = current_database() AND query = 'LISTEN botlife_audit'`)
		if err != nil || tag.RowsAffected() > 1 {
			t.Fatalf("terminating the listener: %v, %d rows", err, tag.RowsAffected())
		}
		if tag.RowsAffected() == 1 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	woke := make(chan error, 1)
	go func() { woke <- b.WaitAudit(ctx, "", 0) }()
	if _, err := a.Commit(ctx, auditOnly("after the loss")); err != nil {
		t.Fatal(err)
	}
	if err := <-woke; err != nil {
		t.Fatalf("R24: the waiter missed the entry after its listener was lost: %v", err)
	}
}
