package store

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// BenchmarkMemoryRoute is the store's share of routing: Memory.Route alone
// to an open session, 1k, 100k and 1M sessions open, and beside it, in the
// same run, the bare map lookup of BenchmarkMapLookup (issue 25: the
// store's share at most 1.5 times the map) and that lookup under a mutex,
// copying the Session out: the floor of a store built on Go maps. The
// clock moves forward by a microsecond per message, as real traffic does.
func BenchmarkMemoryRoute(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) { benchMemoryRoute(b, n) })
	}
}

func benchMemoryRoute(b *testing.B, n int) {
	ctx := context.Background()
	sender := lifecycle.Sender{Channel: "whatsapp", Address: "+15550100"}
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	users := benchUsers(n)
	st := NewMemory()
	bot := lifecycle.Bot{ID: "b", Name: "b", Channel: "whatsapp", Senders: []lifecycle.Sender{sender}, State: lifecycle.Active,
		Revision: 1, Activations: 1, IdleTimeout: 30 * time.Minute,
		Live: []lifecycle.SenderState{{Sender: sender, State: lifecycle.Active, Activation: 1}}}
	if _, err := st.Commit(ctx, lifecycle.Plan{Op: lifecycle.OpActivate, Changes: []lifecycle.Change{{Bot: bot.ID, To: lifecycle.Active, After: &bot}}}); err != nil {
		b.Fatal(err)
	}
	m := make(map[sessKey]*sessRec, n)
	for _, u := range users {
		if _, err := st.Route(ctx, "", sender, u, start); err != nil {
			b.Fatal(err)
		}
		m[sessKey{sender: sender, user: u}] = &sessRec{}
	}
	runtime.GC()
	now := start
	b.Run("store", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			now = now.Add(time.Microsecond)
			if s, err := st.Route(ctx, "", sender, users[i%n], now); err != nil || s.Messages < 2 {
				b.Fatal(s, err)
			}
		}
	})
	b.Run("map", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			m[sessKey{sender: sender, user: users[i%n]}].s.Messages++
		}
	})
	// The floor of any store that keeps sessions in Go maps, is safe for
	// concurrent use and returns the Session, as Route must: the same
	// lookup under a mutex, copying the session out.
	var mu sync.Mutex
	var sink uint64
	b.Run("locked-map", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			mu.Lock()
			r := m[sessKey{sender: sender, user: users[i%n]}]
			r.s.Messages++
			s := r.s
			mu.Unlock()
			sink += s.Messages
		}
	})
	if sink == 0 && b.N > 1 {
		b.Fatal("the locked map counted nothing")
	}
}
