package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/google/go-cmp/cmp"
)

// R26: a tester opens a test session on a Draft, sends on it, reads it and
// closes it; open and close are audited with the bot and its content.
func TestR26OpenSendReadClose(t *testing.T) {
	e := newEnv(t)
	b := e.draft("d", "100")
	ts, err := e.m.OpenTestSession(e.ctx, supervisor, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !ts.Open() || ts.Bot != b.ID || ts.Tester != "sue" || ts.Content == "" || ts.Messages != 0 {
		t.Fatalf("R26: opened %+v", ts)
	}
	e.clk.Add(time.Minute)
	got, err := e.m.SendTest(e.ctx, supervisor, ts.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Messages != 1 || !got.LastActivityAt.Equal(start.Add(time.Minute)) {
		t.Fatalf("R26: after a message %+v", got)
	}
	read, err := e.m.TestSession(e.ctx, supervisor, ts.ID)
	if err != nil || read.Messages != 1 || read.Content != ts.Content {
		t.Fatalf("R26: read %+v, %v", read, err)
	}
	closed, err := e.m.CloseTestSession(e.ctx, supervisor, ts.ID)
	if err != nil || closed.CloseReason != lifecycle.CloseCompleted || !closed.ClosedAt.Equal(start.Add(time.Minute)) {
		t.Fatalf("R26: closed %+v, %v", closed, err)
	}
	if _, err := e.m.SendTest(e.ctx, supervisor, ts.ID); !errors.Is(err, lifecycle.ErrSessionOver) {
		t.Fatalf("R26: a message on a closed test session: %v, want ErrSessionOver", err)
	}
	var tests []lifecycle.AuditEntry
	for _, a := range e.audit() {
		if a.Test != nil {
			tests = append(tests, a)
		}
	}
	want := []lifecycle.Op{lifecycle.OpOpenTestSession, lifecycle.OpCloseTestSession}
	if len(tests) != 2 || tests[0].Action != want[0] || tests[1].Action != want[1] || tests[0].Actor != "sue" ||
		tests[0].Test.Bot != b.ID || tests[0].Test.Content != ts.Content {
		t.Fatalf("R26: audit %+v", tests)
	}
}

// R26: the content pin - an edit of the definition ends the test session
// with content_changed at the edit, with or without a sweep; a rename does
// not end it.
func TestR26ContentPin(t *testing.T) {
	for _, sweep := range []bool{false, true} {
		e := newEnv(t)
		b, ts := e.tested(t)
		e.clk.Add(time.Minute)
		name := "renamed"
		e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, Name: &name}))
		if _, err := e.m.SendTest(e.ctx, designer, ts.ID); err != nil {
			t.Fatalf("R26: a rename ended the test session: %v", err)
		}
		e.clk.Add(time.Minute)
		editAt := e.clk.Now()
		def := warnDef()
		e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, Definition: &def}))
		e.clk.Add(time.Minute)
		if sweep {
			e.must(e.m.ExpireDue(e.ctx))
		}
		wantOver(t, e, ts.ID, lifecycle.CloseContentChanged, editAt, fmt.Sprintf("after an edit (sweep %v)", sweep))
	}
}

// R26: refusals - no permission, a deleted bot, the cap, another tester's
// test session (not found, never forbidden).
func TestR26Refusals(t *testing.T) {
	e := newEnvPolicy(t, lifecycle.Policy{MaxTestSessions: 2})
	b := e.draft("d", "100")
	if _, err := e.m.OpenTestSession(e.ctx, analyzer, b.ID); !errors.Is(err, lifecycle.ErrForbidden) {
		t.Fatalf("R26: an Analyzer opened a test session: %v", err)
	}
	if _, err := e.m.OpenTestSession(e.ctx, designer, "nope"); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Fatalf("R26: a test session on a missing bot: %v", err)
	}
	ts, err := e.m.OpenTestSession(e.ctx, designer, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.m.OpenTestSession(e.ctx, supervisor, b.ID))
	if _, err := e.m.OpenTestSession(e.ctx, manager, b.ID); !errors.Is(err, lifecycle.ErrTestSessionLimit) {
		t.Fatalf("R26: a third test session past a cap of 2: %v", err)
	}
	for name, op := range map[string]func() error{
		"send":  func() error { _, err := e.m.SendTest(e.ctx, supervisor, ts.ID); return err },
		"read":  func() error { _, err := e.m.TestSession(e.ctx, supervisor, ts.ID); return err },
		"close": func() error { _, err := e.m.CloseTestSession(e.ctx, supervisor, ts.ID); return err },
	} {
		if err := op(); !errors.Is(err, lifecycle.ErrNotFound) {
			t.Errorf("R26: another tester's %s: %v, want ErrNotFound", name, err)
		}
	}
	e.clk.Add(time.Minute)
	e.must(nil, e.m.Delete(e.ctx, designer, b.ID))
	if _, err := e.m.OpenTestSession(e.ctx, designer, b.ID); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Fatalf("R26: a test session on a deleted bot: %v", err)
	}
	read, err := e.m.TestSession(e.ctx, designer, ts.ID)
	if err != nil || read.CloseReason != lifecycle.CloseContentChanged || !read.ClosedAt.Equal(start) {
		t.Fatalf("R26: a test session of a deleted bot reads %+v, %v; want content_changed at its last activity", read, err)
	}
}

// R26: test sessions never show in analytics, session listings or the
// bot's senders, and never occupy a sender (R1).
func TestR26NotInFigures(t *testing.T) {
	e := newEnv(t)
	b := e.live("a", "100")
	e.must(e.m.Route(e.ctx, sms("100"), "u1"))
	e.must(e.m.OpenTestSession(e.ctx, manager, b.ID))
	an, err := e.m.Analytics(e.ctx, manager)
	if err != nil {
		t.Fatal(err)
	}
	if len(an.BySender) != 1 || an.BySender[0].Sender != sms("100") || an.ByBot[0].Opened != 1 {
		t.Fatalf("R26: analytics with a test session: %+v", an)
	}
	ss, err := e.m.Sessions(e.ctx, manager, 0, 10)
	if err != nil || len(ss) != 1 || ss[0].EndUser != "u1" {
		t.Fatalf("R26: sessions with a test session: %+v, %v", ss, err)
	}
	if got := e.get(b.ID); !cmp.Equal(got.Senders, []lifecycle.Sender{sms("100")}) || len(got.Tests) != 0 {
		t.Fatalf("R26: the bot shows %+v / %+v", got.Senders, got.Tests)
	}
}

// R26: Sessions pages past test sessions: each page holds up to limit end
// users' sessions in id order, however many test sessions lie between.
func TestR26SessionsPagePastTestSessions(t *testing.T) {
	e := newEnv(t)
	b := e.live("a", "100")
	e.must(e.m.Route(e.ctx, sms("100"), "u1"))
	e.must(e.m.OpenTestSession(e.ctx, manager, b.ID))
	e.must(e.m.OpenTestSession(e.ctx, designer, b.ID))
	e.must(e.m.Route(e.ctx, sms("100"), "u2"))
	e.must(e.m.Route(e.ctx, sms("100"), "u3"))
	for _, limit := range []int{1, 2, 3, 10} {
		var users []string
		for after := lifecycle.SessionID(0); ; {
			page, err := e.m.Sessions(e.ctx, manager, after, limit)
			if err != nil || len(page) > limit {
				t.Fatalf("R26: limit %d: a page of %d, %v", limit, len(page), err)
			}
			for _, s := range page {
				users = append(users, s.EndUser)
			}
			if len(page) < limit {
				break
			}
			after = page[len(page)-1].ID
		}
		if want := []string{"u1", "u2", "u3"}; !cmp.Equal(users, want) {
			t.Errorf("R26: limit %d pages %v, want %v", limit, users, want)
		}
	}
}

// R26: closing a test session that idled out under its lease is refused
// as over - idle_timeout at its idle deadline - and records it so.
func TestR26CloseAfterIdle(t *testing.T) {
	e := newEnv(t)
	b, ts := e.tested(t)
	e.clk.Add(b.IdleTimeout + time.Minute)
	_, err := e.m.CloseTestSession(e.ctx, designer, ts.ID)
	var over *lifecycle.SessionOverError
	if !errors.As(err, &over) || over.Reason != lifecycle.CloseIdleTimeout || !over.At.Equal(start.Add(b.IdleTimeout)) {
		t.Fatalf("R26: closing an idled-out test session: %v; want ErrSessionOver, idle_timeout at %v", err, start.Add(b.IdleTimeout))
	}
}

// R26: a test session closed on a bot that was replaced on a sender
// leaves the end user's session there replaced (R9): a test session's end
// is never read as the end of a real sender's activation.
func TestR26CloseKeepsLiveFigures(t *testing.T) {
	e := newEnv(t)
	a := e.live("a", "100")
	e.must(e.m.Route(e.ctx, sms("100"), "u1"))
	ts, err := e.m.OpenTestSession(e.ctx, designer, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.live("b", "100") // replaces a on 100, immediately
	e.must(e.m.CloseTestSession(e.ctx, designer, ts.ID))
	an, err := e.m.Analytics(e.ctx, manager)
	if err != nil {
		t.Fatal(err)
	}
	want := map[lifecycle.CloseReason]uint64{lifecycle.CloseReplaced: 1}
	if len(an.ByBot) == 0 || an.ByBot[0].Bot != a.ID || !cmp.Equal(an.ByBot[0].Closed, want) {
		t.Fatalf("R26: a's figures after its test session closed: %+v; want closed %v", an.ByBot, want)
	}
}

// R26, R17: Plan of OpenTestSession is a dry run - nothing changes - and
// ApplyTestPlan opens exactly the test session it planned; applied a
// second time it is a conflict (R17).
func TestR26DryRun(t *testing.T) {
	e := newEnv(t)
	b := e.draft("d", "100")
	before := e.dump()
	p, err := e.m.Plan(e.ctx, designer, lifecycle.OpenTestSession{Bot: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, e.dump()); diff != "" {
		t.Fatalf("R17: the dry run changed the store:\n%s", diff)
	}
	planned, ok := p.Bot(b.ID)
	if !ok || len(planned.Tests) != 1 || len(p.Audit) != 1 || p.Audit[0].Test == nil {
		t.Fatalf("R26: the plan %+v", p)
	}
	ts, err := e.m.ApplyTestPlan(e.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	l := planned.Tests[0]
	if !ts.Open() || ts.Bot != b.ID || ts.Tester != designer.ID || ts.Content != l.Content || !ts.OpenedAt.Equal(l.OpenedAt) {
		t.Fatalf("R26: applied %+v, planned lease %+v", ts, l)
	}
	if got := e.get(b.ID); len(got.Tests) != 0 { // Get leaves leases out; the store holds exactly the one planned
		t.Fatalf("R26: Get shows leases %+v", got.Tests)
	}
	if _, err := e.m.SendTest(e.ctx, designer, ts.ID); err != nil {
		t.Fatalf("R26: a message on the applied plan's test session: %v", err)
	}
	if _, err := e.m.ApplyTestPlan(e.ctx, p); !errors.Is(err, lifecycle.ErrConflict) {
		t.Fatalf("R17: the plan applied twice: %v, want ErrConflict", err)
	}
	opens := 0
	for _, a := range e.audit() {
		if a.Action == lifecycle.OpOpenTestSession {
			opens++
		}
	}
	if opens != 1 {
		t.Fatalf("R26: %d open_test_session entries, want 1", opens)
	}
}

// R17, R26: ApplyPlan of a plan to open a test session opens the session
// too, as ApplyTestPlan does: the store then holds it open on the lease's
// test sender, at the plan's time.
func TestR26ApplyPlanOpensTheTestSession(t *testing.T) {
	e := newEnv(t)
	b := e.draft("d", "100")
	p, err := e.m.Plan(e.ctx, designer, lifecycle.OpenTestSession{Bot: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.m.ApplyPlan(e.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := e.st.Sessions(e.ctx, "", 0, 10)
	if err != nil || len(ss) != 1 || !ss[0].Sender.IsTest() || !ss[0].Open() || ss[0].Bot != b.ID || !ss[0].OpenedAt.Equal(e.clk.Now()) {
		t.Fatalf("R26: sessions after ApplyPlan = %+v, %v; want the test session open", ss, err)
	}
	// R17: it returns the plan as committed, the lease in its bot.
	if nb, ok := got.Bot(b.ID); got.Op != lifecycle.OpOpenTestSession || !ok || len(nb.Tests) != 1 || len(got.Audit) != 1 {
		t.Fatalf("R17: ApplyPlan returned %+v; want the committed plan with the bot's lease", got)
	}
}

// R24, R26: Watch sees a test session's open and close entries, with
// which bot and which test session.
func TestR26Watch(t *testing.T) {
	e := newEnv(t)
	b := e.draft("d", "100")
	ts, err := e.m.OpenTestSession(e.ctx, supervisor, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.m.CloseTestSession(e.ctx, supervisor, ts.ID))
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	var got []lifecycle.Op
	for en, err := range e.m.Watch(ctx, admin, 0) {
		if err != nil {
			t.Fatal(err)
		}
		if en.Test == nil {
			continue
		}
		if en.Test.Bot != b.ID || en.Actor != supervisor.ID || en.Test.Content != ts.Content {
			t.Fatalf("R26: watched %+v", en)
		}
		if got = append(got, en.Action); len(got) == 2 {
			break
		}
	}
	if want := []lifecycle.Op{lifecycle.OpOpenTestSession, lifecycle.OpCloseTestSession}; !cmp.Equal(got, want) {
		t.Fatalf("R24: Watch saw %v, want %v", got, want)
	}
}

// R26: a test session idles out through the Manager like any session: at
// lastActivity + the bot's idle timeout (a tie goes to idle), read so
// before and after a sweep, and a message then is refused.
func TestR26IdleTimeout(t *testing.T) {
	e := newEnv(t)
	b, ts := e.tested(t)
	e.clk.Add(time.Minute)
	e.must(e.m.SendTest(e.ctx, designer, ts.ID))
	deadline := e.clk.Now().Add(b.IdleTimeout)
	e.clk.Add(b.IdleTimeout - time.Second)
	if read, err := e.m.TestSession(e.ctx, designer, ts.ID); err != nil || !read.Open() {
		t.Fatalf("R26: a second before its idle deadline: %+v, %v", read, err)
	}
	e.clk.Add(time.Second)
	for _, sweep := range []bool{false, true} {
		if sweep {
			e.must(e.m.ExpireDue(e.ctx))
		}
		wantOver(t, e, ts.ID, lifecycle.CloseIdleTimeout, deadline, fmt.Sprintf("at its idle deadline (sweep %v)", sweep))
	}
}

// R26, R9: editing the bot's idle timeout ends its open test sessions, as
// a content change does, at the edit, each by the idle timeout it ran
// with: an edit never rewrites when a test session idled out, never makes
// one over in the past, and never revives one that idled out (found by
// review: a shorter timeout read the session over ten minutes earlier, a
// longer one revived it and SendTest continued it). Read alike before and
// after a sweep.
func TestR26IdleTimeoutEditEndsTestSessions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		after  time.Duration // from the opening to the edit
		idle   time.Duration // the new idle timeout
		reason lifecycle.CloseReason
		over   time.Duration // when it is over, from the opening
	}{
		{"shorter, not yet idle", 10 * time.Minute, 5 * time.Minute, lifecycle.CloseContentChanged, 10 * time.Minute},
		{"longer, not yet idle", 10 * time.Minute, time.Hour, lifecycle.CloseContentChanged, 10 * time.Minute},
		{"longer, idle already", 40 * time.Minute, time.Hour, lifecycle.CloseIdleTimeout, lifecycle.DefaultIdleTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, sweep := range []bool{false, true} {
				e := newEnv(t)
				b, ts := e.tested(t)
				opened := e.clk.Now()
				e.clk.Add(tc.after)
				idle := tc.idle
				e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, IdleTimeout: &idle}))
				e.clk.Add(time.Minute)
				if sweep {
					e.must(e.m.ExpireDue(e.ctx))
				}
				wantOver(t, e, ts.ID, tc.reason, opened.Add(tc.over), fmt.Sprintf("after the edit (sweep %v)", sweep))
			}
		})
	}
}

// wantOver checks that designer's test session id reads over, for reason
// since at, and that a message on it is refused with the same reason and
// time - never routed, never a new session (R26).
func wantOver(t *testing.T, e *env, id lifecycle.TestSessionID, reason lifecycle.CloseReason, at time.Time, when string) {
	t.Helper()
	read, err := e.m.TestSession(e.ctx, designer, id)
	if err != nil || read.CloseReason != reason || !read.ClosedAt.Equal(at) {
		t.Fatalf("R26: read %s: %+v, %v; want %s at %v", when, read, err, reason, at)
	}
	_, err = e.m.SendTest(e.ctx, designer, id)
	var over *lifecycle.SessionOverError
	if !errors.As(err, &over) || over.Reason != reason || !over.At.Equal(at) {
		t.Fatalf("R26: a message %s: %v; want ErrSessionOver, %s at %v", when, err, reason, at)
	}
}

// tested returns a Draft on sender 100 and a test session designer opened
// on it (R26).
func (e *env) tested(t *testing.T) (lifecycle.Bot, lifecycle.TestSession) {
	t.Helper()
	b := e.draft("d", "100")
	ts, err := e.m.OpenTestSession(e.ctx, designer, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	return b, ts
}

// conflictingRoute fails the first fails routes to a test sender with err,
// as a store whose compare-and-swap lost to other commits of the bot does.
type conflictingRoute struct {
	lifecycle.Store
	fails int
	err   error
	calls *int
}

func (s conflictingRoute) Route(ctx context.Context, ws lifecycle.Workspace, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	if sender.IsTest() {
		if *s.calls++; *s.calls <= s.fails {
			return lifecycle.Session{}, s.err
		}
	}
	return s.Store.Route(ctx, ws, sender, endUser, now)
}

// R26: OpenTestSession opens the session of the lease it committed, trying
// again while the store reports a conflict - up to the Manager's
// MaxAttempts - and never again after any other error.
func TestR26OpenTestSessionRetriesConflictsOnly(t *testing.T) {
	conflict := fmt.Errorf("lost the race: %w", lifecycle.ErrConflict)
	unavailable := fmt.Errorf("no database: %w", lifecycle.ErrUnavailable)
	for _, tc := range []struct {
		name      string
		fails     int
		err       error
		wantCalls int
		want      error // nil: opened
	}{
		{"two conflicts, then opened", 2, conflict, 3, nil},
		{"conflicts on every attempt", 100, conflict, 3, lifecycle.ErrConflict},
		{"another error is not retried", 100, unavailable, 1, lifecycle.ErrUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.draft("d", "100")
			calls := 0
			m, err := lifecycle.New(lifecycle.Config{Store: conflictingRoute{Store: e.st, fails: tc.fails, err: tc.err, calls: &calls}, Clock: e.clk, MaxAttempts: 3})
			if err != nil {
				t.Fatal(err)
			}
			ts, err := m.OpenTestSession(e.ctx, designer, b.ID)
			if calls != tc.wantCalls || (tc.want == nil) != (err == nil) || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("R26: %d routes, %v; want %d, %v", calls, err, tc.wantCalls, tc.want)
			}
			if tc.want == nil && !ts.Open() {
				t.Fatalf("R26: the test session %+v is not open", ts)
			}
		})
	}
}

// R26: a test session carries only its tester's messages, addressed by the
// test session, never by a sender: Manager.Route - the end users' path,
// which checks no actor - refuses a test session's virtual sender as
// invalid input, with a tracer or without, and leaves the test session as
// it was.
func TestR26RouteNeverReachesATestSession(t *testing.T) {
	e := newEnv(t)
	ts, before := e.openTest()
	traced, _, _ := e.traced()
	for name, m := range map[string]*lifecycle.Manager{"untraced": e.m, "traced": traced} {
		e.clk.Add(time.Minute)
		if s, err := m.Route(e.ctx, before.Sender, before.EndUser); !errors.Is(err, lifecycle.ErrInvalidInput) {
			t.Errorf("R26 (%s): Route on the virtual sender of test session %s = %+v, %v; want ErrInvalidInput", name, ts.ID, s, err)
		}
	}
	if after, err := storedSession(e.ctx, e.st, 1); err != nil || after != before {
		t.Errorf("R26: a refused Route changed the test session:\nbefore %+v\nafter  %+v (%v)", before, after, err)
	}
}

// R21, R26: ids of up to 256 bytes are valid, for bots and users alike; a
// tester opens a test session on such a bot and sends on it. The virtual
// sender and end-user key the Manager makes of them (longer than 256
// bytes) are its own, not text a caller passed.
func TestR26TestSessionOnLongIDs(t *testing.T) {
	long := strings.Repeat("b", 256)
	for _, tc := range []struct {
		name   string
		bot    lifecycle.BotID
		tester string
	}{
		{"long bot id", lifecycle.BotID(long), "sue"},
		{"long tester id", "", strings.Repeat("t", 256)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tester := supervisor
			if tc.tester != "sue" {
				tester = lifecycle.User(tc.tester)
				e.must(e.m.GrantRole(e.ctx, lifecycle.System("test"), tc.tester, roles.Supervisor))
			}
			b, err := e.m.Create(e.ctx, designer, lifecycle.Create{ID: tc.bot, Name: "d", Channel: "sms", Senders: []lifecycle.Sender{sms("100")}, Definition: cleanDef()})
			if err != nil {
				t.Fatal(err)
			}
			ts, err := e.m.OpenTestSession(e.ctx, tester, b.ID)
			if err != nil {
				t.Fatalf("R26: opening a test session on bot %.12s... for %.12s...: %v", b.ID, tc.tester, err)
			}
			if _, err := e.m.SendTest(e.ctx, tester, ts.ID); err != nil {
				t.Fatalf("R26: a message on it: %v", err)
			}
		})
	}
}

// R26, R16: closing a test session that idled out is refused (ErrSessionOver):
// a refused operation changes nothing, so no "closed" audit entry claims the
// tester closed it at now, after it was already over.
func TestR26RefusedCloseIsNotAudited(t *testing.T) {
	e := newEnv(t)
	b, ts := e.tested(t)
	e.clk.Add(b.IdleTimeout + time.Minute)
	before, err := e.m.AuditLog(e.ctx, admin, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.CloseTestSession(e.ctx, designer, ts.ID); !errors.Is(err, lifecycle.ErrSessionOver) {
		t.Fatalf("closing an idled-out test session: %v; want ErrSessionOver", err)
	}
	after, err := e.m.AuditLog(e.ctx, admin, 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Fatalf("R26/R16: the refused close appended %d audit entries: %+v", len(after)-len(before), after[len(before):])
	}
}

// R26, R9: a test session of a bot that was deleted is over with
// content_changed, and reads the same before and after a sweep recorded it -
// also when a new bot was since created with the deleted bot's id, later or
// at the instant the deleted one was (Bot.Incarnation); and the new bot's own
// test session opens and takes messages, the old one none.
func TestR26DeletedBotIDReusedTestSessionEnd(t *testing.T) {
	for _, c := range []struct {
		name     string
		reuse    bool
		wait     time.Duration // between the test session's opening and the deletion
		imported bool          // the new bot is imported (Import{ID}), not created
	}{{"id not reused", false, time.Minute, false}, {"id reused", true, time.Minute, false}, {"id reused at the same instant", true, 0, false},
		{"id reused by an import at the same instant", true, 0, true}} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			e.must(e.m.Create(e.ctx, designer, lifecycle.Create{ID: "x", Name: "d", Channel: "sms", Senders: []lifecycle.Sender{sms("100")}, Definition: cleanDef()}))
			data, err := e.m.Export(e.ctx, designer, "x")
			if err != nil {
				t.Fatal(err)
			}
			ts, err := e.m.OpenTestSession(e.ctx, designer, "x")
			if err != nil {
				t.Fatal(err)
			}
			e.clk.Add(c.wait)
			if err := e.m.Delete(e.ctx, designer, "x"); err != nil {
				t.Fatal(err)
			}
			if c.reuse {
				var remake lifecycle.Command = lifecycle.Create{ID: "x", Name: "d", Channel: "sms", Senders: []lifecycle.Sender{sms("100")}, Definition: cleanDef()}
				if c.imported {
					remake = lifecycle.Import{ID: "x", Data: data} // the Manager draws its Incarnation
				}
				if _, err := e.m.Apply(e.ctx, designer, remake); err != nil {
					t.Fatal(err)
				}
				again, err := e.m.OpenTestSession(e.ctx, designer, "x")
				if err != nil {
					t.Fatalf("R26: a test session on the new bot x: %v", err)
				}
				if got, err := e.m.SendTest(e.ctx, designer, again.ID); err != nil || got.Messages != 1 {
					t.Fatalf("R26: a message on the new bot's test session: %+v, %v", got, err)
				}
				if _, err := e.m.SendTest(e.ctx, designer, ts.ID); !errors.Is(err, lifecycle.ErrSessionOver) {
					t.Fatalf("R26: a message on the deleted bot's test session: %v, want ErrSessionOver", err)
				}
			}
			e.clk.Add(time.Minute)
			before, err := e.m.TestSession(e.ctx, designer, ts.ID)
			if err != nil {
				t.Fatal(err)
			}
			e.must(e.m.ExpireDue(e.ctx))
			after, err := e.m.TestSession(e.ctx, designer, ts.ID)
			if err != nil {
				t.Fatal(err)
			}
			if before.Open() || before.CloseReason != after.CloseReason || !before.ClosedAt.Equal(after.ClosedAt) || after.Messages != 0 {
				t.Fatalf("R26/R9: before the sweep %s at %v; after it %s at %v, %d messages; want over, the same, none", before.CloseReason, before.ClosedAt, after.CloseReason, after.ClosedAt, after.Messages)
			}
		})
	}
}

// R26: SendTest on an id that names another session number than its
// sender and key route to (one the tester made up) is not found, and the
// tester's real test session counts no message.
func TestR26SendTestOnAMadeUpIDCountsNothing(t *testing.T) {
	e := newEnv(t)
	ts, before := e.openTest()
	_, rest, _ := strings.Cut(string(ts.ID), ".")
	for _, made := range []string{"2." + rest, "99." + rest} {
		if _, err := e.m.SendTest(e.ctx, designer, lifecycle.TestSessionID(made)); !errors.Is(err, lifecycle.ErrNotFound) {
			t.Errorf("R26: SendTest(%.20q...) = %v, want ErrNotFound", made, err)
		}
	}
	if after, err := storedSession(e.ctx, e.st, 1); err != nil || after != before {
		t.Errorf("R26: a refused SendTest changed the test session:\nbefore %+v\nafter  %+v (%v)", before, after, err)
	}
}

// openTest opens a designer's test session on a new Draft, the store's
// first session, and returns it with the session as stored.
func (e *env) openTest() (lifecycle.TestSession, lifecycle.Session) {
	e.t.Helper()
	ts, err := e.m.OpenTestSession(e.ctx, designer, e.draft("d").ID)
	if err != nil {
		e.t.Fatal(err)
	}
	stored, err := storedSession(e.ctx, e.st, 1)
	if err != nil || !stored.Sender.IsTest() {
		e.t.Fatalf("the test session as stored: %+v, %v", stored, err)
	}
	return ts, stored
}

// R26: CloseTestSession of an id made up from the tester's own - another
// session number with the lease's sender and key - is not found and changes
// nothing: the lease stays, nothing is audited, and the test session still
// takes messages and closes by its own id.
func TestR26CloseTestSessionOnAMadeUpIDChangesNothing(t *testing.T) {
	e := newEnv(t)
	ts, _ := e.openTest()
	_, rest, _ := strings.Cut(string(ts.ID), ".")
	for _, made := range []string{"2." + rest, "99." + rest} {
		e.refused(lifecycle.ErrNotFound, false, func() error {
			_, err := e.m.CloseTestSession(e.ctx, designer, lifecycle.TestSessionID(made))
			return err
		})
	}
	if _, err := e.m.SendTest(e.ctx, designer, ts.ID); err != nil {
		t.Fatalf("R26: the test session after refused closes: %v", err)
	}
	if got, err := e.m.CloseTestSession(e.ctx, designer, ts.ID); err != nil || got.CloseReason != lifecycle.CloseCompleted {
		t.Fatalf("R26: closing it by its own id: %+v, %v", got, err)
	}
}

// R26, R16: Apply of an OpenTestSession opens the test session it audits
// as opened, as ApplyPlan does; it opened none, so the lease held a slot
// and the audit log an opening of nothing.
func TestR26ApplyOpensTheTestSession(t *testing.T) {
	e := newEnv(t)
	b := e.draft("d")
	if _, err := e.m.Apply(e.ctx, designer, lifecycle.OpenTestSession{Bot: b.ID}); err != nil {
		t.Fatal(err)
	}
	s, err := storedSession(e.ctx, e.st, 1)
	if err != nil || !s.Sender.IsTest() || s.Bot != b.ID || !s.Open() {
		t.Fatalf("R26: the test session Apply opened, as stored: %+v, %v", s, err)
	}
}

// editBeforeRoute is a Store that, at the first routing on a test sender,
// first runs edit: another Manager's edit landing between an opening's
// commit and its routing.
type editBeforeRoute struct {
	lifecycle.Store
	edit func()
}

func (s *editBeforeRoute) Route(ctx context.Context, ws lifecycle.Workspace, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	if edit := s.edit; edit != nil && sender.IsTest() {
		s.edit = nil
		edit()
	}
	return s.Store.Route(ctx, ws, sender, endUser, now)
}

// R26: an edit of the definition that lands between a test session's lease
// and its opening ends it before it opens: OpenTestSession answers
// ErrSessionOver since the edit - not ErrNoBot on its virtual sender - with
// a message that names no empty id and says what to do.
func TestR26ContentChangedBeforeTheOpening(t *testing.T) {
	e := newEnv(t)
	b := e.draft("d", "100")
	st := &editBeforeRoute{Store: e.st}
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	editAt := start.Add(time.Minute)
	st.edit = func() {
		def := warnDef()
		e.clk.Set(editAt)
		e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, Definition: &def}))
		e.clk.Add(time.Minute)
	}
	_, err = m.OpenTestSession(e.ctx, designer, b.ID)
	var over *lifecycle.SessionOverError
	if !errors.As(err, &over) || over.Reason != lifecycle.CloseContentChanged || !over.At.Equal(editAt) {
		t.Fatalf("R26: OpenTestSession with an edit before its opening = %v; want a *SessionOverError, content_changed at the edit %v", err, editAt)
	}
	if msg := err.Error(); strings.Contains(msg, "session  is") || !strings.Contains(msg, "open a new one") {
		t.Errorf("R26: the refusal reads %q; want no empty id, and what to do", msg)
	}
}

// P2, P1, R16, R26: a tester whose "Test chatbots" is revoked cannot go on
// using a test session opened before: the next message is refused for the
// missing permission, changes nothing (no message counted) and is audited,
// as reading or closing the test session is.
func TestP2SendTestNeedsTheTestPermissionNow(t *testing.T) {
	e := newEnv(t)
	b := e.draft("d", "100")
	ts, err := e.m.OpenTestSession(e.ctx, supervisor, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.m.SendTest(e.ctx, supervisor, ts.ID))
	e.must(e.m.RevokeRole(e.ctx, admin, "sue", roles.Supervisor))
	e.clk.Add(time.Minute)
	err = e.refused(lifecycle.ErrForbidden, true, func() error { _, err := e.m.SendTest(e.ctx, supervisor, ts.ID); return err })
	if !strings.Contains(err.Error(), "sue") || !strings.Contains(err.Error(), "Test chatbots") {
		t.Errorf("P1: the refusal %q does not name the actor and the missing permission", err)
	}
	e.must(e.m.GrantRole(e.ctx, admin, "sue", roles.Supervisor))
	if got, err := e.m.SendTest(e.ctx, supervisor, ts.ID); err != nil || got.Messages != 2 {
		t.Fatalf("P2: with the role granted again the next message = %+v, %v; want the test session's second message", got, err)
	}
}

// sessionsCounter counts the Store.Sessions reads made through it.
type sessionsCounter struct {
	lifecycle.Store
	reads int
}

func (c *sessionsCounter) Sessions(ctx context.Context, ws lifecycle.Workspace, after lifecycle.SessionID, limit int) ([]lifecycle.Session, error) {
	c.reads++
	return c.Store.Sessions(ctx, ws, after, limit)
}

// R26: a long run of closed test sessions costs Sessions reads in the
// logarithm of its length - pages double past them - not one read per
// page of the caller's limit.
func TestR26SessionsSkipTestSessionsInFewReads(t *testing.T) {
	e := newEnv(t)
	b := e.live("a", "100")
	const tests = 3000
	for range tests {
		ts, err := e.m.OpenTestSession(e.ctx, manager, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		e.must(e.m.CloseTestSession(e.ctx, manager, ts.ID))
	}
	e.must(e.m.Route(e.ctx, sms("100"), "u1"))
	counter := &sessionsCounter{Store: e.st}
	m, err := lifecycle.New(lifecycle.Config{Store: counter, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	page, err := m.Sessions(e.ctx, manager, 0, 1)
	if err != nil || len(page) != 1 || page[0].EndUser != "u1" {
		t.Fatalf("R26: Sessions past %d test sessions = %v, %v; want u1's", tests, page, err)
	}
	// 1, 2, 4 ... 512, then pages of MaxPage: 10 + 3 reads.
	if counter.reads > 14 {
		t.Errorf("R26: Sessions read the store %d times to skip %d test sessions, want at most 14", counter.reads, tests)
	}
}
