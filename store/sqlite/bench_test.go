package sqlite_test

// Benchmarks of the SQLite store beside the memory store, in one run, so
// that the figures read as ratios on the same machine:
//
//	cd store/sqlite && go test -run '^$' -bench . -benchtime 2000x
//
// Each benchmark has a sub-benchmark per store: memory, sqlite-full (the
// default, synchronous=FULL: every acknowledged commit synced to disk) and
// sqlite-normal (synchronous=NORMAL: survives a crash of the process, not
// of the machine). The database files are in the test's temporary
// directory: put TMPDIR on the disk you mean to measure.
//
// PostgreSQL: store/postgres has the same four benchmarks' setup in its own
// module; a three-way run adds a sub-benchmark there with the same names and
// the figures are read side by side (see the module README).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/store/sqlite"
	"github.com/botlife/botlife/validate"
)

type benchStore struct {
	name string
	open func(b *testing.B) lifecycle.Store
}

var benchStores = []benchStore{
	{"memory", func(*testing.B) lifecycle.Store { return store.NewMemory() }},
	{"sqlite-full", func(b *testing.B) lifecycle.Store {
		return newStoreWith(b, sqlite.Options{Synchronous: sqlite.SyncFull})
	}},
	{"sqlite-normal", func(b *testing.B) lifecycle.Store {
		return newStoreWith(b, sqlite.Options{Synchronous: sqlite.SyncNormal})
	}},
}

var benchStart = time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)

type benchEnv struct {
	ctx context.Context
	m   *lifecycle.Manager
	clk *clock.Mock
	mia lifecycle.Actor
}

func newBenchEnv(b *testing.B, st lifecycle.Store) *benchEnv {
	b.Helper()
	clk := clock.NewMock()
	clk.Set(benchStart)
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{ctx: context.Background(), m: m, clk: clk, mia: lifecycle.User("mia")}
	if _, err := m.GrantRole(e.ctx, lifecycle.System("bench"), "mia", roles.Manager); err != nil {
		b.Fatal(err)
	}
	return e
}

func benchDefinition() lifecycle.Definition {
	def, err := lifecycle.ReferenceDefinition(validate.Definition{Channel: "sms", EntryDialog: "hi", FallbackDialog: "hi", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello"}, {Type: validate.Close}}},
	}})
	if err != nil {
		panic(err)
	}
	return def
}

func (e *benchEnv) activeBot(b *testing.B, senders ...lifecycle.Sender) lifecycle.Bot {
	return e.activeBotIdle(b, 0, senders...)
}

func (e *benchEnv) activeBotIdle(b *testing.B, idle time.Duration, senders ...lifecycle.Sender) lifecycle.Bot {
	b.Helper()
	bot, err := e.m.Create(e.ctx, e.mia, lifecycle.Create{Name: "bench", Channel: "sms", Senders: senders, Definition: benchDefinition(), IdleTimeout: idle})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.m.Activate(e.ctx, e.mia, bot.ID, lifecycle.Immediate(), lifecycle.Ack{}); err != nil {
		b.Fatal(err)
	}
	return bot
}

var benchSender = lifecycle.Sender{Channel: "sms", Address: "+15550100"}

func benchUser(i int) string { return fmt.Sprintf("+1555%07d", i) }

// BenchmarkRouteExisting routes a message to one of 1000 open sessions.
// Goal (issue 18): sqlite within 20x of memory.
func BenchmarkRouteExisting(b *testing.B) {
	const users = 1000
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			e := newBenchEnv(b, bs.open(b))
			e.activeBot(b, benchSender)
			for i := 0; i < users; i++ {
				if _, err := e.m.Route(e.ctx, benchSender, benchUser(i)); err != nil {
					b.Fatal(err)
				}
			}
			names := make([]string, users)
			for i := range names {
				names[i] = benchUser(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if s, err := e.m.Route(e.ctx, benchSender, names[i%users]); err != nil || s.Messages < 2 {
					b.Fatal(s, err)
				}
			}
		})
	}
}

// BenchmarkRouteOpen routes the first message of a new end user: a session
// opens.
func BenchmarkRouteOpen(b *testing.B) {
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			e := newBenchEnv(b, bs.open(b))
			e.activeBot(b, benchSender)
			names := make([]string, b.N)
			for i := range names {
				names[i] = benchUser(i)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if s, err := e.m.Route(e.ctx, benchSender, names[i]); err != nil || s.Messages != 1 {
					b.Fatal(s, err)
				}
			}
		})
	}
}

// BenchmarkActivateReplace activates a bot on a sender held by another,
// replacing it immediately; the two bots take turns.
func BenchmarkActivateReplace(b *testing.B) {
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			e := newBenchEnv(b, bs.open(b))
			bots := [2]lifecycle.Bot{e.activeBot(b, benchSender), e.activeBot(b, benchSender)}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				e.clk.Add(time.Second)
				if _, err := e.m.Activate(e.ctx, e.mia, bots[i%2].ID, lifecycle.Immediate(), lifecycle.Ack{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkExpireDue runs ExpireDue with 100k sessions open of which 1%
// are due (idle): sessions opened a minute apart in 100 groups of 1000,
// and each iteration moves the clock one minute, so that one more group
// idles out.
func BenchmarkExpireDue(b *testing.B) {
	const groups, perGroup, idle = 100, 1000, 2 * time.Hour
	for _, bs := range benchStores {
		b.Run(bs.name, func(b *testing.B) {
			var e *benchEnv
			left := 0
			setup := func() {
				e = newBenchEnv(b, bs.open(b))
				start := e.clk.Now()
				e.activeBotIdle(b, idle, benchSender)
				for g := 0; g < groups; g++ {
					for i := 0; i < perGroup; i++ {
						if _, err := e.m.Route(e.ctx, benchSender, benchUser(g*perGroup+i)); err != nil {
							b.Fatal(err)
						}
					}
					e.clk.Add(time.Minute)
				}
				// The first group idles out at the next minute.
				e.clk.Set(start.Add(idle - time.Minute))
				left = groups
			}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if left == 0 {
					b.StopTimer()
					setup()
					b.StartTimer()
				}
				e.clk.Add(time.Minute)
				left--
				x, err := e.m.ExpireDue(e.ctx)
				if err != nil || x.SessionsClosed != perGroup {
					b.Fatalf("ExpireDue closed %d sessions, want %d: %v", x.SessionsClosed, perGroup, err)
				}
			}
		})
	}
}
