package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"pgregory.net/rapid"
)

// The model test's test sessions (R26). modelMaxTests is its cap per bot,
// low so that sequences meet it; modelIdle is every model bot's idle
// timeout (the default).
const (
	modelMaxTests = 2
	modelIdle     = lifecycle.DefaultIdleTimeout
)

// testsOpened counts test sessions opened in the model test, and testsOver
// messages, closes and reads that met one over, by reason: how far the
// sequences reach.
var (
	testsOpened atomic.Int64
	testsOver   sync.Map // lifecycle.CloseReason -> *atomic.Int64
)

func countOver(reason lifecycle.CloseReason) {
	n, _ := testsOver.LoadOrStore(reason, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
}

// testsReached says how many test sessions were opened and met over.
func testsReached() string {
	out := fmt.Sprintf("%d test sessions opened; met over:", testsOpened.Load())
	for _, r := range []lifecycle.CloseReason{lifecycle.CloseContentChanged, lifecycle.CloseIdleTimeout, lifecycle.CloseCompleted} {
		n := int64(0)
		if v, ok := testsOver.Load(r); ok {
			n = v.(*atomic.Int64).Load()
		}
		out += fmt.Sprintf(" %s %d", r, n)
	}
	return out
}

// viewer reads the figures the twin check compares; no operation changes
// their role.
var viewer = lifecycle.User("vic")

// mTest is a test session as the model has it (R26).
type mTest struct {
	id      lifecycle.TestSessionID
	session lifecycle.SessionID
	bot     lifecycle.BotID
	tester  string
	// warns and senders are the content it is pinned to.
	warns    bool
	senders  map[string]bool
	last     time.Time
	messages uint64
	// end and reason say when and why its lease ended (a content change
	// or its close); zero while the lease holds.
	end    time.Time
	reason lifecycle.CloseReason
	// deleted: its bot was deleted. recorded: the store recorded it
	// closed, at recAt for recReason.
	deleted, recorded bool
	recAt             time.Time
	recReason         lifecycle.CloseReason
}

// at returns how x stands at now: over, why and since when. A recorded
// close stands; a deleted bot's test session ended at its last activity
// (content_changed); else the earlier of its lease's end and its idle
// deadline, idle winning a tie.
func (x *mTest) at(now time.Time) (lifecycle.CloseReason, time.Time, bool) {
	idle := x.last.Add(modelIdle)
	switch {
	case x.recorded:
		return x.recReason, x.recAt, true
	case x.deleted:
		return lifecycle.CloseContentChanged, x.last, true
	case !x.end.IsZero() && x.end.Before(idle):
		return x.reason, x.end, true
	case !idle.After(now):
		return lifecycle.CloseIdleTimeout, idle, true
	}
	return "", time.Time{}, false
}

// record records x closed as it ended, if it is over at now.
func (x *mTest) record(now time.Time) {
	if reason, at, over := x.at(now); over && !x.recorded {
		x.recorded, x.recAt, x.recReason = true, at, reason
	}
}

// endLease ends x's lease at now for reason, unless it ended before.
func (x *mTest) endLease(now time.Time, reason lifecycle.CloseReason) {
	if x.end.IsZero() {
		x.end, x.reason = now, reason
	}
}

// counts reports whether x counts for its bot's cap: its lease holds and
// its session is not recorded closed.
func (x *mTest) counts() bool { return x.end.IsZero() && !x.recorded && !x.deleted }

// contentChanged ends the leases of bot id pinned to other content than
// b's now (R26).
func (r *modelRun) contentChanged(id lifecycle.BotID, b *mBot) {
	for _, x := range r.tests {
		if x.bot == id && (x.warns != b.warns || !maps.Equal(x.senders, b.senders)) {
			x.endLease(r.clk.Now(), lifecycle.CloseContentChanged)
		}
	}
}

func (r *modelRun) botDeleted(id lifecycle.BotID) {
	for _, x := range r.tests {
		if x.bot == id {
			x.deleted = true
		}
	}
}

// testActor is usually x's tester, now and then anyone.
func (r *modelRun) testActor(t *rapid.T, tester string) lifecycle.Actor {
	if rapid.IntRange(0, 4).Draw(t, "another tester") == 0 {
		return lifecycle.User(rapid.SampledFrom(r.users).Draw(t, "actor"))
	}
	return lifecycle.User(tester)
}

// pickTest draws one of the test sessions opened; nil if none was.
func (r *modelRun) pickTest(t *rapid.T) *mTest {
	if len(r.tests) == 0 {
		return nil
	}
	return r.tests[rapid.IntRange(0, len(r.tests)-1).Draw(t, "test session")]
}

func (r *modelRun) openTest(t *rapid.T) {
	a, id := r.testActor(t, rapid.SampledFrom([]string{"dan", "sue", "mia"}).Draw(t, "tester")), r.botID()
	b, exists := r.md.bots[id]
	n := 0
	for _, x := range r.tests {
		if x.bot == id && x.counts() {
			n++
		}
	}
	var ts lifecycle.TestSession
	ok := r.md.can(a.ID, roles.TestChatbots) && exists && n < modelMaxTests
	if !r.stepOne("open test session", ok, func() (err error) {
		ts, err = r.m.OpenTestSession(r.ctx, a, id)
		if err != nil && r.md.can(a.ID, roles.TestChatbots) && exists && !errors.Is(err, lifecycle.ErrTestSessionLimit) {
			t.Fatalf("R26: past the cap: %v, want ErrTestSessionLimit", err)
		}
		return err
	}) {
		return
	}
	now := r.clk.Now()
	if !ts.Open() || ts.Bot != id || ts.Tester != a.ID || ts.Messages != 0 || !ts.OpenedAt.Equal(now) {
		t.Fatalf("R26: opened %+v", ts)
	}
	sid, _, _ := strings.Cut(string(ts.ID), ".")
	n64, err := strconv.ParseUint(sid, 10, 64)
	if err != nil {
		t.Fatalf("R26: test session id %q", ts.ID)
	}
	testsOpened.Add(1)
	r.tests = append(r.tests, &mTest{id: ts.ID, session: lifecycle.SessionID(n64), bot: id, tester: a.ID,
		warns: b.warns, senders: maps.Clone(b.senders), last: now})
}

// overErr checks that err says x is over since at for reason.
func overErr(t *rapid.T, op string, err error, reason lifecycle.CloseReason, at time.Time) {
	countOver(reason)
	var over *lifecycle.SessionOverError
	if !errors.As(err, &over) || !errors.Is(err, lifecycle.ErrSessionOver) || over.Reason != reason || !over.At.Equal(at) {
		t.Fatalf("R26: %s on a test session over (%s at %v): %v", op, reason, at, err)
	}
}

func (r *modelRun) sendTest(t *rapid.T) {
	x := r.pickTest(t)
	if x == nil {
		return
	}
	a, now := r.testActor(t, x.tester), r.clk.Now()
	if !r.md.can(a.ID, roles.TestChatbots) { // P1, P2: refused for the permission, audited
		r.stepOne("send without the test permission", false, func() error {
			_, err := r.m.SendTest(r.ctx, a, x.id)
			if !errors.Is(err, lifecycle.ErrForbidden) {
				t.Fatalf("P2: a message of %s, who lacks Test chatbots: %v, want ErrForbidden", a.ID, err)
			}
			return err
		})
		return
	}
	if a.ID != x.tester { // another tester's: not found, nothing changes
		r.stepOne("send on another's test session", false, func() error {
			_, err := r.m.SendTest(r.ctx, a, x.id)
			if !errors.Is(err, lifecycle.ErrNotFound) {
				t.Fatalf("R26: another tester's message: %v, want ErrNotFound", err)
			}
			return err
		})
		return
	}
	modelOps.Add(1)
	got, err := r.m.SendTest(r.ctx, a, x.id)
	if reason, at, over := x.at(now); over {
		overErr(t, "a message", err, reason, at)
		x.record(now)
		return
	}
	if err != nil || got.Messages != x.messages+1 || !got.LastActivityAt.Equal(now) || !got.Open() {
		t.Fatalf("R26: a message on open test session %s: %+v, %v", x.id, got, err)
	}
	x.last, x.messages = now, x.messages+1
}

func (r *modelRun) closeTest(t *rapid.T) {
	x := r.pickTest(t)
	if x == nil {
		return
	}
	a, now := r.testActor(t, x.tester), r.clk.Now()
	if !r.md.can(a.ID, roles.TestChatbots) || a.ID != x.tester { // refused: P1, or not found
		r.stepOne("close another's test session", false, func() error {
			_, err := r.m.CloseTestSession(r.ctx, a, x.id)
			return err
		})
		return
	}
	modelOps.Add(1)
	got, err := r.m.CloseTestSession(r.ctx, a, x.id)
	if reason, at, over := x.at(now); over {
		overErr(t, "a close", err, reason, at)
		x.record(now)
		return
	}
	if err != nil || got.CloseReason != lifecycle.CloseCompleted || !got.ClosedAt.Equal(now) {
		t.Fatalf("R26: closing open test session %s: %+v, %v", x.id, got, err)
	}
	x.endLease(now, lifecycle.CloseCompleted)
	x.record(now)
}

func (r *modelRun) readTest(t *rapid.T) {
	x := r.pickTest(t)
	if x == nil {
		return
	}
	a := r.testActor(t, x.tester)
	ok := r.md.can(a.ID, roles.TestChatbots) && a.ID == x.tester
	var got lifecycle.TestSession
	if !r.stepOne("read test session", ok, func() (err error) {
		got, err = r.m.TestSession(r.ctx, a, x.id)
		return err
	}) {
		return
	}
	r.compareTest(t, x, got)
}

// compareTest checks a test session as read against the model.
func (r *modelRun) compareTest(t *rapid.T, x *mTest, got lifecycle.TestSession) {
	reason, at, over := x.at(r.clk.Now())
	if got.Open() == over || got.CloseReason != reason || !got.ClosedAt.Equal(at) || got.Messages != x.messages ||
		!got.LastActivityAt.Equal(x.last) || got.Bot != x.bot {
		t.Fatalf("R26: test session %s reads %+v; the model has over=%v %s at %v, %d messages, last %v",
			x.id, got, over, reason, at, x.messages, x.last)
	}
}

// checkTests checks R26 after every step: no stored bot shows a test
// sender among its senders or where it is live, no bot holds more leases
// than the cap, and every test session stands as the model has it, as
// recorded and as seen now.
func (r *modelRun) checkTests(t *rapid.T, stored []lifecycle.Bot) {
	bots := map[lifecycle.BotID]*lifecycle.Bot{}
	for i := range stored {
		b := &stored[i]
		bots[b.ID] = b
		for _, s := range b.Senders {
			if s.IsTest() {
				t.Fatalf("R26: bot %s has test sender %v among its senders", b.ID, s)
			}
		}
		for _, e := range b.Live {
			if e.Sender.IsTest() {
				t.Fatalf("R26: bot %s is live on test sender %v", b.ID, e.Sender)
			}
		}
		if len(b.Tests) > modelMaxTests {
			t.Fatalf("R26: bot %s holds %d leases, the cap is %d", b.ID, len(b.Tests), modelMaxTests)
		}
	}
	now := r.clk.Now()
	for _, x := range r.tests {
		ss, err := r.st.Sessions(r.ctx, modelWorkspace, x.session-1, 1)
		if err != nil || len(ss) != 1 || ss[0].ID != x.session {
			t.Fatalf("R26: test session %s: %+v, %v", x.id, ss, err)
		}
		s := ss[0]
		if x.recorded != !s.Open() || (x.recorded && (s.CloseReason != x.recReason || !s.ClosedAt.Equal(x.recAt))) {
			t.Fatalf("R26: test session %s recorded %+v; the model: recorded=%v %s at %v", x.id, s, x.recorded, x.recReason, x.recAt)
		}
		got := lifecycle.SessionAt(s, bots[x.bot], now)
		r.compareTest(t, x, lifecycle.TestSession{Bot: got.Bot, LastActivityAt: got.LastActivityAt, ClosedAt: got.ClosedAt,
			CloseReason: got.CloseReason, Messages: got.Messages})
	}
}

// stepOne runs op on the Manager alone; want says whether the model
// allows it. A refused operation must leave the store as it was (the
// audit log may gain one denial entry); an allowed one must succeed.
func (r *modelRun) stepOne(name string, want bool, op func() error) bool {
	modelOps.Add(1)
	before := r.dumpNoAudit()
	err := op()
	if want && err != nil {
		r.t.Fatalf("%s: the model allows it, the Manager refused: %v", name, err)
	}
	if !want && err == nil {
		r.t.Fatalf("%s: the model refuses it, the Manager did it", name)
	}
	if err != nil {
		// reflect.DeepEqual first: exact equality implies cmp's, and it is
		// cheap; cmp decides (and explains) only when they differ.
		if after := r.dumpNoAudit(); !reflect.DeepEqual(before, after) {
			if diff := cmp.Diff(before, after); diff != "" {
				r.t.Fatalf("%s: refused (%v) but the store changed:\n%s", name, err, diff)
			}
		}
	}
	return err == nil
}

// mirror runs op, the twin's run of an operation that returned err on the
// Manager: both must do it, or both refuse it for the same kind of reason.
func (r *modelRun) mirror(name string, err error, op func() error) {
	terr := op()
	var e, te *lifecycle.Error
	if (err == nil) != (terr == nil) || (err != nil && (!errors.As(err, &e) || !errors.As(terr, &te) || e.Kind != te.Kind)) {
		r.t.Fatalf("R26: %s: %v with test sessions, %v on the twin without them", name, err, terr)
	}
}

// sameSession reports whether a and b are the same session but for their
// numbers: test sessions take session ids and activation numbers (R26).
func sameSession(a, b lifecycle.Session) bool {
	a.ID, a.Activation, b.ID, b.Activation = 0, 0, 0, 0
	return a == b
}

// endUserSessions returns st's sessions but test sessions, by id.
func endUserSessions(t *rapid.T, ctx context.Context, st *store.Memory, ws lifecycle.Workspace) []lifecycle.Session {
	all, err := st.Sessions(ctx, ws, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	out := all[:0]
	for _, s := range all {
		if !s.Sender.IsTest() {
			out = append(out, s)
		}
	}
	return out
}

// unnumbered returns live without activation numbers.
func unnumbered(live []lifecycle.SenderState) []lifecycle.SenderState {
	out := slices.Clone(live)
	for i := range out {
		out[i].Activation = 0
	}
	return out
}

// numbers leaves out what test sessions may change without changing any
// rule: session ids, activation numbers, revisions, the ends kept, leases.
var numbers = cmp.Options{
	cmpopts.IgnoreFields(lifecycle.Session{}, "ID", "Activation"),
	cmpopts.IgnoreFields(lifecycle.SenderState{}, "Activation"),
	cmpopts.EquateEmpty(),
}

// checkTwin checks that test sessions changed nothing else (R26): the
// twin, which ran every other operation, has the same bots in the same
// state on every sender, and the same analytics and session listing.
func (r *modelRun) checkTwin(t *rapid.T, stored []lifecycle.Bot) {
	now := r.clk.Now()
	twins, err := r.tst.Bots(r.ctx, "", "", 1<<20)
	if err != nil || len(twins) != len(stored) {
		t.Fatalf("R26: the twin has %d bots, the Manager %d (%v)", len(twins), len(stored), err)
	}
	type view struct {
		ID      lifecycle.BotID
		State   lifecycle.State
		Senders []lifecycle.Sender
		Live    []lifecycle.SenderState
	}
	for i := range stored {
		a, b := lifecycle.AsOf(stored[i], now), lifecycle.AsOf(twins[i], now)
		va, vb := view{a.ID, a.State, a.Senders, unnumbered(a.Live)}, view{b.ID, b.State, b.Senders, unnumbered(b.Live)}
		if reflect.DeepEqual(va, vb) { // cheap; cmp decides and explains a difference
			continue
		}
		if diff := cmp.Diff(vb, va, numbers); diff != "" {
			t.Fatalf("R26: bot %s differs from the twin without test sessions (-twin +Manager):\n%s", a.ID, diff)
		}
	}
	for _, read := range []func(m *lifecycle.Manager) (any, error){
		func(m *lifecycle.Manager) (any, error) { return m.Analytics(r.ctx, viewer) },
		func(m *lifecycle.Manager) (any, error) {
			ss, err := m.Sessions(r.ctx, viewer, 0, lifecycle.MaxPage)
			for i := range ss {
				ss[i].ID, ss[i].Activation = 0, 0
			}
			return ss, err
		},
	} {
		got, err := read(r.m)
		want, terr := read(r.twin)
		if err != nil || terr != nil {
			t.Fatalf("R26: figures: %v / %v", err, terr)
		}
		if reflect.DeepEqual(want, got) {
			continue
		}
		if diff := cmp.Diff(want, got, numbers); diff != "" {
			t.Fatalf("R26: live figures differ from the twin without test sessions (-twin +Manager):\n%s", diff)
		}
	}
}
