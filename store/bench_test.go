package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/botlife/botlife/roles"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/validate"
)

type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

var benchSizes = []int{1_000, 100_000, 1_000_000}

func benchUsers(n int) []string {
	users := make([]string, n)
	for i := range users {
		users[i] = fmt.Sprintf("+1555%07d", i)
	}
	return users
}

// BenchmarkRoute routes a message to an existing session through the
// Manager and the memory store, with 1k, 100k and 1M sessions open. Compare
// with BenchmarkMapLookup at the same sizes.
func BenchmarkRoute(b *testing.B) {
	ctx := context.Background()
	sender := lifecycle.Sender{Channel: "whatsapp", Address: "+15550100"}
	def := validate.Definition{EntryDialog: "a", FallbackDialog: "a", Dialogs: []validate.Dialog{{ID: "a", Name: "a", Elements: []validate.Element{{Type: validate.Close}}}}}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			st := NewMemory()
			m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: fixedClock{time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.GrantRole(ctx, lifecycle.System("bench"), "mia", roles.Manager); err != nil {
				b.Fatal(err)
			}
			mia := lifecycle.User("mia")
			bot, err := m.Create(ctx, mia, lifecycle.Create{Name: "b", Channel: "whatsapp", Senders: []lifecycle.Sender{sender}, Definition: def})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
				b.Fatal(err)
			}
			users := benchUsers(n)
			for _, u := range users {
				if _, err := m.Route(ctx, sender, u); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				s, err := m.Route(ctx, sender, users[i%n])
				if err != nil || s.Messages < 2 {
					b.Fatal(s, err)
				}
			}
		})
	}
}

// BenchmarkMapLookup is the baseline for BenchmarkRoute: a bare lookup in a
// map with the same key type, size and access pattern.
func BenchmarkMapLookup(b *testing.B) {
	sender := lifecycle.Sender{Channel: "whatsapp", Address: "+15550100"}
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			users := benchUsers(n)
			m := make(map[sessKey]*sessRec, n)
			for _, u := range users {
				m[sessKey{sender: sender, user: u}] = &sessRec{}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := m[sessKey{sender: sender, user: users[i%n]}]
				r.s.Messages++
			}
		})
	}
}
