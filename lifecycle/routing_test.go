package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/google/go-cmp/cmp"
)

// R9, R10: the grace deadline holds exactly, on the injected clock, whether
// or not anything has swept.
func TestR9GraceTimeline(t *testing.T) {
	e := newEnv(t)
	line := sms("+15550100")
	v1 := e.live("v1", line.Address)
	old, err := e.m.Route(e.ctx, line, "olga")
	if err != nil || old.Bot != v1.ID {
		t.Fatal(old, err)
	}
	v2 := e.draft("v2", line.Address)
	e.activate(v2.ID, lifecycle.Grace(10*time.Minute))
	deadline := start.Add(10 * time.Minute)

	e.clk.Set(start.Add(9*time.Minute + 59*time.Second))
	if s, _ := e.m.Route(e.ctx, line, "olga"); s.ID != old.ID || s.Bot != v1.ID {
		t.Fatalf("R9: at +9m59s the old end user left v1: %+v", s)
	}
	if s, _ := e.m.Route(e.ctx, line, "nina"); s.Bot != v2.ID {
		t.Fatalf("R10: at +9m59s a new end user reached %s", s.Bot)
	}

	e.clk.Set(deadline) // exactly; no ExpireDue
	beforeSweep := e.get(v1.ID)
	if beforeSweep.State != lifecycle.Inactive || beforeSweep.EndReason != lifecycle.CloseGraceExpired {
		t.Errorf("R9: at the deadline v1 reads %v (%v)", beforeSweep.State, beforeSweep.EndReason)
	}
	s, err := e.m.Route(e.ctx, line, "olga")
	if err != nil || s.Bot != v2.ID || s.ID == old.ID || s.Messages != 1 {
		t.Fatalf("R9: at +10m the old end user's message went to %+v, %v", s, err)
	}
	closed, _ := e.m.Session(e.ctx, old.ID)
	if closed.Open() || closed.CloseReason != lifecycle.CloseGraceExpired || !closed.ClosedAt.Equal(deadline) {
		t.Fatalf("R9: old session reads %+v", closed)
	}

	exp, err := e.m.ExpireDue(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]lifecycle.BotID{v1.ID}, exp.DrainsEnded); diff != "" {
		t.Errorf("ExpireDue drains (-want +got):\n%s", diff)
	}
	stored, _ := e.st.Bot(e.ctx, "", v1.ID)
	// R9: reading before the sweep showed what the sweep stores, but for
	// the bookkeeping of the write itself.
	afterSweep := e.get(v1.ID)
	beforeSweep.Revision, beforeSweep.UpdatedAt = afterSweep.Revision, afterSweep.UpdatedAt
	if diff := cmp.Diff(beforeSweep, afterSweep); diff != "" {
		t.Errorf("R9: v1 read before and after ExpireDue (-before +after):\n%s", diff)
	}
	if stored.State != lifecycle.Inactive || stored.EndReason != lifecycle.CloseGraceExpired || !stored.EndedAt.Equal(deadline) {
		t.Errorf("after ExpireDue v1 is stored as %v (%v at %v)", stored.State, stored.EndReason, stored.EndedAt)
	}
	log := e.audit()
	last := log[len(log)-1]
	want := lifecycle.AuditEntry{Seq: last.Seq, Time: deadline, Actor: "system", System: true, Action: lifecycle.OpExpireGrace,
		Transitions:   []lifecycle.Transition{{Bot: v1.ID, From: lifecycle.Deactivated, To: lifecycle.Inactive}},
		Senders:       []lifecycle.SenderTransition{{Bot: v1.ID, Sender: v1.Senders[0], From: lifecycle.Deactivated, To: lifecycle.Inactive}},
		GraceDeadline: deadline, Reason: "grace period ended"}
	if diff := cmp.Diff(want, last); diff != "" {
		t.Errorf("R16: expiry audit (-want +got):\n%s", diff)
	}
	// Running it again finds nothing to do.
	if again, _ := e.m.ExpireDue(e.ctx); len(again.DrainsEnded) != 0 || again.SessionsClosed != 0 {
		t.Errorf("second ExpireDue: %+v", again)
	}
}

// The session of a drain that nobody swept is closed by the first
// operation that touches the sender, so R2 holds for the next drain.
func TestR9ExpiredDrainSettledByNextOperation(t *testing.T) {
	e := newEnv(t)
	v1 := e.live("v1", "100")
	v2 := e.draft("v2", "100")
	e.activate(v2.ID, lifecycle.Grace(time.Minute))
	e.clk.Add(time.Hour) // v1's drain is long over, but nothing swept
	v3 := e.draft("v3", "100")
	p := e.activate(v3.ID, lifecycle.Grace(time.Minute))
	if diff := cmp.Diff([]lifecycle.State{lifecycle.Inactive, lifecycle.Deactivated, lifecycle.Active}, e.states(v1.ID, v2.ID, v3.ID)); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	if len(p.Audit) != 2 || p.Audit[0].Action != lifecycle.OpExpireGrace || p.Audit[1].Action != lifecycle.OpActivate {
		t.Fatalf("R16: the settled expiry is audited on its own: %+v", p.Audit)
	}
	if got, _ := e.st.Bot(e.ctx, "", v1.ID); got.EndReason != lifecycle.CloseGraceExpired || !got.EndedAt.Equal(start.Add(time.Minute)) {
		t.Errorf("v1 ended with %v at %v", got.EndReason, got.EndedAt)
	}
}

func TestIdleTimeout(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100")
	idle := 5 * time.Minute
	e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, IdleTimeout: &idle}))
	e.activate(b.ID, lifecycle.Decision{})
	first, _ := e.m.Route(e.ctx, sms("100"), "u")
	for _, at := range []time.Duration{4 * time.Minute, 8*time.Minute + 59*time.Second} {
		e.clk.Set(start.Add(at))
		if s, _ := e.m.Route(e.ctx, sms("100"), "u"); s.ID != first.ID {
			t.Fatalf("at +%v a new session opened", at)
		}
	}
	// Exactly 5 minutes after the last message the session is over.
	e.clk.Set(start.Add(13*time.Minute + 59*time.Second))
	s, _ := e.m.Route(e.ctx, sms("100"), "u")
	if s.ID == first.ID {
		t.Fatal("idle session kept the message")
	}
	got, _ := e.m.Session(e.ctx, first.ID)
	if got.CloseReason != lifecycle.CloseIdleTimeout || !got.ClosedAt.Equal(start.Add(13*time.Minute+59*time.Second)) || got.Messages != 3 {
		t.Fatalf("idle session %+v", got)
	}
	// A sweep closes idle sessions nobody wrote to again.
	e.clk.Add(time.Hour)
	exp, _ := e.m.ExpireDue(e.ctx)
	if exp.SessionsClosed != 1 {
		t.Errorf("sweep closed %d sessions", exp.SessionsClosed)
	}
	if got, _ := storedSession(e.ctx, e.st, s.ID); got.Open() || got.CloseReason != lifecycle.CloseIdleTimeout {
		t.Errorf("swept session %+v", got)
	}
}

func TestCloseSessionAndErrors(t *testing.T) {
	e := newEnv(t)
	e.live("b", "100")
	s, _ := e.m.Route(e.ctx, sms("100"), "u")
	e.clk.Add(time.Minute)
	closed, err := e.m.CloseSession(e.ctx, s.ID)
	if err != nil || closed.CloseReason != lifecycle.CloseCompleted || !closed.ClosedAt.Equal(start.Add(time.Minute)) {
		t.Fatalf("CloseSession = %+v, %v", closed, err)
	}
	if next, _ := e.m.Route(e.ctx, sms("100"), "u"); next.ID == s.ID {
		t.Fatal("a closed session took a message")
	}
	if _, err := e.m.CloseSession(e.ctx, 4242); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("missing session: %v", err)
	}
	if _, err := e.m.Session(e.ctx, 4242); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("missing session: %v", err)
	}
	_, err = e.m.Route(e.ctx, sms("999"), "u")
	var nb *lifecycle.NoBotError
	if !errors.Is(err, lifecycle.ErrNoBot) || !errors.As(err, &nb) || nb.Sender != sms("999") {
		t.Errorf("R10: no bot: %v", err)
	}
	if _, err := e.m.Route(e.ctx, lifecycle.Sender{}, "u"); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Errorf("empty sender: %v", err)
	}
	if _, err := e.m.Route(e.ctx, sms("100"), ""); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Errorf("empty end user: %v", err)
	}
}

// A bot activated again does not get the sessions of its earlier life back.
func TestReactivationStartsFresh(t *testing.T) {
	e := newEnv(t)
	b := e.live("b", "100")
	s, _ := e.m.Route(e.ctx, sms("100"), "u")
	if _, err := e.m.Deactivate(e.ctx, manager, b.ID, 0); err != nil {
		t.Fatal(err)
	}
	e.clk.Add(time.Minute)
	e.activate(b.ID, lifecycle.Decision{})
	next, _ := e.m.Route(e.ctx, sms("100"), "u")
	if next.ID == s.ID || next.Activation != 2 {
		t.Fatalf("the old session came back: %+v", next)
	}
	old, _ := e.m.Session(e.ctx, s.ID)
	if old.CloseReason != lifecycle.CloseDeactivated || !old.ClosedAt.Equal(start) {
		t.Fatalf("old session %+v", old)
	}
}

func TestAnalytics(t *testing.T) {
	e := newEnv(t)
	v1 := e.live("v1", "100", "200")
	for _, u := range []string{"a", "b", "c"} {
		e.must(e.m.Route(e.ctx, sms("100"), u))
	}
	s, _ := e.m.Route(e.ctx, sms("200"), "d")
	e.must(e.m.Route(e.ctx, sms("100"), "a")) // second message
	e.must(e.m.CloseSession(e.ctx, s.ID))
	v2 := e.draft("v2", "100")
	e.activate(v2.ID, lifecycle.Grace(10*time.Minute))
	e.must(e.m.Route(e.ctx, sms("100"), "x"))
	// R22: who is live on each sender, while v1 drains on both.
	during, err := e.m.Analytics(e.ctx, analyzer)
	if err != nil {
		t.Fatal(err)
	}
	deadline := start.Add(10 * time.Minute)
	wantLive := []lifecycle.SenderLive{{Sender: sms("100"), Active: v2.ID, Draining: v1.ID, GraceDeadline: deadline}, {Sender: sms("200"), Draining: v1.ID, GraceDeadline: deadline}}
	if diff := cmp.Diff(wantLive, during.Live); diff != "" {
		t.Errorf("R22: live bots per sender during the drain (-want +got):\n%s", diff)
	}
	e.clk.Add(10 * time.Minute) // v1's drain ends; nothing swept

	if _, err := e.m.Analytics(e.ctx, admin); !errors.Is(err, lifecycle.ErrForbidden) {
		t.Fatalf("P1: Admin has no analytics permission: %v", err)
	}
	got, err := e.m.Analytics(e.ctx, analyzer)
	if err != nil {
		t.Fatal(err)
	}
	want := lifecycle.Analytics{
		ByBot: []lifecycle.SessionStats{
			{Bot: v1.ID, Opened: 4, Open: 0, Messages: 5, Closed: map[lifecycle.CloseReason]uint64{lifecycle.CloseCompleted: 1, lifecycle.CloseGraceExpired: 3}},
			{Bot: v2.ID, Opened: 1, Open: 1, Messages: 1, Closed: map[lifecycle.CloseReason]uint64{}},
		},
		BySender: []lifecycle.SessionStats{
			{Sender: sms("100"), Opened: 4, Open: 1, Messages: 5, Closed: map[lifecycle.CloseReason]uint64{lifecycle.CloseGraceExpired: 3}},
			{Sender: sms("200"), Opened: 1, Open: 0, Messages: 1, Closed: map[lifecycle.CloseReason]uint64{lifecycle.CloseCompleted: 1}},
		},
		Live: []lifecycle.SenderLive{{Sender: sms("100"), Active: v2.ID}, {Sender: sms("200")}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("analytics (-want +got):\n%s", diff)
	}
	// After a sweep the records agree with what was already reported.
	if _, err := e.m.ExpireDue(e.ctx); err != nil {
		t.Fatal(err)
	}
	again, _ := e.m.Analytics(e.ctx, analyzer)
	if diff := cmp.Diff(want, again); diff != "" {
		t.Errorf("analytics after the sweep (-want +got):\n%s", diff)
	}
}

// R9: a session ends as its own activation ended, whether or not a sweep
// ran in between: deactivated at +1m, activated again at +2m and replaced
// at +3m, the old session reads "deactivated at +1m" either way.
func TestR9SessionEndsWithItsOwnActivation(t *testing.T) {
	for _, sweep := range []bool{false, true} {
		t.Run(fmt.Sprintf("R9/sweep=%v", sweep), func(t *testing.T) {
			e := newEnv(t)
			v1 := e.live("v1", "100")
			s, err := e.m.Route(e.ctx, sms("100"), "u1")
			if err != nil {
				t.Fatal(err)
			}
			e.clk.Add(time.Minute)
			e.must(e.m.Deactivate(e.ctx, manager, v1.ID, 0))
			if sweep {
				e.must(e.m.ExpireDue(e.ctx))
			}
			e.clk.Add(time.Minute)
			e.activate(v1.ID, lifecycle.Immediate())
			e.clk.Add(time.Minute)
			v2 := e.draft("v2", "100")
			e.activate(v2.ID, lifecycle.Immediate())
			got, err := e.m.Session(e.ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.CloseReason != lifecycle.CloseDeactivated || !got.ClosedAt.Equal(start.Add(time.Minute)) {
				t.Fatalf("R9: the session reads %s at %v, want deactivated at %v", got.CloseReason, got.ClosedAt, start.Add(time.Minute))
			}
			e.must(e.m.ExpireDue(e.ctx))
			stored, _ := storedSession(e.ctx, e.st, s.ID)
			if stored.CloseReason != lifecycle.CloseDeactivated || !stored.ClosedAt.Equal(start.Add(time.Minute)) {
				t.Fatalf("R9: recorded %s at %v, want deactivated at %v", stored.CloseReason, stored.ClosedAt, start.Add(time.Minute))
			}
		})
	}
}

// failingStore refuses every commit that changes bot, as a store that
// cannot hold one value would.
type failingStore struct {
	lifecycle.Store
	bot lifecycle.BotID
}

func (s failingStore) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	for _, c := range p.Changes {
		if c.Bot == s.bot {
			return nil, fmt.Errorf("cannot store bot %s: %w", s.bot, lifecycle.ErrInvalidInput)
		}
	}
	return s.Store.Commit(ctx, p)
}

// R9: one drain that cannot be settled does not keep ExpireDue from
// settling the others; it is reported, and the next run tries it again.
func TestR9ExpireDueSkipsWhatItCannotSettle(t *testing.T) {
	e := newEnv(t)
	x, y := e.live("x", "100"), e.live("y", "200")
	e.must(e.m.Deactivate(e.ctx, manager, x.ID, time.Minute))
	e.must(e.m.Deactivate(e.ctx, manager, y.ID, 2*time.Minute))
	e.clk.Add(3 * time.Minute)
	m, err := lifecycle.New(lifecycle.Config{Store: failingStore{Store: e.st, bot: x.ID}, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	for run := 1; run <= 2; run++ {
		got, err := m.ExpireDue(e.ctx)
		if err != nil {
			t.Fatalf("run %d: ExpireDue = %v, want it to carry on", run, err)
		}
		want := lifecycle.Expiry{DrainsEnded: []lifecycle.BotID{y.ID}, Failed: []lifecycle.BotID{x.ID}}
		if run == 2 {
			want.DrainsEnded = nil
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("run %d: ExpireDue (-want +got):\n%s", run, diff)
		}
	}
	if e.state(x.ID) != lifecycle.Inactive {
		t.Error("R9: the drain that could not be recorded still reads Inactive at its deadline")
	}
}

// R9: ExpireDue closes every session that is over, however many batches
// that takes.
func TestExpireDueSweepsEveryBatch(t *testing.T) {
	e := newEnv(t)
	e.live("a", "100")
	const n = 1001 // one more than a sweep batch
	for i := range n {
		e.must(e.m.Route(e.ctx, sms("100"), fmt.Sprintf("u%d", i)))
	}
	e.clk.Add(time.Hour) // past the idle timeout
	got, err := e.m.ExpireDue(e.ctx)
	if err != nil || got.SessionsClosed != n {
		t.Fatalf("R9: ExpireDue closed %d sessions, %v; want %d", got.SessionsClosed, err, n)
	}
}

// R9: ExpireDue ends every drain that is due, however many batches that
// takes.
func TestR9ExpireDueEndsEveryDrain(t *testing.T) {
	e := newEnv(t)
	const n = 101 // one more than a batch of due drains
	for i := range n {
		b := e.live(fmt.Sprintf("b%d", i), fmt.Sprint(100+i))
		e.must(e.m.Deactivate(e.ctx, manager, b.ID, time.Minute))
	}
	e.clk.Add(2 * time.Minute)
	got, err := e.m.ExpireDue(e.ctx)
	if err != nil || len(got.DrainsEnded) != n {
		t.Fatalf("R9: ExpireDue ended %d drains, %v; want %d", len(got.DrainsEnded), err, n)
	}
}

// R9, R22: before a sweep, Analytics counts the sessions of an earlier
// activation with that activation's end, not the end of a later one that
// holds none (found by TestModel: u1's session, in activation 1 which
// ended deactivated, counted as grace_expired, the end of activation 2);
// the sweep changes nothing.
func TestR9AnalyticsCountsTheActivationTheSessionsAreIn(t *testing.T) {
	e := newEnv(t)
	b := e.live("b", "100")
	e.must(e.m.Route(e.ctx, sms("100"), "u1")) // activation 1
	e.clk.Add(time.Minute)
	e.must(e.m.Deactivate(e.ctx, manager, b.ID, 0)) // activation 1 ends deactivated
	e.activate(b.ID, lifecycle.Immediate())         // activation 2, no session
	c := e.draft("c", "100")
	e.activate(c.ID, lifecycle.Grace(5*time.Minute)) // b drains
	e.clk.Add(10 * time.Minute)                      // activation 2 ends grace_expired
	before := e.sweepKeepsAnalytics()
	if got := before.BySender[0]; got.Open != 0 || got.Closed[lifecycle.CloseDeactivated] != 1 {
		t.Errorf("R9: before the sweep: %+v; want u1's session closed as deactivated", got)
	}
}

// sweepKeepsAnalytics reads Analytics, runs ExpireDue and reads it again:
// the figures must not change (R9: Analytics reads sessions as over before
// a sweep records them). It returns those read before.
func (e *env) sweepKeepsAnalytics() lifecycle.Analytics {
	e.t.Helper()
	before, err := e.m.Analytics(e.ctx, analyzer)
	if err != nil {
		e.t.Fatal(err)
	}
	e.must(e.m.ExpireDue(e.ctx))
	after, _ := e.m.Analytics(e.ctx, analyzer)
	if diff := cmp.Diff(after, before); diff != "" {
		e.t.Fatalf("R9: Analytics before the sweep differs from after (-after +before):\n%s", diff)
	}
	return before
}

// R9, R26: a test session's recorded end is not an end of the bot's live
// activations: Analytics counts sessions on a sender by the activations
// that served it, and figures read before the sweep equal those after
// (found by TestModel with a bot live on two senders in two activations).
func TestR26AnalyticsIgnoresTheEndOfATestSession(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100", "101")
	e.must(e.m.Activate(e.ctx, manager, b.ID, lifecycle.Immediate(), lifecycle.Ack{}, sms("100"))) // activation 1
	e.must(e.m.Activate(e.ctx, manager, b.ID, lifecycle.Immediate(), lifecycle.Ack{}, sms("101"))) // activation 2
	e.must(e.m.Route(e.ctx, sms("100"), "u1"))
	e.must(e.m.Route(e.ctx, sms("101"), "u2"))
	c := e.draft("c", "100", "101")
	e.activate(c.ID, lifecycle.Grace(5*time.Minute)) // b drains on both
	ts, err := e.m.OpenTestSession(e.ctx, supervisor, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.m.CloseTestSession(e.ctx, supervisor, ts.ID)) // b keeps its end: completed
	e.clk.Add(10 * time.Minute)
	for _, got := range e.sweepKeepsAnalytics().BySender {
		if got.Open != 0 || got.Closed[lifecycle.CloseGraceExpired] != 1 {
			t.Errorf("R9: before the sweep, %s: %+v; want its session closed as grace_expired", got.Sender, got)
		}
	}
}

// R9, R22: a bot's sessions on a sender in two activations that ended for
// different reasons count as open until ExpireDue records each with its
// own (as Analytics documents): a store does not count which is in which.
func TestR9AnalyticsTwoActivationsEndedDifferently(t *testing.T) {
	e := newEnv(t)
	b := e.live("b", "100")
	e.must(e.m.Route(e.ctx, sms("100"), "u1"))      // activation 1
	e.must(e.m.Deactivate(e.ctx, manager, b.ID, 0)) // ends deactivated
	e.activate(b.ID, lifecycle.Immediate())
	e.must(e.m.Route(e.ctx, sms("100"), "u2")) // activation 2
	c := e.draft("c", "100")
	e.activate(c.ID, lifecycle.Grace(5*time.Minute))
	e.clk.Add(10 * time.Minute) // activation 2 ends grace_expired
	figures := func() lifecycle.SessionStats {
		t.Helper()
		a, err := e.m.Analytics(e.ctx, analyzer)
		if err != nil || len(a.BySender) != 1 {
			t.Fatalf("Analytics = %+v, %v", a, err)
		}
		return a.BySender[0]
	}
	if got := figures(); got.Open != 2 {
		t.Errorf("before the sweep: %+v; want both sessions counted open", got)
	}
	e.must(e.m.ExpireDue(e.ctx))
	want := map[lifecycle.CloseReason]uint64{lifecycle.CloseDeactivated: 1, lifecycle.CloseGraceExpired: 1}
	if got := figures(); got.Open != 0 || !cmp.Equal(got.Closed, want) {
		t.Errorf("R9: after ExpireDue: %+v; want closed %v", got, want)
	}
}

// R9, R22: Analytics after a bot went live again on a sender before a
// sweep. Counters are per bot and sender, not per activation, so until
// ExpireDue records them the earlier activation's sessions - over, as
// Session reads them - count as open (as Analytics documents); once it
// has, the figures agree with Session.
func TestR9AnalyticsAfterReactivation(t *testing.T) {
	e := newEnv(t)
	b := e.live("b", "100")
	e.must(e.m.Route(e.ctx, sms("100"), "u1")) // activation 1
	e.clk.Add(time.Minute)
	e.must(e.m.Deactivate(e.ctx, manager, b.ID, 0))
	e.clk.Add(time.Minute)
	e.activate(b.ID, lifecycle.Immediate())
	e.must(e.m.Route(e.ctx, sms("100"), "u2")) // activation 2
	s1, err := e.m.Session(e.ctx, 1)
	if err != nil || s1.Open() || s1.CloseReason != lifecycle.CloseDeactivated {
		t.Fatalf("session 1 reads %+v, %v; want closed, deactivated", s1, err)
	}
	figures := func() lifecycle.SessionStats {
		t.Helper()
		a, err := e.m.Analytics(e.ctx, manager)
		if err != nil || len(a.BySender) != 1 {
			t.Fatalf("Analytics = %+v, %v", a, err)
		}
		return a.BySender[0]
	}
	if got := figures(); got.Open != 2 || got.Opened != 2 {
		t.Errorf("before the sweep: %+v; want both sessions counted open, as documented", got)
	}
	e.must(e.m.ExpireDue(e.ctx))
	if got := figures(); got.Open != 1 || got.Closed[lifecycle.CloseDeactivated] != 1 {
		t.Errorf("R9: after ExpireDue: %+v; want 1 open (u2) and 1 closed as deactivated (u1), as Session reads them", got)
	}
}

// R10, R18: a message on a sender written otherwise than NewSender writes
// it finds no bot, since bots' senders are normalised and routing compares
// them exactly: ErrNoBot, as R10 says, but saying why and how to write it -
// not only "activate one", which would send an operator looking for a
// deactivation that never happened - and routes nothing.
func TestR10RouteOnAnUnnormalisedSender(t *testing.T) {
	e := newEnv(t)
	e.live("b", "100")
	for _, tc := range []struct {
		sender lifecycle.Sender
		want   error
		says   string
	}{
		{lifecycle.Sender{Channel: "SMS", Address: "100"}, lifecycle.ErrNoBot, "build the sender with NewSender, which gives sms:100"},
		{lifecycle.Sender{Channel: "sms", Address: "1-0-0"}, lifecycle.ErrNoBot, "which gives sms:100"},
		{sms("999"), lifecycle.ErrNoBot, "no bot is Active on sms:999; activate one"},
	} {
		_, err := e.m.Route(e.ctx, tc.sender, "u")
		if !errors.Is(err, tc.want) || err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("Route on %q: %v; want %v saying %q", tc.sender, err, tc.want, tc.says)
		}
	}
	if ss, err := e.m.Sessions(e.ctx, manager, 0, 10); err != nil || len(ss) != 0 {
		t.Errorf("the refused messages opened sessions: %+v, %v", ss, err)
	}
}

// R10, R18, R21: the refusal of a message on an unnormalised sender quotes
// it shortened, and its normal form - a sender address may be 256 bytes,
// and the error goes to the gateway's logs with every such message.
func TestR10UnnormalisedSenderIsShownShortened(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("p", lifecycle.MaxIDBytes-1) + " " // one trailing space: not NewSender's form
	_, err := e.m.Route(e.ctx, lifecycle.Sender{Channel: "messenger", Address: long}, "u")
	var nb *lifecycle.NoBotError
	if !errors.As(err, &nb) || nb.Sender.Address != long {
		t.Fatalf("Route = %v; want a *NoBotError naming the sender", err)
	}
	if len(err.Error()) > 400 {
		t.Errorf("the error is %d bytes, want a few lines at most: %.100q...", len(err.Error()), err.Error())
	}
}

// R10, R18: when the sender and its normal form are shortened alike (they
// differ past the bytes quoted), the refusal says where they differ - it
// quoted the same text twice as the sender and as what NewSender gives,
// and so not what to change. Senders that differ early are quoted as they
// were.
func TestR10UnnormalisedSenderSaysWhereItDiffers(t *testing.T) {
	e := newEnv(t)
	long := strings.Repeat("p", lifecycle.MaxIDBytes-1)
	for _, tc := range []struct {
		sender lifecycle.Sender
		says   string // in the error
		not    string // not in the error
	}{
		{lifecycle.Sender{Channel: "messenger", Address: long + " "}, `(from byte 265 on: " ", where NewSender writes "")`, ""},
		{lifecycle.Sender{Channel: "SMS", Address: "100"}, "no bot is Active on SMS:100: ", "from byte"},
	} {
		_, err := e.m.Route(e.ctx, tc.sender, "u")
		if !errors.Is(err, lifecycle.ErrNoBot) || !strings.Contains(err.Error(), tc.says) || tc.not != "" && strings.Contains(err.Error(), tc.not) {
			t.Errorf("Route on %.60q: %v; want ErrNoBot saying %q and not %q", tc.sender, err, tc.says, tc.not)
		}
	}
}

// R10, R18: where a sender and its normal form differ past the bytes
// quoted, the refusal names the first byte that differs - the start of
// its character when they differ inside one (never half a character) -
// and holds when one is the other cut short.
func TestR10NoBotErrorSaysTheByteWhereTheyDiffer(t *testing.T) {
	p := strings.Repeat("p", 50) // past the 40 bytes quoted, so both are shortened alike
	for _, tc := range []struct {
		name            string
		address, normal string
		says            string
	}{
		{"an ASCII byte", p + "a", p + "b", `(from byte 54 on: "a", where NewSender writes "b")`},
		{"inside a character", p + "€", p + "₤", `(from byte 54 on: "€", where NewSender writes "₤")`},
		{"the sender cut short", p, p + "x", `(from byte 54 on: "", where NewSender writes "x")`},
		{"the normal form cut short", p + "€", p, `(from byte 54 on: "€", where NewSender writes "")`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := &lifecycle.NoBotError{Sender: sms(tc.address), Normal: sms(tc.normal)}
			if msg := err.Error(); !strings.Contains(msg, tc.says) {
				t.Errorf("NoBotError = %q; want it to say %q", msg, tc.says)
			}
		})
	}
}
