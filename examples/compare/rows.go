package main

import (
	"context"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/validate"
)

// figures lists every figure the README's Performance section states as a
// ratio, each with the baseline it is measured against.
func figures(c config) ([]figure, error) {
	e, err := newEnforcer()
	if err != nil {
		return nil, err
	}
	if err := agree(e); err != nil {
		return nil, err
	}
	routeSizes, history, due, audit, dialogs := []int{1_000, 100_000, 1_000_000}, 100_000, 10_000, 1_000_000, []int{100, 10_000}
	if c.quick {
		routeSizes, history, due, audit, dialogs = []int{1_000}, 1_000, 500, 20_000, []int{10, 100}
	}
	var figs []figure
	for _, n := range routeSizes {
		figs = append(figs, routeFigure(n))
	}
	figs = append(figs, storeRouteFigure(routeSizes[0]))
	figs = append(figs,
		figure{name: "permission check: `roles.Can` vs casbin v2 RBAC `Enforce` (5 roles × 8 permissions, the ladder as inheritance)",
			a: side{label: "roles.Can", bench: benchCan}, b: side{label: "casbin Enforce", bench: benchEnforce(e)},
			ratio: faster, goal: "faster"},
		figure{name: "transition check: `lifecycle.Next` vs looplab/fsm `SetState`+`Can`, per check (4 states × 5 events, all 20 per op)",
			a: side{label: "lifecycle.Next", bench: benchNext, metric: "ns/check"}, b: side{label: "fsm", bench: benchFSM, metric: "ns/check"},
			ratio: faster, goal: "faster"},
		validateFigure(dialogs[1], dialogs[0]),
		historyFigure("ActivateReplace with grace on a sender that N bots used before", history, benchActivateHistory),
		historyFigure("Deactivate on a sender that N bots used before", history, benchDeactivateHistory),
		deactivateFigure(history),
		historyFigure("ExpireDue with nothing due, N bots stored", history, benchExpireIdle),
		historyFigure(fmt.Sprintf("ExpireDue closing %s idle sessions, N bots stored", count(due)), history, benchSweep(due)),
		pastFigure("ExpireDue with nothing due, N schedules stored (half pending a day ahead, half run)", history, (*world).schedules, benchExpireIdle),
		parallelFigure(8, false), parallelFigure(64, false), parallelFigure(8, true), ceilingFigure(8), mutexWaitFigure(8),
		auditFigure(audit, false),
	)
	if _, ok := threadCPU(); ok {
		figs = append(figs, auditFigure(audit, true))
	}
	return figs, nil
}

func count(n int) string {
	switch {
	case n >= 1_000_000 && n%1_000_000 == 0:
		return fmt.Sprintf("%dM", n/1_000_000)
	case n >= 1_000 && n%1_000 == 0:
		return fmt.Sprintf("%dk", n/1_000)
	}
	return fmt.Sprint(n)
}

var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// steppedClock is a clock the benchmarks move by hand. It never sleeps (a
// clock.Mock's Add does, and would be timed).
type steppedClock struct{ t time.Time }

func (c *steppedClock) Now() time.Time { return c.t }

var (
	ctx = context.Background()
	mia = lifecycle.User("mia")
)

func sms(addr string) lifecycle.Sender { return lifecycle.Sender{Channel: "sms", Address: addr} }

// definition is valid with no findings on sms.
func definition() lifecycle.Definition {
	def, err := lifecycle.ReferenceDefinition(validate.Definition{Channel: "sms", EntryDialog: "hi", FallbackDialog: "help", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello"}, {Type: validate.GoTo, Target: "help"}}},
		{ID: "help", Name: "Help", Elements: []validate.Element{{Type: validate.Transfer, Queue: "q"}}},
	}})
	if err != nil {
		panic(err)
	}
	return def
}

// world is a Manager on a fresh memory store, with "mia" a Manager.
type world struct {
	m   *lifecycle.Manager
	st  *store.Memory
	clk *steppedClock
	k   int // turns taken by a benchmark that rotates bots
}

func newWorld() *world {
	w := &world{st: store.NewMemory(), clk: &steppedClock{t: start}}
	m, err := lifecycle.New(lifecycle.Config{Store: w.st, Clock: w.clk})
	if err != nil {
		panic(err)
	}
	w.m = m
	if _, err := m.GrantRole(ctx, lifecycle.System("figures"), "mia", roles.Manager); err != nil {
		panic(err)
	}
	return w
}

func (w *world) bot(senders ...lifecycle.Sender) lifecycle.BotID {
	b, err := w.m.Create(ctx, mia, lifecycle.Create{Name: "b", Channel: "sms", Senders: senders, Definition: definition()})
	if err != nil {
		panic(err)
	}
	return b.ID
}

func (w *world) activate(id lifecycle.BotID, dec lifecycle.Decision) {
	if _, err := w.m.Activate(ctx, mia, id, dec, lifecycle.Ack{}); err != nil {
		panic(err)
	}
}

func (w *world) route(s lifecycle.Sender, user string) {
	if _, err := w.m.Route(ctx, s, user); err != nil {
		panic(err)
	}
}

// history commits n bots that were Active on sender once and are now
// Inactive, straight into the store: what years of redeploys leave.
func (w *world) history(sender lifecycle.Sender, n int) {
	for i := 0; i < n; i++ {
		at := start.Add(-time.Duration(n-i) * time.Minute)
		bot := &lifecycle.Bot{ID: lifecycle.BotID(fmt.Sprintf("old-%07d", i)), Name: "old", Channel: sender.Channel,
			Senders: []lifecycle.Sender{sender}, Definition: definition(), IdleTimeout: 30 * time.Minute,
			State: lifecycle.Inactive, Revision: 3, Activations: 1, CreatedAt: at, UpdatedAt: at,
			FirstActivatedAt: at, ActivatedAt: at, DeactivatedAt: at.Add(time.Second), EndedAt: at.Add(time.Second),
			EndReason: lifecycle.CloseReplaced}
		p := lifecycle.Plan{Op: lifecycle.OpImport, Actor: lifecycle.User("history"), Time: at,
			Changes: []lifecycle.Change{{Bot: bot.ID, To: lifecycle.Inactive, After: bot}}}
		if _, err := w.st.Commit(ctx, p); err != nil {
			panic(err)
		}
	}
}

// schedules stores n schedules straight into the store: half pending a
// day ahead, half run already (R23).
func (w *world) schedules(n int) {
	for i := 0; i < n; i++ {
		sc := lifecycle.Schedule{ID: lifecycle.ScheduleID(fmt.Sprintf("s-%07d", i)), At: start.Add(24 * time.Hour),
			Action:    lifecycle.ScheduledAction{Op: lifecycle.OpActivate, Bot: "b"},
			CreatedBy: "mia", CreatedAt: start, Revision: 1, Status: lifecycle.SchedulePending}
		if i%2 == 1 {
			sc.At, sc.Status, sc.RanAt = start.Add(-time.Hour), lifecycle.ScheduleDone, start
		}
		if _, err := w.st.Commit(ctx, lifecycle.Plan{Schedules: []lifecycle.ScheduleChange{{After: sc}}}); err != nil {
			panic(err)
		}
	}
}

func users(n int) []string {
	us := make([]string, n)
	for i := range us {
		us[i] = fmt.Sprintf("+1555%07d", i)
	}
	return us
}

// --- Route vs a map lookup ---------------------------------------------------

type sessKey struct {
	sender lifecycle.Sender
	user   string
}

type sessRec struct{ messages uint64 }

func routeFigure(n int) figure {
	var (
		w  *world
		us []string
		mp map[sessKey]*sessRec
	)
	sender := sms("100")
	return figure{
		name: fmt.Sprintf("`Manager.Route` to an existing session (memory store) vs a bare map lookup with the same key, %s open sessions", count(n)),
		a: side{label: "Route", loop: func(k int) {
			for i := 0; i < k; i++ {
				if _, err := w.m.Route(ctx, sender, us[i%n]); err != nil {
					panic(err)
				}
			}
		}},
		b: side{label: "map", loop: func(k int) {
			for i := 0; i < k; i++ {
				mp[sessKey{sender: sender, user: us[i%n]}].messages++
			}
		}},
		ratio: times, goal: "0 allocs; the store's share small",
		setup: func() func() {
			w, us, mp = newWorld(), users(n), make(map[sessKey]*sessRec, n)
			w.activate(w.bot(sender), lifecycle.Decision{})
			for _, u := range us {
				w.route(sender, u)
				mp[sessKey{sender: sender, user: u}] = &sessRec{}
			}
			return func() { w, us, mp = nil, nil, nil }
		},
	}
}

// storeRouteFigure is the store's share of Route: Memory.Route alone.
func storeRouteFigure(n int) figure {
	f := routeFigure(n)
	var st *store.Memory
	var us []string
	sender := sms("100")
	setup := f.setup
	f.setup = func() func() {
		release := setup()
		st, us = store.NewMemory(), users(n)
		b := lifecycle.Bot{ID: "b", Name: "b", Channel: "sms", Senders: []lifecycle.Sender{sender}, State: lifecycle.Active, Revision: 1, Activations: 1, IdleTimeout: 30 * time.Minute,
			Live: []lifecycle.SenderState{{Sender: sender, State: lifecycle.Active, Activation: 1}}}
		if _, err := st.Commit(ctx, lifecycle.Plan{Op: lifecycle.OpActivate, Changes: []lifecycle.Change{{Bot: b.ID, To: lifecycle.Active, After: &b}}}); err != nil {
			panic(err)
		}
		for _, u := range us {
			if _, err := st.Route(ctx, "", sender, u, start); err != nil {
				panic(err)
			}
		}
		return func() { release(); st, us = nil, nil }
	}
	f.name = fmt.Sprintf("the store's share: `Memory.Route` alone (no Manager input checks) vs the same map lookup, %s open sessions", count(n))
	f.a = side{label: "Memory.Route", loop: func(k int) {
		for i := 0; i < k; i++ {
			if _, err := st.Route(ctx, "", sender, us[i%n], start); err != nil {
				panic(err)
			}
		}
	}}
	return f
}

// --- validation is linear ------------------------------------------------------

// synthetic builds a valid definition with n dialogs chained by gotos (as
// validate's BenchmarkValidate does).
func synthetic(n int) validate.Definition {
	d := validate.Definition{Channel: "whatsapp", EntryDialog: "d0", FallbackDialog: "d0",
		Attributes: []validate.Attribute{{Name: "name", Type: validate.String}}}
	for i := 0; i < n; i++ {
		next := fmt.Sprintf("d%d", (i+1)%n)
		d.Dialogs = append(d.Dialogs, validate.Dialog{ID: fmt.Sprintf("d%d", i), Name: fmt.Sprintf("Dialog %d", i), Elements: []validate.Element{
			{Type: validate.Input, Text: "Your name?", Attribute: "name"},
			{Type: validate.Buttons, Text: "Hi {{name}}", Options: []string{"yes", "no"}},
			{Type: validate.Condition, Branches: []validate.Branch{{Attribute: "name", Equals: "x", Dialog: next}}},
			{Type: validate.Webhook, Call: &validate.WebhookCall{Method: "POST", URL: "https://example.com/{{name}}", TimeoutMS: 1000}},
			{Type: validate.GoTo, Target: next},
		}})
	}
	return d
}

func validateFigure(large, small int) figure {
	bench := func(n int) func(*testing.B) {
		d := synthetic(n)
		return func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				validate.Default().Validate(&d)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/dialog")
		}
	}
	return figure{
		name:  fmt.Sprintf("`validate.Validate` per dialog, %s vs %s dialogs (linear?)", count(large), count(small)),
		a:     side{label: count(large), bench: bench(large), metric: "ns/dialog", unit: "ns/dialog"},
		b:     side{label: count(small), bench: bench(small), metric: "ns/dialog", unit: "ns/dialog"},
		ratio: times, goal: "≈ 1× (linear)",
	}
}

// --- costs that must not grow with history -------------------------------------

// historyFigure compares bench on a world with n old bots against one with
// 10.
func historyFigure(name string, n int, bench func(w *world) func(*testing.B)) figure {
	return pastFigure(name, n, func(w *world, n int) { w.history(sms("100"), n) }, bench)
}

// pastFigure compares bench on a world filled with n things of the past
// and on one with 10.
func pastFigure(name string, n int, fill func(w *world, n int), bench func(w *world) func(*testing.B)) figure {
	var big, small *world
	return figure{
		name:   fmt.Sprintf("%s: %s vs 10", name, count(n)),
		rounds: 3, // each run starts with a GC of the history
		a:      side{label: count(n), bench: func(b *testing.B) { bench(big)(b) }},
		b:      side{label: "10", bench: func(b *testing.B) { bench(small)(b) }},
		ratio:  times, goal: "≤ 2×",
		setup: func() func() {
			big, small = newWorld(), newWorld()
			fill(big, n)
			fill(small, 10)
			for _, w := range []*world{big, small} {
				bench(w) // prepares w
			}
			return func() {
				prepared.Delete(big)
				prepared.Delete(small)
				big, small = nil, nil
			}
		},
	}
}

// Each bench* prepares its world on the first call, and returns the
// benchmark.

var prepared sync.Map // *world -> ids

func benchActivateHistory(w *world) func(*testing.B) {
	v, ok := prepared.Load(w)
	if !ok {
		ids := []lifecycle.BotID{w.bot(sms("100")), w.bot(sms("100")), w.bot(sms("100"))}
		w.activate(ids[0], lifecycle.Immediate())
		prepared.Store(w, ids)
		return nil
	}
	ids := v.([]lifecycle.BotID)
	return func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			w.clk.t = w.clk.t.Add(time.Second)
			w.k++
			if _, err := w.m.Activate(ctx, mia, ids[w.k%3], lifecycle.Grace(time.Hour), lifecycle.Ack{}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchDeactivateHistory(w *world) func(*testing.B) {
	v, ok := prepared.Load(w)
	if !ok {
		prepared.Store(w, w.bot(sms("100")))
		return nil
	}
	id := v.(lifecycle.BotID)
	return func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			w.clk.t = w.clk.t.Add(time.Second)
			w.activate(id, lifecycle.Decision{})
			b.StartTimer()
			if _, err := w.m.Deactivate(ctx, mia, id, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func benchExpireIdle(w *world) func(*testing.B) {
	if _, ok := prepared.Load(w); !ok {
		drain, live := w.bot(sms("200")), w.bot(sms("200"))
		w.activate(drain, lifecycle.Decision{})
		w.activate(live, lifecycle.Grace(time.Hour))
		for i := 0; i < 100; i++ {
			w.route(sms("200"), fmt.Sprintf("user-%d", i))
		}
		prepared.Store(w, true)
		return nil
	}
	return func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if x, err := w.m.ExpireDue(ctx); err != nil || x.SessionsClosed != 0 || len(x.DrainsEnded) != 0 {
				b.Fatal(x, err)
			}
		}
	}
}

func benchSweep(due int) func(w *world) func(*testing.B) {
	us := users(due)
	return func(w *world) func(*testing.B) {
		if _, ok := prepared.Load(w); !ok {
			w.activate(w.bot(sms("300")), lifecycle.Decision{})
			prepared.Store(w, true)
			return nil
		}
		return func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				for _, u := range us {
					w.route(sms("300"), u)
				}
				w.clk.t = w.clk.t.Add(31 * time.Minute)
				b.StartTimer()
				if x, err := w.m.ExpireDue(ctx); err != nil || x.SessionsClosed != due {
					b.Fatal(x, err)
				}
			}
		}
	}
}

// deactivateFigure: Deactivate costs the same with 1 or 100k open sessions.
func deactivateFigure(sessions int) figure {
	var one, many *world
	bench := func(w **world) func(*testing.B) {
		return func(b *testing.B) {
			id, _ := prepared.Load(*w)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				(*w).clk.t = (*w).clk.t.Add(time.Second)
				(*w).activate(id.(lifecycle.BotID), lifecycle.Decision{})
				b.StartTimer()
				if _, err := (*w).m.Deactivate(ctx, mia, id.(lifecycle.BotID), 0); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	return figure{
		name:  "Deactivate a bot with 100k open sessions vs 1 (no per-session work)",
		a:     side{label: "100k", bench: bench(&many)},
		b:     side{label: "1", bench: bench(&one)},
		ratio: times, goal: "≈ 1×", rounds: 3,
		setup: func() func() {
			one, many = newWorld(), newWorld()
			for w, n := range map[*world]int{one: 1, many: sessions} {
				id := w.bot(sms("100"))
				w.activate(id, lifecycle.Decision{})
				for _, u := range users(n) {
					w.route(sms("100"), u)
				}
				if _, err := w.m.Deactivate(ctx, mia, id, 0); err != nil {
					panic(err)
				}
				prepared.Store(w, id)
			}
			return func() {
				prepared.Delete(one)
				prepared.Delete(many)
				one, many = nil, nil
			}
		},
	}
}

// --- routing on many cores ------------------------------------------------------

const parallelSenders, parallelUsers = 64, 1_000

// routeParallel routes b.N messages from g goroutines, goroutine i on its
// own sender.
func routeParallel(w *world, ss []lifecycle.Sender, us []string, g int) func(*testing.B) {
	return func(b *testing.B) {
		var wg sync.WaitGroup
		for k := 0; k < g; k++ {
			n := b.N / g
			if k < b.N%g {
				n++
			}
			wg.Add(1)
			go func(s lifecycle.Sender, n int) {
				defer wg.Done()
				for i := 0; i < n; i++ {
					if _, err := w.m.Route(ctx, s, us[i%len(us)]); err != nil {
						panic(err)
					}
				}
			}(ss[k%len(ss)], n)
		}
		wg.Wait()
	}
}

// globalLock is the memory store behind one store-wide mutex, as it was
// before issue 13: the parallel figures' reference design.
type globalLock struct {
	*store.Memory
	mu sync.Mutex
}

func (g *globalLock) Route(ctx context.Context, ws lifecycle.Workspace, s lifecycle.Sender, user string, now time.Time) (lifecycle.Session, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.Memory.Route(ctx, ws, s, user, now)
}

func parallelFigure(g int, oneMutex bool) figure {
	var (
		w  *world
		ss []lifecycle.Sender
		us []string
	)
	name := fmt.Sprintf("`Manager.Route` throughput, %d goroutines vs 1, each on its own sender (wall time per message)", g)
	goal := "≥ 1.6× at 8 on 2 cores"
	if oneMutex {
		name = fmt.Sprintf("the same behind one store-wide mutex (the design before), %d goroutines vs 1", g)
		goal = "(reference)"
	}
	return figure{
		name:  name,
		a:     side{label: fmt.Sprintf("%d", g), bench: func(b *testing.B) { routeParallel(w, ss, us, g)(b) }},
		b:     side{label: "1", bench: func(b *testing.B) { routeParallel(w, ss, us, 1)(b) }},
		ratio: speedup, goal: goal,
		setup: func() func() {
			w, us, ss = newWorld(), users(parallelUsers), nil
			if oneMutex {
				m, err := lifecycle.New(lifecycle.Config{Store: &globalLock{Memory: w.st}, Clock: w.clk})
				if err != nil {
					panic(err)
				}
				w.m = m
			}
			for i := 0; i < parallelSenders; i++ {
				ss = append(ss, sms(fmt.Sprintf("+1555020%04d", i)))
			}
			w.activate(w.bot(ss...), lifecycle.Decision{})
			for _, s := range ss {
				for _, u := range us {
					w.route(s, u)
				}
			}
			return func() { w, ss, us = nil, nil, nil }
		},
	}
}

// mutexWaitFigure is the time goroutines spend waiting for a mutex while g
// of them route, each on its own sender, per message: the sharded store
// against the same store behind one store-wide mutex. Unlike throughput it
// does not need idle cores to show whether routing serialises.
func mutexWaitFigure(g int) figure {
	var sharded, global *world
	var ss []lifecycle.Sender
	var us []string
	wait := func(w **world) func(*testing.B) {
		return func(b *testing.B) {
			sample := []metrics.Sample{{Name: "/sync/mutex/wait/total:seconds"}}
			metrics.Read(sample)
			before := sample[0].Value.Float64()
			b.ResetTimer()
			routeParallel(*w, ss, us, g)(b)
			metrics.Read(sample)
			b.ReportMetric((sample[0].Value.Float64()-before)*1e9/float64(b.N), "wait-ns/op")
		}
	}
	return figure{
		name:  fmt.Sprintf("mutex wait per message, %d goroutines routing each on its own sender: the sharded store vs one store-wide mutex", g),
		a:     side{label: "sharded", bench: wait(&sharded), metric: "wait-ns/op", unit: "ns"},
		b:     side{label: "one mutex", bench: wait(&global), metric: "wait-ns/op", unit: "ns"},
		ratio: func(a, b float64) string { return fmt.Sprintf("%.0f ns vs %.0f ns", a, b) }, goal: "≈ 0 for the sharded store",
		setup: func() func() {
			sharded, global, us, ss = newWorld(), newWorld(), users(parallelUsers), nil
			m, err := lifecycle.New(lifecycle.Config{Store: &globalLock{Memory: global.st}, Clock: global.clk})
			if err != nil {
				panic(err)
			}
			global.m = m
			for i := 0; i < parallelSenders; i++ {
				ss = append(ss, sms(fmt.Sprintf("+1555020%04d", i)))
			}
			for _, w := range []*world{sharded, global} {
				w.activate(w.bot(ss...), lifecycle.Decision{})
				for _, s := range ss {
					for _, u := range us {
						w.route(s, u)
					}
				}
			}
			return func() { sharded, global, ss, us = nil, nil, nil, nil }
		},
	}
}

// ceilingFigure is what the machine gives g goroutines that share nothing:
// each looks up keys in its own map. Route's parallel figures read
// against it.
func ceilingFigure(g int) figure {
	maps := make([]map[sessKey]*sessRec, g)
	us := users(parallelUsers)
	for k := range maps {
		maps[k] = map[sessKey]*sessRec{}
		for _, u := range us {
			maps[k][sessKey{sender: sms(fmt.Sprint(k)), user: u}] = &sessRec{}
		}
	}
	bench := func(g int) func(*testing.B) {
		return func(b *testing.B) {
			var wg sync.WaitGroup
			for k := 0; k < g; k++ {
				n := b.N / g
				wg.Add(1)
				go func(k, n int) {
					defer wg.Done()
					s := sms(fmt.Sprint(k))
					for i := 0; i < n; i++ {
						maps[k][sessKey{sender: s, user: us[i%len(us)]}].messages++
					}
				}(k, n)
			}
			wg.Wait()
		}
	}
	return figure{
		name:  fmt.Sprintf("the machine's ceiling: map lookups sharing nothing, %d goroutines vs 1", g),
		a:     side{label: fmt.Sprint(g), bench: bench(g)},
		b:     side{label: "1", bench: bench(1)},
		ratio: speedup, goal: "(what the cores give)",
	}
}

// --- the audit log ---------------------------------------------------------------

// gcPauses returns a function that returns, in ns, about the longest GC
// stop-the-world pause since gcPauses was called (the upper bound of the
// runtime's histogram bucket).
func gcPauses() func() float64 {
	const name = "/sched/pauses/total/gc:seconds"
	read := func() *metrics.Float64Histogram {
		s := []metrics.Sample{{Name: name}}
		metrics.Read(s)
		if s[0].Value.Kind() != metrics.KindFloat64Histogram {
			return nil
		}
		return s[0].Value.Float64Histogram()
	}
	before := read()
	return func() float64 {
		after := read()
		if before == nil || after == nil {
			return 0
		}
		for i := len(after.Counts) - 1; i >= 0; i-- {
			if after.Counts[i] > before.Counts[i] {
				return min(after.Buckets[i+1], after.Buckets[i]*2) * 1e9
			}
		}
		return 0
	}
}

// auditFigure appends n audit entries, one Commit each, to a fresh store
// and reports the worst single Commit, against the worst of the same n
// Commits into a log restarted every 1,000 entries: the same work and the
// same exposure to the machine's own hiccups (the OS giving the CPU to
// other processes), without a long log. With cpu, both sides count the
// CPU time of their thread instead of wall time, which leaves the OS's
// share out.
func auditFigure(n int, cpu bool) figure {
	at := start
	p := lifecycle.Plan{Op: lifecycle.OpGet, Actor: lifecycle.User("eve"), Time: at,
		Audit: []lifecycle.AuditEntry{{Time: at, Actor: "eve", Action: lifecycle.OpGet, Denied: true, Reason: "no role"}}}
	clock := func() time.Duration { return time.Duration(time.Now().UnixNano()) }
	what := "wall time"
	if cpu {
		clock = func() time.Duration { d, _ := threadCPU(); return d }
		what = "CPU time of the thread"
	}
	worstOf := func(step func(j int)) func(*testing.B) {
		return func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var worst time.Duration
			pauses := gcPauses()
			for i := 0; i < b.N; i++ {
				for j := 0; j < n; j++ {
					t0 := clock()
					step(j)
					worst = max(worst, clock()-t0)
				}
			}
			b.ReportMetric(float64(worst.Nanoseconds())/1e3, "max-µs")
			b.ReportMetric(pauses()/1e3, "gc-pause-max-µs")
		}
	}
	var st *store.Memory
	commit := worstOf(func(j int) {
		if j == 0 {
			st = store.NewMemory()
		}
		if _, err := st.Commit(ctx, p); err != nil {
			panic(err)
		}
	})
	var short *store.Memory
	restart := worstOf(func(j int) {
		if j%1000 == 0 {
			short = store.NewMemory()
		}
		if _, err := short.Commit(ctx, p); err != nil {
			panic(err)
		}
	})
	return figure{
		name: fmt.Sprintf("audit log: the worst single Commit while appending %s entries vs the same Commits into a log restarted every 1,000 entries (%s)", count(n), what),
		a: side{label: "Commit", metric: "max-µs", unit: "µs", bench: commit,
			note: "gc-pause-max-µs", noteFormat: "(the runtime's longest stop-the-world pause meanwhile: about %.0f µs)"},
		b:     side{label: "log restarted every 1,000", metric: "max-µs", unit: "µs", bench: restart},
		ratio: times, goal: "≤ 1,000 µs", rounds: 3,
		setup: func() func() { return func() { st, short = nil, nil } },
	}
}
