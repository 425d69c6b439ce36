package lifecycle_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
)

// BenchmarkWatchLatency measures, on the memory store, how long a change
// takes from the return of its Commit to its delivery to a watcher
// (delivery-ns), beside the time of the operation itself (ns/op).
func BenchmarkWatchLatency(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Clock: &fixed{t: start}, NewID: counter()})
	if err != nil {
		b.Fatal(err)
	}
	sys := lifecycle.System("bench")
	for user, r := range map[string]roles.Role{"dan": roles.Designer, "ada": roles.Admin} {
		if _, err := m.GrantRole(ctx, sys, user, r); err != nil {
			b.Fatal(err)
		}
	}
	got := make(chan time.Time, 1)
	go func() {
		for _, err := range m.Watch(ctx, admin, 2) {
			if err != nil {
				return
			}
			got <- time.Now()
		}
	}()
	var delivery time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Create(ctx, designer, lifecycle.Create{Name: "b", Channel: "sms"}); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		delivery += (<-got).Sub(committed)
	}
	b.ReportMetric(float64(delivery.Nanoseconds())/float64(b.N), "delivery-ns")
}

type fixed struct{ t time.Time }

func (f *fixed) Now() time.Time { return f.t }

func counter() func(lifecycle.Workspace) lifecycle.BotID {
	n := 0
	return func(lifecycle.Workspace) lifecycle.BotID { n++; return lifecycle.BotID(fmt.Sprintf("b%d", n)) }
}
