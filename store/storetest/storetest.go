// Package storetest is the conformance suite for lifecycle.Store
// implementations, in the manner of testing/fstest.TestFS: a Store that
// passes Run keeps the promises package lifecycle relies on - atomic commits
// (R15), conflict detection, refusal of plans that break R1 and R2 or remove
// the last Admin, audit order (R16), role assignments, sessions that end by
// lifecycle.SessionAt (R9, R10), and all of it under parallel use.
//
// Use it from a test of your store:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) lifecycle.Store { return newEmptyStore(t) })
//	}
//
// newStore must return an empty store each time it is called.
//
// RunParity is the stronger proof: it runs random sequences of operations
// (pgregory.net/rapid) through two Managers, one on a reference store and
// one on yours, and requires the same plans, errors, bots, sessions, audit
// entries and analytics after every step, hostile text and clock jumps
// included:
//
//	func TestParity(t *testing.T) {
//		storetest.RunParity(t,
//			func(*testing.T) lifecycle.Store { return store.NewMemory(store.WithRetention(0)) },
//			func(t *testing.T) lifecycle.Store { return newEmptyStore(t) })
//	}
//
// Run it longer with -rapid.checks=N (CI runs 200 sequences against
// PostgreSQL). The memory store is the reference; keep its closed sessions
// (WithRetention(0)) when your store keeps them too.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

// suite is the conformance suite: a name and a case, in the order Run
// runs them.
var suite = []struct {
	name string
	f    func(t *testing.T, h *harness)
}{
	{"BotRoundTrip", testBotRoundTrip},
	{"ReadsAreCopies", testReadsAreCopies},
	{"EveryReadAndCommitIsACopy", testEveryReadAndCommitIsACopy},
	{"R16/AuditReadsAreCopies", testAuditReadsAreCopies},
	{"LiveBotsAndPaging", testLiveBots},
	{"R20/LastActive", testLastActive},
	{"R20/TargetEditedToDropTheSenders", testRollbackTargetDroppedSenders},
	{"SessionsPaging", testSessionsPaging},
	{"SessionsPagingWhileOpening", testSessionsPagingWhileOpening},
	{"LimitsNotPositive", testLimitsNotPositive},
	{"SessionStatsCountEveryMessage", testStatsCountEveryMessage},
	{"R24/WaitAudit", testWaitAudit},
	{"R24/FollowUnderConcurrentCommits", testFollowUnderConcurrentCommits},
	{"R15/CommitIsAtomic", testCommitAtomic},
	{"R15/StaleRevisionConflicts", testStaleRevision},
	{"R15/SenderNamedTwiceRefused", testSenderNamedTwice},
	{"R15/DeleteWithoutRevisionRefused", testDeleteWithoutRevision},
	{"R1/TwoActiveRefused", testTwoActiveRefused},
	{"R2/TwoDeactivatedRefused", testTwoDeactivatedRefused},
	{"R16/AuditOrder", testAuditOrder},
	{"P2/RoleAssignments", testRoles},
	{"P2/LastAdminRefused", testLastAdmin},
	{"P2/UserChangedTwiceRefused", testUserChangedTwice},
	{"DueDrains", testDueDrains},
	{"R10/Route", testRoute},
	{"R9/SessionsEndWithoutSweep", testSessionsEndWithoutSweep},
	{"R9/SessionEndsWithItsOwnActivation", testSessionEndsWithOwnActivation},
	{"R9/EndAfterManyActivations", testEndAfterManyActivations(false)},
	{"R9/EndAfterManyActivationsSweptEarly", testEndAfterManyActivations(true)},
	{"R9/EndsFollowOpenSessions", testEndsBounded},
	{"R21/TextRoundTrip", testTextRoundTrip},
	{"R21/RouteRefusesWhatIsNotAnID", testRouteRefusesNonIDs},
	{"R25/DefinitionRoundTrip", testDefinitionRoundTrip},
	{"SweepAndClose", testSweepAndClose},
	{"SweepAfterClockStepsBack", testSweepAfterClockStepsBack},
	{"SweepAfterFirstSessionStepsBack", testSweepAfterFirstSessionStepsBack},
	{"SweepAfterSweptSessionStepsBack", testSweepAfterSweptSessionStepsBack},
	{"SweepAfterSessionOpensBackInSweptGroup", testSweepAfterSessionOpensBackInSweptGroup},
	{"SweepBatchesReachEverySessionOver", testSweepBatchesReachEverySessionOver},
	{"R15/ParallelCommits", testParallelCommits},
	{"R1/ParallelActivations", testParallelActivations},
	{"R22/PerSenderInvariants", testPerSenderInvariants},
	{"R22/SessionsPerSender", testSessionsPerSender},
	{"R23/Schedules", testSchedules},
	{"R23/ScheduleRuns", testScheduleRuns},
	{"R26/TestSessions", testTestSessions},
	{"R26/TestSessionCap", testTestSessionCap},
	{"R26/RecreatedBot", testTestSessionOfRecreatedBot},
	{"R27/Isolation", testWorkspaceIsolation},
	{"R27/SenderClaims", testSenderClaims},
	{"R27/SenderClaimRace", testSenderClaimRace},
	{"R27/StalePlanNamingClaimedSender", testStalePlanNamingClaimedSender},
	{"R27/ClaimRefusalIsAtomic", testClaimRefusalIsAtomic},
	{"R27/AuditPerWorkspace", testAuditPerWorkspace},
	// gaps.go: behaviours a store could break and pass the cases above.
	{"R9/DueDrainTies", testDueDrainTies},
	{"R23/DueScheduleTies", testDueScheduleTies},
	{"R20/LastActiveTies", testLastActiveTies},
	{"R9/EveryBotReadCarriesOpenActivations", testEveryBotReadCarriesOpenActivations},
	{"SessionStatsOrder", testSessionStatsOrder},
	{"R9/StatsWhenRouteEndsSession", testStatsWhenRouteEndsSession},
	{"R9/CloseSessionOver", testCloseSessionOver},
	{"R9/SweepGraceExpired", testSweepGraceExpired},
	{"BotsByID", testBotsByID},
	{"R27/ClaimedInOrder", testClaimedInOrder},
	{"P2/RoleChangeReadChecked", testRoleChangeReadChecked},
	{"R23/ScheduleChangesKeepSeq", testScheduleChangesKeepSeq},
	{"R27/WaitAuditPerWorkspace", testWaitAuditPerWorkspace},
	{"R26/TestSendersNotClaimed", testTestSendersNotClaimed},
	{"R26/CloseSessionOfDeletedBot", testCloseSessionOfDeletedBot},
	{"R10/RouteSameEndUserAtOnce", testRouteSameEndUserAtOnce},
}

// Run runs the conformance suite, each case as a subtest on a fresh store.
func Run(t *testing.T, newStore func(t *testing.T) lifecycle.Store) {
	for _, c := range suite {
		t.Run(c.name, func(t *testing.T) {
			// R27: every case runs in two workspaces of one store at once,
			// with the same bot ids; each must see only its own.
			st := newStore(t)
			for _, ws := range []lifecycle.Workspace{"", "acme"} {
				t.Run("ws="+string(ws), func(t *testing.T) {
					t.Parallel()
					c.f(t, &harness{t: t, st: st, ws: ws, pfx: map[lifecycle.Workspace]string{"acme": "77"}[ws], ctx: context.Background(), now: t0})
				})
			}
		})
	}
}

var t0 = time.Date(2026, 1, 2, 9, 0, 0, 0, time.UTC)

type harness struct {
	t   *testing.T
	st  lifecycle.Store
	ws  lifecycle.Workspace // R27
	pfx string              // starts the numbers of the workspace's senders
	ctx context.Context
	now time.Time
	n   int
}

// sender is the sms sender addr of the harness's workspace: a sender is
// claimed by one workspace at a time (R27), so the numbers of each
// workspace but the default start with a prefix of its own.
func (h *harness) sender(addr string) lifecycle.Sender {
	return lifecycle.Sender{Channel: "sms", Address: h.pfx + addr}
}

// manager returns a Manager on the harness's store acting in its
// workspace.
func (h *harness) manager(cfg lifecycle.Config) *lifecycle.Manager {
	h.t.Helper()
	cfg.Store = h.st
	m, err := lifecycle.New(cfg)
	if err == nil && h.ws != "" {
		m, err = m.Workspace(h.ws)
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return m
}

// definition is valid with no warnings on sms.
func definition() lifecycle.Definition { return reference(referenceDef()) }

// referenceDef is the reference definition of definition().
func referenceDef() validate.Definition {
	return validate.Definition{Channel: "sms", EntryDialog: "hi", FallbackDialog: "hi", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello"}, {Type: validate.Close}}},
	}}
}

func reference(d validate.Definition) lifecycle.Definition {
	def, err := lifecycle.ReferenceDefinition(d)
	if err != nil {
		panic(err)
	}
	return def
}

// opaqueFormat is a format of the suite's own (R25): its checker finds
// nothing in any text.
const opaqueFormat = "storetest.opaque/v1"

// checker reads the reference format and opaqueFormat.
type checker struct{}

func (checker) Formats() []string { return []string{validate.ReferenceFormat, opaqueFormat} }

func (checker) Check(doc validate.Document) validate.Report {
	if doc.Format == validate.ReferenceFormat {
		return validate.Default().Check(doc)
	}
	return validate.Report{}
}

// do decides cmd as the system against what the store holds, and commits it.
func (h *harness) do(cmd lifecycle.Command) lifecycle.Plan {
	h.t.Helper()
	p, err := h.plan(cmd)
	if err != nil {
		h.t.Fatalf("deciding %T: %v", cmd, err)
	}
	if p.Audit, err = h.st.Commit(h.ctx, p); err != nil {
		h.t.Fatalf("committing %T: %v", cmd, err)
	}
	return p
}

func (h *harness) plan(cmd lifecycle.Command) (lifecycle.Plan, error) {
	snap, err := lifecycle.ReadSnapshot(h.ctx, h.st, h.ws, operator, cmd)
	if err != nil {
		return lifecycle.Plan{}, err
	}
	// The operator holds every permission; storetest tests stores, not roles.
	snap.ActorRoles = roles.MustSet(roles.Manager, roles.Admin)
	snap.Policy.Checker = checker{}
	return lifecycle.Decide(snap, cmd, h.now)
}

// expireDue runs ExpireDue at h.now through a Manager on the store: what
// the system settles when drains and schedules fall due (R9, R23).
func (h *harness) expireDue() lifecycle.Expiry {
	h.t.Helper()
	m := h.manager(lifecycle.Config{Clock: fixedClock(h.now), Policy: lifecycle.Policy{Checker: checker{}}})
	x, err := m.ExpireDue(h.ctx)
	if err != nil {
		h.t.Fatalf("ExpireDue: %v", err)
	}
	return x
}

// fixedClock reads one instant.
type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

// operator is the user the suite's plans are decided for.
var operator = lifecycle.User("storetest")

// create commits a new Draft bot on the given sms senders.
func (h *harness) create(addrs ...string) lifecycle.Bot {
	h.t.Helper()
	h.n++
	var ss []lifecycle.Sender
	for _, a := range addrs {
		ss = append(ss, h.sender(a))
	}
	id := lifecycle.BotID(fmt.Sprintf("bot-%03d", h.n))
	p := h.do(lifecycle.Create{ID: id, Name: string(id), Channel: "sms", Senders: ss, Definition: definition()})
	b, _ := p.Bot(id)
	return b
}

func (h *harness) active(addrs ...string) lifecycle.Bot {
	h.t.Helper()
	b := h.create(addrs...)
	p := h.do(lifecycle.Activate{Bot: b.ID, Decision: lifecycle.Immediate()})
	b, _ = p.Bot(b.ID)
	return b
}

func (h *harness) bot(id lifecycle.BotID) lifecycle.Bot {
	h.t.Helper()
	b, err := h.st.Bot(h.ctx, h.ws, id)
	if err != nil {
		h.t.Fatalf("Bot(%s): %v", id, err)
	}
	return b
}

// contents is everything a store holds that tests compare before and after a
// refused commit.
type contents struct {
	Bots      []lifecycle.Bot
	Roles     []roleAssignment
	Audit     []lifecycle.AuditEntry
	Schedules []lifecycle.Schedule
	Sessions  []lifecycle.Session
	Stats     []lifecycle.SessionStats
}

func (h *harness) contents() contents {
	h.t.Helper()
	bots, err := h.st.Bots(h.ctx, h.ws, "", 1<<30)
	if err != nil {
		h.t.Fatal(err)
	}
	rs, err := roleAssignments(h.ctx, h.st, h.ws)
	if err != nil {
		h.t.Fatal(err)
	}
	audit, err := h.st.AuditLog(h.ctx, h.ws, 0, 1<<30)
	if err != nil {
		h.t.Fatal(err)
	}
	scheds, err := h.st.Schedules(h.ctx, h.ws, 0, 1<<30)
	if err != nil {
		h.t.Fatal(err)
	}
	sessions, err := h.st.Sessions(h.ctx, h.ws, 0, 1<<30)
	if err != nil {
		h.t.Fatal(err)
	}
	stats, err := h.st.SessionStats(h.ctx, h.ws)
	if err != nil {
		h.t.Fatal(err)
	}
	return contents{Bots: bots, Roles: rs, Audit: audit, Schedules: scheds, Sessions: nonNil(sessions), Stats: nonNil(stats)}
}

// refused commits p, expects ErrConflict, and checks nothing changed.
func (h *harness) refused(p lifecycle.Plan, why string) {
	h.t.Helper()
	before, rs := h.contents(), h.planRoles(p)
	p.Workspace = h.ws
	_, err := h.st.Commit(h.ctx, p)
	if !errors.Is(err, lifecycle.ErrConflict) {
		h.t.Fatalf("%s: Commit = %v, want an error wrapping ErrConflict", why, err)
	}
	if diff := cmp.Diff(before, h.contents()); diff != "" {
		h.t.Fatalf("%s: a refused commit changed the store (-before +after):\n%s", why, diff)
	}
	if diff := cmp.Diff(rs, h.planRoles(p)); diff != "" {
		h.t.Fatalf("%s: a refused commit changed roles (-before +after):\n%s", why, diff)
	}
}

// planRolesRead is what planRoles reads.
type planRolesRead struct {
	Users  []roleAssignment
	Admins int
}

// planRoles reads the roles of the users p's role changes name, and how
// many users hold Admin: what a refused plan's role changes could have
// changed, which contents - the roles of the users the audit log names -
// does not see when the plan's audit entries were not stored either.
func (h *harness) planRoles(p lifecycle.Plan) planRolesRead {
	h.t.Helper()
	users := map[string]bool{}
	for _, rc := range p.Roles {
		users[rc.User] = true
	}
	rs, err := rolesOf(h.ctx, h.st, h.ws, users)
	if err != nil {
		h.t.Fatal(err)
	}
	_, admins, err := h.st.Roles(h.ctx, h.ws, "storetest-nobody")
	if err != nil {
		h.t.Fatal(err)
	}
	return planRolesRead{rs, admins}
}

func testBotRoundTrip(t *testing.T, h *harness) {
	b := h.create("100", "200")
	got := h.bot(b.ID)
	if diff := cmp.Diff(b, got); diff != "" {
		t.Fatalf("stored bot differs from the committed one (-committed +stored):\n%s", diff)
	}
	if got.Revision != 1 || got.State != lifecycle.Draft {
		t.Errorf("new bot: revision %d, state %v", got.Revision, got.State)
	}
	_, err := h.st.Bot(h.ctx, h.ws, "nope")
	var nf *lifecycle.NotFoundError
	if !errors.Is(err, lifecycle.ErrNotFound) || !errors.As(err, &nf) {
		t.Errorf("Bot(nope) = %v, want a *NotFoundError", err)
	}
	// Delete removes it.
	p := lifecycle.Plan{Op: lifecycle.OpDelete, Workspace: h.ws, Changes: []lifecycle.Change{{Bot: b.ID, From: lifecycle.Draft, To: lifecycle.Deleted, Revision: 1}}}
	if _, err := h.st.Commit(h.ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.Bot(h.ctx, h.ws, b.ID); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("deleted bot still readable: %v", err)
	}
	if bs, _ := h.st.Bots(h.ctx, h.ws, "", 10); len(bs) != 0 {
		t.Errorf("deleted bot still listed: %v", bs)
	}
}

func testReadsAreCopies(t *testing.T, h *harness) {
	b := h.create("100")
	got := h.bot(b.ID)
	got.Senders[0].Address = "999"
	got.Definition.Text = "changed"
	if diff := cmp.Diff(b, h.bot(b.ID)); diff != "" {
		t.Fatalf("changing a read value changed the store:\n%s", diff)
	}
}

// testEveryReadAndCommitIsACopy: reads return copies and Commit keeps
// none of its caller's (lifecycle.Store): changing every slice and map of
// what Bot, Bots, SenderBots, Due, Schedule, Schedules and SessionStats
// returned, or of a plan after Commit stored it, changes nothing stored.
func testEveryReadAndCommitIsACopy(t *testing.T, h *harness) {
	a := h.active("100", "200")
	for _, r := range []struct{ addr, user string }{{"100", "u1"}, {"200", "u2"}} {
		if _, err := h.st.Route(h.ctx, h.ws, h.sender(r.addr), r.user, h.now); err != nil {
			t.Fatal(err)
		}
	}
	h.now = h.now.Add(time.Minute)
	b := h.create("100")
	h.do(lifecycle.Activate{Bot: b.ID, Decision: lifecycle.Grace(time.Hour)}) // a drains on 100: Live, Left
	c := h.active("300")
	s3, err := h.st.Route(h.ctx, h.ws, h.sender("300"), "u3", h.now)
	if err != nil {
		t.Fatal(err)
	}
	h.do(lifecycle.Deactivate{Bot: c.ID}) // u3's session stays recorded open: Ends, OpenActivations
	created := h.do(lifecycle.Create{ID: "made", Name: "made", Channel: "sms", Senders: h.senders("400"), Definition: definition()})
	sched := h.do(lifecycle.CreateSchedule{ID: "s1", At: h.now.Add(time.Minute), Do: lifecycle.Activate{Bot: c.ID, Senders: h.senders("300"),
		Decision: lifecycle.Immediate(), Ack: lifecycle.Ack{Codes: []string{"w1"}}}})
	if _, err := h.st.CloseSession(h.ctx, h.ws, s3.ID, lifecycle.CloseCompleted, h.now); err != nil {
		t.Fatal(err)
	}
	later := h.now.Add(2 * time.Hour)
	read := func() (out copyReads) {
		t.Helper()
		out.C = h.contents()
		for _, id := range []lifecycle.BotID{a.ID, c.ID} {
			out.Bots = append(out.Bots, h.bot(id))
		}
		var errs [3]error
		out.Live, out.Last, errs[0] = h.st.SenderBots(h.ctx, h.ws, h.senders("100", "200"), b.ID)
		out.Due, errs[1] = h.st.Due(h.ctx, h.ws, later, 10)
		out.Schedule, errs[2] = h.st.Schedule(h.ctx, h.ws, "s1")
		if err := errors.Join(errs[:]...); err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := read()
	if want.Last == nil || len(want.Due.Drains) == 0 || len(want.Due.Schedules) == 0 || len(want.C.Stats) == 0 {
		t.Fatalf("the case reads too little to check: last %v, %d drains, %d schedules due, %d stats",
			want.Last, len(want.Due.Drains), len(want.Due.Schedules), len(want.C.Stats))
	}
	wantJSON, got := asJSON(t, want), read()
	got.scribble()
	scribbleBot(created.Changes[0].After)
	scribbleSchedule(&sched.Schedules[0].After)
	if diff := cmp.Diff(wantJSON, asJSON(t, read())); diff != "" {
		t.Fatalf("changing what a read returned, or a committed plan, changed the store (-before +after):\n%s", diff)
	}
}

// copyReads is what testEveryReadAndCommitIsACopy reads of a store.
type copyReads struct {
	C        contents
	Bots     []lifecycle.Bot
	Live     []lifecycle.Bot
	Last     *lifecycle.Bot
	Due      lifecycle.Due
	Schedule lifecycle.Schedule
}

// scribble changes every slice and map of what r holds.
func (r *copyReads) scribble() {
	for _, bs := range [][]lifecycle.Bot{r.C.Bots, r.Bots, r.Live, r.Due.Drains, {*r.Last}} {
		for i := range bs {
			scribbleBot(&bs[i])
		}
	}
	scribbleBot(r.Last)
	for _, ss := range [][]lifecycle.Schedule{r.C.Schedules, r.Due.Schedules, {r.Schedule}} {
		for i := range ss {
			scribbleSchedule(&ss[i])
		}
	}
	for _, st := range r.C.Stats {
		for k := range st.Closed {
			st.Closed[k] += 100
		}
		st.Closed["scribbled"] = 1
	}
}

// asJSON returns v as JSON values: what was read kept apart from the
// store, which a store whose reads alias its rows would change along with
// values kept as they were read.
func asJSON(t *testing.T, v any) any {
	t.Helper()
	var out any
	data, err := json.Marshal(v)
	if err == nil {
		err = json.Unmarshal(data, &out)
	}
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// scribbleBot changes every element of every slice of b.
func scribbleBot(b *lifecycle.Bot) {
	for i := range b.Senders {
		b.Senders[i].Address += "-scribbled"
	}
	for i := range b.Edited {
		b.Edited[i] += "-scribbled"
	}
	for i := range b.OpenActivations {
		b.OpenActivations[i] += 100
	}
	for i := range b.Ends {
		b.Ends[i].Reason += "-scribbled"
		for j := range b.Ends[i].Senders {
			b.Ends[i].Senders[j].Address += "-scribbled"
		}
	}
	for i := range b.Live {
		b.Live[i].Activation += 100
	}
	for i := range b.Left {
		b.Left[i].At = b.Left[i].At.Add(time.Hour)
	}
	for i := range b.Tests {
		b.Tests[i].Tester += "-scribbled"
	}
}

// scribbleSchedule changes every element of every slice of s.
func scribbleSchedule(s *lifecycle.Schedule) {
	for i := range s.Action.Senders {
		s.Action.Senders[i].Address += "-scribbled"
	}
	for i := range s.Action.Ack.Codes {
		s.Action.Ack.Codes[i] += "-scribbled"
	}
}

// testAuditReadsAreCopies: an audit entry, with every slice and pointer it
// holds, is stored as committed (R16): changing the plan after Commit, the
// entries Commit returned, or the entries AuditLog read changes nothing
// stored.
func testAuditReadsAreCopies(t *testing.T, h *harness) {
	entry := func() lifecycle.AuditEntry {
		s := h.sender("100")
		return lifecycle.AuditEntry{Time: h.now, Actor: "mia", Action: lifecycle.OpActivate,
			Transitions:  []lifecycle.Transition{{Bot: "b", From: lifecycle.Draft, To: lifecycle.Active}},
			Senders:      []lifecycle.SenderTransition{{Bot: "b", Sender: s, From: lifecycle.Draft, To: lifecycle.Active}},
			Acknowledged: []string{"W1"},
			Test:         &lifecycle.TestSessionAudit{Bot: "b", Activation: 1, Content: "c"}}
	}
	change := func(e *lifecycle.AuditEntry) {
		e.Transitions[0].Bot = "changed"
		e.Senders[0].Bot = "changed"
		e.Acknowledged[0] = "changed"
		e.Test.Bot = "changed"
	}
	p := lifecycle.Plan{Workspace: h.ws, Op: lifecycle.OpActivate, Audit: []lifecycle.AuditEntry{entry()}}
	got, err := h.st.Commit(h.ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	change(&p.Audit[0])
	want := entry()
	want.Seq = 1
	if len(got) != 1 {
		t.Fatalf("Commit returned %d entries, want 1", len(got))
	}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("changing the plan changed the entry Commit returned (-committed +returned):\n%s", diff)
	}
	change(&got[0])
	read, err := h.st.AuditLog(h.ctx, h.ws, 0, 10)
	if err != nil || len(read) != 1 {
		t.Fatalf("AuditLog = %v, %v; want one entry", read, err)
	}
	change(&read[0])
	again, err := h.st.AuditLog(h.ctx, h.ws, 0, 10)
	if err != nil || len(again) != 1 {
		t.Fatalf("AuditLog = %v, %v; want one entry", again, err)
	}
	if diff := cmp.Diff(want, again[0]); diff != "" {
		t.Errorf("changing a plan, a returned or a read entry changed the stored one (-committed +stored):\n%s", diff)
	}
}

func testLiveBots(t *testing.T, h *harness) {
	a := h.create("100")
	b := h.create("100", "200")
	c := h.create("300")
	got, err := liveBots(h.ctx, h.st, h.ws, []lifecycle.Sender{h.sender("200"), h.sender("100")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("LiveBots with only Drafts on the senders = %v, want none", got)
	}
	h.do(lifecycle.Activate{Bot: b.ID, Decision: lifecycle.Immediate()})
	h.do(lifecycle.Deactivate{Bot: b.ID, Grace: time.Hour})
	a = h.bot(a.ID)
	h.do(lifecycle.Activate{Bot: a.ID, Decision: lifecycle.Immediate()})
	got, err = liveBots(h.ctx, h.st, h.ws, []lifecycle.Sender{h.sender("200"), h.sender("100"), h.sender("300")})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]lifecycle.Bot{h.bot(a.ID), h.bot(b.ID)}, got); diff != "" {
		t.Errorf("LiveBots (-want +got):\n%s", diff)
	}
	page, _ := h.st.Bots(h.ctx, h.ws, a.ID, 1)
	if len(page) != 1 || page[0].ID != b.ID {
		t.Errorf("Bots(after %s, 1) = %v", a.ID, page)
	}
	all, _ := h.st.Bots(h.ctx, h.ws, "", 10)
	if len(all) != 3 || all[2].ID != c.ID {
		t.Errorf("Bots = %d bots", len(all))
	}
}

func testCommitAtomic(t *testing.T, h *harness) {
	b := h.create("100")
	// One good change and one stale one: neither may land, nor the audit.
	p, err := h.plan(lifecycle.Update{Bot: b.ID, Name: ptr("renamed")})
	if err != nil {
		t.Fatal(err)
	}
	stale := lifecycle.Bot{ID: "ghost", Name: "ghost", Channel: "sms", State: lifecycle.Draft, Revision: 5}
	p.Changes = append(p.Changes, lifecycle.Change{Bot: "ghost", From: lifecycle.Draft, To: lifecycle.Draft, Revision: 4, After: &stale})
	h.refused(p, "a plan with one stale change")
}

func ptr[T any](v T) *T { return &v }

func testStaleRevision(t *testing.T, h *harness) {
	b := h.create("100")
	p1, _ := h.plan(lifecycle.Update{Bot: b.ID, Name: ptr("first")})
	p2, _ := h.plan(lifecycle.Update{Bot: b.ID, Name: ptr("second")})
	if _, err := h.st.Commit(h.ctx, p1); err != nil {
		t.Fatal(err)
	}
	h.refused(p2, "a plan decided on an old revision")
	if got := h.bot(b.ID); got.Name != "first" || got.Revision != 2 {
		t.Errorf("bot = %q rev %d", got.Name, got.Revision)
	}
	// Creating an id that exists conflicts too.
	dup := h.bot(b.ID)
	dup.Revision = 1
	h.refused(lifecycle.Plan{Changes: []lifecycle.Change{{Bot: b.ID, To: lifecycle.Draft, After: &dup}}}, "creating an existing id")
}

// testSenderNamedTwice: a plan whose bot names one sender twice is
// malformed (Plan.Check): a store keeps one row per bot and sender, so
// every store refuses it whole with ErrInvalidInput - not one store
// keeping it and another refusing it as two bots in one slot.
func testSenderNamedTwice(t *testing.T, h *harness) {
	before := h.contents()
	b := lifecycle.Bot{ID: "twice", Name: "twice", Channel: "sms", Senders: []lifecycle.Sender{h.sender("100"), h.sender("100")},
		Definition: definition(), State: lifecycle.Draft, Revision: 1, CreatedAt: h.now, UpdatedAt: h.now}
	p := lifecycle.Plan{Workspace: h.ws, Op: lifecycle.OpCreate, Changes: []lifecycle.Change{{Bot: b.ID, To: lifecycle.Draft, After: &b}}}
	if _, err := h.st.Commit(h.ctx, p); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Fatalf("a bot naming a sender twice: Commit = %v, want ErrInvalidInput", err)
	}
	if diff := cmp.Diff(before, h.contents()); diff != "" {
		t.Fatalf("a refused plan changed the store (-before +after):\n%s", diff)
	}
}

// testDeleteWithoutRevision (R15): a change that deletes a bot reads the
// revision it deletes; one with Revision 0 - "the bot must not exist" - is
// malformed (Plan.Check), and every store refuses the plan whole with
// ErrInvalidInput, whether or not the bot exists: no store may delete a
// bot it was not told the revision of, apply the rest of the plan, or
// fail part way through it.
func testDeleteWithoutRevision(t *testing.T, h *harness) {
	kept := h.create("100")
	for _, id := range []lifecycle.BotID{"ghost", kept.ID} {
		before := h.contents()
		b := lifecycle.Bot{ID: "new", Name: "new", Channel: "sms", Senders: h.senders("200"), Definition: definition(),
			State: lifecycle.Draft, Revision: 1, CreatedAt: h.now, UpdatedAt: h.now}
		p := lifecycle.Plan{Workspace: h.ws, Op: lifecycle.OpDelete, Changes: []lifecycle.Change{
			{Bot: b.ID, To: lifecycle.Draft, After: &b}, // first: a store applying changes in order stores it before the delete
			{Bot: id, From: lifecycle.Draft, To: lifecycle.Deleted}},
			Audit: []lifecycle.AuditEntry{{Time: h.now, Actor: "x", Action: lifecycle.OpDelete}}}
		if _, err := h.st.Commit(h.ctx, p); !errors.Is(err, lifecycle.ErrInvalidInput) {
			t.Fatalf("R15: deleting %s with Revision 0: Commit = %v, want ErrInvalidInput", id, err)
		}
		if diff := cmp.Diff(before, h.contents()); diff != "" {
			t.Fatalf("R15: a refused plan deleting %s with Revision 0 changed the store (-before +after):\n%s", id, diff)
		}
	}
}

func testTwoActiveRefused(t *testing.T, h *harness) {
	a := h.active("100")
	b := h.create("100")
	// A plan that activates b and leaves a Active - a broken Decide.
	after := b
	after.State, after.Revision, after.Activations = lifecycle.Active, b.Revision+1, 1
	after.Live = []lifecycle.SenderState{{Sender: b.Senders[0], State: lifecycle.Active, Activation: 1}}
	h.refused(lifecycle.Plan{Changes: []lifecycle.Change{{Bot: b.ID, From: lifecycle.Draft, To: lifecycle.Active, Revision: b.Revision, After: &after}}},
		"two Active bots on one sender")
	if h.bot(a.ID).State != lifecycle.Active || h.bot(b.ID).State != lifecycle.Draft {
		t.Fatal("states changed")
	}
}

func testTwoDeactivatedRefused(t *testing.T, h *harness) {
	a := h.active("100")
	h.now = h.now.Add(time.Minute)
	h.do(lifecycle.Deactivate{Bot: a.ID, Grace: time.Hour})
	b := h.active("100")
	after := h.bot(b.ID)
	after.State, after.Revision, after.GraceDeadline = lifecycle.Deactivated, after.Revision+1, h.now.Add(time.Hour)
	after.Live = []lifecycle.SenderState{{Sender: b.Senders[0], State: lifecycle.Deactivated, Activation: after.Activations, GraceDeadline: after.GraceDeadline}}
	h.refused(lifecycle.Plan{Changes: []lifecycle.Change{{Bot: b.ID, From: lifecycle.Active, To: lifecycle.Deactivated, Revision: b.Revision, After: &after}}},
		"two Deactivated bots on one sender")
}

func testAuditOrder(t *testing.T, h *harness) {
	h.create("100")
	h.create("200")
	entry := lifecycle.AuditEntry{Time: h.now, Actor: "x", Action: lifecycle.OpGet, Denied: true, Reason: "no"}
	got, err := h.st.Commit(h.ctx, lifecycle.Plan{Workspace: h.ws, Audit: []lifecycle.AuditEntry{entry, entry}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Seq != 3 || got[1].Seq != 4 {
		t.Fatalf("returned entries %+v, want seqs 3 and 4", got)
	}
	all, _ := h.st.AuditLog(h.ctx, h.ws, 0, 100)
	for i, e := range all {
		if e.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i, e.Seq)
		}
	}
	want := entry
	want.Seq = 4
	if diff := cmp.Diff(want, all[3]); diff != "" {
		t.Errorf("stored entry (-want +got):\n%s", diff)
	}
	page, _ := h.st.AuditLog(h.ctx, h.ws, 2, 1)
	if len(page) != 1 || page[0].Seq != 3 {
		t.Errorf("AuditLog(2, 1) = %+v", page)
	}
	if rest, _ := h.st.AuditLog(h.ctx, h.ws, 4, 10); len(rest) != 0 {
		t.Errorf("AuditLog past the end = %+v", rest)
	}
}

func testRoles(t *testing.T, h *harness) {
	if rs, err := userRoles(h.ctx, h.st, h.ws, "nobody"); err != nil || !rs.Empty() {
		t.Fatalf("P3: unknown user has %v, %v", rs, err)
	}
	h.do(lifecycle.GrantRole{User: "zed", Role: roles.Admin})
	h.do(lifecycle.GrantRole{User: "amy", Role: roles.Designer})
	h.do(lifecycle.GrantRole{User: "amy", Role: roles.Manager})
	got, _ := roleAssignments(h.ctx, h.st, h.ws)
	want := []roleAssignment{{User: "amy", Roles: roles.MustSet(roles.Manager)}, {User: "zed", Roles: roles.MustSet(roles.Admin)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RoleAssignments (-want +got):\n%s", diff)
	}
	if rs, admins, err := h.st.Roles(h.ctx, h.ws, "amy"); err != nil || rs != roles.MustSet(roles.Manager) || admins != 1 {
		t.Errorf("P2: Roles(amy) = %v, %d Admins, %v; want Manager and 1 Admin", rs, admins, err)
	}
	// A stale read of amy's roles conflicts.
	h.refused(lifecycle.Plan{Roles: []lifecycle.RoleChange{{User: "amy", From: roles.MustSet(roles.Designer), To: 0}}}, "a stale role change")
	// Revoking the last role removes the assignment.
	h.do(lifecycle.RevokeRole{User: "amy", Role: roles.Manager})
	if got, _ := roleAssignments(h.ctx, h.st, h.ws); len(got) != 1 {
		t.Errorf("after revoking: %v", got)
	}
}

func testLastAdmin(t *testing.T, h *harness) {
	h.do(lifecycle.GrantRole{User: "a", Role: roles.Admin})
	h.do(lifecycle.GrantRole{User: "b", Role: roles.Admin})
	// Two plans each decided while two Admins existed: the second must not
	// land, or no Admin would remain.
	p1, err1 := h.plan(lifecycle.RevokeRole{User: "a", Role: roles.Admin})
	p2, err2 := h.plan(lifecycle.RevokeRole{User: "b", Role: roles.Admin})
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := h.st.Commit(h.ctx, p1); err != nil {
		t.Fatal(err)
	}
	h.refused(p2, "removing the last Admin")
}

// testUserChangedTwice (P2): a plan that changes one user's roles twice
// is malformed (Plan.Check) - the second change cannot read what the first
// left, and the Admins would be miscounted - and every store refuses it
// whole with ErrInvalidInput, whatever else holds Admin.
func testUserChangedTwice(t *testing.T, h *harness) {
	admin := roles.MustSet(roles.Admin)
	h.do(lifecycle.GrantRole{User: "x", Role: roles.Admin})
	h.do(lifecycle.GrantRole{User: "y", Role: roles.Admin})
	before := h.contents()
	p := lifecycle.Plan{Workspace: h.ws, Op: lifecycle.OpRevokeRole, Roles: []lifecycle.RoleChange{
		{User: "x", From: admin}, {User: "x", From: admin, To: admin}}}
	if _, err := h.st.Commit(h.ctx, p); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Fatalf("P2: a plan changing one user's roles twice: Commit = %v, want ErrInvalidInput", err)
	}
	if diff := cmp.Diff(before, h.contents()); diff != "" {
		t.Fatalf("P2: a refused plan changed the store (-before +after):\n%s", diff)
	}
	if _, admins, err := h.st.Roles(h.ctx, h.ws, "x"); err != nil || admins != 2 {
		t.Fatalf("P2: Roles counts %d Admins, %v; want 2", admins, err)
	}
}

func testDueDrains(t *testing.T, h *harness) {
	a := h.active("100")
	b := h.active("200")
	h.do(lifecycle.Deactivate{Bot: a.ID, Grace: 2 * time.Hour})
	h.do(lifecycle.Deactivate{Bot: b.ID, Grace: time.Hour})
	got, _ := dueDrains(h.ctx, h.st, h.ws, h.now.Add(time.Hour-time.Nanosecond), 10)
	if len(got) != 0 {
		t.Fatalf("due before any deadline: %v", got)
	}
	got, _ = dueDrains(h.ctx, h.st, h.ws, h.now.Add(time.Hour), 10)
	if len(got) != 1 || got[0].ID != b.ID {
		t.Fatalf("at the first deadline: %v", got)
	}
	got, _ = dueDrains(h.ctx, h.st, h.ws, h.now.Add(3*time.Hour), 10)
	if len(got) != 2 || got[0].ID != b.ID || got[1].ID != a.ID {
		t.Fatalf("after both deadlines, earliest first: %v", got)
	}
	if got, _ = dueDrains(h.ctx, h.st, h.ws, h.now.Add(3*time.Hour), 1); len(got) != 1 {
		t.Fatalf("limit 1: %v", got)
	}
}

func testRoute(t *testing.T, h *harness) {
	_, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now)
	if !errors.Is(err, lifecycle.ErrNoBot) {
		t.Fatalf("R10: route with no bot = %v", err)
	}
	a := h.active("100")
	s1, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now)
	if err != nil || s1.Bot != a.ID || s1.Messages != 1 || !s1.OpenedAt.Equal(h.now) || s1.Activation != 1 {
		t.Fatalf("R10: first message: %+v, %v", s1, err)
	}
	later := h.now.Add(time.Minute)
	s2, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", later)
	if err != nil || s2.ID != s1.ID || s2.Messages != 2 || !s2.LastActivityAt.Equal(later) {
		t.Fatalf("R10: second message: %+v, %v", s2, err)
	}
	other, _ := h.st.Route(h.ctx, h.ws, h.sender("100"), "u2", later)
	if other.ID == s1.ID {
		t.Fatal("two end users share a session")
	}
	got, err := session(h.ctx, h.st, h.ws, s1.ID)
	if err != nil || got != s2 {
		t.Fatalf("Session = %+v, %v; want %+v", got, err, s2)
	}
	if _, err := session(h.ctx, h.st, h.ws, 99999); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("missing session: %v", err)
	}
	h.statsAre("after two openings and three messages", []lifecycle.SessionStats{{Bot: a.ID, Sender: h.sender("100"), Opened: 2, Open: 2, Closed: map[lifecycle.CloseReason]uint64{}, Messages: 3}})
}

// statsAre fails the test unless SessionStats reads want (an empty
// Closed map equal to none); what says when.
func (h *harness) statsAre(what string, want []lifecycle.SessionStats) {
	h.t.Helper()
	stats, err := h.st.SessionStats(h.ctx, h.ws)
	if diff := cmp.Diff(want, stats, cmpEmptyMaps); err != nil || diff != "" {
		h.t.Errorf("SessionStats %s (%v) (-want +got):\n%s", what, err, diff)
	}
}

var cmpEmptyMaps = cmp.Comparer(func(a, b map[lifecycle.CloseReason]uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
})

func testSessionsEndWithoutSweep(t *testing.T, h *harness) {
	old := h.active("100")
	s1, _ := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now)
	// Replace old with a 10 minute grace period.
	h.now = h.now.Add(time.Minute)
	nb := h.create("100")
	h.do(lifecycle.Activate{Bot: nb.ID, Decision: lifecycle.Grace(10 * time.Minute)})
	deadline := h.now.Add(10 * time.Minute)

	// Before the deadline the old session stays with the old bot.
	s, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", deadline.Add(-time.Nanosecond))
	if err != nil || s.ID != s1.ID || s.Bot != old.ID {
		t.Fatalf("R9: before the deadline: %+v, %v", s, err)
	}
	// At the deadline exactly, with no sweep, the next message opens a new
	// session on the new bot and the old one is recorded grace_expired.
	s, err = h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", deadline)
	if err != nil || s.Bot != nb.ID || s.ID == s1.ID {
		t.Fatalf("R9: at the deadline: %+v, %v", s, err)
	}
	got, _ := session(h.ctx, h.st, h.ws, s1.ID)
	if got.CloseReason != lifecycle.CloseGraceExpired || !got.ClosedAt.Equal(deadline) {
		t.Fatalf("R9: old session = %+v", got)
	}
}

// testSessionEndsWithOwnActivation: deactivated at +1m, activated again at
// +2m, replaced at +3m - a session of the first activation is recorded as
// deactivated at +1m, by a route and by a sweep alike (R9).
func testSessionEndsWithOwnActivation(t *testing.T, h *harness) {
	a := h.active("100")
	s1, _ := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now)
	s2, _ := h.st.Route(h.ctx, h.ws, h.sender("100"), "u2", h.now)
	ended := h.now.Add(time.Minute)
	h.now = ended
	h.do(lifecycle.Deactivate{Bot: a.ID})
	h.now = h.now.Add(time.Minute)
	h.do(lifecycle.Activate{Bot: a.ID, Decision: lifecycle.Immediate()})
	h.now = h.now.Add(time.Minute)
	b := h.create("100")
	h.do(lifecycle.Activate{Bot: b.ID, Decision: lifecycle.Immediate()})
	if s, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now); err != nil || s.Bot != b.ID {
		t.Fatalf("R9: u1's next message: %+v, %v; want a session on %s", s, err, b.ID)
	}
	if n, err := h.st.SweepSessions(h.ctx, h.ws, h.now, 10); err != nil || n != 1 {
		t.Fatalf("R9: SweepSessions closed %d, %v; want u2's session", n, err)
	}
	for _, id := range []lifecycle.SessionID{s1.ID, s2.ID} {
		got, _ := session(h.ctx, h.st, h.ws, id)
		if got.CloseReason != lifecycle.CloseDeactivated || !got.ClosedAt.Equal(ended) {
			t.Errorf("R9: session %d recorded %s at %v, want deactivated at %v (its own activation's end)", id, got.CloseReason, got.ClosedAt, ended)
		}
	}
}

// testTextRoundTrip: text at the limits R21 allows - multi-byte, emoji,
// combining marks, right-to-left, 256-byte ids - comes back byte for byte
// from bots, sessions and the audit log.
func testTextRoundTrip(t *testing.T, h *harness) {
	name := strings.Repeat("é", 95) + "😀 \u202ex"       // 99 characters: emoji, right-to-left override
	desc := strings.Repeat("ü", 499) + "\u0301"         // 500 characters, the last a combining mark
	addr := strings.Repeat("ж", lifecycle.MaxIDBytes/2) // 256 bytes
	endUser := strings.Repeat("€", 85) + "x"            // 256 bytes
	if h.ws != "" {
		addr = "я" + addr[len("ж"):] // a sender of its own (R27)
	}
	ref := referenceDef()
	ref.Dialogs[0].Elements[0].Text = "Grüß Gott, 你好, مرحبا 👋"
	ref.Channel = ""
	p := h.do(lifecycle.Create{ID: "text-bot", Name: name, Description: desc, Channel: "livechat",
		Senders: []lifecycle.Sender{{Address: addr}}, Definition: reference(ref)})
	b, _ := p.Bot("text-bot")
	if diff := cmp.Diff(b, h.bot("text-bot")); diff != "" {
		t.Fatalf("R21: the stored bot differs from the committed one (-committed +stored):\n%s", diff)
	}
	h.do(lifecycle.Activate{Bot: "text-bot"})
	s, err := h.st.Route(h.ctx, h.ws, lifecycle.Sender{Channel: "livechat", Address: addr}, endUser, h.now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := session(h.ctx, h.st, h.ws, s.ID)
	if err != nil || got.EndUser != endUser || got.Sender.Address != addr {
		t.Fatalf("R21: session read back as %q on %q, %v", got.EndUser, got.Sender.Address, err)
	}
	reason := strings.Repeat("ñ", lifecycle.MaxReasonLength)
	snap, err := lifecycle.ReadSnapshot(h.ctx, h.st, h.ws, lifecycle.System(reason), lifecycle.Deactivate{Bot: "text-bot"})
	if err != nil {
		t.Fatal(err)
	}
	dp, err := lifecycle.Decide(snap, lifecycle.Deactivate{Bot: "text-bot"}, h.now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.Commit(h.ctx, dp); err != nil {
		t.Fatal(err)
	}
	log, _ := h.st.AuditLog(h.ctx, h.ws, 0, 100)
	if last := log[len(log)-1]; last.Reason != reason {
		t.Fatalf("R21: the audit reason came back as %d bytes, want the %d given", len(last.Reason), len(reason))
	}
}

// testRouteRefusesNonIDs: a message whose end user or sender is not an id
// (R21) is refused with ErrInvalidInput by the store itself, through
// DecideRoute, and records nothing, even on a sender whose Active bot
// would take it and beside the end user's open session.
func testRouteRefusesNonIDs(t *testing.T, h *harness) {
	h.active("100")
	sender := h.sender("100")
	if _, err := h.st.Route(h.ctx, h.ws, sender, "u1", h.now); err != nil {
		t.Fatal(err)
	}
	before := h.contents()
	long := strings.Repeat("u", lifecycle.MaxIDBytes+1)
	for _, tc := range []struct {
		name    string
		sender  lifecycle.Sender
		endUser string
	}{
		{"empty end user", sender, ""},
		{"blank end user", sender, "   "},
		{"end user with NUL", sender, "u1\x00"},
		{"end user not UTF-8", sender, "u1\xff"},
		{"end user with a newline", sender, "u1\n"},
		{"end user over MaxIDBytes", sender, long},
		{"address with NUL", lifecycle.Sender{Channel: sender.Channel, Address: sender.Address + "\x00"}, "u1"},
		{"channel not UTF-8", lifecycle.Sender{Channel: "sms\xff", Address: sender.Address}, "u1"},
		{"empty address", lifecycle.Sender{Channel: sender.Channel}, "u1"},
	} {
		if s, err := h.st.Route(h.ctx, h.ws, tc.sender, tc.endUser, h.now.Add(time.Second)); !errors.Is(err, lifecycle.ErrInvalidInput) {
			t.Errorf("R21: Route with %s = %+v, %v; want an error wrapping ErrInvalidInput", tc.name, s, err)
		}
	}
	if diff := cmp.Diff(before, h.contents()); diff != "" {
		t.Fatalf("R21: a refused Route changed the store (-before +after):\n%s", diff)
	}
}

func testSweepAndClose(t *testing.T, h *harness) {
	a := h.active("100")
	var ids []lifecycle.SessionID
	for i := 0; i < 5; i++ {
		s, _ := h.st.Route(h.ctx, h.ws, h.sender("100"), fmt.Sprintf("u%d", i), h.now.Add(time.Duration(i)*time.Minute))
		ids = append(ids, s.ID)
	}
	// CloseSession ends one as completed.
	c, err := h.st.CloseSession(h.ctx, h.ws, ids[4], lifecycle.CloseCompleted, h.now.Add(5*time.Minute))
	if err != nil || c.CloseReason != lifecycle.CloseCompleted || c.Open() {
		t.Fatalf("CloseSession = %+v, %v", c, err)
	}
	again, _ := h.st.CloseSession(h.ctx, h.ws, ids[4], lifecycle.CloseIdleTimeout, h.now.Add(6*time.Minute))
	if again != c {
		t.Fatalf("closing twice changed the session: %+v", again)
	}
	// Sessions 0 and 1 idle out (30 minute default) at +31.5m; 2 and 3 do not.
	sweepAt := h.now.Add(31*time.Minute + 30*time.Second)
	n, err := h.st.SweepSessions(h.ctx, h.ws, sweepAt, 1)
	if err != nil || n != 1 {
		t.Fatalf("SweepSessions(limit 1) = %d, %v", n, err)
	}
	n, _ = h.st.SweepSessions(h.ctx, h.ws, sweepAt, 100)
	if n != 1 {
		t.Fatalf("second sweep closed %d, want 1", n)
	}
	for i, id := range ids[:4] {
		s, _ := session(h.ctx, h.st, h.ws, id)
		wantOpen := i >= 2
		if s.Open() != wantOpen || (!wantOpen && (s.CloseReason != lifecycle.CloseIdleTimeout || !s.ClosedAt.Equal(s.LastActivityAt.Add(a.IdleTimeout)))) {
			t.Errorf("session %d after sweep: %+v", i, s)
		}
	}
	// Deactivating the bot costs nothing per session; a sweep closes them.
	h.now = sweepAt
	h.do(lifecycle.Deactivate{Bot: a.ID})
	n, _ = h.st.SweepSessions(h.ctx, h.ws, h.now, 100)
	if n != 2 {
		t.Fatalf("sweep after deactivation closed %d, want 2", n)
	}
	stats, _ := h.st.SessionStats(h.ctx, h.ws)
	want := map[lifecycle.CloseReason]uint64{lifecycle.CloseCompleted: 1, lifecycle.CloseIdleTimeout: 2, lifecycle.CloseDeactivated: 2}
	if len(stats) != 1 || stats[0].Open != 0 || !cmp.Equal(want, stats[0].Closed) {
		t.Errorf("stats = %+v", stats)
	}
}

// testSweepAfterClockStepsBack: the clock steps back (an NTP correction)
// between messages, so a session opened later, and one routed to later,
// is less recently active than one that was not. Each idles out at its own
// LastActivityAt + IdleTimeout, by a sweep at that instant exactly, however
// the messages were ordered in real time.
func testSweepAfterClockStepsBack(t *testing.T, h *harness) {
	a := h.active("100")
	s1, _ := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now)
	s2, _ := h.st.Route(h.ctx, h.ws, h.sender("100"), "u2", h.now.Add(-time.Minute))     // opened after s1, a minute earlier
	s3, _ := h.st.Route(h.ctx, h.ws, h.sender("100"), "u3", h.now)                       // opened after both ...
	s3, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u3", h.now.Add(-2*time.Minute)) // ... its last message two minutes earlier
	if err != nil || !s3.LastActivityAt.Equal(h.now.Add(-2*time.Minute)) {
		t.Fatalf("route after the clock stepped back: %+v, %v", s3, err)
	}
	// Idle deadlines: s3 first, then s2, then s1, a minute apart.
	for i, s := range []lifecycle.Session{s3, s2, s1} {
		at := s.LastActivityAt.Add(a.IdleTimeout)
		if n, err := h.st.SweepSessions(h.ctx, h.ws, at.Add(-time.Nanosecond), 100); err != nil || n != 0 {
			t.Fatalf("sweep %d: a nanosecond before session %d idles out: closed %d, %v; want 0", i, s.ID, n, err)
		}
		if n, err := h.st.SweepSessions(h.ctx, h.ws, at, 100); err != nil || n != 1 {
			t.Fatalf("sweep %d: when session %d idles out: closed %d, %v; want 1", i, s.ID, n, err)
		}
		got, _ := session(h.ctx, h.st, h.ws, s.ID)
		if got.Open() || got.CloseReason != lifecycle.CloseIdleTimeout || !got.ClosedAt.Equal(at) {
			t.Fatalf("sweep %d: session %d = %+v, want closed idle at %v", i, s.ID, got, at)
		}
	}
}

// testSweepAfterFirstSessionStepsBack: the clock steps back and the message
// goes to the least recently active session of its sender - here its only
// one - which then idles out from the earlier instant: a sweep then closes
// it, though the store had it due later (a store that keys its sweep by the
// first session's old time misses it).
func testSweepAfterFirstSessionStepsBack(t *testing.T, h *harness) {
	a := h.active("100")
	if _, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now); err != nil {
		t.Fatal(err)
	}
	back := h.now.Add(-time.Hour)
	s, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", back)
	if err != nil || !s.LastActivityAt.Equal(back) {
		t.Fatalf("route after the clock stepped back: %+v, %v", s, err)
	}
	at := back.Add(a.IdleTimeout)
	if n, err := h.st.SweepSessions(h.ctx, h.ws, at, 100); err != nil || n != 1 {
		t.Fatalf("sweep at %v, when the session idles out: closed %d, %v; want 1", at, n, err)
	}
}

// testSweepAfterSweptSessionStepsBack is testSweepAfterFirstSessionStepsBack
// with a sweep before the message: the sweep finds nothing over and may
// note when the session can end next, from its last activity then; the
// clock steps back and the message moves that activity earlier, so the
// session idles out before the instant the sweep noted. A sweep then
// still closes it (a store that keeps the noted instant misses it).
func testSweepAfterSweptSessionStepsBack(t *testing.T, h *harness) { sweepAfterStepBack(t, h, "u1") }

// testSweepAfterSessionOpensBackInSweptGroup: a sweep finds nothing over
// among the sessions of a bot on a sender and may note when the next can
// end; the clock steps back and another end user opens a session there,
// less recently active than those, which idles out before the instant the
// sweep noted. A sweep then still closes it.
func testSweepAfterSessionOpensBackInSweptGroup(t *testing.T, h *harness) {
	sweepAfterStepBack(t, h, "u2")
}

// sweepAfterStepBack routes u1 at h.now, sweeps, then routes endUser an
// hour before: a sweep when that session idles out must close it.
func sweepAfterStepBack(t *testing.T, h *harness, endUser string) {
	a := h.active("100")
	if _, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now); err != nil {
		t.Fatal(err)
	}
	if n, err := h.st.SweepSessions(h.ctx, h.ws, h.now, 100); err != nil || n != 0 {
		t.Fatalf("sweep at the message: closed %d, %v; want 0", n, err)
	}
	back := h.now.Add(-time.Hour)
	s, err := h.st.Route(h.ctx, h.ws, h.sender("100"), endUser, back)
	if err != nil || !s.LastActivityAt.Equal(back) {
		t.Fatalf("route after the clock stepped back: %+v, %v", s, err)
	}
	at := back.Add(a.IdleTimeout)
	if n, err := h.st.SweepSessions(h.ctx, h.ws, at, 100); err != nil || n != 1 {
		t.Fatalf("sweep at %v, when the session idles out: closed %d, %v; want 1", at, n, err)
	}
	got, _ := session(h.ctx, h.st, h.ws, s.ID)
	if got.Open() || got.CloseReason != lifecycle.CloseIdleTimeout || !got.ClosedAt.Equal(at) {
		t.Fatalf("session %d = %+v, want closed idle at %v", s.ID, got, at)
	}
}

// testSweepBatchesReachEverySessionOver sweeps as ExpireDue does, in
// batches of limit until one closes fewer: that last batch must leave no
// session over. Here one session is idle, and more groups of sessions
// (bot, sender, activation) than limit opened since, none of them over: a
// store that visits at most limit groups per batch, newest first, closes
// nothing in the first batch and leaves the idle session open.
func testSweepBatchesReachEverySessionOver(t *testing.T, h *harness) {
	const limit = 2
	a := h.active("100")
	idle, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u0", h.now)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := h.st.SweepSessions(h.ctx, h.ws, h.now, limit); err != nil || n != 0 {
		t.Fatalf("sweep at the message: closed %d, %v; want 0", n, err)
	}
	h.now = h.now.Add(a.IdleTimeout)
	for _, addr := range []string{"200", "300", "400"} {
		h.active(addr)
		if _, err := h.st.Route(h.ctx, h.ws, h.sender(addr), "u1", h.now); err != nil {
			t.Fatal(err)
		}
	}
	closed := 0
	for {
		n, err := h.st.SweepSessions(h.ctx, h.ws, h.now, limit)
		if err != nil {
			t.Fatal(err)
		}
		if closed += n; n < limit {
			break
		}
	}
	got, _ := session(h.ctx, h.st, h.ws, idle.ID)
	if closed != 1 || got.Open() || got.CloseReason != lifecycle.CloseIdleTimeout {
		t.Fatalf("sweeps in batches of %d until one closed fewer closed %d; session %d = %+v, want it closed idle", limit, closed, idle.ID, got)
	}
}

func testParallelCommits(t *testing.T, h *harness) {
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			id := lifecycle.BotID(fmt.Sprintf("p-%02d", i))
			p, err := h.plan(lifecycle.Create{ID: id, Name: "p", Channel: "sms", Definition: definition()})
			if err == nil {
				_, err = h.st.Commit(h.ctx, p)
			}
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	all, _ := h.st.AuditLog(h.ctx, h.ws, 0, 100)
	if len(all) != n {
		t.Fatalf("%d audit entries, want %d", len(all), n)
	}
	for i, e := range all {
		if e.Seq != uint64(i+1) {
			t.Fatalf("seq %d at %d", e.Seq, i)
		}
	}
}

func testParallelActivations(t *testing.T, h *harness) {
	const n = 8
	var bots []lifecycle.Bot
	for i := 0; i < n; i++ {
		bots = append(bots, h.create("100"))
	}
	// Every goroutine decides on the same empty sender, so every plan
	// activates its bot without a decision. Exactly one commit may land.
	plans := make([]lifecycle.Plan, n)
	for i, b := range bots {
		p, err := h.plan(lifecycle.Activate{Bot: b.ID})
		if err != nil {
			t.Fatal(err)
		}
		plans[i] = p
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for _, p := range plans {
		wg.Add(1)
		go func(p lifecycle.Plan) {
			defer wg.Done()
			_, err := h.st.Commit(h.ctx, p)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				won++
			case !errors.Is(err, lifecycle.ErrConflict):
				t.Errorf("losing commit: %v, want ErrConflict", err)
			}
		}(p)
	}
	wg.Wait()
	if won != 1 {
		t.Fatalf("R1: %d activations landed on one sender, want exactly 1", won)
	}
	active := 0
	for _, b := range bots {
		if h.bot(b.ID).State == lifecycle.Active {
			active++
		}
	}
	if active != 1 {
		t.Fatalf("R1: %d Active bots on one sender", active)
	}
}

func testLastActive(t *testing.T, h *harness) {
	if _, err := lastActive(h.ctx, h.st, h.ws, []lifecycle.Sender{h.sender("100")}, ""); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Fatalf("LastActive on an unused sender = %v, want ErrNotFound", err)
	}
	a := h.active("100")
	h.create("100") // never activated: never a candidate
	b := h.create("100", "200")
	h.now = h.now.Add(time.Minute)
	h.do(lifecycle.Activate{Bot: b.ID, Decision: lifecycle.Immediate()}) // a leaves Active
	h.now = h.now.Add(time.Minute)
	c := h.create("200")
	h.do(lifecycle.Activate{Bot: c.ID, Decision: lifecycle.Grace(time.Hour)}) // b drains
	for _, tc := range []struct {
		senders []lifecycle.Sender
		except  lifecycle.BotID
		want    lifecycle.BotID
	}{
		{[]lifecycle.Sender{h.sender("100")}, "", b.ID},
		{[]lifecycle.Sender{h.sender("100")}, b.ID, a.ID},
		{[]lifecycle.Sender{h.sender("200"), h.sender("100")}, c.ID, b.ID},
		{[]lifecycle.Sender{h.sender("300")}, "", ""},
	} {
		got, err := lastActive(h.ctx, h.st, h.ws, tc.senders, tc.except)
		if tc.want == "" {
			if !errors.Is(err, lifecycle.ErrNotFound) {
				t.Errorf("LastActive(%v, except %q) = %v, %v; want ErrNotFound", tc.senders, tc.except, got.ID, err)
			}
			continue
		}
		if err != nil || got.ID != tc.want {
			t.Errorf("LastActive(%v, except %q) = %v, %v; want %v", tc.senders, tc.except, got.ID, err, tc.want)
		}
	}
	// A bot that is Active again is no candidate; one that left the sender
	// is none on it.
	h.now = h.now.Add(time.Minute)
	h.do(lifecycle.Activate{Bot: a.ID, Decision: lifecycle.Immediate()}) // b still drains
	if got, err := lastActive(h.ctx, h.st, h.ws, []lifecycle.Sender{h.sender("100")}, ""); err != nil || got.ID != b.ID {
		t.Errorf("after a is Active again: LastActive(100) = %v, %v; want %v", got.ID, err, b.ID)
	}
	h.do(lifecycle.EndGrace{Bot: b.ID})
	h.do(lifecycle.Update{Bot: b.ID, Senders: &[]lifecycle.Sender{h.sender("200")}})
	if got, err := lastActive(h.ctx, h.st, h.ws, []lifecycle.Sender{h.sender("100")}, ""); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("after b left sender 100: LastActive(100) = %v, %v; want ErrNotFound", got.ID, err)
	}
	if got, err := lastActive(h.ctx, h.st, h.ws, []lifecycle.Sender{h.sender("200")}, c.ID); err != nil || got.ID != b.ID {
		t.Errorf("LastActive(200 except c) = %v, %v; want %v", got.ID, err, b.ID)
	}
}

// testRollbackTargetDroppedSenders: the bot most recently Active on a
// sender, edited since to drop it, is still the one a rollback goes back
// to there, and R20 refuses it as changed - whether it was replaced there
// or the sender went dark before the current bot took it. The store keeps
// the departure as a row the core computed; a store that kept rows only
// for the senders a bot names passed over it and reactivated an older bot.
func testRollbackTargetDroppedSenders(t *testing.T, h *harness) {
	for _, dark := range []bool{false, true} {
		old := h.active("100") // the older bot a rollback must not reach
		h.now = h.now.Add(time.Minute)
		x := h.create("100")
		h.do(lifecycle.Activate{Bot: x.ID, Decision: lifecycle.Immediate()})
		h.now = h.now.Add(time.Minute)
		if dark {
			h.do(lifecycle.Deactivate{Bot: x.ID})
		}
		cur := h.create("100")
		if !dark {
			h.do(lifecycle.Activate{Bot: cur.ID, Decision: lifecycle.Immediate()})
		}
		h.do(lifecycle.Update{Bot: x.ID, Senders: &[]lifecycle.Sender{h.sender("200")}})
		if dark {
			h.now = h.now.Add(time.Minute)
			h.do(lifecycle.Activate{Bot: cur.ID, Decision: lifecycle.Immediate()})
		}
		_, err := h.plan(lifecycle.Rollback{Bot: cur.ID, Decision: lifecycle.Immediate()})
		var re *lifecycle.RollbackError
		if !errors.As(err, &re) || re.Target != x.ID || !slices.Contains(re.Changed, "senders") {
			t.Errorf("dark %v: rollback of %s = %v; want refused naming %s, whose senders changed (not %s)", dark, cur.ID, err, x.ID, old.ID)
		}
		// Leave sender 100 dark for the next round.
		h.do(lifecycle.Deactivate{Bot: cur.ID})
	}
}

func testSessionsPaging(t *testing.T, h *harness) {
	h.active("100")
	var want []lifecycle.Session
	for _, u := range []string{"u1", "u2", "u3"} {
		s, err := h.st.Route(h.ctx, h.ws, h.sender("100"), u, h.now)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, s)
	}
	got, err := h.st.Sessions(h.ctx, h.ws, 0, 2)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want[:2], got); diff != "" {
		t.Errorf("Sessions(0, 2) (-want +got):\n%s", diff)
	}
	got, _ = h.st.Sessions(h.ctx, h.ws, got[1].ID, 10)
	if diff := cmp.Diff(want[2:], got); diff != "" {
		t.Errorf("Sessions(after the second, 10) (-want +got):\n%s", diff)
	}
}

// testLimitsNotPositive: every listing the Store interface pages by limit
// returns nothing, and SweepSessions closes nothing, for a limit of zero
// or below - never "no limit" (lifecycle.Store). The Manager never passes
// one; a store that read -1 as "all" would turn a caller's arithmetic slip
// into a read of everything stored.
func testLimitsNotPositive(t *testing.T, h *harness) {
	b := h.active("100")
	if _, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", h.now); err != nil {
		t.Fatal(err)
	}
	c := h.create("100")
	h.do(lifecycle.Activate{Bot: c.ID, Decision: lifecycle.Grace(time.Hour)}) // b drains
	h.schedule("s1", time.Minute, lifecycle.Deactivate{Bot: c.ID})
	over := h.now.Add(24 * time.Hour) // b's drain, u1's session and s1 are due by then
	for _, limit := range []int{0, -1} {
		got := map[string]int{}
		bots, err1 := h.st.Bots(h.ctx, h.ws, "", limit)
		audit, err2 := h.st.AuditLog(h.ctx, h.ws, 0, limit)
		sessions, err3 := h.st.Sessions(h.ctx, h.ws, 0, limit)
		schedules, err4 := h.st.Schedules(h.ctx, h.ws, 0, limit)
		due, err5 := h.st.Due(h.ctx, h.ws, over, limit)
		closed, err6 := h.st.SweepSessions(h.ctx, h.ws, over, limit)
		if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
			t.Fatalf("limit %d: %v", limit, err)
		}
		got["Bots"], got["AuditLog"], got["Sessions"], got["Schedules"] = len(bots), len(audit), len(sessions), len(schedules)
		got["Due drains"], got["Due schedules"], got["SweepSessions"] = len(due.Drains), len(due.Schedules), closed
		for what, n := range got {
			if n != 0 {
				t.Errorf("%s with limit %d returned %d; want none", what, limit, n)
			}
		}
	}
	if s, _ := h.st.Sessions(h.ctx, h.ws, 0, 10); len(s) != 1 || !s[0].Open() {
		t.Errorf("after sweeps with limits 0 and -1 the session reads %+v; want it still recorded open", s)
	}
	// With a positive limit the same reads find what is there.
	due, err := h.st.Due(h.ctx, h.ws, over, 10)
	if err != nil || len(due.Drains) != 1 || due.Drains[0].ID != b.ID || len(due.Schedules) != 1 {
		t.Errorf("Due(limit 10) = %d drains, %d schedules, %v; want %s's drain and s1", len(due.Drains), len(due.Schedules), err, b.ID)
	}
	if n, err := h.st.SweepSessions(h.ctx, h.ws, over, 10); n != 1 || err != nil {
		t.Errorf("SweepSessions(limit 10) closed %d, %v; want u1's session", n, err)
	}
}

// testSessionsPagingWhileOpening: a reader following Sessions page by
// page, each after the last id it saw, while sessions open on many senders
// at once, sees every session exactly once: no id becomes visible before a
// smaller one that a page could then skip.
func testSessionsPagingWhileOpening(t *testing.T, h *harness) {
	const senders, each = 8, 40
	addrs := make([]string, senders)
	for i := range addrs {
		addrs[i] = fmt.Sprint(300 + i)
	}
	h.active(addrs...)
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	for _, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for u := range each {
				if _, err := h.st.Route(h.ctx, h.ws, h.sender(a), fmt.Sprint("u", u), h.now); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	var seen []lifecycle.SessionID
	for last, finished := lifecycle.SessionID(0), false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		page, err := h.st.Sessions(h.ctx, h.ws, last, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range page {
			seen, last = append(seen, s.ID), s.ID
		}
		if finished && len(page) == 0 {
			break
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, id := range seen {
		if id != lifecycle.SessionID(i+1) {
			t.Fatalf("following Sessions page by page saw id %d after %d; want 1 to %d, each once (id %d was skipped or repeated)", id, i, senders*each, i+1)
		}
	}
	if len(seen) != senders*each {
		t.Fatalf("following Sessions page by page saw %d sessions, want %d", len(seen), senders*each)
	}
}

// testStatsCountEveryMessage: SessionStats counts every message routed to
// an open session, however far apart they come within the idle timeout
// (a store may take another path for a message after a long pause).
func testStatsCountEveryMessage(t *testing.T, h *harness) {
	b := h.active("100")
	gaps := []time.Duration{0, time.Second, 5 * time.Minute, 20 * time.Minute, time.Millisecond, 29 * time.Minute}
	at := h.now
	var s lifecycle.Session
	for _, gap := range gaps {
		at = at.Add(gap)
		var err error
		if s, err = h.st.Route(h.ctx, h.ws, h.sender("100"), "u1", at); err != nil {
			t.Fatal(err)
		}
	}
	if s.ID != 1 || s.Messages != uint64(len(gaps)) {
		t.Fatalf("after %d messages within the idle timeout (%v): %+v; want session 1 with %d", len(gaps), b.IdleTimeout, s, len(gaps))
	}
	stats, err := h.st.SessionStats(h.ctx, h.ws)
	if err != nil || len(stats) != 1 || stats[0].Messages != uint64(len(gaps)) || stats[0].Opened != 1 || stats[0].Open != 1 {
		t.Fatalf("SessionStats = %+v, %v; want 1 session opened, open, with %d messages", stats, err, len(gaps))
	}
}

func testWaitAudit(t *testing.T, h *harness) {
	h.needWaiter()
	ctx, cancel := context.WithTimeout(h.ctx, 50*time.Millisecond)
	defer cancel()
	if err := waitAudit(ctx, h.st, h.ws, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitAudit on an empty log = %v, want the context's deadline", err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
		defer cancel()
		done <- waitAudit(ctx, h.st, h.ws, 0)
	}()
	h.create("100")
	if err := <-done; err != nil {
		t.Fatalf("WaitAudit(0) after a commit = %v, want nil", err)
	}
	if err := waitAudit(h.ctx, h.st, h.ws, 0); err != nil {
		t.Fatalf("WaitAudit(0) with an entry already there = %v, want nil at once", err)
	}
}

// testDefinitionRoundTrip: a definition is the service's document (R25):
// documents that are not the reference format - JSON with odd spacing and
// key order, YAML, escapes that must stay escapes, non-ASCII text, a large
// document near the size limit - come back byte for byte, read by id and
// listed, and after the bot went live.
func testDefinitionRoundTrip(t *testing.T, h *harness) {
	unit := "{\"k\": \"Grüß 你好 👋\",\t\"z\":[1 , 2]}\n"
	large := strings.Repeat(unit, lifecycle.DefaultMaxDefinition/len(unit))
	large += strings.Repeat("x", lifecycle.DefaultMaxDefinition-len(large))
	docs := []struct{ name, text string }{
		{"JSON with odd spacing and key order", " {\"z\" : 1,\n\t\"a\":{ \"y\":null , \"b\":[ ]} ,\"m\":1.50e+2}\r\n"},
		{"escapes stay escapes", `{"s":"\u00e9\u0000\ud83d\ude00\\n\"","t":"\/"}`},
		{"YAML", "start:\r\n  - say: 'Hi ☕'\r\n  - goto: end # done\r\nend: {}"},
		{"non-ASCII", "Привет, 世界! مرحبا 😀 \u2028\u2029 e\u0301 \u202e"},
		{"empty", ""},
		{"large, near the limit", large},
	}
	for i, d := range docs {
		id := lifecycle.BotID(fmt.Sprintf("doc-%d", i))
		def := lifecycle.Definition{Format: opaqueFormat, Text: d.text}
		h.do(lifecycle.Create{ID: id, Name: d.name, Channel: "sms", Senders: []lifecycle.Sender{h.sender(fmt.Sprint(500 + i))}, Definition: def})
		if got := h.bot(id).Definition; got != def {
			t.Errorf("R25/%s: read back %d bytes in format %q, want %d bytes exactly as stored", d.name, len(got.Text), got.Format, len(def.Text))
		}
		h.do(lifecycle.Activate{Bot: id})
		if got := h.bot(id).Definition; got != def {
			t.Errorf("R25/%s: changed when the bot went live", d.name)
		}
	}
	bots, err := h.st.Bots(h.ctx, h.ws, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range bots {
		var i int
		if _, err := fmt.Sscanf(string(b.ID), "doc-%d", &i); err == nil && b.Definition.Text != docs[i].text {
			t.Errorf("R25/%s: listed with another text", docs[i].name)
		}
	}
}

// follow reads the audit log as a watcher does - WaitAudit, then a small
// page, so that reads race the commits - until it has n entries or ctx
// ends, and returns the sequence numbers it saw.
func follow(ctx context.Context, st lifecycle.Store, ws lifecycle.Workspace, n int) []uint64 {
	var got []uint64
	after := uint64(0)
	for len(got) < n {
		if err := waitAudit(ctx, st, ws, after); err != nil {
			break
		}
		page, err := st.AuditLog(ctx, ws, after, 7)
		if err != nil {
			break
		}
		for _, e := range page {
			got = append(got, e.Seq)
			after = e.Seq
		}
	}
	return got
}

// testFollowUnderConcurrentCommits: a follower reading pages of the log and
// waiting with WaitAudit, while 8 goroutines commit, sees every entry
// exactly once in Seq order, none skipped (entries become visible in Seq
// order); it resumes from any Seq it saw; a cancelled wait returns at once
// and leaves no goroutine behind (R24).
func testFollowUnderConcurrentCommits(t *testing.T, h *harness) {
	h.needWaiter()
	const committers, each = 8, 10
	goroutines := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(h.ctx, 30*time.Second)
	defer cancel()
	seen := make(chan []uint64, 1)
	go func() { seen <- follow(ctx, h.st, h.ws, committers*each) }()
	var wg sync.WaitGroup
	for c := range committers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				p, err := h.plan(lifecycle.Create{ID: lifecycle.BotID(fmt.Sprintf("f-%d-%d", c, i)), Name: "f", Channel: "sms"})
				if err == nil {
					_, err = h.st.Commit(h.ctx, p)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	got := <-seen
	for i, seq := range got {
		if seq != uint64(i+1) {
			t.Fatalf("R24: the follower saw %v; want 1..%d, each once, in order", got, committers*each)
		}
	}
	if len(got) != committers*each {
		t.Fatalf("R24: the follower saw %d of %d entries", len(got), committers*each)
	}
	// Resume from the middle: the rest, in order.
	rest, err := h.st.AuditLog(h.ctx, h.ws, 40, 1000)
	if err != nil || len(rest) != committers*each-40 || rest[0].Seq != 41 {
		t.Fatalf("R24: resuming after 40 read %d entries from %v, %v", len(rest), rest[0].Seq, err)
	}
	// A wait for what is not there yet ends with its context.
	wctx, wcancel := context.WithCancel(h.ctx)
	done := make(chan error, 1)
	go func() { done <- waitAudit(wctx, h.st, h.ws, committers*each) }()
	wcancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("R24: a cancelled WaitAudit = %v, want context.Canceled", err)
	}
	deadline := time.Now().Add(15 * time.Second) // stores may linger a listener a while
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("R24: %d goroutines left behind after the follower and the waits ended", n-goroutines)
	}
}
