package lifecycle_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
)

// fixedClock is a clock that does not move: benchmarks measure the
// operation, not the clock.
type fixedClock struct{ t time.Time }

func (c *fixedClock) Now() time.Time { return c.t }

// benchStores remembers the store of each benchmark's Manager, for the
// benchmarks that fill it with history directly.
var benchStores sync.Map

func storeOf(m *lifecycle.Manager) lifecycle.Store {
	st, _ := benchStores.Load(m)
	return st.(lifecycle.Store)
}

func benchManager(b *testing.B) (*lifecycle.Manager, *fixedClock) {
	clk := &fixedClock{t: start}
	st := store.NewMemory()
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	benchStores.Store(m, st)
	ctx := context.Background()
	for user, r := range map[string]roles.Role{"mia": roles.Manager, "dan": roles.Designer} {
		if _, err := m.GrantRole(ctx, lifecycle.System("bench"), user, r); err != nil {
			b.Fatal(err)
		}
	}
	return m, clk
}

func benchBot(b *testing.B, m *lifecycle.Manager, addr string) lifecycle.BotID {
	bot, err := m.Create(context.Background(), designer, lifecycle.Create{Name: "b", Channel: "sms", Senders: []lifecycle.Sender{sms(addr)}, Definition: cleanDef()})
	if err != nil {
		b.Fatal(err)
	}
	return bot.ID
}

// BenchmarkActivateReplace activates a bot over an Active one with a grace
// period, on the memory store. Three bots take turns: each activation
// drains the Active bot and ends the previous drain (R6).
func BenchmarkActivateReplace(b *testing.B) {
	m, clk := benchManager(b)
	ctx := context.Background()
	ids := []lifecycle.BotID{benchBot(b, m, "100"), benchBot(b, m, "100"), benchBot(b, m, "100")}
	if _, err := m.Activate(ctx, manager, ids[0], lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		clk.t = clk.t.Add(time.Second)
		if _, err := m.Activate(ctx, manager, ids[(i+1)%3], lifecycle.Grace(time.Hour), lifecycle.Ack{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeactivate deactivates a bot with 1 and with 100,000 open
// sessions; no transition may cost time proportional to open sessions.
func BenchmarkDeactivate(b *testing.B) {
	for _, n := range []int{1, 100_000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			m, clk := benchManager(b)
			ctx := context.Background()
			id := benchBot(b, m, "100")
			if _, err := m.Activate(ctx, manager, id, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
				b.Fatal(err)
			}
			for i := 0; i < n; i++ {
				if _, err := m.Route(ctx, sms("100"), fmt.Sprintf("user-%d", i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				clk.t = clk.t.Add(time.Second)
				if _, err := m.Deactivate(ctx, manager, id, 0); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if _, err := m.Activate(ctx, manager, id, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
