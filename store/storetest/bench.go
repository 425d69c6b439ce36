package storetest

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// BenchmarkTestSessionRoute measures R26's routing cost on the store
// newStore returns: a message on an open test session (Manager.SendTest)
// against one on an open live session (Manager.Route), on the same store
// in the same run, and reports their ratio as test/live (the goal is at
// most 1.2). Both sub-benchmarks route to one open session of 64.
func BenchmarkTestSessionRoute(b *testing.B, newStore func(b *testing.B) lifecycle.Store) {
	ctx := context.Background()
	st := newStore(b)
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: fixedClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.System("bench"), "mia", roles.Manager); err != nil {
		b.Fatal(err)
	}
	mia := lifecycle.User("mia")
	bot, err := m.Create(ctx, mia, lifecycle.Create{Name: "b", Channel: "sms", Senders: []lifecycle.Sender{sender("100")}, Definition: definition()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		b.Fatal(err)
	}
	users := make([]string, 64)
	for i := range users {
		users[i] = "u" + strconv.Itoa(i)
		if _, err := m.Route(ctx, sender("100"), users[i]); err != nil {
			b.Fatal(err)
		}
	}
	var tests []lifecycle.TestSessionID
	for range 16 {
		ts, err := m.OpenTestSession(ctx, mia, bot.ID)
		if err != nil {
			b.Fatal(err)
		}
		tests = append(tests, ts.ID)
	}
	var ns [2]float64
	for k, name := range []string{"live", "test"} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if k == 0 {
					_, err = m.Route(ctx, sender("100"), users[i%len(users)])
				} else {
					_, err = m.SendTest(ctx, mia, tests[i%len(tests)])
				}
				if err != nil {
					b.Fatal(err)
				}
			}
			ns[k] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	if ns[0] > 0 {
		b.ReportMetric(ns[1]/ns[0], "test/live")
	}
}
