package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// atomicClock is a clock goroutines may move while others read it.
type atomicClock struct{ ns atomic.Int64 }

func (c *atomicClock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

// TestShardsUnderLoad routes on many senders from many goroutines while
// bots replace each other there, sweeps run on a moving clock, sessions
// are closed by id and pages are read, all at once (run it with -race).
// Then everything is settled, and the records must add up: every session
// opened is listed once, closed, and counted once by reason; no sender
// ever had two Active bots (R1) when a commit was made.
func TestShardsUnderLoad(t *testing.T) {
	ctx := context.Background()
	st := NewMemory(WithRetention(0))
	clk := &atomicClock{}
	clk.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk, MaxAttempts: 100})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.System("test"), "mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
	mia := lifecycle.User("mia")
	def, err := lifecycle.ReferenceDefinition(validate.Definition{EntryDialog: "a", FallbackDialog: "a", Dialogs: []validate.Dialog{{ID: "a", Name: "a", Elements: []validate.Element{{Type: validate.Close}}}}})
	if err != nil {
		t.Fatal(err)
	}
	senders := make([]lifecycle.Sender, 12)
	for i := range senders {
		senders[i] = lifecycle.Sender{Channel: "sms", Address: fmt.Sprintf("%d00", i+1)}
	}
	// Bots on overlapping pairs of senders, so that commits span shards.
	var bots []lifecycle.BotID
	for i := 0; i < 8; i++ {
		b, err := m.Create(ctx, mia, lifecycle.Create{Name: "b", Channel: "sms", Definition: def, IdleTimeout: 10 * time.Minute,
			Senders: []lifecycle.Sender{senders[i%len(senders)], senders[(i+5)%len(senders)]}})
		if err != nil {
			t.Fatal(err)
		}
		bots = append(bots, b.ID)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var routed, maxID atomic.Int64
	run := func(f func(r *rand.Rand)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(routed.Add(0)), rand.Uint64()))
			for {
				select {
				case <-stop:
					return
				default:
					f(r)
				}
			}
		}()
	}
	for g := 0; g < 6; g++ {
		run(func(r *rand.Rand) {
			s, err := m.Route(ctx, senders[r.IntN(len(senders))], fmt.Sprintf("user-%d", r.IntN(50)))
			if err == nil {
				routed.Add(1)
				for id := int64(s.ID); ; {
					cur := maxID.Load()
					if id <= cur || maxID.CompareAndSwap(cur, id) {
						break
					}
				}
			} else if !errors.Is(err, lifecycle.ErrNoBot) {
				t.Error(err)
			}
		})
	}
	run(func(r *rand.Rand) { // activations, replacements and deactivations
		id := bots[r.IntN(len(bots))]
		var err error
		switch r.IntN(4) {
		case 0:
			_, err = m.Deactivate(ctx, mia, id, time.Duration(r.IntN(3))*time.Minute)
		case 1:
			_, err = m.Activate(ctx, mia, id, lifecycle.Immediate(), lifecycle.Ack{})
		default:
			_, err = m.Activate(ctx, mia, id, lifecycle.Grace(time.Duration(1+r.IntN(20))*time.Minute), lifecycle.Ack{})
		}
		if err != nil && !errors.Is(err, lifecycle.ErrInvalidTransition) {
			t.Error(err)
		}
	})
	run(func(r *rand.Rand) { // the clock moves; ExpireDue settles
		clk.ns.Add(int64(time.Duration(r.IntN(90)) * time.Second))
		if _, err := m.ExpireDue(ctx); err != nil {
			t.Error(err)
		}
	})
	run(func(r *rand.Rand) { // sessions closed by id, pages read
		if n := maxID.Load(); n > 0 {
			if _, err := m.CloseSession(ctx, lifecycle.SessionID(1+r.Int64N(n))); err != nil {
				t.Error(err)
			}
		}
		if _, err := st.Sessions(ctx, "", lifecycle.SessionID(r.Int64N(maxID.Load()+1)), 20); err != nil {
			t.Error(err)
		}
		if _, err := st.SessionStats(ctx, ""); err != nil {
			t.Error(err)
		}
	})
	// At least 300ms of contention, and until messages were routed: on a
	// loaded machine the goroutines may get little time, and the routes
	// only succeed while some bot is Active.
	for start := time.Now(); time.Since(start) < 300*time.Millisecond || routed.Load() < 100; {
		if time.Since(start) > time.Minute {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if routed.Load() == 0 {
		t.Fatal("nothing was routed in a minute")
	}

	// Settle everything: every bot offline, the clock past every deadline.
	for _, id := range bots {
		if b, _ := st.Bot(ctx, "", id); b.State == lifecycle.Active {
			if _, err := m.Deactivate(ctx, mia, id, 0); err != nil && !errors.Is(err, lifecycle.ErrInvalidTransition) {
				t.Fatal(err)
			}
		}
	}
	clk.ns.Add(int64(24 * time.Hour))
	if _, err := m.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	all, _ := st.Sessions(ctx, "", 0, 1<<30)
	byReason := map[statKey]map[lifecycle.CloseReason]uint64{}
	for i, s := range all {
		if s.Open() {
			t.Fatalf("session %d is still recorded open after everything was settled: %+v", s.ID, s)
		}
		if i > 0 && all[i-1].ID >= s.ID {
			t.Fatalf("Sessions out of order at %d", i)
		}
		k := statKey{bot: s.Bot, sender: s.Sender}
		if byReason[k] == nil {
			byReason[k] = map[lifecycle.CloseReason]uint64{}
		}
		byReason[k][s.CloseReason]++
	}
	if uint64(len(all)) != st.def().nextSession.Load() {
		t.Errorf("Sessions lists %d sessions; %d were opened", len(all), st.def().nextSession.Load())
	}
	stats, _ := st.SessionStats(ctx, "")
	var opened uint64
	for _, row := range stats {
		opened += row.Opened
		if row.Open != 0 {
			t.Errorf("%s on %s: %d counted open", row.Bot, row.Sender, row.Open)
		}
		want := byReason[statKey{bot: row.Bot, sender: row.Sender}]
		for r, n := range row.Closed {
			if want[r] != n {
				t.Errorf("%s on %s: %d counted closed as %s, %d listed", row.Bot, row.Sender, n, r, want[r])
			}
		}
	}
	if opened != uint64(len(all)) {
		t.Errorf("the counts say %d opened; %d listed", opened, len(all))
	}
	// R1 and R2 held at every commit: the audit log never shows a second
	// Active bot on a sender.
	log, _ := st.AuditLog(ctx, "", 0, 1<<30)
	state := map[lifecycle.BotID]lifecycle.State{}
	for _, e := range log {
		for _, tr := range e.Transitions {
			state[tr.Bot] = tr.To
		}
		for _, s := range senders {
			active := 0
			for _, id := range bots {
				if b, _ := st.Bot(ctx, "", id); slices.Contains(b.Senders, s) && state[id] == lifecycle.Active {
					active++
				}
			}
			if active > 1 {
				t.Fatalf("after audit entry %d, %d bots are Active on %s", e.Seq, active, s)
			}
		}
	}
	t.Logf("%d messages routed, %d sessions, %d audit entries", routed.Load(), len(all), len(log))
}
