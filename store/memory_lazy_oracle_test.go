package store_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

// oracle drives a Memory through a Manager (bot changes: activate with and
// without grace, per sender (R22), deactivate, end grace, rollback, delete,
// update the idle timeout, test sessions (R26)) and routes and sweeps on
// the store directly, checking every answer against the one rule: a Route
// answers what lifecycle.DecideRoute decides over what the store recorded
// (R10), and a sweep run until it returns less than its limit closes
// exactly the sessions lifecycle.SessionAt says are over at its now, with
// that reason and ClosedAt (R9). The clock moves by steps around a
// sixteenth of the idle timeouts (the store's re-keying) and back.
type oracle struct {
	t    *testing.T
	ctx  context.Context
	st   *store.Memory
	m    *lifecycle.Manager
	clk  *clock.Mock
	rng  *rand.Rand
	bots []lifecycle.BotID
	now  time.Time
}

var oracleSenders = []lifecycle.Sender{{Channel: "sms", Address: "1001"}, {Channel: "sms", Address: "1002"}}

func newOracle(t *testing.T, seed uint64) *oracle {
	o := &oracle{t: t, ctx: context.Background(), st: store.NewMemory(store.WithRetention(0)), clk: clock.NewMock(),
		rng: rand.New(rand.NewPCG(seed, 7)), now: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	o.clk.Set(o.now)
	n := 0
	m, err := lifecycle.New(lifecycle.Config{Store: o.st, Clock: o.clk, NewID: func(lifecycle.Workspace) lifecycle.BotID {
		n++
		return lifecycle.BotID(fmt.Sprintf("bot-%03d", n))
	}})
	if err != nil {
		t.Fatal(err)
	}
	o.m = m
	for user, r := range map[string]roles.Role{"dan": roles.Designer, "mia": roles.Manager} {
		if _, err := m.GrantRole(o.ctx, lifecycle.System("bootstrap"), user, r); err != nil {
			t.Fatal(err)
		}
	}
	return o
}

var oracleIdles = []time.Duration{16 * time.Minute, 30 * time.Minute, time.Minute}

func (o *oracle) definition() lifecycle.Definition {
	d := validate.Definition{Channel: "sms", EntryDialog: "hi", FallbackDialog: "hi", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello"}, {Type: validate.Close}}},
	}}
	def, err := lifecycle.ReferenceDefinition(d)
	if err != nil {
		o.t.Fatal(err)
	}
	return def
}

func (o *oracle) bot() lifecycle.BotID {
	if len(o.bots) == 0 {
		return "none"
	}
	return o.bots[o.rng.IntN(len(o.bots))]
}

func (o *oracle) senders() []lifecycle.Sender {
	switch o.rng.IntN(3) {
	case 0:
		return nil
	case 1:
		return oracleSenders[:1]
	}
	return oracleSenders[1:]
}

var dan, mia = lifecycle.User("dan"), lifecycle.User("mia")

// step does one random operation; errors of bot operations are answers,
// not failures (a refused operation changes nothing).
func (o *oracle) step() {
	switch k := o.rng.IntN(20); {
	case k == 0 && len(o.bots) < 5:
		b, err := o.m.Create(o.ctx, dan, lifecycle.Create{Name: "b", Channel: "sms", Senders: oracleSenders,
			Definition: o.definition(), IdleTimeout: oracleIdles[o.rng.IntN(len(oracleIdles))]})
		if err != nil {
			o.t.Fatal(err)
		}
		o.bots = append(o.bots, b.ID)
	case k == 1:
		dec := lifecycle.Immediate()
		if o.rng.IntN(2) == 0 {
			dec = lifecycle.Grace(time.Duration(1+o.rng.IntN(40)) * time.Minute)
		}
		_, _ = o.m.Activate(o.ctx, mia, o.bot(), dec, lifecycle.Ack{Codes: []string{"fallback.missing"}}, o.senders()...)
	case k == 2:
		grace := time.Duration(0)
		if o.rng.IntN(2) == 0 {
			grace = time.Duration(1+o.rng.IntN(40)) * time.Minute
		}
		_, _ = o.m.Deactivate(o.ctx, mia, o.bot(), grace, o.senders()...)
	case k == 3:
		_, _ = o.m.EndGrace(o.ctx, mia, o.bot())
	case k == 4:
		_, _ = o.m.Rollback(o.ctx, mia, o.bot(), lifecycle.Grace(10*time.Minute), lifecycle.Ack{})
	case k == 5 && o.rng.IntN(4) == 0:
		_ = o.m.Delete(o.ctx, mia, o.bot())
	case k == 6:
		idle := oracleIdles[o.rng.IntN(len(oracleIdles))]
		_, _ = o.m.Update(o.ctx, dan, lifecycle.Update{Bot: o.bot(), IdleTimeout: &idle})
	case k == 7:
		_, _ = o.m.OpenTestSession(o.ctx, dan, o.bot())
	case k <= 9:
		o.moveClock()
	case k == 10:
		o.sweep()
	case k == 11:
		if _, err := o.m.ExpireDue(o.ctx); err != nil {
			o.t.Fatal(err)
		}
		o.checkNothingOverOpen()
	default:
		o.route()
	}
}

// moveClock steps around a sixteenth of an idle timeout (1m of 16m,
// 112.5s of 30m, 3.75s of 1m), onto idle ends, and now and then back.
func (o *oracle) moveClock() {
	steps := []time.Duration{time.Nanosecond, time.Second, 3750 * time.Millisecond, 59 * time.Second, time.Minute,
		time.Minute + time.Nanosecond, 112500 * time.Millisecond, 5 * time.Minute, 15 * time.Minute, 16 * time.Minute, 30 * time.Minute}
	d := steps[o.rng.IntN(len(steps))]
	if o.rng.IntN(6) == 0 {
		d = -d
	}
	o.now = o.now.Add(d)
	o.clk.Set(o.now)
}

// sessions returns every session the store recorded.
func (o *oracle) sessions() []lifecycle.Session {
	ss, err := o.st.Sessions(o.ctx, "", 0, 1<<30)
	if err != nil {
		o.t.Fatal(err)
	}
	return ss
}

func (o *oracle) botOrNil(id lifecycle.BotID) *lifecycle.Bot {
	b, err := o.st.Bot(o.ctx, "", id)
	if errors.Is(err, lifecycle.ErrNotFound) {
		return nil
	}
	if err != nil {
		o.t.Fatal(err)
	}
	return &b
}

// route routes a message on a real sender or on a test session's sender,
// and compares the store's answer with DecideRoute's.
func (o *oracle) route() {
	sender := oracleSenders[o.rng.IntN(len(oracleSenders))]
	user := fmt.Sprintf("u%d", o.rng.IntN(4))
	all := o.sessions()
	if o.rng.IntN(4) == 0 {
		var tests []lifecycle.Session
		for _, s := range all {
			if s.Sender.IsTest() {
				tests = append(tests, s)
			}
		}
		if len(tests) > 0 {
			s := tests[o.rng.IntN(len(tests))]
			sender, user = s.Sender, s.EndUser
		}
	}
	var v lifecycle.RouteView
	for i := range all {
		if s := all[i]; s.Open() && s.Sender == sender && s.EndUser == user {
			v.Open, v.OpenBot = &s, o.botOrNil(s.Bot)
		}
	}
	if !sender.IsTest() {
		live, _, err := o.st.SenderBots(o.ctx, "", []lifecycle.Sender{sender}, "")
		if err != nil {
			o.t.Fatal(err)
		}
		for i := range live {
			if on, ok := live[i].On(sender); ok && on.State == lifecycle.Active {
				v.Active = &live[i]
			}
		}
	} else {
		for _, s := range all { // the lease's bot holds its test sender's active slot
			if s.Sender == sender {
				v.Active = o.botOrNil(s.Bot)
			}
		}
	}
	step, wantErr := lifecycle.DecideRoute(v, sender, user, o.now)
	got, err := o.st.Route(o.ctx, "", sender, user, o.now)
	if (err == nil) != (wantErr == nil) {
		o.t.Fatalf("R10: Route(%v, %q) at %v: error %v, DecideRoute: %v (view open %+v)", sender, user, o.now, err, wantErr, v.Open)
	}
	if step.Closed.ID != 0 {
		var rec lifecycle.Session
		for _, s := range o.sessions() {
			if s.ID == step.Closed.ID {
				rec = s
			}
		}
		if diff := cmp.Diff(step.Closed, rec); diff != "" {
			o.t.Fatalf("R9/R10: Route at %v recorded the session it found over not as DecideRoute did (-want +got):\n%s", o.now, diff)
		}
	}
	if err != nil {
		return
	}
	want := step.Session
	if step.New {
		want.ID = got.ID
	}
	if diff := cmp.Diff(want, got); diff != "" {
		o.t.Fatalf("R10: Route(%v, %q) at %v differs from DecideRoute (-want +got):\n%s", sender, user, o.now, diff)
	}
}

// sweep sweeps in batches of a random limit until a batch closes less than
// its limit, as ExpireDue does, and requires exactly the sessions
// SessionAt says are over to be recorded closed, as it says.
func (o *oracle) sweep() {
	before := o.sessions()
	want := make(map[lifecycle.SessionID]lifecycle.Session, len(before))
	closing := 0
	for _, s := range before {
		if s.Open() {
			at := lifecycle.SessionAt(s, o.botOrNil(s.Bot), o.now)
			if !at.Open() {
				closing++
			}
			s = at
		}
		want[s.ID] = s
	}
	limit := []int{1, 2, 3, 1000}[o.rng.IntN(4)]
	total := 0
	for {
		n, err := o.st.SweepSessions(o.ctx, "", o.now, limit)
		if err != nil {
			o.t.Fatal(err)
		}
		total += n
		if n < limit {
			break
		}
	}
	if total != closing {
		o.t.Errorf("R9: sweeps at %v (limit %d) closed %d sessions, SessionAt says %d are over", o.now, limit, total, closing)
	}
	for _, s := range o.sessions() {
		if diff := cmp.Diff(want[s.ID], s); diff != "" {
			o.t.Fatalf("R9: after sweeping at %v (limit %d), session %d differs from SessionAt (-want +got):\n%s", o.now, limit, s.ID, diff)
		}
	}
}

// checkNothingOverOpen: after ExpireDue at now, no session recorded open
// is over at now by the one rule.
func (o *oracle) checkNothingOverOpen() {
	for _, s := range o.sessions() {
		if at := lifecycle.SessionAt(s, o.botOrNil(s.Bot), o.now); s.Open() && !at.Open() {
			o.t.Fatalf("R9: after ExpireDue at %v, session %+v is still recorded open but over", o.now, s)
		}
	}
}

// R9, R10 (issue 25): the memory store's lazily keyed sessions answer as
// the one rule does, through bot changes, test sessions, and a clock
// stepping across a sixteenth of the idle timeout, forward and back.
func TestR9LazyKeyingMatchesTheOneRule(t *testing.T) {
	for seed := range uint64(24) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			o := newOracle(t, seed)
			for range 600 {
				o.step()
				if t.Failed() {
					return
				}
			}
		})
	}
}

// R9 (issue 25): one ExpireDue settles every session over at its now, in
// batches of lifecycle's sweep batch, across shards, whether the sessions
// were stamped since they were keyed (re-keyed by the sweep) or not.
func TestR9ExpireDueSettlesManyLazilyKeyedSessions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		users int
		due   time.Duration // after the first message, when ExpireDue runs
	}{
		{"fewer than a batch", 300, 16*time.Minute + 30*time.Second},
		{"more than two batches", 2600, 16*time.Minute + 30*time.Second},
		{"more than two batches, all over", 2600, 17 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := newOracle(t, 3)
			b, err := o.m.Create(o.ctx, dan, lifecycle.Create{Name: "b", Channel: "sms", Senders: oracleSenders, Definition: o.definition(), IdleTimeout: 16 * time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := o.m.Activate(o.ctx, mia, b.ID, lifecycle.Immediate(), lifecycle.Ack{Codes: []string{"fallback.missing"}}); err != nil {
				t.Fatal(err)
			}
			start := o.now
			for i := range tc.users {
				s, u := oracleSenders[i%2], fmt.Sprintf("u%d", i)
				if _, err := o.st.Route(o.ctx, "", s, u, start); err != nil {
					t.Fatal(err)
				}
				if i%3 == 0 { // stamped, not re-keyed: over a minute later
					if _, err := o.st.Route(o.ctx, "", s, u, start.Add(59*time.Second)); err != nil {
						t.Fatal(err)
					}
				}
			}
			o.now = start.Add(tc.due)
			o.clk.Set(o.now)
			over := 0
			for _, s := range o.sessions() {
				if at := lifecycle.SessionAt(s, o.botOrNil(s.Bot), o.now); !at.Open() {
					over++
				}
			}
			x, err := o.m.ExpireDue(o.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if x.SessionsClosed != over {
				t.Errorf("R9: ExpireDue closed %d sessions, SessionAt says %d are over", x.SessionsClosed, over)
			}
			o.checkNothingOverOpen()
		})
	}
}
