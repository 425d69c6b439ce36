package lifecycle_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// The benchmarks of this file measure what must not grow with history
// (issue 13): each runs at 10 and at 100,000 bots ever created, and the
// two figures of one run are compared as a ratio (goal: within 2x).
var historySizes = []int{10, 100_000}

// addHistory commits n bots that were Active on sender once and are now
// Inactive, straight into the store (through the Manager that would take
// 2n operations): what years of redeploys leave behind on a sender.
func addHistory(b *testing.B, st lifecycle.Store, sender lifecycle.Sender, n int) {
	b.Helper()
	ctx := context.Background()
	for i := 0; i < n; i++ {
		at := start.Add(-time.Duration(n-i) * time.Minute)
		bot := &lifecycle.Bot{ID: lifecycle.BotID(fmt.Sprintf("old-%07d", i)), Name: "old", Channel: sender.Channel,
			Senders: []lifecycle.Sender{sender}, Definition: cleanDef(), IdleTimeout: 30 * time.Minute,
			State: lifecycle.Inactive, Revision: 3, Activations: 1, CreatedAt: at, UpdatedAt: at,
			FirstActivatedAt: at, ActivatedAt: at, DeactivatedAt: at.Add(time.Second), EndedAt: at.Add(time.Second),
			EndReason: lifecycle.CloseReplaced}
		p := lifecycle.Plan{Op: lifecycle.OpImport, Actor: lifecycle.User("history"), Time: at,
			Changes: []lifecycle.Change{{Bot: bot.ID, To: lifecycle.Inactive, After: bot}}}
		if _, err := st.Commit(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkActivateHistory activates a bot over an Active one with a grace
// period (three bots take turns, as in BenchmarkActivateReplace) on a
// sender that 10 or 100,000 bots used before, and deactivates one there.
// Neither may cost time that grows with those old bots.
func BenchmarkActivateHistory(b *testing.B) {
	for _, n := range historySizes {
		b.Run(fmt.Sprintf("op=activate/old=%d", n), func(b *testing.B) {
			m, clk := benchManager(b)
			addHistory(b, storeOf(m), sms("100"), n)
			ctx := context.Background()
			ids := []lifecycle.BotID{benchBot(b, m, "100"), benchBot(b, m, "100"), benchBot(b, m, "100")}
			if _, err := m.Activate(ctx, manager, ids[0], lifecycle.Immediate(), lifecycle.Ack{}); err != nil {
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
		})
		b.Run(fmt.Sprintf("op=deactivate/old=%d", n), func(b *testing.B) {
			m, clk := benchManager(b)
			addHistory(b, storeOf(m), sms("100"), n)
			ctx := context.Background()
			id := benchBot(b, m, "100")
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				clk.t = clk.t.Add(time.Second)
				if _, err := m.Activate(ctx, manager, id, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if _, err := m.Deactivate(ctx, manager, id, 0); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExpireDueIdle runs ExpireDue when nothing is due, with 10 or
// 100,000 bots stored (one of them Active with 100 open sessions, one
// draining with a deadline an hour away): it must cost what is due, not
// what is stored.
func BenchmarkExpireDueIdle(b *testing.B) {
	for _, n := range historySizes {
		b.Run(fmt.Sprintf("bots=%d", n), func(b *testing.B) {
			m, _ := benchManager(b)
			addHistory(b, storeOf(m), sms("900"), n)
			ctx := context.Background()
			drain, live := benchBot(b, m, "100"), benchBot(b, m, "100")
			for _, id := range []lifecycle.BotID{drain, live} {
				if _, err := m.Activate(ctx, manager, id, lifecycle.Grace(time.Hour), lifecycle.Ack{}); err != nil {
					b.Fatal(err)
				}
			}
			for i := 0; i < 100; i++ {
				if _, err := m.Route(ctx, sms("100"), fmt.Sprintf("user-%d", i)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if x, err := m.ExpireDue(ctx); err != nil || x.SessionsClosed != 0 || len(x.DrainsEnded) != 0 {
					b.Fatal(x, err)
				}
			}
		})
	}
}

// BenchmarkSweep runs ExpireDue when 10,000 idle sessions are due, with 10
// or 100,000 bots stored. Each op opens the sessions (not timed), moves the
// clock past their idle timeout, and times the ExpireDue that closes them.
func BenchmarkSweep(b *testing.B) {
	const due = 10_000
	users := make([]string, due)
	for i := range users {
		users[i] = fmt.Sprintf("user-%d", i)
	}
	for _, n := range historySizes {
		b.Run(fmt.Sprintf("bots=%d", n), func(b *testing.B) {
			m, clk := benchManager(b)
			addHistory(b, storeOf(m), sms("900"), n)
			ctx := context.Background()
			id := benchBot(b, m, "100")
			if _, err := m.Activate(ctx, manager, id, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for _, u := range users {
					if _, err := m.Route(ctx, sms("100"), u); err != nil {
						b.Fatal(err)
					}
				}
				clk.t = clk.t.Add(31 * time.Minute)
				b.StartTimer()
				if x, err := m.ExpireDue(ctx); err != nil || x.SessionsClosed != due {
					b.Fatal(x, err)
				}
			}
		})
	}
}

// BenchmarkListHistory reads the first page of 10 bots of the dashboard
// with 10 or 100,000 bots stored: a page costs what it returns.
func BenchmarkListHistory(b *testing.B) {
	for _, n := range historySizes {
		b.Run(fmt.Sprintf("bots=%d", n), func(b *testing.B) {
			m, _ := benchManager(b)
			addHistory(b, storeOf(m), sms("100"), n)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if page, err := m.List(ctx, manager, "", 10); err != nil || len(page) != 10 {
					b.Fatal(len(page), err)
				}
			}
		})
	}
}

// BenchmarkExpireDueSchedules runs ExpireDue when nothing is due, with 10
// or 100,000 schedules stored: as many pending a day ahead and as many that
// ran already. Its cost must be what is due, not what was ever scheduled
// (R23, issue 13).
func BenchmarkExpireDueSchedules(b *testing.B) {
	for _, n := range historySizes {
		b.Run(fmt.Sprintf("schedules=%d", n), func(b *testing.B) {
			m, _ := benchManager(b)
			ctx := context.Background()
			for i := 0; i < n; i++ {
				sc := lifecycle.Schedule{ID: lifecycle.ScheduleID(fmt.Sprintf("s-%07d", i)), At: start.Add(24 * time.Hour),
					Action:    lifecycle.ScheduledAction{Op: lifecycle.OpActivate, Bot: "b"},
					CreatedBy: "mia", CreatedAt: start, Revision: 1, Status: lifecycle.SchedulePending}
				if i%2 == 1 {
					sc.At, sc.Status, sc.RanAt = start.Add(-time.Hour), lifecycle.ScheduleDone, start
				}
				if _, err := storeOf(m).Commit(ctx, lifecycle.Plan{Schedules: []lifecycle.ScheduleChange{{After: sc}}}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if x, err := m.ExpireDue(ctx); err != nil || len(x.Schedules) != 0 {
					b.Fatal(x, err)
				}
			}
		})
	}
}
