package lifecycle_test

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/google/go-cmp/cmp"
)

// world is a small service state every R17 case starts from: a live bot, a
// Draft on its sender, a draining bot on another sender, and an Inactive
// predecessor of the live bot.
func world(t *testing.T) (*env, map[string]lifecycle.BotID) {
	e := newEnv(t)
	old := e.live("old", "100")
	e.clk.Add(time.Minute)
	live := e.draft("live", "100")
	e.activate(live.ID, lifecycle.Immediate())
	draft := e.draft("draft", "100")
	drain := e.live("drain", "300")
	e.must(e.m.Deactivate(e.ctx, manager, drain.ID, time.Hour))
	sc, err := e.m.Schedule(e.ctx, manager, e.clk.Now().Add(30*time.Minute), lifecycle.Activate{Bot: draft.ID, Decision: lifecycle.Grace(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	return e, map[string]lifecycle.BotID{"old": old.ID, "live": live.ID, "draft": draft.ID, "drain": drain.ID, "schedule": lifecycle.BotID(sc.ID)}
}

// r17Commands are one command of each kind, with the actor that may do it.
func r17Commands(e *env, ids map[string]lifecycle.BotID) []struct {
	name  string
	actor lifecycle.Actor
	cmd   lifecycle.Command
} {
	doc, err := e.m.Export(e.ctx, designer, ids["old"])
	if err != nil {
		e.t.Fatal(err)
	}
	return []struct {
		name  string
		actor lifecycle.Actor
		cmd   lifecycle.Command
	}{
		{"create", designer, lifecycle.Create{Name: "n", Channel: "sms", Senders: []lifecycle.Sender{sms("500")}, Definition: cleanDef()}},
		{"update", designer, lifecycle.Update{Bot: ids["draft"], Name: ptr("renamed")}},
		{"delete", designer, lifecycle.Delete{Bot: ids["draft"]}},
		{"duplicate", designer, lifecycle.Duplicate{Bot: ids["live"]}},
		{"import", designer, lifecycle.Import{Data: doc}},
		{"activate", manager, lifecycle.Activate{Bot: ids["draft"], Decision: lifecycle.Grace(time.Minute)}},
		{"deactivate", manager, lifecycle.Deactivate{Bot: ids["live"], Grace: time.Minute}},
		{"end grace", manager, lifecycle.EndGrace{Bot: ids["drain"]}},
		{"expire grace", lifecycle.System("grace period ended"), lifecycle.ExpireGrace{Bot: ids["drain"]}},
		{"rollback", manager, lifecycle.Rollback{Bot: ids["live"], Decision: lifecycle.Immediate()}},
		{"grant role", admin, lifecycle.GrantRole{User: "zoe", Role: roles.Designer}},
		{"revoke role", admin, lifecycle.RevokeRole{User: "al", Role: roles.Analyzer}},
		{"schedule", manager, lifecycle.CreateSchedule{At: e.clk.Now().Add(time.Hour), Do: lifecycle.Deactivate{Bot: ids["live"], Senders: []lifecycle.Sender{sms("100")}}}},
		{"cancel schedule", manager, lifecycle.CancelSchedule{ID: lifecycle.ScheduleID(ids["schedule"])}},
		{"run schedule", lifecycle.System("schedule due"), lifecycle.RunSchedule{ID: lifecycle.ScheduleID(ids["schedule"])}},
	}
}

// R17: for every command, a dry run writes nothing, and ApplyPlan commits
// exactly the plan it returned: the same ids, changes and audit entries.
func TestR17EveryCommandAppliesAsPlanned(t *testing.T) {
	e0, ids0 := world(t)
	for _, c := range r17Commands(e0, ids0) {
		t.Run("R17/"+c.name, func(t *testing.T) {
			e, ids := world(t)
			cmd := r17Commands(e, ids)[indexOf(t, r17Commands(e, ids), c.name)].cmd
			if c.name == "expire grace" || c.name == "run schedule" {
				e.clk.Add(time.Hour)
			}
			before, auditBefore := e.dump(), e.audit()
			plan, err := e.m.Plan(e.ctx, c.actor, cmd)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(before, e.dump()); diff != "" || len(e.audit()) != len(auditBefore) {
				t.Fatalf("R17: a dry run wrote (-before +after):\n%s", diff)
			}
			applied, err := e.m.ApplyPlan(e.ctx, plan)
			if err != nil {
				t.Fatal(err)
			}
			want := plan
			for i := range want.Audit {
				want.Audit[i].Seq = applied.Audit[i].Seq
			}
			if diff := cmp.Diff(want, applied); diff != "" {
				t.Errorf("R17: applied differs from the plan (-plan +applied):\n%s", diff)
			}
			for _, ch := range plan.Changes {
				if ch.After == nil {
					continue
				}
				if diff := cmp.Diff(*ch.After, e.storedBot(ch.Bot)); diff != "" {
					t.Errorf("R17: stored %s differs from the plan (-plan +stored):\n%s", ch.Bot, diff)
				}
			}
			for _, ch := range plan.Schedules {
				stored, err := e.st.Schedule(e.ctx, "", ch.After.ID)
				ch.After.Seq = stored.Seq // the store numbers new schedules
				if diff := cmp.Diff(ch.After, stored); err != nil || diff != "" {
					t.Errorf("R17: stored schedule %s differs from the plan (%v; -plan +stored):\n%s", ch.After.ID, err, diff)
				}
			}
		})
	}
}

func indexOf(t *testing.T, cs []struct {
	name  string
	actor lifecycle.Actor
	cmd   lifecycle.Command
}, name string) int {
	for i, c := range cs {
		if c.name == name {
			return i
		}
	}
	t.Fatalf("no command %q", name)
	return -1
}

func (e *env) storedBot(id lifecycle.BotID) lifecycle.Bot {
	e.t.Helper()
	b, err := e.st.Bot(e.ctx, "", id)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// R17: a refused dry run writes nothing, not even the denial; a plan is
// refused as a conflict when the world moved, when it was altered, or when
// it is too old, and then nothing changes.
func TestR17ApplyPlanRefusals(t *testing.T) {
	e, ids := world(t)
	if _, err := e.m.Plan(e.ctx, designer, lifecycle.Activate{Bot: ids["draft"], Decision: lifecycle.Immediate()}); !errors.Is(err, lifecycle.ErrForbidden) {
		t.Fatalf("dry run by a Designer = %v, want ErrForbidden", err)
	}
	plan := func() lifecycle.Plan {
		p, err := e.m.Plan(e.ctx, manager, lifecycle.Activate{Bot: ids["draft"], Decision: lifecycle.Grace(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A plan younger than MaxPlanAge (default 10m) applies.
	young := plan()
	e.clk.Add(9 * time.Minute)
	if _, err := e.m.ApplyPlan(e.ctx, young); err != nil {
		t.Fatalf("R17: a 9-minute-old plan: %v", err)
	}
	e.must(e.m.Deactivate(e.ctx, manager, ids["draft"], 0))
	moved := plan()
	e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: ids["draft"], Description: ptr("moved")}))
	altered := plan()
	altered.Changes[0].After.Name = "tampered"
	stale := plan()
	e.clk.Add(11 * time.Minute)
	for _, tc := range []struct {
		name string
		p    lifecycle.Plan
		want error
	}{
		{"the world moved", moved, lifecycle.ErrConflict},
		{"the plan was altered", altered, lifecycle.ErrConflict},
		{"the plan is older than MaxPlanAge", stale, lifecycle.ErrConflict},
		{"a plan without a command", lifecycle.Plan{Op: lifecycle.OpActivate}, lifecycle.ErrInvalidInput},
	} {
		t.Run("R17/"+tc.name, func(t *testing.T) {
			e.refused(tc.want, false, func() error { _, err := e.m.ApplyPlan(e.ctx, tc.p); return err })
		})
	}
	if s := e.state(ids["draft"]); s != lifecycle.Inactive {
		t.Fatalf("R17: a refused plan moved the bot to %v", s)
	}
}

// R19: the system acts only for what R19 lists, always with a reason, and
// a refusal is audited.
func TestR19SystemLimits(t *testing.T) {
	e, ids := world(t)
	sys := lifecycle.System("provisioning")
	for _, tc := range []struct {
		name   string
		op     func() error
		want   error
		denied bool
	}{
		{"create", func() error {
			_, err := e.m.Create(e.ctx, sys, lifecycle.Create{Name: "x", Channel: "sms"})
			return err
		}, lifecycle.ErrForbidden, true},
		{"activate", func() error {
			_, err := e.m.Activate(e.ctx, sys, ids["draft"], lifecycle.Immediate(), lifecycle.Ack{})
			return err
		}, lifecycle.ErrForbidden, true},
		{"rollback", func() error {
			_, err := e.m.Rollback(e.ctx, sys, ids["live"], lifecycle.Immediate(), lifecycle.Ack{})
			return err
		}, lifecycle.ErrForbidden, true},
		{"list", func() error { _, err := e.m.List(e.ctx, sys, "", 10); return err }, lifecycle.ErrForbidden, true},
		{"deactivate without a reason", func() error {
			_, err := e.m.Deactivate(e.ctx, lifecycle.System(""), ids["live"], 0)
			return err
		}, lifecycle.ErrInvalidInput, false},
	} {
		t.Run("R19/"+tc.name, func(t *testing.T) { e.refused(tc.want, tc.denied, tc.op) })
	}
	if _, err := e.m.GrantRole(e.ctx, sys, "zoe", roles.Admin); err != nil {
		t.Fatalf("R19: the system may grant roles: %v", err)
	}
}

// R20: a Designer adds another team's sender to the Inactive predecessor;
// the Manager's rollback is then refused, names the change, and changes
// nothing - the other team's bot keeps serving.
func TestR20RollbackRefusesAnEditedTarget(t *testing.T) {
	e, ids := world(t)
	other := e.live("other team", "900")
	e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: ids["old"], Senders: &[]lifecycle.Sender{sms("100"), sms("900")}}))
	err := e.refused(lifecycle.ErrNoRollback, false, func() error {
		_, err := e.m.Rollback(e.ctx, manager, ids["live"], lifecycle.Immediate(), lifecycle.Ack{})
		return err
	})
	var re *lifecycle.RollbackError
	if !errors.As(err, &re) || re.Target != ids["old"] || !cmp.Equal(re.Changed, []string{"senders"}) {
		t.Fatalf("R20: %v", err)
	}
	if e.state(other.ID) != lifecycle.Active {
		t.Fatal("R20: the other team's bot was touched")
	}
	// Activated explicitly, it is live again and a later rollback may
	// return to it.
	e.activate(ids["old"], lifecycle.Immediate())
	if got := e.get(ids["old"]).ChangedSinceActive(); len(got) != 0 {
		t.Fatalf("R20: activation keeps changes %v", got)
	}
}

// P4: a Manager given its own matrix and maximum grace decides with them.
func TestP4ManagerPolicy(t *testing.T) {
	grants := map[roles.Role][]roles.Permission{}
	for _, r := range roles.AllRoles {
		grants[r] = roles.Default().Permissions(roles.MustSet(r))
	}
	grants[roles.Manager] = append(grants[roles.Manager], roles.ViewAuditLog)
	matrix, err := roles.NewMatrix(grants)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	m, err := lifecycle.New(lifecycle.Config{Store: e.st, Clock: e.clk, Policy: lifecycle.Policy{Matrix: matrix, MaxGrace: 5 * time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.AuditLog(e.ctx, manager, 0, 10); err != nil {
		t.Errorf("P4: the custom matrix lets a Manager read the audit log: %v", err)
	}
	if _, err := e.m.AuditLog(e.ctx, manager, 0, 10); !errors.Is(err, lifecycle.ErrForbidden) {
		t.Errorf("P4: the default matrix does not: %v", err)
	}
	a := e.live("a", "100")
	e.refused(lifecycle.ErrInvalidInput, false, func() error { _, err := m.Deactivate(e.ctx, manager, a.ID, 6*time.Minute); return err })
	if _, err := m.Deactivate(e.ctx, manager, a.ID, 5*time.Minute); err != nil {
		t.Errorf("P4: a grace within the custom maximum: %v", err)
	}
	if _, err := lifecycle.New(lifecycle.Config{Store: e.st, Policy: lifecycle.Policy{MaxGrace: lifecycle.MaxGraceLimit + 1}}); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Errorf("a MaxGrace no store can hold = %v, want ErrInvalidInput", err)
	}
	if _, err := lifecycle.New(lifecycle.Config{Store: e.st, Policy: lifecycle.Policy{MaxGrace: lifecycle.MaxGraceLimit}}); err != nil {
		t.Errorf("MaxGrace = MaxGraceLimit: %v", err)
	}
	if _, err := lifecycle.New(lifecycle.Config{}); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Errorf("New without a store = %v, want ErrInvalidInput", err)
	}
}

// Every error has an op, a kind (a sentinel) and a detail (a typed error).
func TestErrorsCarryOpKindDetail(t *testing.T) {
	e, ids := world(t)
	for _, tc := range []struct {
		op     lifecycle.Op
		kind   error
		call   func() error
		detail any
	}{
		{lifecycle.OpActivate, lifecycle.ErrSenderOccupied, func() error {
			_, err := e.m.Activate(e.ctx, manager, ids["draft"], lifecycle.Decision{}, lifecycle.Ack{})
			return err
		}, new(*lifecycle.OccupiedError)},
		{lifecycle.OpRollback, lifecycle.ErrInvalidTransition, func() error {
			_, err := e.m.Rollback(e.ctx, manager, ids["draft"], lifecycle.Immediate(), lifecycle.Ack{})
			return err
		}, new(*lifecycle.StateError)},
		{lifecycle.OpGrantRole, lifecycle.ErrRoleHeld, func() error { _, err := e.m.GrantRole(e.ctx, admin, "mia", roles.Manager); return err }, new(*roles.GrantError)},
		{lifecycle.OpGet, lifecycle.ErrNotFound, func() error { _, err := e.m.Get(e.ctx, manager, "nope"); return err }, new(*lifecycle.NotFoundError)},
		{lifecycle.OpList, lifecycle.ErrForbidden, func() error { _, err := e.m.List(e.ctx, stranger, "", 1); return err }, new(*roles.PermissionError)},
		{lifecycle.OpRoute, lifecycle.ErrInvalidInput, func() error { _, err := e.m.Route(e.ctx, sms("100"), "u\x00"); return err }, new(*lifecycle.InputError)},
		{lifecycle.OpRoute, lifecycle.ErrNoBot, func() error { _, err := e.m.Route(e.ctx, sms("777"), "u"); return err }, new(*lifecycle.NoBotError)},
		{lifecycle.OpRoute, lifecycle.ErrInvalidInput, func() error { _, err := e.m.Route(e.ctx, sms("10\x000"), "u"); return err }, new(*lifecycle.InputError)},
		{lifecycle.OpRoute, lifecycle.ErrInvalidInput, func() error {
			_, err := e.m.Route(e.ctx, lifecycle.Sender{Address: "100"}, "u")
			return err
		}, new(*lifecycle.InputError)},
	} {
		t.Run(string(tc.op)+"/"+tc.kind.Error(), func(t *testing.T) {
			err := tc.call()
			var le *lifecycle.Error
			if !errors.As(err, &le) || le.Op != tc.op || le.Kind != tc.kind || !errors.Is(err, tc.kind) {
				t.Fatalf("error %v: want an *Error with op %s and kind %v", err, tc.op, tc.kind)
			}
			if !errors.As(err, tc.detail) {
				t.Errorf("error %v carries no %T", err, tc.detail)
			}
		})
	}
}

// R4: a refused activation returns the whole report, in the plan and in the
// error: every error and every warning, not only what blocked.
func TestR4RefusalCarriesTheWholeReport(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100")
	r := warnRef()
	r.EntryDialog = "nowhere" // an error as well as the warning
	def := refDef(r)
	e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: b.ID, Definition: &def}))
	p, err := e.m.Activate(e.ctx, manager, b.ID, lifecycle.Decision{}, lifecycle.Ack{})
	var ve *lifecycle.ValidationError
	if !errors.As(err, &ve) || p.Report == nil {
		t.Fatalf("R4: %v, report %v", err, p.Report)
	}
	if len(ve.Report.Errors()) == 0 || len(ve.Report.Warnings()) == 0 || !cmp.Equal(ve.Report, *p.Report) {
		t.Errorf("R4: the refusal's report %+v lacks errors or warnings, or differs from the plan's", ve.Report)
	}
}

// P4, R13: the import limit is the policy's, inclusive.
func TestImportLimit(t *testing.T) {
	e := newEnv(t)
	doc, err := e.m.Export(e.ctx, designer, e.draft("d", "100").ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		limit int
		ok    bool
	}{{len(doc), true}, {len(doc) - 1, false}} {
		m, err := lifecycle.New(lifecycle.Config{Store: e.st, Clock: e.clk, Policy: lifecycle.Policy{MaxImport: tc.limit}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Import(e.ctx, designer, doc); (err == nil) != tc.ok {
			t.Errorf("R13: a %d-byte document under a %d-byte limit: %v", len(doc), tc.limit, err)
		}
	}
}

// R13, P4: the default import limit holds an export of the largest
// definition the policy allows, however large that is.
func TestImportLimitFollowsMaxDefinition(t *testing.T) {
	for _, def := range []int{1 << 20, 64 << 20, 1 << 61, math.MaxInt} {
		m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Policy: lifecycle.Policy{MaxDefinition: def}})
		if err != nil {
			t.Fatal(err)
		}
		if p := m.Policy(); p.MaxImport < p.MaxDefinition || p.MaxImport < lifecycle.DefaultMaxImport {
			t.Errorf("R13: MaxDefinition %d gives MaxImport %d", def, p.MaxImport)
		}
	}
}

// R17, P4: a custom MaxPlanAge applies.
func TestMaxPlanAge(t *testing.T) {
	e, ids := world(t)
	m, err := lifecycle.New(lifecycle.Config{Store: e.st, Clock: e.clk, Policy: lifecycle.Policy{MaxPlanAge: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	p, err := m.Plan(e.ctx, designer, lifecycle.Update{Bot: ids["draft"], Name: ptr("x")})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Add(time.Minute + time.Nanosecond)
	e.refused(lifecycle.ErrConflict, false, func() error { _, err := m.ApplyPlan(e.ctx, p); return err })
	p, err = m.Plan(e.ctx, designer, lifecycle.Update{Bot: ids["draft"], Name: ptr("x")})
	if err != nil {
		t.Fatal(err)
	}
	e.clk.Add(time.Minute) // exactly MaxPlanAge old: still applies
	if _, err := m.ApplyPlan(e.ctx, p); err != nil {
		t.Fatalf("R17: a plan exactly MaxPlanAge old: %v", err)
	}
}

// Reads through the Manager: the audit log and lists return what is stored,
// page limits are inclusive, and a refusal's message is the refusal alone.
func TestManagerReads(t *testing.T) {
	e := newEnv(t)
	log, err := e.m.AuditLog(e.ctx, admin, 0, 10000)
	if err != nil || len(log) != 5 || log[0].Action != lifecycle.OpGrantRole {
		t.Fatalf("AuditLog = %d entries, %v; want the 5 role grants of the setup", len(log), err)
	}
	if page, err := e.m.AuditLog(e.ctx, admin, 2, 2); err != nil || len(page) != 2 || page[0].Seq != 3 {
		t.Fatalf("AuditLog(after 2, limit 2) = %+v, %v", page, err)
	}
	for _, tc := range []struct {
		name string
		call func() error
		ok   bool
	}{
		{"audit limit 10000", func() error { _, err := e.m.AuditLog(e.ctx, admin, 0, 10000); return err }, true},
		{"audit limit 10001", func() error { _, err := e.m.AuditLog(e.ctx, admin, 0, 10001); return err }, false},
		{"audit limit 0", func() error { _, err := e.m.AuditLog(e.ctx, admin, 0, 0); return err }, false},
		{"list limit 1000", func() error { _, err := e.m.List(e.ctx, manager, "", 1000); return err }, true},
		{"list limit 1001", func() error { _, err := e.m.List(e.ctx, manager, "", 1001); return err }, false},
		{"sessions limit 1000", func() error { _, err := e.m.Sessions(e.ctx, manager, 0, 1000); return err }, true},
	} {
		if err := tc.call(); (err == nil) != tc.ok || (err != nil && !errors.Is(err, lifecycle.ErrInvalidInput)) {
			t.Errorf("%s: %v, want ok = %v", tc.name, err, tc.ok)
		}
	}
	_, err = e.m.AuditLog(e.ctx, manager, 0, 10)
	var pe *roles.PermissionError
	if !errors.As(err, &pe) || err.Error() != "read_audit: "+pe.Error() {
		t.Errorf("P1: refusal message %q, want the refusal alone", err)
	}
}

// Run refuses an interval that is not positive with an *Error of kind
// ErrInvalidInput, as every Manager error is, and runs nothing.
func TestRunRefusesANonPositiveInterval(t *testing.T) {
	e := newEnv(t)
	for _, d := range []time.Duration{0, -time.Second} {
		err := e.m.Run(e.ctx, d)
		var le *lifecycle.Error
		if !errors.As(err, &le) || !errors.Is(err, lifecycle.ErrInvalidInput) {
			t.Errorf("Run(%v) = %v (%T); want an *Error of kind ErrInvalidInput", d, err, err)
		}
	}
}

// A nil pointer to a command is no command: Decide, Apply, Plan, ApplyPlan
// and Schedule refuse it as missing input - never a panic from a method
// called through it - and change nothing. A pointer to a command is the
// command: it applies, and schedules, as the value does.
func TestNilPointerCommandsAreRefusedNotPanics(t *testing.T) {
	e := newEnv(t)
	b := e.live("b", "100")
	nils := []lifecycle.Command{(*lifecycle.Activate)(nil), (*lifecycle.Deactivate)(nil), (*lifecycle.Create)(nil),
		(*lifecycle.Rollback)(nil), (*lifecycle.CreateSchedule)(nil), (*lifecycle.OpenTestSession)(nil)}
	for _, cmd := range nils {
		t.Run(fmt.Sprintf("%T", cmd), func(t *testing.T) {
			if _, err := lifecycle.Decide(lifecycle.Snapshot{}, cmd, start); !errors.Is(err, lifecycle.ErrInvalidInput) {
				t.Errorf("Decide: %v; want ErrInvalidInput", err)
			}
			e.refused(lifecycle.ErrInvalidInput, false, func() error { _, err := e.m.Apply(e.ctx, manager, cmd); return err })
			if _, err := e.m.Plan(e.ctx, manager, cmd); !errors.Is(err, lifecycle.ErrInvalidInput) {
				t.Errorf("Plan: %v; want ErrInvalidInput", err)
			}
			e.refused(lifecycle.ErrInvalidInput, false, func() error {
				_, err := e.m.ApplyPlan(e.ctx, lifecycle.Plan{Op: lifecycle.OpActivate, Actor: manager, Time: e.clk.Now(), Command: cmd})
				return err
			})
		})
	}
	e.refused(lifecycle.ErrInvalidInput, false, func() error {
		_, err := e.m.Schedule(e.ctx, manager, e.clk.Now().Add(time.Hour), (*lifecycle.Deactivate)(nil))
		return err
	})
	sc, err := e.m.Schedule(e.ctx, manager, e.clk.Now().Add(time.Hour), &lifecycle.Deactivate{Bot: b.ID})
	if err != nil || sc.Action.Op != lifecycle.OpDeactivate || sc.Action.Bot != b.ID {
		t.Errorf("scheduling a *Deactivate: %+v, %v", sc, err)
	}
	if _, err := e.m.Apply(e.ctx, manager, &lifecycle.Deactivate{Bot: b.ID}); err != nil || e.state(b.ID) != lifecycle.Inactive {
		t.Errorf("applying a *Deactivate: %v; bot %v", err, e.state(b.ID))
	}
}
