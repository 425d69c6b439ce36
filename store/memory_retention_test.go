package store

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

var heap1M = flag.Bool("heap1m", false, "run TestRetentionHeap with 1M sessions (about 10 s)")

// steppedClock is a clock the test moves by hand; it never sleeps.
type steppedClock struct{ t time.Time }

func (c *steppedClock) Now() time.Time { return c.t }

// retentionManager returns a Manager on st with one bot Active on sender.
func retentionManager(t testing.TB, st *Memory, sender lifecycle.Sender) (*lifecycle.Manager, *steppedClock, lifecycle.BotID) {
	t.Helper()
	ctx := context.Background()
	clk := &steppedClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.System("test"), "mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
	def, err := lifecycle.ReferenceDefinition(validate.Definition{EntryDialog: "a", FallbackDialog: "a", Dialogs: []validate.Dialog{{ID: "a", Name: "a", Elements: []validate.Element{{Type: validate.Close}}}}})
	if err != nil {
		t.Fatal(err)
	}
	mia := lifecycle.User("mia")
	bot, err := m.Create(ctx, mia, lifecycle.Create{Name: "b", Channel: sender.Channel, Senders: []lifecycle.Sender{sender}, Definition: def})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		t.Fatal(err)
	}
	return m, clk, bot.ID
}

// retained counts the sessions the store still holds.
func (m *Memory) retained() int {
	n := 0
	last := m.def().nextSession.Load()
	for id := m.def().sessions.next(1, last); id <= last; id = m.def().sessions.next(id+1, last) {
		if m.def().sessions.get(id) != nil {
			n++
		}
	}
	return n
}

// TestRetention: closed sessions stay readable for the retention, then
// leave memory at the next ExpireDue; the counts keep them.
func TestRetention(t *testing.T) {
	for _, keep := range []time.Duration{DefaultRetention, 0} {
		t.Run(fmt.Sprintf("retention=%v", keep), func(t *testing.T) {
			ctx := context.Background()
			sender := lifecycle.Sender{Channel: "sms", Address: "100"}
			st := NewMemory()
			if keep != DefaultRetention {
				st = NewMemory(WithRetention(keep))
			}
			m, clk, bot := retentionManager(t, st, sender)
			const n = 5000
			for i := 0; i < n; i++ {
				if _, err := m.Route(ctx, sender, fmt.Sprintf("user-%d", i)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := m.Deactivate(ctx, lifecycle.User("mia"), bot, 0); err != nil {
				t.Fatal(err)
			}
			if x, err := m.ExpireDue(ctx); err != nil || x.SessionsClosed != n {
				t.Fatalf("ExpireDue = %+v, %v; want %d sessions closed", x, err, n)
			}
			clk.t = clk.t.Add(DefaultRetention - time.Second)
			if _, err := m.ExpireDue(ctx); err != nil {
				t.Fatal(err)
			}
			if s, err := m.Session(ctx, 1); err != nil || s.CloseReason != lifecycle.CloseDeactivated {
				t.Fatalf("within the retention: Session(1) = %+v, %v", s, err)
			}
			clk.t = clk.t.Add(time.Second)
			if _, err := m.ExpireDue(ctx); err != nil {
				t.Fatal(err)
			}
			_, err := m.Session(ctx, 1)
			page, _ := st.Sessions(ctx, "", 0, 10)
			switch {
			case keep > 0 && (!errors.Is(err, lifecycle.ErrNotFound) || len(page) != 0 || st.retained() != 0):
				t.Errorf("after the retention: Session(1) error %v, Sessions %d, %d retained; want not found, none, 0", err, len(page), st.retained())
			case keep <= 0 && (err != nil || len(page) != 10 || st.retained() != n):
				t.Errorf("kept forever: Session(1) error %v, Sessions %d, %d retained; want nil, 10, %d", err, len(page), st.retained(), n)
			}
			stats, _ := st.SessionStats(ctx, "")
			if len(stats) != 1 || stats[0].Opened != n || stats[0].Closed[lifecycle.CloseDeactivated] != n || stats[0].Open != 0 {
				t.Errorf("SessionStats = %+v; want %d opened and closed", stats, n)
			}
		})
	}
}

// TestRetentionHeap routes 1M sessions (50k without -heap1m), closes them,
// lets the retention pass and prints the heap at each step: what a closed
// session costs once it is gone.
//
//	go test ./store -run TestRetentionHeap -v -args -heap1m
func TestRetentionHeap(t *testing.T) {
	if testing.Short() {
		t.Skip("routes 50k sessions")
	}
	n := 50_000
	if *heap1M {
		n = 1_000_000
	}
	ctx := context.Background()
	heap := func(what string) uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		t.Logf("%-44s heap %7.1f MB", what, float64(ms.HeapAlloc)/(1<<20))
		return ms.HeapAlloc
	}
	base := heap("empty store")
	sender := lifecycle.Sender{Channel: "sms", Address: "100"}
	st := NewMemory()
	m, clk, bot := retentionManager(t, st, sender)
	for i := 0; i < n; i++ {
		if _, err := m.Route(ctx, sender, fmt.Sprintf("+1555%07d", i)); err != nil {
			t.Fatal(err)
		}
	}
	open := heap(fmt.Sprintf("%d sessions open", n))
	if _, err := m.Deactivate(ctx, lifecycle.User("mia"), bot, 0); err != nil {
		t.Fatal(err)
	}
	if x, err := m.ExpireDue(ctx); err != nil || x.SessionsClosed != n {
		t.Fatalf("ExpireDue = %+v, %v", x, err)
	}
	heap(fmt.Sprintf("%d sessions closed, within retention", n))
	clk.t = clk.t.Add(DefaultRetention)
	for st.retained() > 0 {
		if _, err := m.ExpireDue(ctx); err != nil {
			t.Fatal(err)
		}
	}
	gone := heap(fmt.Sprintf("%d sessions closed, past retention", n))
	per := (float64(open) - float64(base)) / float64(n)
	left := (float64(gone) - float64(base)) / float64(n)
	t.Logf("per session: %.0f B open, %.1f B after the retention", per, left)
	if left > 16 {
		t.Errorf("%.1f B per session stay after the retention; want at most 16", left)
	}
	stats, _ := st.SessionStats(ctx, "")
	if len(stats) != 1 || stats[0].Opened != uint64(n) {
		t.Errorf("SessionStats = %+v; want %d opened", stats, n)
	}
	runtime.KeepAlive(st)
}

// TestRetentionHoldsForAnyLimit: a sweep removes the closed sessions past
// the retention whatever positive limit it is given, and none for a limit
// of zero or below, which does nothing - math.MaxInt ("all") too,
// whose purge budget (purgeBudget per session it may close) overflowed
// to below zero, so that a caller sweeping with it never let a closed
// session leave memory.
func TestRetentionHoldsForAnyLimit(t *testing.T) {
	for _, limit := range []int{math.MinInt, -1, 0, 1, 1000, math.MaxInt / purgeBudget, math.MaxInt/purgeBudget + 1, math.MaxInt} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			ctx := context.Background()
			sender := lifecycle.Sender{Channel: "sms", Address: "100"}
			st := NewMemory()
			m, clk, _ := retentionManager(t, st, sender)
			s, err := m.Route(ctx, sender, "u1")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := st.CloseSession(ctx, "", s.ID, lifecycle.CloseCompleted, clk.t); err != nil {
				t.Fatal(err)
			}
			if _, err := st.SweepSessions(ctx, "", clk.t.Add(DefaultRetention), limit); err != nil {
				t.Fatal(err)
			}
			// A limit of zero or below does nothing (LimitsNotPositive),
			// purging included.
			if n, want := st.retained(), map[bool]int{true: 1}[limit <= 0]; n != want {
				t.Errorf("SweepSessions(limit %d) past the retention left %d closed sessions in memory; want %d", limit, n, want)
			}
		})
	}
}
