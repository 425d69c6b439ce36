package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// R17: a dry run tells the truth. Random commands by random actors - users
// with and without the permission, the system with and without a reason -
// are planned in one world (plan) and applied in a twin (ref) that has
// seen exactly the same operations, while the clock moves, routed
// sessions, due drains and schedules (ExpireDue), other commands and a
// second workspace claiming and freeing a sender happen between the plan
// and its commit. After every step the two stores - bots, sessions,
// schedules, roles, audit log, of both workspaces - must be equal.
//
//   - Plan changes nothing, not even the audit log when it refuses.
//   - Plan gives what Apply does at the same instant in an identical
//     world: the same plan (audit sequence numbers aside) or the same error.
//   - ApplyPlan of a plan commits exactly what Apply commits at that
//     instant - the plan, its times shifted by the delay - or, when the
//     world moved (what the plan read changed, or it is too old), refuses
//     with ErrConflict and changes nothing; an actor who lost the
//     permission is refused with ErrForbidden and audited, as by Apply.
//     Applying it a second time is a conflict.
//
// The default run is short (about 2 s). A longer one:
//
//	go test ./lifecycle -run TestR17DryRunTellsTheTruth -rapid.checks=2000
func TestR17DryRunTellsTheTruth(t *testing.T) {
	stats := r17Stats{byOp: map[string]int{}}
	rapid.Check(t, func(t *rapid.T) {
		r := newR17Run(t)
		steps := rapid.IntRange(8, 24).Draw(t, "steps")
		for range steps {
			r.step(t, &stats)
		}
	})
	t.Logf("R17: %d plans committed by ApplyPlan (%v), %d refused as conflicts, %d denied; %d dry runs refused",
		stats.committed, stats.byOp, stats.conflicts, stats.denied, stats.refused)
}

// r17Stats counts how far the sequences reach: plans ApplyPlan committed
// (by command), refused as conflicts or denied, and dry runs refused.
type r17Stats struct {
	committed, conflicts, denied, refused int
	byOp                                  map[string]int // committed
}

// r17World is one store with two workspaces: the Manager under test
// acts in "acme", and "other" claims sms:1004 now and then (R27).
type r17World struct {
	st    *store.Memory
	m     *lifecycle.Manager
	other *lifecycle.Manager
}

// r17Run is one sequence: the world plans are made and applied in, and its
// twin, where the same commands are applied at once; one clock.
type r17Run struct {
	ctx       context.Context
	clk       *clock.Mock
	plan, ref r17World
	// incarnations counts the bots commands made, for their
	// Bot.Incarnation: a bot deleted and made again with its id must not
	// share it (the Manager draws a new one), or it meets the test
	// sessions of its earlier life (R26). Both twins see the same
	// commands, so the same numbers.
	incarnations uint64
}

var (
	r17Senders = []string{"1001", "1002", "1003", "1004"}
	r17Bots    = []lifecycle.BotID{"b1", "b2", "b3", "b4", "b5"}
	r17Users   = []string{"ada", "mia", "dan", "sue", "eve"}
	// r17Roles are the roles of r17Users when a run starts; eve has none.
	r17Roles = []roles.Role{roles.Admin, roles.Manager, roles.Designer, roles.Supervisor}
)

func newR17Run(t *rapid.T) *r17Run {
	r := &r17Run{ctx: context.Background(), clk: clock.NewMock()}
	r.clk.Set(start)
	for _, w := range []*r17World{&r.plan, &r.ref} {
		w.st = store.NewMemory()
		base, err := lifecycle.New(lifecycle.Config{Store: w.st, Clock: r.clk})
		if err != nil {
			t.Fatal(err)
		}
		w.m, _ = base.Workspace("acme")
		w.other, _ = base.Workspace("other")
		for i, role := range r17Roles { // in order: one audit log
			if _, err := w.m.GrantRole(r.ctx, lifecycle.System("setup"), r17Users[i], role); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := w.other.GrantRole(r.ctx, lifecycle.System("setup"), "mia", roles.Manager); err != nil {
			t.Fatal(err)
		}
		// A world to start from: b1 Active on 1001 and 1002, b2 Active
		// on 1003, b3 a Draft on 1001.
		for _, c := range []lifecycle.Create{
			{ID: "b1", Senders: []lifecycle.Sender{sms("1001"), sms("1002")}},
			{ID: "b2", Senders: []lifecycle.Sender{sms("1003")}},
			{ID: "b3", Senders: []lifecycle.Sender{sms("1001")}},
		} {
			c.Name, c.Channel, c.Definition, c.Incarnation = "bot", "sms", cleanDef(), 1
			if _, err := w.m.Apply(r.ctx, designer, c); err != nil {
				t.Fatal(err)
			}
			if c.ID == "b3" {
				continue
			}
			if _, err := w.m.Activate(r.ctx, manager, c.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.same(t, "setup")
	return r
}

// incarnation returns a Bot.Incarnation no bot of the run had before.
func (r *r17Run) incarnation() uint64 {
	r.incarnations++
	return 100 + r.incarnations // the setup's bots have 1
}

// command draws an actor and a command: usually one the actor may give,
// now and then any actor, the system, or the system without a reason.
func (r *r17Run) command(t *rapid.T) (lifecycle.Actor, lifecycle.Command) {
	// bot is usually one that exists, so that sequences go deep.
	stored, err := r.plan.st.Bots(r.ctx, "acme", "", len(r17Bots))
	if err != nil {
		t.Fatal(err)
	}
	bot := func() lifecycle.BotID {
		if len(stored) == 0 || oneIn(t, 8, "any bot") {
			return rapid.SampledFrom(r17Bots).Draw(t, "bot")
		}
		return stored[rapid.IntRange(0, len(stored)-1).Draw(t, "stored bot")].ID
	}
	// botIn is usually a bot in one of states (as stored), else bot().
	botIn := func(states ...lifecycle.State) lifecycle.BotID {
		var in []lifecycle.BotID
		for _, b := range stored {
			if slices.Contains(states, b.State) {
				in = append(in, b.ID)
			}
		}
		if len(in) == 0 || oneIn(t, 4, "any state") {
			return bot()
		}
		return rapid.SampledFrom(in).Draw(t, "bot in state")
	}
	senders := func(label string, min int) []lifecycle.Sender {
		if min == 0 && !oneIn(t, 10, label+": none") {
			min = 1 // now and then none: a Draft may have none (R18)
		}
		picked := rapid.SliceOfNDistinct(rapid.SampledFrom(r17Senders), min, 3, func(s string) string { return s }).Draw(t, label)
		var out []lifecycle.Sender
		for _, a := range picked {
			out = append(out, sms(a))
		}
		return out
	}
	// fresh is usually an id no bot has, for a bot to make.
	fresh := func() lifecycle.BotID {
		for _, id := range r17Bots {
			if !slices.ContainsFunc(stored, func(b lifecycle.Bot) bool { return b.ID == id }) && !oneIn(t, 5, "a taken id") {
				return id
			}
		}
		return rapid.SampledFrom(r17Bots).Draw(t, "bot")
	}
	decision := func() lifecycle.Decision {
		switch rapid.IntRange(0, 6).Draw(t, "decision") {
		case 0, 1:
			return lifecycle.Immediate()
		case 5:
			return lifecycle.Decision{}
		case 6:
			return lifecycle.Grace(-time.Minute) // refused
		}
		return lifecycle.Grace(time.Duration(rapid.IntRange(1, 30).Draw(t, "grace minutes")) * time.Minute)
	}
	ack := func() lifecycle.Ack {
		if !oneIn(t, 4, "no ack") {
			return lifecycle.Ack{Codes: []string{"fallback.missing"}}
		}
		return lifecycle.Ack{}
	}
	def := func() lifecycle.Definition {
		if rapid.Bool().Draw(t, "warn") {
			return warnDef()
		}
		return cleanDef()
	}
	var likely lifecycle.Actor
	var cmd lifecycle.Command
	switch rapid.IntRange(0, 14).Draw(t, "command") {
	case 0:
		likely, cmd = designer, lifecycle.Create{ID: fresh(), Name: "bot", Channel: "sms", Senders: senders("senders", 0), Definition: def(), Incarnation: r.incarnation()}
	case 2:
		u := lifecycle.Update{Bot: bot()}
		switch rapid.IntRange(0, 2).Draw(t, "edit") {
		case 0:
			ss := senders("senders", 0)
			u.Senders = &ss
		case 1:
			d := def()
			u.Definition = &d
		default:
			u.Name = ptr("renamed")
		}
		likely, cmd = designer, u
	case 3:
		likely, cmd = designer, lifecycle.Delete{Bot: botIn(lifecycle.Draft)}
	case 4:
		likely, cmd = designer, lifecycle.Duplicate{Bot: bot(), ID: fresh(), Incarnation: r.incarnation()}
	case 5, 6, 14:
		var on []lifecycle.Sender
		if oneIn(t, 4, "subset") {
			on = senders("subset", 1)
		}
		likely, cmd = manager, lifecycle.Activate{Bot: botIn(lifecycle.Draft, lifecycle.Inactive), Decision: decision(), Ack: ack(), Senders: on}
	case 1, 7:
		var on []lifecycle.Sender
		if oneIn(t, 4, "subset") {
			on = senders("subset", 1)
		}
		likely, cmd = manager, lifecycle.Deactivate{Bot: botIn(lifecycle.Active), Grace: time.Duration(rapid.IntRange(0, 20).Draw(t, "grace minutes")) * time.Minute, Senders: on}
	case 8:
		likely, cmd = manager, lifecycle.EndGrace{Bot: botIn(lifecycle.Deactivated, lifecycle.Active)}
	case 9:
		likely, cmd = manager, lifecycle.Rollback{Bot: botIn(lifecycle.Active), Decision: decision(), Ack: ack()}
	case 10:
		i := rapid.IntRange(0, len(r17Users)-1).Draw(t, "user")
		user, role := r17Users[i], rapid.SampledFrom(roles.AllRoles[:]).Draw(t, "role")
		switch rapid.IntRange(0, 2).Draw(t, "role change") {
		case 0:
			likely, cmd = admin, lifecycle.RevokeRole{User: user, Role: role}
		case 1:
			likely, cmd = admin, lifecycle.GrantRole{User: user, Role: role}
		default: // the user's own role back, so that sequences go on
			likely, cmd = admin, lifecycle.GrantRole{User: user, Role: r17Roles[min(i, len(r17Roles)-1)]}
		}
	case 11:
		id := lifecycle.ScheduleID(fmt.Sprint("s", rapid.IntRange(1, 3).Draw(t, "schedule")))
		if oneIn(t, 3, "cancel") {
			likely, cmd = manager, lifecycle.CancelSchedule{ID: id}
			break
		}
		var do lifecycle.Schedulable = lifecycle.Activate{Bot: bot(), Decision: decision(), Ack: ack()}
		if rapid.Bool().Draw(t, "deactivate") {
			do = lifecycle.Deactivate{Bot: bot(), Grace: time.Duration(rapid.IntRange(0, 20).Draw(t, "grace minutes")) * time.Minute}
		}
		at := r.clk.Now().Add(time.Duration(rapid.IntRange(1, 40).Draw(t, "in minutes")) * time.Minute)
		likely, cmd = manager, lifecycle.CreateSchedule{ID: id, At: at, Do: do}
	case 12:
		likely, cmd = supervisor, lifecycle.OpenTestSession{Bot: bot()}
	default:
		likely, cmd = supervisor, lifecycle.CloseTestSession{Bot: bot(), Activation: uint64(rapid.IntRange(1, 3).Draw(t, "test session"))}
	}
	switch rapid.IntRange(0, 19).Draw(t, "actor") {
	case 16, 17:
		return lifecycle.User(rapid.SampledFrom(r17Users).Draw(t, "any user")), cmd
	case 18:
		return lifecycle.System("account out of credit"), cmd
	case 19:
		return lifecycle.Actor{ID: "system", System: true}, cmd // no reason (R19)
	}
	return likely, cmd
}

// both runs op on both worlds, which must answer alike.
func (r *r17Run) both(t *rapid.T, what string, op func(w r17World) (any, error)) {
	got, err := op(r.plan)
	want, werr := op(r.ref)
	if errText(err) != errText(werr) {
		t.Fatalf("%s: %v in one world, %v in its twin", what, err, werr)
	}
	if diff := cmp.Diff(want, got, cmp.Exporter(func(reflect.Type) bool { return true })); diff != "" {
		t.Fatalf("%s differs between the twins (-ref +plan):\n%s", what, diff)
	}
}

// move changes both worlds alike between a plan and its commit: time
// passes, an end user writes, due drains and schedules are settled,
// another command is applied, a user's roles change, or the other
// workspace claims or frees sms:1004 (R27).
func (r *r17Run) move(t *rapid.T) {
	switch rapid.IntRange(0, 9).Draw(t, "move") {
	case 0, 1, 2:
		r.clk.Add(time.Duration(rapid.IntRange(1, 12).Draw(t, "move minutes")) * time.Minute)
	case 3:
		addr, user := rapid.SampledFrom(r17Senders).Draw(t, "route sender"), rapid.SampledFrom([]string{"u1", "u2"}).Draw(t, "end user")
		r.both(t, "route", func(w r17World) (any, error) { return w.m.Route(r.ctx, sms(addr), user) })
	case 4:
		r.both(t, "ExpireDue", func(w r17World) (any, error) { return w.m.ExpireDue(r.ctx) })
	case 5, 6:
		actor, cmd := r.command(t)
		r.both(t, "a command in between", func(w r17World) (any, error) { return w.m.Apply(r.ctx, actor, cmd) })
	case 7:
		user, role := rapid.SampledFrom(r17Users[1:]).Draw(t, "user"), rapid.SampledFrom(roles.AllRoles[:]).Draw(t, "role")
		if rapid.Bool().Draw(t, "revoke") {
			r.both(t, "a role revoked", func(w r17World) (any, error) { return w.m.RevokeRole(r.ctx, admin, user, role) })
		} else {
			r.both(t, "a role granted", func(w r17World) (any, error) { return w.m.GrantRole(r.ctx, admin, user, role) })
		}
	default:
		claim := lifecycle.Create{ID: "o1", Name: "other", Channel: "sms", Senders: []lifecycle.Sender{sms("1004")}, Definition: cleanDef(), Incarnation: 3}
		if rapid.Bool().Draw(t, "free") {
			r.both(t, "the other workspace frees sms:1004", func(w r17World) (any, error) { return nil, w.other.Delete(r.ctx, manager, "o1") })
		} else {
			r.both(t, "the other workspace claims sms:1004", func(w r17World) (any, error) { return w.other.Apply(r.ctx, manager, claim) })
		}
	}
}

// step plans a command, lets the world move (or not), and checks Plan
// against Apply and ApplyPlan against both (R17).
func (r *r17Run) step(t *rapid.T, stats *r17Stats) {
	actor, cmd := r.command(t)
	made := r.clk.Now()
	before := r.dump(t, r.plan)
	p, perr := r.plan.m.Plan(r.ctx, actor, cmd)
	r.unchanged(t, before, "a dry run")
	if perr != nil {
		stats.refused++
	}
	moved := rapid.Bool().Draw(t, "moves?")
	if moved {
		for range rapid.IntRange(1, 3).Draw(t, "moves") {
			r.move(t)
		}
	}
	delay := r.clk.Now().Sub(made)

	// Plan now, and Apply in the twin, at the same instant.
	before = r.dump(t, r.plan)
	fresh, ferr := r.plan.m.Plan(r.ctx, actor, cmd)
	r.unchanged(t, before, "a dry run")
	want, werr := r.ref.m.Apply(r.ctx, actor, cmd)
	if errText(ferr) != errText(werr) {
		t.Fatalf("R17: %T %+v by %v: the dry run says %v, Apply %v", cmd, cmd, actor, ferr, werr)
	}
	if diff := cmp.Diff(withoutSeq(want), fresh, planCmp(0)); diff != "" {
		t.Fatalf("R17: %T by %v: the dry run differs from what Apply did (-apply +plan):\n%s", cmd, actor, diff)
	}
	if !moved && (errText(perr) != errText(ferr) || !cmp.Equal(p, fresh, planCmp(0))) {
		t.Fatalf("R17: %T by %v: two dry runs in the same world differ: %v, %v", cmd, actor, perr, ferr)
	}
	if perr != nil {
		r.resync(t, actor, cmd, want, werr)
		return
	}

	// ApplyPlan of the first plan.
	before = r.dump(t, r.plan)
	got, err := r.plan.m.ApplyPlan(r.ctx, p)
	holds := ferr == nil && delay <= lifecycle.DefaultMaxPlanAge && cmp.Equal(withoutEndsSeq(p), withoutEndsSeq(fresh), planCmp(delay))
	switch {
	case errors.Is(ferr, lifecycle.ErrForbidden):
		stats.denied++
		if !errors.Is(err, lifecycle.ErrForbidden) {
			t.Fatalf("P1, R17: ApplyPlan of a %T whose actor %v lost the permission = %v, want ErrForbidden", cmd, actor, err)
		}
	case holds:
		stats.committed++
		stats.byOp[fmt.Sprintf("%T", cmd)]++
		if err != nil {
			t.Fatalf("R17: ApplyPlan of a %T by %v refused (%v), but the world did not move in %v: a dry run now gives the plan", cmd, actor, err, delay)
		}
		if diff := cmp.Diff(want, got, planCmp(0)); diff != "" {
			t.Fatalf("R17: ApplyPlan of a %T committed other than Apply (-apply +applyplan):\n%s", cmd, diff)
		}
		if !cmp.Equal(withoutEndsSeq(p), withoutEndsSeq(got), planCmp(delay)) {
			t.Fatalf("R17: ApplyPlan of a %T committed other than the plan shifted by %v:\n%s", cmd, delay, cmp.Diff(withoutEndsSeq(p), withoutEndsSeq(got), planCmp(delay)))
		}
		// Applied again: a conflict - unless the plan took the actor's
		// permission (P2), which comes first (P1) and is audited.
		if _, err := r.plan.m.Plan(r.ctx, actor, cmd); !errors.Is(err, lifecycle.ErrForbidden) {
			before = r.dump(t, r.plan)
			if _, err := r.plan.m.ApplyPlan(r.ctx, p); !errors.Is(err, lifecycle.ErrConflict) {
				t.Fatalf("R17: applying a %T plan a second time = %v, want ErrConflict", cmd, err)
			}
			r.unchanged(t, before, "applying a plan a second time")
		}
	default:
		stats.conflicts++
		if !errors.Is(err, lifecycle.ErrConflict) {
			t.Fatalf("R17: ApplyPlan of a %T by %v after the world moved (%v later; now %v) = %v, want ErrConflict", cmd, actor, delay, ferr, err)
		}
		r.unchanged(t, before, "a refused ApplyPlan")
		r.resync(t, actor, cmd, want, werr)
		return
	}
	r.same(t, "after ApplyPlan")
}

// resync applies cmd in the plan world too, as the twin did (want, werr),
// and checks the worlds are alike again.
func (r *r17Run) resync(t *rapid.T, actor lifecycle.Actor, cmd lifecycle.Command, want lifecycle.Plan, werr error) {
	got, err := r.plan.m.Apply(r.ctx, actor, cmd)
	if errText(err) != errText(werr) {
		t.Fatalf("%T by %v applied in the twins: %v, %v", cmd, actor, err, werr)
	}
	if diff := cmp.Diff(want, got, planCmp(0)); diff != "" {
		t.Fatalf("%T by %v applied in the twins (-ref +plan):\n%s", cmd, actor, diff)
	}
	r.same(t, "after Apply")
}

// r17Dump is everything a world stores, of both workspaces.
type r17Dump struct {
	Bots      [2][]lifecycle.Bot
	Roles     [2][]lifecycle.RoleAssignment
	Sessions  [2][]lifecycle.Session
	Schedules [2][]lifecycle.Schedule
	Audit     [2][]lifecycle.AuditEntry
}

func (r *r17Run) dump(t *rapid.T, w r17World) r17Dump {
	var d r17Dump
	for i, ws := range []lifecycle.Workspace{"acme", "other"} {
		var errs [5]error
		d.Bots[i], errs[0] = w.st.Bots(r.ctx, ws, "", 1<<20)
		d.Sessions[i], errs[1] = w.st.Sessions(r.ctx, ws, 0, 1<<20)
		d.Schedules[i], errs[2] = w.st.Schedules(r.ctx, ws, 0, 1<<20)
		d.Audit[i], errs[3] = w.st.AuditLog(r.ctx, ws, 0, 1<<20)
		for _, u := range r17Users {
			rs, _, err := w.st.Roles(r.ctx, ws, u)
			errs[4] = errors.Join(errs[4], err)
			if !rs.Empty() {
				d.Roles[i] = append(d.Roles[i], lifecycle.RoleAssignment{User: u, Roles: rs})
			}
		}
		if err := errors.Join(errs[:]...); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// unchanged checks the plan world is as before.
func (r *r17Run) unchanged(t *rapid.T, before r17Dump, what string) {
	after := r.dump(t, r.plan)
	if reflect.DeepEqual(before, after) {
		return // cheaper than cmp, which decides and explains a difference
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Fatalf("R17: %s changed the store (-before +after):\n%s", what, diff)
	}
}

// same checks the twins store the same.
func (r *r17Run) same(t *rapid.T, when string) {
	ref, plan := r.dump(t, r.ref), r.dump(t, r.plan)
	if reflect.DeepEqual(ref, plan) {
		return
	}
	if diff := cmp.Diff(ref, plan); diff != "" {
		t.Fatalf("R17: %s, the twins differ (-ref +plan):\n%s", when, diff)
	}
}

// planCmp compares plans whose times may differ by delay (R17: a plan
// takes effect when committed), commands and decisions included.
func planCmp(delay time.Duration) cmp.Option {
	return cmp.Options{
		cmp.Exporter(func(reflect.Type) bool { return true }),
		cmp.Comparer(func(x, y time.Time) bool { return x.Equal(y) || x.Add(delay).Equal(y) || y.Add(delay).Equal(x) }),
	}
}

// withoutSeq returns p with its audit entries' sequence numbers left out:
// a dry run has none.
func withoutSeq(p lifecycle.Plan) lifecycle.Plan {
	p.Audit = append([]lifecycle.AuditEntry(nil), p.Audit...)
	for i := range p.Audit {
		p.Audit[i].Seq = 0
	}
	return p
}

// withoutEndsSeq is withoutSeq without the bots' Ends too: which ended
// activations a bot keeps follows the sessions open at the commit, and
// ApplyPlan does not compare them.
func withoutEndsSeq(p lifecycle.Plan) lifecycle.Plan {
	p = withoutSeq(p)
	p.Changes = append([]lifecycle.Change(nil), p.Changes...)
	for i, c := range p.Changes {
		if c.After != nil {
			b := *c.After
			b.Ends = nil
			p.Changes[i].After = &b
		}
	}
	return p
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// oneIn draws whether the rare one of n cases happens: the largest value,
// as rapid draws small values most often.
func oneIn(t *rapid.T, n int, label string) bool {
	return rapid.IntRange(0, n-1).Draw(t, label) == n-1
}
