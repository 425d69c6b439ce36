package store

import (
	"context"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// These tests commit hand-made plans (Plan.Check accepts them) so that
// they can set up exactly the ties and limits they are about.

var tm = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func smsSender(addr string) lifecycle.Sender { return lifecycle.Sender{Channel: "sms", Address: addr} }

// memFixture commits bots to a Memory, keeping their revisions.
type memFixture struct {
	t    *testing.T
	m    *Memory
	ctx  context.Context
	prev map[lifecycle.BotID]lifecycle.Bot
}

func newMemFixture(t *testing.T, opts ...MemoryOption) *memFixture {
	return &memFixture{t: t, m: NewMemory(opts...), ctx: context.Background(), prev: map[lifecycle.BotID]lifecycle.Bot{}}
}

// commit stores bots (new or changed) in one plan.
func (f *memFixture) commit(bots ...lifecycle.Bot) {
	f.t.Helper()
	var p lifecycle.Plan
	for _, b := range bots {
		prev, ok := f.prev[b.ID]
		c := lifecycle.Change{Bot: b.ID, To: b.State}
		if ok {
			c.From, c.Revision = prev.State, prev.Revision
		}
		b.Revision = c.Revision + 1
		c.After = &b
		p.Changes = append(p.Changes, c)
		f.prev[b.ID] = b
	}
	if _, err := f.m.Commit(f.ctx, p); err != nil {
		f.t.Fatalf("Commit: %v", err)
	}
}

func (f *memFixture) route(s lifecycle.Sender, user string, at time.Time) lifecycle.Session {
	f.t.Helper()
	sess, err := f.m.Route(f.ctx, "", s, user, at)
	if err != nil {
		f.t.Fatalf("Route(%s, %s): %v", s.Address, user, err)
	}
	return sess
}

// activeBot is Active, in activation 1, on the senders (sorted).
func activeBot(id lifecycle.BotID, idle time.Duration, ss ...lifecycle.Sender) lifecycle.Bot {
	b := lifecycle.Bot{ID: id, Name: string(id), Channel: "sms", Senders: ss, State: lifecycle.Active, Activations: 1, ActivatedAt: tm, IdleTimeout: idle}
	for _, s := range ss {
		b.Live = append(b.Live, lifecycle.SenderState{Sender: s, State: lifecycle.Active, Activation: 1})
	}
	return b
}

// drainingBot drains activation 1 on the senders until deadline.
func drainingBot(id lifecycle.BotID, deadline time.Time, ss ...lifecycle.Sender) lifecycle.Bot {
	b := activeBot(id, 0, ss...)
	b.State, b.GraceDeadline, b.DeactivatedAt = lifecycle.Deactivated, deadline, tm
	for i := range b.Live {
		b.Live[i].State, b.Live[i].GraceDeadline = lifecycle.Deactivated, deadline
	}
	return b
}

// leftBot was Active once and left Active at left.
func leftBot(id lifecycle.BotID, left time.Time, ss ...lifecycle.Sender) lifecycle.Bot {
	b := activeBot(id, 0, ss...)
	b.State, b.Live, b.DeactivatedAt, b.EndedAt = lifecycle.Inactive, nil, left, left
	return b
}

func botIDsOf(bots []lifecycle.Bot) []lifecycle.BotID {
	var out []lifecycle.BotID
	for _, b := range bots {
		out = append(out, b.ID)
	}
	return out
}

// R20: of bots that left Active on a sender at the same instant, the last
// active bot is the one with the smaller id, whichever order they were
// stored in and whichever sender they left.
func TestR20LastActiveTieGoesToSmallerID(t *testing.T) {
	f := newMemFixture(t)
	s1, s2 := smsSender("1"), smsSender("2")
	f.commit(leftBot("c", tm, s1), leftBot("b", tm, s1), leftBot("e", tm, s2), leftBot("d", tm.Add(-time.Second), s1))
	for _, tc := range []struct {
		senders []lifecycle.Sender
		except  lifecycle.BotID
		want    lifecycle.BotID
	}{
		{[]lifecycle.Sender{s1}, "x", "b"},
		{[]lifecycle.Sender{s1}, "b", "c"},
		{[]lifecycle.Sender{s2, s1}, "x", "b"},
		{[]lifecycle.Sender{s2, s1}, "b", "c"},
		{[]lifecycle.Sender{s2, s1}, "c", "b"},
	} {
		_, last, err := f.m.SenderBots(f.ctx, "", tc.senders, tc.except)
		if err != nil || last == nil || last.ID != tc.want {
			t.Errorf("SenderBots(%v, except %s): last active = %v, %v; want %s", tc.senders, tc.except, last, err, tc.want)
		}
	}
}

// Due returns drains by deadline, ties by the smaller id, and honours a
// limit of 0 (nothing) and 1 (the first) for drains and schedules alike
// (R9, R23).
func TestDueOrderAndLimits(t *testing.T) {
	f := newMemFixture(t)
	dl := tm.Add(time.Minute)
	f.commit(drainingBot("c", dl, smsSender("3")), drainingBot("a", dl, smsSender("1")), drainingBot("b", dl, smsSender("2")))
	p := lifecycle.Plan{}
	for _, id := range []lifecycle.ScheduleID{"s1", "s2"} {
		p.Schedules = append(p.Schedules, lifecycle.ScheduleChange{After: lifecycle.Schedule{ID: id, At: dl, Status: lifecycle.SchedulePending, Revision: 1}})
	}
	if _, err := f.m.Commit(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit  int
		drains []lifecycle.BotID
		scheds int
	}{
		{0, nil, 0},
		{1, []lifecycle.BotID{"a"}, 1},
		{2, []lifecycle.BotID{"a", "b"}, 2},
		{10, []lifecycle.BotID{"a", "b", "c"}, 2},
		{-1, nil, 0}, // a limit below zero reads nothing (lifecycle.Store)
	} {
		due, err := f.m.Due(f.ctx, "", dl, tc.limit)
		if err != nil {
			t.Fatal(err)
		}
		if got := botIDsOf(due.Drains); !slicesEqual(got, tc.drains) || len(due.Schedules) != tc.scheds {
			t.Errorf("Due(limit %d): drains %v and %d schedules; want %v and %d", tc.limit, got, len(due.Schedules), tc.drains, tc.scheds)
		}
	}
}

func slicesEqual[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// A limit of 0 returns nothing from Bots and Schedules; a limit of n at
// most n (R23 for schedules).
func TestPagesHonourLimitZero(t *testing.T) {
	f := newMemFixture(t)
	f.commit(leftBot("a", tm, smsSender("1")), leftBot("b", tm, smsSender("2")))
	p := lifecycle.Plan{}
	for _, id := range []lifecycle.ScheduleID{"s1", "s2"} {
		p.Schedules = append(p.Schedules, lifecycle.ScheduleChange{After: lifecycle.Schedule{ID: id, At: tm, Status: lifecycle.SchedulePending, Revision: 1}})
	}
	if _, err := f.m.Commit(f.ctx, p); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{0, 1} {
		bots, err := f.m.Bots(f.ctx, "", "", limit)
		if err != nil || len(bots) != limit {
			t.Errorf("Bots(limit %d) = %v, %v; want %d bots", limit, botIDsOf(bots), err, limit)
		}
		scheds, err := f.m.Schedules(f.ctx, "", 0, limit)
		if err != nil || len(scheds) != limit {
			t.Errorf("Schedules(limit %d) = %d schedules, %v; want %d", limit, len(scheds), err, limit)
		}
	}
}

// R9: a bot counts an activation open while any of its session groups in
// it holds a session: with sessions on two senders, closing one leaves
// the activation open.
func TestR9OpenActivationCountsEveryGroup(t *testing.T) {
	f := newMemFixture(t)
	s1, s2 := smsSender("1"), smsSender("2")
	f.commit(activeBot("a", 0, s1, s2))
	first := f.route(s1, "u", tm)
	f.route(s2, "u", tm)
	if b, _ := f.m.Bot(f.ctx, "", "a"); !slicesEqual(b.OpenActivations, []uint64{1}) {
		t.Fatalf("R9: OpenActivations with two groups open = %v, want [1]", b.OpenActivations)
	}
	if _, err := f.m.CloseSession(f.ctx, "", first.ID, lifecycle.CloseCompleted, tm); err != nil {
		t.Fatal(err)
	}
	if b, _ := f.m.Bot(f.ctx, "", "a"); !slicesEqual(b.OpenActivations, []uint64{1}) {
		t.Fatalf("R9: OpenActivations with one of two groups closed = %v, want [1]", b.OpenActivations)
	}
}

// A SweepSessions closes at most limit sessions in all, however they
// spread over the shards.
func TestSweepLimitSpansShards(t *testing.T) {
	f := newMemFixture(t)
	var ss []lifecycle.Sender
	for i := 10; i < 40; i++ {
		ss = append(ss, smsSender(string(rune('a'+i%26))+string(rune('a'+i/26))))
	}
	sortSenders(ss)
	f.commit(activeBot("a", time.Minute, ss...))
	for _, s := range ss {
		for _, u := range []string{"u1", "u2", "u3"} {
			f.route(s, u, tm)
		}
	}
	later := tm.Add(time.Hour)
	for _, limit := range []int{5, 7} {
		n, err := f.m.SweepSessions(f.ctx, "", later, limit)
		if err != nil || n != limit {
			t.Fatalf("SweepSessions(limit %d) = %d, %v", limit, n, err)
		}
	}
	stats, err := f.m.SessionStats(f.ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	open := 0
	for _, st := range stats {
		open += int(st.Open)
	}
	if open != 3*len(ss)-12 {
		t.Fatalf("%d sessions open after sweeps of 5 and 7 of %d; want %d", open, 3*len(ss), 3*len(ss)-12)
	}
}

func sortSenders(ss []lifecycle.Sender) {
	for i := 1; i < len(ss); i++ {
		for j := i; j > 0 && ss[j].Address < ss[j-1].Address; j-- {
			ss[j], ss[j-1] = ss[j-1], ss[j]
		}
	}
}
