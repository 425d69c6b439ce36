package storetest

// Cases for documented Store behaviours (lifecycle/store.go) that a store
// could break and still pass the rest of the suite: each was found by
// breaking the memory store on purpose, one behaviour at a time, and each
// fails on that break.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/google/go-cmp/cmp"
)

// testDueDrainTies (R9; Store.Due): drains due at the same instant come
// by id, the smaller first, whatever order they were committed in, and a
// limit takes the first of that order.
func testDueDrainTies(t *testing.T, h *harness) {
	a := h.active("100")
	b := h.active("200")
	h.do(lifecycle.Deactivate{Bot: b.ID, Grace: time.Hour}) // the larger id first
	h.do(lifecycle.Deactivate{Bot: a.ID, Grace: time.Hour})
	deadline := h.now.Add(time.Hour)
	for _, c := range []struct {
		limit int
		want  []lifecycle.BotID
	}{{10, []lifecycle.BotID{a.ID, b.ID}}, {1, []lifecycle.BotID{a.ID}}} {
		got, err := dueDrains(h.ctx, h.st, h.ws, deadline, c.limit)
		if err != nil || !cmp.Equal(ids(got), c.want) {
			t.Errorf("R9: Due(limit %d) at a deadline two drains share = %v, %v; want %v (ties: the smaller id)", c.limit, ids(got), err, c.want)
		}
	}
}

// testDueScheduleTies (R23; Store.Due): schedules due at the same instant
// come in Seq order - creation order, not id order - and a limit takes the
// first of it; one due at now exactly is due.
func testDueScheduleTies(t *testing.T, h *harness) {
	b := h.create("100")
	h.schedule("z1", time.Hour, lifecycle.Activate{Bot: b.ID})
	h.schedule("a2", time.Hour, lifecycle.Deactivate{Bot: b.ID})
	h.schedule("m3", 30*time.Minute, lifecycle.Activate{Bot: b.ID})
	at := h.now.Add(time.Hour)
	for _, c := range []struct {
		limit int
		want  []lifecycle.ScheduleID
	}{{10, []lifecycle.ScheduleID{"m3", "z1", "a2"}}, {2, []lifecycle.ScheduleID{"m3", "z1"}}} {
		got, err := dueSchedules(h.ctx, h.st, h.ws, at, c.limit)
		if err != nil || !cmp.Equal(scheduleIDs(got), c.want) {
			t.Errorf("R23: Due(limit %d) at the At two schedules share = %v, %v; want %v (by At, then Seq)", c.limit, scheduleIDs(got), err, c.want)
		}
	}
}

// testLastActiveTies (R20; Store.SenderBots): of bots whose rows left
// Active at the same instant, the last active is the one with the smaller
// id - whichever left first in commit order, on one sender or across
// senders in any order - and SenderBots names no last active bot when
// except is empty.
func testLastActiveTies(t *testing.T, h *harness) {
	want := func(senders []lifecycle.Sender, except, want lifecycle.BotID) {
		t.Helper()
		got, err := lastActive(h.ctx, h.st, h.ws, senders, except)
		if err != nil || got.ID != want {
			t.Errorf("R20: LastActive(%v, except %q) = %q, %v; want %s (equal LeftActive: the smaller id)", senders, except, got.ID, err, want)
		}
	}
	// On 100, the larger id leaves first; on 200, the smaller one does.
	x, y := h.create("100"), h.create("100")
	h.do(lifecycle.Activate{Bot: y.ID})
	h.now = h.now.Add(time.Minute)
	h.do(lifecycle.Activate{Bot: x.ID, Decision: lifecycle.Immediate()}) // y leaves Active
	h.do(lifecycle.Deactivate{Bot: x.ID})                                // x leaves at the same instant
	want(h.senders("100"), "", x.ID)
	want(h.senders("100"), x.ID, y.ID)
	x2, y2 := h.create("200"), h.create("200")
	h.do(lifecycle.Activate{Bot: x2.ID})
	h.now = h.now.Add(time.Minute)
	h.do(lifecycle.Activate{Bot: y2.ID, Decision: lifecycle.Immediate()}) // x2 leaves Active
	h.do(lifecycle.Deactivate{Bot: y2.ID})                                // y2 at the same instant
	want(h.senders("200"), "", x2.ID)
	want(h.senders("200"), x2.ID, y2.ID)
	// Across senders: p on 300 and q on 400 leave at the same instant.
	h.now = h.now.Add(time.Minute)
	p, q := h.active("300"), h.active("400")
	h.do(lifecycle.Deactivate{Bot: q.ID})
	h.do(lifecycle.Deactivate{Bot: p.ID})
	want(h.senders("300", "400"), "", p.ID)
	want(h.senders("400", "300"), "", p.ID)
	want(h.senders("400", "300"), p.ID, q.ID)
	// With except empty, SenderBots reads the live bots only.
	if _, last, err := h.st.SenderBots(h.ctx, h.ws, h.senders("100", "300"), ""); err != nil || last != nil {
		t.Errorf("R20: SenderBots(except empty) returned a last active bot %v, %v; want none (only a non-empty except asks for one)", last, err)
	}
}

// testEveryBotReadCarriesOpenActivations (R9; Store.Bot): every bot a
// store returns - listed by Bots, read by SenderBots (live and last) and
// by Due - carries Bot.OpenActivations, and is the bot Bot returns.
func testEveryBotReadCarriesOpenActivations(t *testing.T, h *harness) {
	a := h.active("100")
	if _, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now); err != nil {
		t.Fatal(err)
	}
	h.now = h.now.Add(time.Minute)
	b := h.create("100")
	h.do(lifecycle.Activate{Bot: b.ID, Decision: lifecycle.Grace(time.Hour)}) // a drains with u1's session open
	want := h.bot(a.ID)
	if len(want.OpenActivations) != 1 {
		t.Fatalf("R9: Bot(%s) with a session open in its activation carries OpenActivations %v; want one", a.ID, want.OpenActivations)
	}
	bots, err1 := h.st.Bots(h.ctx, h.ws, "", 10)
	live, last, err2 := h.st.SenderBots(h.ctx, h.ws, h.senders("100"), b.ID)
	due, err3 := h.st.Due(h.ctx, h.ws, h.now.Add(time.Hour), 10)
	if err := errors.Join(err1, err2, err3); err != nil {
		t.Fatal(err)
	}
	if last == nil {
		t.Fatalf("R20: SenderBots(100, except %s) names no last active bot; want %s", b.ID, a.ID)
	}
	for what, bs := range map[string][]lifecycle.Bot{"Bots": bots, "SenderBots (live)": live, "SenderBots (last)": {*last}, "Due": due.Drains} {
		found := false
		for _, got := range bs {
			if got.ID == a.ID {
				found = true
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("R9: %s read %s otherwise than Bot does (-Bot +%s):\n%s", what, a.ID, what, diff)
				}
			}
		}
		if !found {
			t.Errorf("%s read %v; want %s among them", what, ids(bs), a.ID)
		}
	}
}

// testSessionStatsOrder (Store.SessionStats): the counts are sorted by
// bot, then by sender as text - "sms:1000" before "sms:200" - whatever
// order the sessions opened in.
func testSessionStatsOrder(t *testing.T, h *harness) {
	x := h.active("300")
	y := h.active("200", "1000")
	for _, addr := range []string{"200", "1000", "300"} {
		if _, err := h.st.Route(h.ctx, h.ws, h.sender(addr), "u1", h.now); err != nil {
			t.Fatal(err)
		}
	}
	stats, err := h.st.SessionStats(h.ctx, h.ws)
	if err != nil {
		t.Fatal(err)
	}
	type key struct {
		Bot    lifecycle.BotID
		Sender string
	}
	got := []key{}
	for _, s := range stats {
		got = append(got, key{s.Bot, s.Sender.String()})
	}
	want := []key{{x.ID, h.sender("300").String()}, {y.ID, h.sender("1000").String()}, {y.ID, h.sender("200").String()}}
	if !cmp.Equal(got, want) {
		t.Errorf("SessionStats in the order %v; want %v (by bot, then sender as text)", got, want)
	}
}

// testStatsWhenRouteEndsSession (R9, R10; Store.SessionStats): a message
// for an end user whose session is over records it closed - idle, or
// replaced - and opens another: the counts
// hold each session once, as recorded.
func testStatsWhenRouteEndsSession(t *testing.T, h *harness) {
	a := h.active("100")
	s1, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now)
	if err != nil {
		t.Fatal(err)
	}
	later := h.now.Add(a.IdleTimeout + time.Minute)
	s2, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", later)
	if err != nil || s2.ID == s1.ID || s2.Bot != a.ID {
		t.Fatalf("R10: a message after the idle timeout: %+v, %v; want a new session on %s", s2, err, a.ID)
	}
	h.now = later.Add(time.Minute)
	b := h.create("100")
	h.do(lifecycle.Activate{Bot: b.ID, Decision: lifecycle.Immediate()})
	if s3, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now); err != nil || s3.Bot != b.ID {
		t.Fatalf("R10: a message after the bot was replaced: %+v, %v; want a session on %s", s3, err, b.ID)
	}
	for _, c := range []struct {
		id     lifecycle.SessionID
		reason lifecycle.CloseReason
		at     time.Time
	}{{s1.ID, lifecycle.CloseIdleTimeout, s1.LastActivityAt.Add(a.IdleTimeout)}, {s2.ID, lifecycle.CloseReplaced, h.now}} {
		if got, err := session(h.ctx, h.st, h.ws, c.id); err != nil || got.CloseReason != c.reason || !got.ClosedAt.Equal(c.at) {
			t.Errorf("R9: session %d = %+v, %v; want closed %s at %v", c.id, got, err, c.reason, c.at)
		}
	}
	h.statsAre("after messages ended two sessions", []lifecycle.SessionStats{
		{Bot: a.ID, Sender: h.sender("100"), Opened: 2, Open: 0, Messages: 2,
			Closed: map[lifecycle.CloseReason]uint64{lifecycle.CloseIdleTimeout: 1, lifecycle.CloseReplaced: 1}},
		{Bot: b.ID, Sender: h.sender("100"), Opened: 1, Open: 1, Messages: 1, Closed: map[lifecycle.CloseReason]uint64{}},
	})
}

// testCloseSessionOver (R9; Store.CloseSession): closing a session
// recorded open that is already over records it as DecideClose returns
// it - the end it had (deactivated when its bot left, idle at its idle
// deadline), not the reason and time asked - and counts that; closing it
// again changes nothing.
func testCloseSessionOver(t *testing.T, h *harness) {
	a := h.active("100")
	s1, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now)
	if err != nil {
		t.Fatal(err)
	}
	ended := h.now.Add(time.Minute)
	h.now = ended
	h.do(lifecycle.Deactivate{Bot: a.ID})
	b := h.active("200")
	s2, err := h.st.Route(h.ctx, h.ws, h.sender("200"), "u2", h.now)
	if err != nil {
		t.Fatal(err)
	}
	late := h.now.Add(b.IdleTimeout + time.Hour)
	for _, c := range []struct {
		s      lifecycle.Session
		reason lifecycle.CloseReason
		at     time.Time
	}{{s1, lifecycle.CloseDeactivated, ended}, {s2, lifecycle.CloseIdleTimeout, s2.LastActivityAt.Add(b.IdleTimeout)}} {
		got, err := h.st.CloseSession(h.ctx, h.ws, c.s.ID, lifecycle.CloseCompleted, late)
		if err != nil || got.CloseReason != c.reason || !got.ClosedAt.Equal(c.at) {
			t.Errorf("R9: CloseSession(%d, completed) of a session over = %s at %v, %v; want %s at %v", c.s.ID, got.CloseReason, got.ClosedAt, err, c.reason, c.at)
		}
		if again, err := h.st.CloseSession(h.ctx, h.ws, c.s.ID, lifecycle.CloseCompleted, late.Add(time.Hour)); err != nil || again != got {
			t.Errorf("CloseSession(%d) again = %+v, %v; want it as recorded, %+v", c.s.ID, again, err, got)
		}
		if read, err := session(h.ctx, h.st, h.ws, c.s.ID); err != nil || read != got {
			t.Errorf("Sessions reads session %d as %+v, %v; want %+v", c.s.ID, read, err, got)
		}
	}
	h.statsAre("after closing sessions that were over", []lifecycle.SessionStats{
		{Bot: a.ID, Sender: h.sender("100"), Opened: 1, Messages: 1, Closed: map[lifecycle.CloseReason]uint64{lifecycle.CloseDeactivated: 1}},
		{Bot: b.ID, Sender: h.sender("200"), Opened: 1, Messages: 1, Closed: map[lifecycle.CloseReason]uint64{lifecycle.CloseIdleTimeout: 1}},
	})
}

// testSweepGraceExpired (R9; Store.SweepSessions): a sweep records a
// session whose bot's grace period ended as SessionAt returns it:
// grace_expired at the deadline, not deactivated, not at the sweep.
func testSweepGraceExpired(t *testing.T, h *harness) {
	a := h.active("100")
	s, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now)
	if err != nil {
		t.Fatal(err)
	}
	h.now = h.now.Add(time.Minute)
	h.do(lifecycle.Deactivate{Bot: a.ID, Grace: 10 * time.Minute})
	deadline := h.now.Add(10 * time.Minute)
	if n, err := h.st.SweepSessions(h.ctx, h.ws, deadline.Add(-time.Nanosecond), 10); err != nil || n != 0 {
		t.Fatalf("R9: a sweep before the grace deadline closed %d, %v; want 0", n, err)
	}
	if n, err := h.st.SweepSessions(h.ctx, h.ws, deadline.Add(time.Minute), 10); err != nil || n != 1 {
		t.Fatalf("R9: a sweep after the grace deadline closed %d, %v; want 1", n, err)
	}
	if got, err := session(h.ctx, h.st, h.ws, s.ID); err != nil || got.CloseReason != lifecycle.CloseGraceExpired || !got.ClosedAt.Equal(deadline) {
		t.Errorf("R9: swept session = %s at %v, %v; want grace_expired at %v", got.CloseReason, got.ClosedAt, err, deadline)
	}
}

// testBotsByID (Store.Bots): bots are listed by id, not in the order they
// were created, and a page after an id starts at the next id stored,
// whether or not a bot has that id (never stored, or deleted).
func testBotsByID(t *testing.T, h *harness) {
	for _, id := range []lifecycle.BotID{"b-3", "b-1", "b-2"} {
		h.do(lifecycle.Create{ID: id, Name: string(id), Channel: "sms"})
		h.now = h.now.Add(time.Minute)
	}
	page := func(after lifecycle.BotID, limit int, want ...lifecycle.BotID) {
		t.Helper()
		got, err := h.st.Bots(h.ctx, h.ws, after, limit)
		if err != nil || !cmp.Equal(ids(got), append([]lifecycle.BotID{}, want...)) {
			t.Errorf("Bots(after %q, %d) = %v, %v; want %v", after, limit, ids(got), err, want)
		}
	}
	page("", 10, "b-1", "b-2", "b-3")
	page("", 2, "b-1", "b-2")
	page("a", 1, "b-1")
	page("b-15", 10, "b-2", "b-3")
	page("b-1", 1, "b-2")
	h.do(lifecycle.Delete{Bot: "b-2"})
	page("b-2", 10, "b-3")
	page("b-3", 10)
}

// testClaimedInOrder (R27; Store.Claimed): the senders another workspace
// names come back in the order given, not sorted.
func testClaimedInOrder(t *testing.T, h *harness) {
	o := h.other("rival", "8")
	h.create("100", "300")
	h.claimedAre(o, h.senders("300", "200", "100"), h.senders("300", "100"))
	h.claimedAre(o, h.senders("100", "300"), h.senders("100", "300"))
}

// testRoleChangeReadChecked (P2; Store.Commit): a role change whose From
// differs from the stored roles is refused whole - also one read before
// the user held any role, and one naming roles a user does not hold.
func testRoleChangeReadChecked(t *testing.T, h *harness) {
	h.do(lifecycle.GrantRole{User: "zed", Role: roles.Admin})
	h.do(lifecycle.GrantRole{User: "amy", Role: roles.Designer})
	h.refused(lifecycle.Plan{Roles: []lifecycle.RoleChange{{User: "amy", To: roles.MustSet(roles.Manager)}}},
		"P2: a role change read before amy held a role")
	h.refused(lifecycle.Plan{Roles: []lifecycle.RoleChange{{User: "nobody", From: roles.MustSet(roles.Designer)}}},
		"P2: a role change of a user holding none, read as a Designer")
	if rs, admins, err := h.st.Roles(h.ctx, h.ws, "amy"); err != nil || rs != roles.MustSet(roles.Designer) || admins != 1 {
		t.Errorf("P2: Roles(amy) = %v, %d Admins, %v; want Designer and 1 Admin", rs, admins, err)
	}
}

// testScheduleChangesKeepSeq (R23; Store.Commit, Store.Schedules): a
// change to a schedule keeps its Seq and its place in the listing; a new
// one takes the next Seq, gap-free; a change with a revision to a schedule
// that does not exist is refused.
func testScheduleChangesKeepSeq(t *testing.T, h *harness) {
	b := h.create("100")
	s1 := h.schedule("s1", time.Hour, lifecycle.Activate{Bot: b.ID})
	s2 := h.schedule("s2", 2*time.Hour, lifecycle.Activate{Bot: b.ID})
	h.do(lifecycle.CancelSchedule{ID: "s1"})
	s3 := h.schedule("s3", 3*time.Hour, lifecycle.Activate{Bot: b.ID})
	if s1.Seq != 1 || s2.Seq != 2 || s3.Seq != 3 {
		t.Errorf("R23: schedules made one after another have Seq %d, %d, %d (one changed in between); want 1, 2, 3", s1.Seq, s2.Seq, s3.Seq)
	}
	all, err := h.st.Schedules(h.ctx, h.ws, 0, 10)
	type row struct {
		ID     lifecycle.ScheduleID
		Seq    uint64
		Status lifecycle.ScheduleStatus
	}
	var got []row
	for _, s := range all {
		got = append(got, row{s.ID, s.Seq, s.Status})
	}
	want := []row{{"s1", 1, lifecycle.ScheduleCanceled}, {"s2", 2, lifecycle.SchedulePending}, {"s3", 3, lifecycle.SchedulePending}}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("R23: Schedules after s1 was canceled = %v, %v; want %v", got, err, want)
	}
	ghost := s2
	ghost.ID, ghost.Status, ghost.Revision = "ghost", lifecycle.ScheduleCanceled, s2.Revision+1
	h.refused(lifecycle.Plan{Schedules: []lifecycle.ScheduleChange{{Revision: s2.Revision, After: ghost}}},
		"R23: a change to a schedule that does not exist")
}

// testWaitAuditPerWorkspace (R24, R27; AuditWaiter): WaitAudit waits for
// an entry of its own workspace - entries of another do not end it.
func testWaitAuditPerWorkspace(t *testing.T, h *harness) {
	h.needWaiter()
	o := h.other("quiet", "8")
	h.create("100")
	h.create("200")
	ended, cancel := context.WithCancel(h.ctx)
	cancel()
	if err := waitAudit(ended, h.st, o.ws, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("R27: WaitAudit(after 0) in a workspace with no entry, while another has two, = %v; want its context's error", err)
	}
	o.create("100")
	if err := waitAudit(ended, h.st, o.ws, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("R27: WaitAudit(after 1) in a workspace with one entry, while another has two, = %v; want its context's error", err)
	}
	if err := waitAudit(h.ctx, h.st, o.ws, 0); err != nil {
		t.Errorf("R24: WaitAudit(after 0) with an entry there = %v, want nil", err)
	}
}

// testTestSendersNotClaimed (R26, R27; Store.Claimed, Store.Commit): a
// test session's virtual sender is no real sender - no workspace claims
// it, so Claimed in another workspace names none of them.
func testTestSendersNotClaimed(t *testing.T, h *harness) {
	m, _, dan := testManager(t, h, 0)
	b, err := m.Create(h.ctx, dan, lifecycle.Create{Name: "d", Channel: "sms", Senders: h.senders("100"), Definition: definition()})
	must(t, err)
	ts, err := m.OpenTestSession(h.ctx, dan, b.ID)
	must(t, err)
	_, err = m.SendTest(h.ctx, dan, ts.ID)
	must(t, err)
	sessions, err := h.st.Sessions(h.ctx, h.ws, 0, 10)
	must(t, err)
	var test []lifecycle.Sender
	for _, s := range sessions {
		if s.Sender.IsTest() {
			test = append(test, s.Sender)
		}
	}
	if len(test) == 0 {
		t.Fatalf("R26: no session on a test sender after a test message: %+v", sessions)
	}
	h.claimedAre(h.other("rival", "8"), append(test, h.sender("100")), h.senders("100"))
}

// testCloseSessionOfDeletedBot (R26, R9; Store.CloseSession): closing a
// test session whose bot was deleted records it as DecideClose returns it
// for a bot that no longer exists - content_changed at its last activity -
// not with the reason and time asked.
func testCloseSessionOfDeletedBot(t *testing.T, h *harness) {
	m, clk, dan := testManager(t, h, 0)
	b, err := m.Create(h.ctx, dan, lifecycle.Create{Name: "d", Channel: "sms", Senders: h.senders("100"), Definition: definition()})
	must(t, err)
	ts, err := m.OpenTestSession(h.ctx, dan, b.ID)
	must(t, err)
	clk.Add(time.Minute)
	_, err = m.SendTest(h.ctx, dan, ts.ID)
	must(t, err)
	sessions, err := h.st.Sessions(h.ctx, h.ws, 0, 10)
	if err != nil || len(sessions) != 1 || !sessions[0].Sender.IsTest() || !sessions[0].Open() {
		t.Fatalf("R26: after a test message the store holds %+v, %v; want one open test session", sessions, err)
	}
	s := sessions[0]
	clk.Add(time.Minute)
	must(t, m.Delete(h.ctx, dan, b.ID))
	later := clk.Now().Add(time.Minute)
	want := lifecycle.DecideClose(s, nil, lifecycle.CloseCompleted, later)
	if want.CloseReason == lifecycle.CloseCompleted {
		t.Fatalf("R26: DecideClose of a deleted bot's test session = %+v; the case needs another reason", want)
	}
	got, err := h.st.CloseSession(h.ctx, h.ws, s.ID, lifecycle.CloseCompleted, later)
	if err != nil || got != want {
		t.Errorf("R26: CloseSession(completed) of a test session whose bot was deleted = %+v, %v; want %+v (DecideClose)", got, err, want)
	}
	if read, err := session(h.ctx, h.st, h.ws, s.ID); err != nil || read != want {
		t.Errorf("R26: the session reads %+v, %v; want %+v", read, err, want)
	}
}

// testRouteSameEndUserAtOnce (R10, R15; Store.Route): messages of one end
// user on one sender routed at once open one session, which takes every
// message: Route reads and writes in one atomic step.
func testRouteSameEndUserAtOnce(t *testing.T, h *harness) {
	const messages = 16
	a := h.active("100")
	var wg sync.WaitGroup
	got := make([]lifecycle.Session, messages)
	errs := make([]error, messages)
	start := make(chan struct{})
	for i := range messages {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			got[i], errs[i] = h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now)
		}()
	}
	close(start)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for _, s := range got {
		if s.ID != got[0].ID {
			t.Fatalf("R10: %d messages of one end user routed at once went to sessions %d and %d; want one session", messages, got[0].ID, s.ID)
		}
	}
	sessions, err := h.st.Sessions(h.ctx, h.ws, 0, 10)
	if err != nil || len(sessions) != 1 || sessions[0].Messages != messages {
		t.Errorf("R10: after %d messages of one end user at once the store holds %+v, %v; want one session with every message", messages, sessions, err)
	}
	h.statsAre(fmt.Sprintf("after %d messages at once", messages),
		[]lifecycle.SessionStats{{Bot: a.ID, Sender: h.sender("100"), Opened: 1, Open: 1, Messages: messages, Closed: map[lifecycle.CloseReason]uint64{}}})
}
