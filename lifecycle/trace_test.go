package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// recorder is a Tracer that keeps what it is told. Start puts a span
// number in the context; End checks it gets a context Start returned.
type recorder struct {
	mu     sync.Mutex
	starts []lifecycle.Op
	ends   []lifecycle.OpEnd
	open   map[int]bool
	bad    []string // what broke the pairing of Start and End
}

type spanKey struct{}

func (r *recorder) Start(ctx context.Context, op lifecycle.Op) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts = append(r.starts, op)
	if r.open == nil {
		r.open = map[int]bool{}
	}
	r.open[len(r.starts)] = true
	return context.WithValue(ctx, spanKey{}, len(r.starts))
}

func (r *recorder) End(ctx context.Context, e lifecycle.OpEnd) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, _ := ctx.Value(spanKey{}).(int)
	if !r.open[n] {
		r.bad = append(r.bad, fmt.Sprintf("End of %s without the context of an open Start", e.Op))
	}
	delete(r.open, n)
	r.ends = append(r.ends, e)
}

// take returns what the recorder was told since the last take.
func (r *recorder) take() (starts []lifecycle.Op, ends []lifecycle.OpEnd, bad []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	starts, ends, bad = r.starts, r.ends, r.bad
	r.starts, r.ends, r.bad, r.open = nil, nil, nil, nil
	return starts, ends, bad
}

// spanStore checks that the store runs in the context the tracer's Start
// returned: a tracer's span is the parent of the store's.
type spanStore struct {
	lifecycle.Store
	mu      sync.Mutex
	outside []string
}

func (s *spanStore) check(ctx context.Context, what string) {
	if ctx.Value(spanKey{}) == nil {
		s.mu.Lock()
		s.outside = append(s.outside, what)
		s.mu.Unlock()
	}
}

func (s *spanStore) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	s.check(ctx, "Commit of "+string(p.Op))
	return s.Store.Commit(ctx, p)
}

func (s *spanStore) Route(ctx context.Context, ws lifecycle.Workspace, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	s.check(ctx, "Route")
	return s.Store.Route(ctx, ws, sender, endUser, now)
}

func (s *spanStore) Bot(ctx context.Context, ws lifecycle.Workspace, id lifecycle.BotID) (lifecycle.Bot, error) {
	s.check(ctx, "Bot")
	return s.Store.Bot(ctx, ws, id)
}

// traced returns a Manager of e's store and clock that reports to a
// recorder, and the store it uses.
func (e *env) traced() (*lifecycle.Manager, *recorder, *spanStore) {
	e.t.Helper()
	rec, st := &recorder{}, &spanStore{Store: e.st}
	n := 0
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: e.clk, Tracer: rec, NewID: func(lifecycle.Workspace) lifecycle.BotID {
		n++
		return lifecycle.BotID(fmt.Sprintf("traced-%02d", n))
	}})
	if err != nil {
		e.t.Fatal(err)
	}
	return m, rec, st
}

// firstOf reads one element of a Watch or Backlog and stops.
func firstOf(seq iter.Seq2[lifecycle.AuditEntry, error]) error {
	for _, err := range seq {
		return err
	}
	return errors.New("nothing yielded")
}

// Issue 28: every Manager method that does work calls the tracer exactly
// once per call - Start, then End with the context Start returned - with
// the op its errors carry (Plan, ExpireDue and Watch deliveries have their
// own) and, for a refusal, its kind; the store runs inside the span. A new
// Manager method that this table does not call fails the test. Nothing the
// tracer receives names an end user, a bot or a test session.
func TestTracerEveryOperation(t *testing.T) {
	e := newEnv(t)
	tm, rec, st := e.traced()
	ctx := e.ctx
	const secret = "secret" // in every end user and bot name below

	// The world the calls act on, made untraced.
	draft := e.draft("secret-draft", "201")
	doomed := e.draft("secret-doomed", "201")
	planned := e.draft("secret-planned", "201")
	tested := e.draft("secret-tested", "201")
	rival := e.draft("secret-rival", "202")
	live := e.live("secret-live", "202")
	s1, err := e.m.Route(ctx, sms("202"), "secret-alice")
	if err != nil {
		t.Fatal(err)
	}
	s2, err := e.m.Route(ctx, sms("202"), "secret-bob")
	if err != nil {
		t.Fatal(err)
	}
	next := e.draft("secret-next", "203")
	draining := e.live("secret-draining", "204")
	old := e.live("secret-old", "205")
	newer := e.live("secret-newer", "205") // replaced old: a rollback target
	_ = old
	sc, err := e.m.Schedule(ctx, manager, start.Add(time.Hour), lifecycle.Activate{Bot: draft.ID})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := e.m.OpenTestSession(ctx, designer, draft.ID)
	if err != nil {
		t.Fatal(err)
	}
	export, err := e.m.Export(ctx, designer, draft.ID)
	if err != nil {
		t.Fatal(err)
	}
	delPlan, err := e.m.Plan(ctx, manager, lifecycle.Delete{Bot: planned.ID})
	if err != nil {
		t.Fatal(err)
	}
	testPlan, err := e.m.Plan(ctx, designer, lifecycle.OpenTestSession{Bot: tested.ID})
	if err != nil {
		t.Fatal(err)
	}
	lastSeq := func() uint64 {
		log, err := e.m.AuditLog(ctx, admin, 0, lifecycle.MaxAuditPage)
		if err != nil || len(log) == 0 {
			t.Fatal(log, err)
		}
		return log[len(log)-1].Seq
	}
	var ts2 lifecycle.TestSession
	none := lifecycle.Ack{}

	type call struct {
		method string // the Manager method called
		do     func() error
		op     lifecycle.Op
		kind   error // nil: succeeds
	}
	calls := []call{
		{"Create", func() error {
			_, err := tm.Create(ctx, designer, lifecycle.Create{Name: "secret-new", Channel: "sms", Senders: []lifecycle.Sender{sms("206")}, Definition: cleanDef()})
			return err
		}, lifecycle.OpCreate, nil},
		{"Update", func() error {
			_, err := tm.Update(ctx, designer, lifecycle.Update{Bot: draft.ID, Name: ptr("secret-renamed")})
			return err
		}, lifecycle.OpUpdate, nil},
		{"Apply", func() error {
			_, err := tm.Apply(ctx, designer, lifecycle.Update{Bot: draft.ID, Name: ptr("secret-again")})
			return err
		}, lifecycle.OpUpdate, nil},
		{"Delete", func() error { return tm.Delete(ctx, designer, doomed.ID) }, lifecycle.OpDelete, nil},
		{"Duplicate", func() error { _, err := tm.Duplicate(ctx, designer, draft.ID, ""); return err }, lifecycle.OpDuplicate, nil},
		{"Import", func() error { _, err := tm.Import(ctx, designer, export); return err }, lifecycle.OpImport, nil},
		{"Export", func() error { _, err := tm.Export(ctx, designer, draft.ID); return err }, lifecycle.OpExport, nil},
		{"Plan", func() error { _, err := tm.Plan(ctx, manager, lifecycle.Delete{Bot: draft.ID}); return err }, lifecycle.OpPlan, nil},
		{"ApplyPlan", func() error { _, err := tm.ApplyPlan(ctx, delPlan); return err }, lifecycle.OpDelete, nil},
		{"ApplyTestPlan", func() error {
			var err error
			ts2, err = tm.ApplyTestPlan(ctx, testPlan)
			return err
		}, lifecycle.OpOpenTestSession, nil},
		{"Activate", func() error { _, err := tm.Activate(ctx, manager, next.ID, lifecycle.Decision{}, none); return err }, lifecycle.OpActivate, nil},
		{"Deactivate", func() error { _, err := tm.Deactivate(ctx, manager, draining.ID, time.Hour); return err }, lifecycle.OpDeactivate, nil},
		{"EndGrace", func() error { _, err := tm.EndGrace(ctx, manager, draining.ID); return err }, lifecycle.OpEndGrace, nil},
		{"Rollback", func() error { _, err := tm.Rollback(ctx, manager, newer.ID, lifecycle.Immediate(), none); return err }, lifecycle.OpRollback, nil},
		{"Get", func() error { _, err := tm.Get(ctx, manager, draft.ID); return err }, lifecycle.OpGet, nil},
		{"Validate", func() error { _, err := tm.Validate(ctx, manager, draft.ID); return err }, lifecycle.OpGet, nil},
		{"List", func() error { _, err := tm.List(ctx, manager, "", 10); return err }, lifecycle.OpList, nil},
		{"GrantRole", func() error { _, err := tm.GrantRole(ctx, admin, "eve", roles.Analyzer); return err }, lifecycle.OpGrantRole, nil},
		{"RevokeRole", func() error { _, err := tm.RevokeRole(ctx, admin, "eve", roles.Analyzer); return err }, lifecycle.OpRevokeRole, nil},
		{"UserRoles", func() error { _, err := tm.UserRoles(ctx, admin, "mia"); return err }, lifecycle.OpReadRoles, nil},
		{"AuditLog", func() error { _, err := tm.AuditLog(ctx, admin, 0, 10); return err }, lifecycle.OpReadAudit, nil},
		{"Watch", func() error { return firstOf(tm.Watch(ctx, admin, lastSeq()-1)) }, lifecycle.OpWatch, nil},
		{"Backlog", func() error { return firstOf(tm.Backlog(ctx, admin, lastSeq()-1)) }, lifecycle.OpWatch, nil},
		{"Schedule", func() error {
			_, err := tm.Schedule(ctx, manager, start.Add(2*time.Hour), lifecycle.Deactivate{Bot: live.ID})
			return err
		}, lifecycle.OpSchedule, nil},
		{"GetSchedule", func() error { _, err := tm.GetSchedule(ctx, manager, sc.ID); return err }, lifecycle.OpReadSchedules, nil},
		{"Schedules", func() error { _, err := tm.Schedules(ctx, manager, 0, 10); return err }, lifecycle.OpReadSchedules, nil},
		{"CancelSchedule", func() error { _, err := tm.CancelSchedule(ctx, manager, sc.ID); return err }, lifecycle.OpCancelSchedule, nil},
		{"Route", func() error { _, err := tm.Route(ctx, sms("202"), "secret-alice"); return err }, lifecycle.OpRoute, nil},
		{"Session", func() error { _, err := tm.Session(ctx, s1.ID); return err }, lifecycle.OpSession, nil},
		{"CloseSession", func() error { _, err := tm.CloseSession(ctx, s2.ID); return err }, lifecycle.OpCloseSession, nil},
		{"Sessions", func() error { _, err := tm.Sessions(ctx, manager, 0, 10); return err }, lifecycle.OpSessions, nil},
		{"Analytics", func() error { _, err := tm.Analytics(ctx, analyzer); return err }, lifecycle.OpAnalytics, nil},
		{"OpenTestSession", func() error { _, err := tm.OpenTestSession(ctx, designer, draft.ID); return err }, lifecycle.OpOpenTestSession, nil},
		{"SendTest", func() error { _, err := tm.SendTest(ctx, designer, ts.ID); return err }, lifecycle.OpSendTest, nil},
		{"TestSession", func() error { _, err := tm.TestSession(ctx, designer, ts.ID); return err }, lifecycle.OpTestSession, nil},
		{"CloseTestSession", func() error { _, err := tm.CloseTestSession(ctx, designer, ts2.ID); return err }, lifecycle.OpCloseTestSession, nil},
		{"ExpireDue", func() error { _, err := tm.ExpireDue(ctx); return err }, lifecycle.OpExpireDue, nil},

		// Refusals report their kind.
		{"Get", func() error { _, err := tm.Get(ctx, stranger, draft.ID); return err }, lifecycle.OpGet, lifecycle.ErrForbidden},
		{"Get", func() error { _, err := tm.Get(ctx, manager, "secret-missing"); return err }, lifecycle.OpGet, lifecycle.ErrNotFound},
		{"Route", func() error { _, err := tm.Route(ctx, sms("999"), "secret-carol"); return err }, lifecycle.OpRoute, lifecycle.ErrNoBot},
		{"Route", func() error { _, err := tm.Route(ctx, sms("202"), "secret\x00dave"); return err }, lifecycle.OpRoute, lifecycle.ErrInvalidInput},
		{"Activate", func() error {
			_, err := tm.Activate(ctx, manager, rival.ID, lifecycle.Decision{}, none)
			return err
		}, lifecycle.OpActivate, lifecycle.ErrSenderOccupied},
		{"Delete", func() error { return tm.Delete(ctx, manager, live.ID) }, lifecycle.OpDelete, lifecycle.ErrNotDeletable},
		{"Plan", func() error { _, err := tm.Plan(ctx, stranger, lifecycle.Delete{Bot: draft.ID}); return err }, lifecycle.OpPlan, lifecycle.ErrForbidden},
		{"ApplyPlan", func() error { _, err := tm.ApplyPlan(ctx, lifecycle.Plan{}); return err }, lifecycle.OpApplyPlan, lifecycle.ErrInvalidInput},
		{"ApplyTestPlan", func() error { _, err := tm.ApplyTestPlan(ctx, delPlan); return err }, lifecycle.OpApplyPlan, lifecycle.ErrInvalidInput},
		{"SendTest", func() error { _, err := tm.SendTest(ctx, designer, "secret-test"); return err }, lifecycle.OpSendTest, lifecycle.ErrNotFound},
		{"Watch", func() error { return firstOf(tm.Watch(ctx, stranger, 0)) }, lifecycle.OpWatch, lifecycle.ErrForbidden},
		{"Backlog", func() error { return firstOf(tm.Backlog(ctx, stranger, 0)) }, lifecycle.OpWatch, lifecycle.ErrForbidden},
	}

	covered := map[string]bool{"Now": true, "Policy": true, "Workspace": true, "Run": true} // no work of their own; Run is ExpireDue on a timer
	var seen []string                                                                       // everything the tracer received
	for i, c := range calls {
		covered[c.method] = c.kind == nil || covered[c.method]
		err := c.do()
		starts, ends, bad := rec.take()
		name := fmt.Sprintf("%d %s", i, c.method)
		st.mu.Lock()
		if st.outside != nil && c.op != lifecycle.OpWatch { // a delivery is an instant
			t.Errorf("issue 28: %s: the store ran outside the tracer's span: %v", name, st.outside)
		}
		st.outside = nil
		st.mu.Unlock()
		if !errors.Is(err, c.kind) || (c.kind == nil) != (err == nil) {
			t.Errorf("%s = %v, want kind %v", name, err, c.kind)
		}
		for _, b := range bad {
			t.Errorf("issue 28: %s: %s", name, b)
		}
		if len(starts) != 1 || len(ends) != 1 {
			t.Errorf("issue 28: %s traced %d Starts %v and %d Ends; want one each", name, len(starts), starts, len(ends))
			continue
		}
		end := ends[0]
		if starts[0] != c.op || end.Op != c.op {
			t.Errorf("issue 28: %s traced Start %q, End %q; want %q", name, starts[0], end.Op, c.op)
		}
		if end.Kind != c.kind {
			t.Errorf("issue 28: %s traced kind %v; want %v", name, end.Kind, c.kind)
		}
		if end.Kind != nil && !slices.Contains(lifecycle.Kinds, end.Kind) {
			t.Errorf("issue 28: %s traced kind %v, not a sentinel", name, end.Kind)
		}
		var le *lifecycle.Error
		if errors.As(err, &le) && c.op != lifecycle.OpPlan && c.op != lifecycle.OpWatch && le.Op != end.Op {
			t.Errorf("issue 28: %s traced op %q; its error says %q", name, end.Op, le.Op)
		}
		if !end.Start.Equal(e.clk.Now()) || end.Duration != 0 || end.Workspace != "" {
			t.Errorf("issue 28: %s traced %+v; want the clock's now, no time passed, the default workspace", name, end)
		}
		seen = append(seen, fmt.Sprintf("%q %#v", starts[0], end))
	}
	mt := reflect.TypeOf(tm)
	for i := range mt.NumMethod() {
		if name := mt.Method(i).Name; !covered[name] {
			t.Errorf("issue 28: the table does not call Manager.%s with success; add it, traced", name)
		}
	}
	if all := strings.Join(seen, "\n"); strings.Contains(all, secret) {
		t.Errorf("issue 28: the tracer received an id or a name:\n%s", all)
	}
}

// Issue 28: ExpireDue reports how many items it settled and how long past
// due the most overdue drain or schedule was.
func TestTracerExpireDue(t *testing.T) {
	e := newEnv(t)
	tm, rec, _ := e.traced()
	bot := e.live("a", "100")
	e.must(e.m.Route(e.ctx, sms("100"), "u1"))
	e.must(e.m.Deactivate(e.ctx, manager, bot.ID, 10*time.Minute)) // due at start+10m
	later := e.draft("b", "101")
	e.must(e.m.Schedule(e.ctx, manager, start.Add(5*time.Minute), lifecycle.Activate{Bot: later.ID})) // due at start+5m
	e.clk.Add(time.Hour)

	x, err := tm.ExpireDue(e.ctx)
	if err != nil || len(x.DrainsEnded) != 1 || len(x.Schedules) != 1 || x.SessionsClosed != 1 {
		t.Fatalf("ExpireDue = %+v, %v; want a drain, a schedule and its session", x, err)
	}
	_, ends, _ := rec.take()
	want := lifecycle.OpEnd{Op: lifecycle.OpExpireDue, Start: e.clk.Now(), Settled: 3, Lag: 55 * time.Minute}
	if len(ends) != 1 || !reflect.DeepEqual(ends[0], want) {
		t.Errorf("issue 28: ExpireDue traced %+v; want %+v", ends, want)
	}

	e.clk.Add(time.Minute)
	if _, err := tm.ExpireDue(e.ctx); err != nil {
		t.Fatal(err)
	}
	_, ends, _ = rec.take()
	want = lifecycle.OpEnd{Op: lifecycle.OpExpireDue, Start: e.clk.Now()}
	if len(ends) != 1 || !reflect.DeepEqual(ends[0], want) {
		t.Errorf("issue 28: ExpireDue with nothing due traced %+v; want %+v", ends, want)
	}
}

// Issue 28: Watch and Backlog trace each entry they deliver, with how long
// after the entry's time it was delivered, and in the Manager's workspace.
func TestTracerWatchLag(t *testing.T) {
	e := newEnv(t)
	tm, rec, _ := e.traced()
	acme, err := tm.Workspace("acme")
	if err != nil {
		t.Fatal(err)
	}
	e.must(acme.GrantRole(e.ctx, lifecycle.System("bootstrap"), "ada", roles.Admin)) // at start
	e.clk.Add(90 * time.Second)
	e.must(acme.GrantRole(e.ctx, admin, "mia", roles.Manager)) // at start+90s
	e.clk.Add(30 * time.Second)
	rec.take()

	for name, seq := range map[string]iter.Seq2[lifecycle.AuditEntry, error]{"Backlog": acme.Backlog(e.ctx, admin, 0), "Watch": acme.Watch(e.ctx, admin, 0)} {
		n := 0
		for _, err := range seq {
			if err != nil {
				t.Fatal(err)
			}
			if n++; n == 2 {
				break
			}
		}
		_, ends, _ := rec.take()
		want := []lifecycle.OpEnd{
			{Op: lifecycle.OpWatch, Workspace: "acme", Start: e.clk.Now(), Lag: 2 * time.Minute},
			{Op: lifecycle.OpWatch, Workspace: "acme", Start: e.clk.Now(), Lag: 30 * time.Second},
		}
		if !reflect.DeepEqual(ends, want) {
			t.Errorf("issue 28: %s traced %+v; want %+v", name, ends, want)
		}
	}
}

// Issue 28: a Manager with a tracer is safe for concurrent use; each
// operation's End gets its own Start's context.
func TestTracerConcurrent(t *testing.T) {
	e := newEnv(t)
	tm, rec, _ := e.traced()
	e.live("a", "100")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if _, err := tm.Route(e.ctx, sms("100"), fmt.Sprintf("u%d-%d", g, i%5)); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	starts, ends, bad := rec.take()
	if len(starts) != 200 || len(ends) != 200 || bad != nil {
		t.Errorf("issue 28: 200 concurrent routes traced %d Starts, %d Ends, %v", len(starts), len(ends), bad)
	}
}
