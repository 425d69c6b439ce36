package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/google/go-cmp/cmp"
)

// wsEnv is one store holding workspaces, and Managers acting in them.
type wsEnv struct {
	t   *testing.T
	ctx context.Context
	clk *clock.Mock
	st  *store.Memory
	m   *lifecycle.Manager // the default workspace
}

func newWsEnv(t *testing.T) *wsEnv {
	w := &wsEnv{t: t, ctx: context.Background(), clk: clock.NewMock(), st: store.NewMemory(store.WithRetention(0))}
	w.clk.Set(start)
	n := 0
	m, err := lifecycle.New(lifecycle.Config{Store: w.st, Clock: w.clk, NewID: func(lifecycle.Workspace) lifecycle.BotID {
		n++
		return lifecycle.BotID(fmt.Sprintf("bot-%02d", n))
	}})
	if err != nil {
		t.Fatal(err)
	}
	w.m = m
	return w
}

// in returns a Manager acting in ws, with ada (Admin), mia (Manager) and
// dan (Designer) as its users.
func (w *wsEnv) in(ws lifecycle.Workspace) *lifecycle.Manager {
	w.t.Helper()
	m, err := w.m.Workspace(ws)
	if err != nil {
		w.t.Fatal(err)
	}
	must := func(_ any, err error) {
		w.t.Helper()
		if err != nil {
			w.t.Fatal(err)
		}
	}
	must(m.GrantRole(w.ctx, lifecycle.System("bootstrap"), "ada", roles.Admin))
	must(m.GrantRole(w.ctx, admin, "mia", roles.Manager))
	must(m.GrantRole(w.ctx, admin, "dan", roles.Designer))
	return m
}

// wsDump is everything a workspace holds, read through the store.
type wsDump struct {
	Bots      []lifecycle.Bot
	Audit     []lifecycle.AuditEntry
	Sessions  []lifecycle.Session
	Stats     []lifecycle.SessionStats
	Schedules []lifecycle.Schedule
	Roles     map[string]roles.Set
}

func (w *wsEnv) dump(ws lifecycle.Workspace) wsDump {
	w.t.Helper()
	var d wsDump
	var err error
	check := func(e error) {
		if e != nil && err == nil {
			err = e
		}
	}
	d.Bots, err = w.st.Bots(w.ctx, ws, "", 1<<30)
	d.Audit, _ = w.st.AuditLog(w.ctx, ws, 0, 1<<30)
	var e error
	d.Sessions, e = w.st.Sessions(w.ctx, ws, 0, 1<<30)
	check(e)
	d.Stats, e = w.st.SessionStats(w.ctx, ws)
	check(e)
	d.Schedules, e = w.st.Schedules(w.ctx, ws, 0, 1<<30)
	check(e)
	d.Roles = map[string]roles.Set{}
	for _, u := range []string{"ada", "mia", "dan", "eve"} {
		rs, _, e := w.st.Roles(w.ctx, ws, u)
		check(e)
		d.Roles[u] = rs
	}
	if err != nil {
		w.t.Fatal(err)
	}
	return d
}

// TestR27IsolationAdversarial: actors of workspace A name every id of
// workspace B - bots, senders, schedules, sessions, test sessions, plans,
// users, audit sequence numbers - through every Manager operation. Each is
// not found (never forbidden), refused as claimed, or acts on A's own
// namesake; no error text carries B's names, ids or senders; and B's data
// is the same afterwards, byte for byte.
func TestR27IsolationAdversarial(t *testing.T) {
	w := newWsEnv(t)
	b, a := w.in("bravo"), w.in("alpha")
	mia, dan, ada := manager, designer, admin

	// Workspace B: a Draft under test, a live bot with a session, a bot
	// draining with a session, a schedule, a dry-run plan of each kind.
	ctx := w.ctx
	draft, err := b.Create(ctx, dan, lifecycle.Create{Name: "bravo-secret-draft", Channel: "sms", Senders: []lifecycle.Sender{sms("+4470000001")}, Definition: cleanDef()})
	if err != nil {
		t.Fatal(err)
	}
	live, err := b.Create(ctx, dan, lifecycle.Create{Name: "bravo-secret-live", Channel: "sms", Senders: []lifecycle.Sender{sms("+4470000002")}, Definition: cleanDef()})
	if err != nil {
		t.Fatal(err)
	}
	old, err := b.Create(ctx, dan, lifecycle.Create{Name: "bravo-secret-old", Channel: "sms", Senders: []lifecycle.Sender{sms("+4470000003")}, Definition: cleanDef()})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []lifecycle.BotID{live.ID, old.ID} {
		if _, err := b.Activate(ctx, mia, id, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
			t.Fatal(err)
		}
	}
	s1, err := b.Route(ctx, sms("+4470000002"), "bravo-customer")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Route(ctx, sms("+4470000003"), "bravo-customer"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Deactivate(ctx, mia, old.ID, time.Hour); err != nil {
		t.Fatal(err)
	}
	sc, err := b.Schedule(ctx, mia, start.Add(30*time.Minute), lifecycle.Activate{Bot: draft.ID})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := b.OpenTestSession(ctx, dan, draft.ID)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := b.Plan(ctx, mia, lifecycle.Delete{Bot: draft.ID})
	if err != nil {
		t.Fatal(err)
	}
	testPlan, err := b.Plan(ctx, dan, lifecycle.OpenTestSession{Bot: draft.ID})
	if err != nil {
		t.Fatal(err)
	}
	export, err := b.Export(ctx, dan, live.ID)
	if err != nil {
		t.Fatal(err)
	}
	w.clk.Add(2 * time.Hour) // in B: the drain and the schedule are due, sessions idle
	before := w.dump("bravo")
	// What A's actors never name: B's workspace and bot names. (Errors may
	// echo the ids a caller gave; those it knows already.)
	secrets := []string{"bravo", "secret"}

	type attack struct {
		op   string // the Manager method it calls
		call func() error
		want error // nil: it must succeed on A's own data
	}
	none := lifecycle.Ack{}
	attacks := []attack{
		{"Get", func() error { _, err := a.Get(ctx, mia, live.ID); return err }, lifecycle.ErrNotFound},
		{"Validate", func() error { _, err := a.Validate(ctx, mia, live.ID); return err }, lifecycle.ErrNotFound},
		{"Export", func() error { _, err := a.Export(ctx, dan, live.ID); return err }, lifecycle.ErrNotFound},
		{"Update", func() error {
			_, err := a.Update(ctx, dan, lifecycle.Update{Bot: draft.ID, Name: ptr("mine")})
			return err
		}, lifecycle.ErrNotFound},
		{"Delete", func() error { return a.Delete(ctx, dan, draft.ID) }, lifecycle.ErrNotFound},
		{"Duplicate", func() error { _, err := a.Duplicate(ctx, dan, live.ID, ""); return err }, lifecycle.ErrNotFound},
		{"Activate", func() error { _, err := a.Activate(ctx, mia, draft.ID, lifecycle.Immediate(), none); return err }, lifecycle.ErrNotFound},
		{"Deactivate", func() error { _, err := a.Deactivate(ctx, mia, live.ID, 0); return err }, lifecycle.ErrNotFound},
		{"EndGrace", func() error { _, err := a.EndGrace(ctx, mia, old.ID); return err }, lifecycle.ErrNotFound},
		{"Rollback", func() error { _, err := a.Rollback(ctx, mia, live.ID, lifecycle.Immediate(), none); return err }, lifecycle.ErrNotFound},
		{"Apply", func() error { _, err := a.Apply(ctx, mia, lifecycle.Delete{Bot: draft.ID}); return err }, lifecycle.ErrNotFound},
		{"Plan", func() error { _, err := a.Plan(ctx, mia, lifecycle.Deactivate{Bot: live.ID}); return err }, lifecycle.ErrNotFound},
		{"ApplyPlan", func() error { _, err := a.ApplyPlan(ctx, plan); return err }, lifecycle.ErrNotFound},
		{"ApplyTestPlan", func() error { _, err := a.ApplyTestPlan(ctx, testPlan); return err }, lifecycle.ErrNotFound},
		{"Schedule", func() error {
			_, err := a.Schedule(ctx, mia, w.clk.Now().Add(time.Hour), lifecycle.Activate{Bot: draft.ID})
			return err
		}, lifecycle.ErrNotFound},
		{"GetSchedule", func() error { _, err := a.GetSchedule(ctx, mia, sc.ID); return err }, lifecycle.ErrNotFound},
		{"CancelSchedule", func() error { _, err := a.CancelSchedule(ctx, mia, sc.ID); return err }, lifecycle.ErrNotFound},
		{"Session", func() error { _, err := a.Session(ctx, s1.ID); return err }, lifecycle.ErrNotFound},
		{"CloseSession", func() error { _, err := a.CloseSession(ctx, s1.ID); return err }, lifecycle.ErrNotFound},
		{"Route", func() error { _, err := a.Route(ctx, sms("+4470000002"), "bravo-customer"); return err }, lifecycle.ErrNoBot},
		{"OpenTestSession", func() error { _, err := a.OpenTestSession(ctx, dan, draft.ID); return err }, lifecycle.ErrNotFound},
		{"SendTest", func() error { _, err := a.SendTest(ctx, dan, ts.ID); return err }, lifecycle.ErrNotFound},
		{"TestSession", func() error { _, err := a.TestSession(ctx, dan, ts.ID); return err }, lifecycle.ErrNotFound},
		{"CloseTestSession", func() error { _, err := a.CloseTestSession(ctx, dan, ts.ID); return err }, lifecycle.ErrNotFound},
		{"Create", func() error {
			_, err := a.Create(ctx, dan, lifecycle.Create{Name: "mine", Channel: "sms", Senders: []lifecycle.Sender{sms("+4470000002")}, Definition: cleanDef()})
			return err
		}, lifecycle.ErrSenderClaimed},
		{"Import", func() error { _, err := a.Import(ctx, dan, export); return err }, lifecycle.ErrSenderClaimed},
		// Reads and role changes act on A's own namesakes: they succeed and
		// show A only.
		{"List", func() error { return noneOf(a.List(ctx, mia, "", lifecycle.MaxPage)) }, nil},
		{"AuditLog", func() error { return onlyOwn(a.AuditLog(ctx, ada, 0, lifecycle.MaxAuditPage)) }, nil},
		{"Backlog", func() error { return onlyOwnSeq(a.Backlog(ctx, ada, 0)) }, nil},
		{"Watch", func() error {
			c, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			return onlyOwnSeq(a.Watch(c, ada, 0))
		}, nil},
		{"Sessions", func() error { return noneOf(a.Sessions(ctx, mia, 0, lifecycle.MaxPage)) }, nil},
		{"Schedules", func() error { return noneOf(a.Schedules(ctx, mia, 0, lifecycle.MaxPage)) }, nil},
		{"Analytics", func() error {
			an, err := a.Analytics(ctx, mia)
			if err == nil && len(an.ByBot)+len(an.BySender)+len(an.Live) > 0 {
				return fmt.Errorf("analytics of A show %+v", an)
			}
			return err
		}, nil},
		{"UserRoles", func() error {
			rs, err := a.UserRoles(ctx, ada, "eve")
			if err == nil && !rs.Empty() {
				return fmt.Errorf("eve holds %v in A", rs)
			}
			return err
		}, nil},
		{"GrantRole", func() error { _, err := a.GrantRole(ctx, ada, "eve", roles.Manager); return err }, nil},
		{"RevokeRole", func() error { _, err := a.RevokeRole(ctx, ada, "mia", roles.Manager); return err }, nil},
		{"ExpireDue", func() error {
			x, err := a.ExpireDue(ctx)
			if err == nil && len(x.DrainsEnded)+len(x.Schedules)+x.SessionsClosed > 0 {
				return fmt.Errorf("ExpireDue in A settled %+v", x)
			}
			return err
		}, nil},
	}
	covered := map[string]bool{"Now": true, "Policy": true, "Workspace": true, "Run": true} // no workspace data; Run is ExpireDue on a timer
	for _, at := range attacks {
		covered[at.op] = true
		err := at.call()
		switch {
		case at.want == nil && err != nil:
			t.Errorf("R27: %s in A: %v", at.op, err)
		case at.want != nil && !errors.Is(err, at.want):
			t.Errorf("R27: %s in A naming B's ids = %v, want %v", at.op, err, at.want)
		case errors.Is(err, lifecycle.ErrForbidden):
			t.Errorf("R27: %s in A naming B's ids is forbidden: another workspace's id must be not found", at.op)
		}
		if err != nil {
			for _, s := range secrets {
				if strings.Contains(err.Error(), s) {
					t.Errorf("R27: %s's error %q reveals %q of workspace B", at.op, err, s)
				}
			}
		}
	}
	mt := reflect.TypeOf(w.m)
	for i := range mt.NumMethod() {
		if name := mt.Method(i).Name; !covered[name] {
			t.Errorf("R27: the isolation test does not try Manager.%s from another workspace; add it", name)
		}
	}
	if diff := cmp.Diff(before, w.dump("bravo")); diff != "" {
		t.Errorf("R27: workspace A's attempts changed workspace B (-before +after):\n%s", diff)
	}
	// And B, untouched, still works: its own ExpireDue settles its drain
	// and its schedule.
	x, err := b.ExpireDue(ctx)
	if err != nil || len(x.DrainsEnded) != 1 || len(x.Schedules) != 1 {
		t.Errorf("R27: B's own ExpireDue = %+v, %v; want its drain and schedule", x, err)
	}
}

// noneOf fails for a non-empty page: A has no bots, sessions or schedules.
func noneOf[T any](page []T, err error) error {
	if err == nil && len(page) > 0 {
		return fmt.Errorf("A's page holds %d items of B", len(page))
	}
	return err
}

// onlyOwn fails for an audit entry that is not A's own role grants.
func onlyOwn(log []lifecycle.AuditEntry, err error) error {
	for i, e := range log {
		if e.Seq != uint64(i+1) || len(e.Transitions) > 0 || e.Action != lifecycle.OpGrantRole && e.Action != lifecycle.OpRevokeRole && !e.Denied {
			return fmt.Errorf("A's audit log holds %+v", e)
		}
	}
	return err
}

func onlyOwnSeq(seq func(func(lifecycle.AuditEntry, error) bool)) error {
	var log []lifecycle.AuditEntry
	for e, err := range seq {
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				break
			}
			return err
		}
		log = append(log, e)
	}
	return onlyOwn(log, nil)
}

// TestR27RolesPerWorkspace: roles are granted per workspace, and the last
// Admin rule (P2) holds in each: the Admin of one workspace is nobody in
// another, and each workspace keeps its own last Admin.
func TestR27RolesPerWorkspace(t *testing.T) {
	w := newWsEnv(t)
	a, b := w.in("alpha"), w.in("bravo")
	if _, err := b.RevokeRole(w.ctx, admin, "ada", roles.Admin); !errors.Is(err, lifecycle.ErrLastAdmin) {
		t.Fatalf("P2, R27: revoking B's last Admin = %v, want ErrLastAdmin", err)
	}
	if _, err := a.GrantRole(w.ctx, admin, "zed", roles.Admin); err != nil {
		t.Fatal(err)
	}
	if _, err := a.RevokeRole(w.ctx, admin, "ada", roles.Admin); err != nil {
		t.Fatalf("P2, R27: A has another Admin now: %v", err)
	}
	if rs, err := b.UserRoles(w.ctx, admin, "ada"); err != nil || !rs.Has(roles.Admin) {
		t.Fatalf("R27: ada's roles in B = %v, %v; A's revocation must not touch them", rs, err)
	}
	zed := lifecycle.User("zed")
	if _, err := b.UserRoles(w.ctx, zed, "ada"); !errors.Is(err, lifecycle.ErrForbidden) {
		t.Fatalf("R27: A's Admin reading roles in B = %v, want ErrForbidden (zed holds nothing in B)", err)
	}
	if _, err := w.m.UserRoles(w.ctx, admin, "ada"); !errors.Is(err, lifecycle.ErrForbidden) {
		t.Fatalf("R27: the default workspace knows no ada: %v, want ErrForbidden", err)
	}
	if _, err := w.m.Workspace(""); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Fatalf("R27: Workspace(\"\") = %v, want ErrInvalidInput: the default workspace is the Manager from New", err)
	}
	for _, bad := range []lifecycle.Workspace{"with space", lifecycle.Workspace(strings.Repeat("x", lifecycle.MaxWorkspaceBytes+1)), "\xff", "tab\t", "new\nline"} {
		if _, err := w.m.Workspace(bad); !errors.Is(err, lifecycle.ErrInvalidInput) {
			t.Errorf("R27: Workspace(%q) = %v, want ErrInvalidInput", bad, err)
		}
	}
	if _, err := w.m.Workspace(lifecycle.Workspace(strings.Repeat("x", lifecycle.MaxWorkspaceBytes))); err != nil {
		t.Errorf("R27: a workspace name of MaxWorkspaceBytes = %v, want it accepted", err)
	}
}

// TestR27SequencesPerWorkspace: audit and session numbers count per
// workspace from 1, gap-free: a workspace's numbers never reveal another's
// activity.
func TestR27SequencesPerWorkspace(t *testing.T) {
	w := newWsEnv(t)
	a, b := w.in("alpha"), w.in("bravo")
	for i, m := range []*lifecycle.Manager{a, b, a} {
		bot, err := m.Create(w.ctx, designer, lifecycle.Create{Name: "n", Channel: "sms", Senders: []lifecycle.Sender{sms(fmt.Sprint(100 + i))}, Definition: cleanDef()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Activate(w.ctx, manager, bot.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Route(w.ctx, sms(fmt.Sprint(100+i)), "u"); err != nil {
			t.Fatal(err)
		}
	}
	for m, want := range map[*lifecycle.Manager][]lifecycle.SessionID{a: {1, 2}, b: {1}} {
		ss, err := m.Sessions(w.ctx, manager, 0, 10)
		if err != nil {
			t.Fatal(err)
		}
		var got []lifecycle.SessionID
		for _, s := range ss {
			got = append(got, s.ID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("R27: session ids %v, want %v: numbered per workspace", got, want)
		}
		log, err := m.AuditLog(w.ctx, admin, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range log {
			if e.Seq != uint64(i+1) {
				t.Fatalf("R27: audit Seq %d at %d: numbered per workspace, without gaps", e.Seq, i)
			}
		}
	}
}

// TestR27DecideTreatsAnotherWorkspaceAsAbsent: Decide itself, given a
// snapshot holding a bot or schedule of another workspace (a store that
// failed to key a read), treats them as not found, and stamps what it
// writes with the snapshot's workspace.
func TestR27DecideTreatsAnotherWorkspaceAsAbsent(t *testing.T) {
	now := start
	foreign := lifecycle.Bot{ID: "b1", Workspace: "bravo", Name: "b1", Channel: "sms", State: lifecycle.Draft, Revision: 1}
	snap := lifecycle.Snapshot{Workspace: "alpha", Actor: designer, ActorRoles: roles.MustSet(roles.Designer), Bots: []lifecycle.Bot{foreign}}
	if _, err := lifecycle.Decide(snap, lifecycle.Delete{Bot: "b1"}, now); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("R27: Decide on another workspace's bot = %v, want ErrNotFound", err)
	}
	sc := lifecycle.Schedule{ID: "s1", Workspace: "bravo", Status: lifecycle.SchedulePending, At: now.Add(time.Hour)}
	snap = lifecycle.Snapshot{Workspace: "alpha", Actor: manager, ActorRoles: roles.MustSet(roles.Manager), Schedule: &sc}
	if _, err := lifecycle.Decide(snap, lifecycle.CancelSchedule{ID: "s1"}, now); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("R27: Decide on another workspace's schedule = %v, want ErrNotFound", err)
	}
	snap = lifecycle.Snapshot{Workspace: "alpha", Actor: designer, ActorRoles: roles.MustSet(roles.Designer)}
	p, err := lifecycle.Decide(snap, lifecycle.Create{ID: "b2", Name: "b2", Channel: "sms", Definition: cleanDef()}, now)
	if err != nil || p.Workspace != "alpha" || p.Changes[0].After.Workspace != "alpha" {
		t.Errorf("R27: a plan of workspace alpha: %q, its bot in %q (%v)", p.Workspace, p.Changes[0].After.Workspace, err)
	}
}

// TestR17PlanRefusesAClaimedSender (R17, R27): a dry run that gives a bot
// a sender another workspace's bots name is refused as its commit would
// be - with a *ClaimError naming the sender - and writes nothing; a plan
// made while the sender was free and applied after it was claimed is a
// conflict (the world moved), and changes nothing either.
func TestR17PlanRefusesAClaimedSender(t *testing.T) {
	w := newWsEnv(t)
	a, b := w.in("a"), w.in("b")
	taken, free := sms("+4470000001"), sms("+4470000002")
	mine, err := a.Create(w.ctx, designer, lifecycle.Create{Name: "mine", Channel: "sms", Senders: []lifecycle.Sender{free}, Definition: cleanDef()})
	if err != nil {
		t.Fatal(err)
	}
	stale, err := a.Plan(w.ctx, designer, lifecycle.Update{Bot: mine.ID, Senders: &[]lifecycle.Sender{free, taken}})
	if err != nil {
		t.Fatalf("R17: a plan naming a free sender: %v", err)
	}
	if _, err := b.Create(w.ctx, designer, lifecycle.Create{Name: "theirs", Channel: "sms", Senders: []lifecycle.Sender{taken}, Definition: cleanDef()}); err != nil {
		t.Fatal(err)
	}
	before := w.dump("a")
	for _, tc := range []struct {
		name string
		cmd  lifecycle.Command
	}{
		{"create", lifecycle.Create{Name: "new", Channel: "sms", Senders: []lifecycle.Sender{taken}, Definition: cleanDef()}},
		{"update", lifecycle.Update{Bot: mine.ID, Senders: &[]lifecycle.Sender{free, taken}}},
	} {
		_, err := a.Plan(w.ctx, designer, tc.cmd)
		var ce *lifecycle.ClaimError
		if !errors.Is(err, lifecycle.ErrSenderClaimed) || !errors.As(err, &ce) || ce.Sender != taken {
			t.Errorf("R17: Plan(%s) naming a claimed sender = %v, want a *ClaimError for %v", tc.name, err, taken)
		}
	}
	if _, err := a.Plan(w.ctx, designer, lifecycle.Update{Bot: mine.ID, Name: ptr("renamed")}); err != nil {
		t.Errorf("R27: a plan adding no sender read as claimed: %v", err)
	}
	if _, err := a.ApplyPlan(w.ctx, stale); !errors.Is(err, lifecycle.ErrConflict) {
		t.Errorf("R17: applying a plan whose sender was claimed since = %v, want ErrConflict", err)
	}
	if diff := cmp.Diff(before, w.dump("a")); diff != "" {
		t.Errorf("R17: refused plans changed the workspace (-before +after):\n%s", diff)
	}
}

// claimCountingStore counts the reads of Claimed.
type claimCountingStore struct {
	lifecycle.Store
	reads int
}

func (s *claimCountingStore) Claimed(ctx context.Context, ws lifecycle.Workspace, senders []lifecycle.Sender) ([]lifecycle.Sender, error) {
	s.reads++
	return s.Store.Claimed(ctx, ws, senders)
}

// TestR27ClaimsAreReadOnlyForASenderAPlanAdds (R27): a command reads the
// senders other workspaces claim only when it gives a bot a real sender
// it did not name, so that an edit of a bot's other fields, or of its
// senders to the same ones, costs no read. The bot edited is one of two
// in the workspace, and not the first the snapshot holds, so that another
// bot's senders are never taken for its own.
func TestR27ClaimsAreReadOnlyForASenderAPlanAdds(t *testing.T) {
	ctx := context.Background()
	st := &claimCountingStore{Store: store.NewMemory()}
	clk := clock.NewMock()
	clk.Set(start)
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.System("bootstrap"), "dan", roles.Designer); err != nil {
		t.Fatal(err)
	}
	a, b, c := sms("+4470000001"), sms("+4470000002"), sms("+4470000003")
	for _, tc := range []struct {
		name  string
		cmd   func(id lifecycle.BotID) lifecycle.Command
		reads int
	}{
		{"create, naming a sender", func(lifecycle.BotID) lifecycle.Command {
			return lifecycle.Create{ID: "b1", Name: "first", Channel: "sms", Senders: []lifecycle.Sender{a}, Definition: cleanDef()}
		}, 1},
		{"create, naming another", func(lifecycle.BotID) lifecycle.Command {
			return lifecycle.Create{ID: "b2", Name: "second", Channel: "sms", Senders: []lifecycle.Sender{b}, Definition: cleanDef()}
		}, 1},
		{"rename", func(id lifecycle.BotID) lifecycle.Command { return lifecycle.Update{Bot: id, Name: ptr("renamed")} }, 0},
		{"the same senders", func(id lifecycle.BotID) lifecycle.Command {
			return lifecycle.Update{Bot: id, Senders: &[]lifecycle.Sender{b}}
		}, 0},
		{"a sender added", func(id lifecycle.BotID) lifecycle.Command {
			return lifecycle.Update{Bot: id, Senders: &[]lifecycle.Sender{b, c}}
		}, 1},
	} {
		st.reads = 0
		if _, err := m.Apply(ctx, designer, tc.cmd("b2")); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if st.reads != tc.reads {
			t.Errorf("R27: %s read the claims %d times, want %d", tc.name, st.reads, tc.reads)
		}
	}
}
