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
// most 1.2). The live side routes to one of 64 open sessions on 16 senders,
// the test side to one of 16 open test sessions (each on its own virtual
// sender).
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
	liveOn := spreadSenders()
	bot, err := m.Create(ctx, mia, lifecycle.Create{Name: "b", Channel: "sms", Senders: liveOn, Definition: definition()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		b.Fatal(err)
	}
	users := make([]string, 64)
	for i := range users {
		users[i] = "u" + strconv.Itoa(i)
		if _, err := m.Route(ctx, liveOn[i%spread], users[i]); err != nil {
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
					j := i % len(users)
					_, err = m.Route(ctx, liveOn[j%spread], users[j])
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

// The live side's sessions are spread like the test side's: a bot on 16
// senders, as the 16 test sessions sit on 16 virtual senders (one shard or
// index page each), so that the ratio compares routing, not cache
// locality. (With all 64 live sessions on one sender the memory store's
// ratio was 1.33x: one hot shard against 16.)
const spread = 16

func spreadSenders() []lifecycle.Sender {
	out := make([]lifecycle.Sender, spread)
	for i := range out {
		out[i] = lifecycle.Sender{Channel: "sms", Address: strconv.Itoa(100 + i)}
	}
	return out
}

// wsFixture is one workspace of BenchmarkWorkspaces: two bots on its own
// sender, one Active with 16 open sessions.
type wsFixture struct {
	m     *lifecycle.Manager
	bots  [2]lifecycle.BotID
	on    lifecycle.Sender
	users []string
	turn  int // the bot to activate next
}

// fillWorkspaces makes n workspaces in st and returns the first.
func fillWorkspaces(b *testing.B, st lifecycle.Store, n int) *wsFixture {
	ctx, mia := context.Background(), lifecycle.User("mia")
	base, err := lifecycle.New(lifecycle.Config{Store: st, Clock: fixedClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))})
	if err != nil {
		b.Fatal(err)
	}
	var first *wsFixture
	for i := range n {
		m, err := base.Workspace(lifecycle.Workspace("ws" + strconv.Itoa(i)))
		if err != nil {
			b.Fatal(err)
		}
		f := &wsFixture{m: m, on: lifecycle.Sender{Channel: "sms", Address: strconv.Itoa(1000 + i)}, turn: 1}
		if _, err := m.GrantRole(ctx, lifecycle.System("bench"), "mia", roles.Manager); err != nil {
			b.Fatal(err)
		}
		for k := range f.bots {
			bot, err := m.Create(ctx, mia, lifecycle.Create{Name: "b", Channel: "sms", Senders: []lifecycle.Sender{f.on}, Definition: definition()})
			if err != nil {
				b.Fatal(err)
			}
			f.bots[k] = bot.ID
		}
		if _, err := m.Activate(ctx, mia, f.bots[0], lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
			b.Fatal(err)
		}
		for u := range 16 {
			f.users = append(f.users, "u"+strconv.Itoa(u))
			if _, err := m.Route(ctx, f.on, f.users[u]); err != nil {
				b.Fatal(err)
			}
		}
		if i == 0 {
			first = f
		}
	}
	return first
}

// BenchmarkWorkspaces measures what many workspaces in one store cost one
// of them (R27): routing a message to an open session and activating a
// bot (the commit path), in a store holding 1 workspace against one
// holding spaces workspaces (each with a live bot, its sessions, roles and
// audit entries), in the same run: compare the sub-benchmarks'
// workspaces=1 and workspaces=N figures (the goal is at most 1.2x).
func BenchmarkWorkspaces(b *testing.B, spaces int, newStore func(b *testing.B) lifecycle.Store) {
	ctx, mia := context.Background(), lifecycle.User("mia")
	fs := [2]*wsFixture{fillWorkspaces(b, newStore(b), 1), fillWorkspaces(b, newStore(b), spaces)}
	for k, f := range fs {
		b.Run("route/workspaces="+strconv.Itoa([]int{1, spaces}[k]), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := f.m.Route(ctx, f.on, f.users[i%len(f.users)]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for k, f := range fs {
		b.Run("activate/workspaces="+strconv.Itoa([]int{1, spaces}[k]), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() { // each activation replaces the other bot at once
				if _, err := f.m.Activate(ctx, mia, f.bots[f.turn], lifecycle.Immediate(), lifecycle.Ack{}); err != nil {
					b.Fatal(err)
				}
				f.turn = 1 - f.turn
			}
		})
	}
}
