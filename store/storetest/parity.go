package storetest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// RunParity is the differential test of two stores (issue 14, "store
// parity"): it generates random sequences of operations with
// pgregory.net/rapid and runs each sequence through two Managers, one on a
// store from reference and one on a store from candidate, each with its own
// *clock.Mock set to the same instants and the same deterministic ids. After
// every step it requires identical answers: the same results (plans, bots,
// sessions, exports, expiries), the same errors by sentinel (errors.Is over
// the lifecycle sentinels), and the same store contents - bots, role
// assignments, audit entries, sessions as recorded, session counts - and the
// same Manager.Analytics.
//
// The operations: create, update, duplicate, export and import, delete,
// activate with random decisions and acknowledgements, deactivate with and
// without grace, end grace, rollback, route, close session, grant and
// revoke roles, dry runs, schedules and their cancellation (R23), ExpireDue
// (also two at once on each store), a switch to the other of two
// workspaces (R27), and clock moves: forward (onto grace and idle
// deadlines exactly), and backward. Bot operations are done by
// users holding roles (granted by lifecycle.System("bootstrap")), now and
// then by a user without the permission; the system acts only where R19
// lets it (deactivation, end of grace, roles). Inputs include hostile text:
// NUL, invalid UTF-8, ids and addresses longer than 256 bytes. Whatever the
// core decides about them (R21), both stores must answer alike, and a text
// a store accepts must come back byte for byte.
//
// Run it from a test of your store, with the memory store as the reference.
// A store that keeps closed sessions for good (as a database does) compares
// with a memory store that keeps them too, WithRetention(0); by default the
// memory store drops them a day after they close:
//
//	func TestParity(t *testing.T) {
//		storetest.RunParity(t,
//			func(*testing.T) lifecycle.Store { return store.NewMemory(store.WithRetention(0)) },
//			func(t *testing.T) lifecycle.Store { return newEmptyStore(t) })
//	}
//
// Each factory must return an empty store each time it is called; a store
// with a Close method is closed when its sequence ends. The number of
// sequences and steps come from rapid's flags: the default (100 sequences
// of 30 steps on average) takes seconds; a campaign:
//
//	go test -run TestParity -rapid.checks=2000 -rapid.steps=60
//
// A failure prints the shortest sequence rapid found, step by step, and the
// difference; rapid saves it under testdata/rapid to replay.
func RunParity(t *testing.T, reference, candidate func(t *testing.T) lifecycle.Store) {
	t.Helper()
	rapid.Check(t, func(rt *rapid.T) {
		p := newParity(t, rt, reference, candidate)
		defer p.close()
		rt.Repeat(map[string]func(*rapid.T){
			"create":     p.create,
			"update":     p.update,
			"duplicate":  p.duplicate,
			"export":     p.exportImport,
			"delete":     p.delete,
			"activate":   p.activate,
			"deactivate": p.deactivate,
			"endGrace":   p.endGrace,
			"rollback":   p.rollback,
			"route":      p.route,
			"route2":     p.route,
			"close":      p.closeSession,
			"roles":      p.roles,
			"plan":       p.plan,
			"clock":      p.clock,
			"clock2":     p.clock,
			"expire":     p.expire,
			"expire2":    p.expireConcurrently,
			"schedule":   p.schedule,
			"cancel":     p.cancelSchedule,
			"workspace":  p.workspace,
			"":           p.compare,
		})
	})
}

// paritySide is one Manager with its store and clock.
type paritySide struct {
	name string
	st   lifecycle.Store
	m    *lifecycle.Manager // acting in the current workspace: one of ms
	ms   [2]*lifecycle.Manager
	clk  *clock.Mock
}

// parityWorkspaces are the workspaces of a parity run (R27): steps act in
// one at a time, sharing one pool of senders (so claims are refused
// alike), and both are compared after every step.
var parityWorkspaces = [2]lifecycle.Workspace{"", "acme"}

// workspace makes the following steps act in one of parityWorkspaces.
func (p *parity) workspace(t *rapid.T) {
	i := rapid.IntRange(0, 1).Draw(t, "workspace")
	p.ws = parityWorkspaces[i]
	for _, s := range p.sides {
		s.m = s.ms[i]
	}
}

type parity struct {
	t     *rapid.T
	ctx   context.Context
	sides [2]*paritySide
	now   time.Time
	ids   []lifecycle.BotID // ids the Managers handed out, deleted ones too
	sched []lifecycle.ScheduleID
	ws    lifecycle.Workspace // the steps' workspace
	last  lifecycle.SessionID
	users []string
	steps int
}

var parityStart = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// The users of a parity run: each holds the role its name says, "nobody"
// holds none.
var parityUsers = map[string]roles.Role{"ada": roles.Admin, "mia": roles.Manager, "dan": roles.Designer, "sue": roles.Supervisor, "ann": roles.Analyzer}

// hostile are inputs a store must keep byte for byte or both refuse alike.
var hostile = []string{
	"nul\x00inside",
	"bad\xffutf8",
	"\xc3\x28",
	"\xed\xa0\x80", // a UTF-16 surrogate in UTF-8
	strings.Repeat("long", 80),
	strings.Repeat("\u00e9", 3000),
	"",
	" ",
	"'; DROP TABLE bots; --",
}

func newParity(tt *testing.T, t *rapid.T, reference, candidate func(*testing.T) lifecycle.Store) *parity {
	p := &parity{t: t, ctx: context.Background(), now: parityStart}
	for user := range parityUsers {
		p.users = append(p.users, user)
	}
	sort.Strings(p.users)
	p.users = append(p.users, "nobody", hostile[0], hostile[1])
	for i, f := range []func(*testing.T) lifecycle.Store{reference, candidate} {
		clk := clock.NewMock()
		clk.Set(p.now)
		n := 0
		st := f(tt)
		m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk, NewID: func(lifecycle.Workspace) lifecycle.BotID {
			n++
			return lifecycle.BotID(fmt.Sprintf("bot-%03d", n))
		}, NewScheduleID: func(lifecycle.Workspace) lifecycle.ScheduleID {
			n++
			return lifecycle.ScheduleID(fmt.Sprintf("sched-%03d", n))
		}})
		if err != nil {
			t.Fatal(err)
		}
		acme, err := m.Workspace(parityWorkspaces[1])
		if err != nil {
			t.Fatal(err)
		}
		p.sides[i] = &paritySide{name: [2]string{"reference", "candidate"}[i], st: st, m: m, ms: [2]*lifecycle.Manager{m, acme}, clk: clk}
	}
	for w := range parityWorkspaces {
		for _, user := range p.users[:len(parityUsers)] {
			p.both("bootstrap "+user, func(s *paritySide) (any, error) {
				return s.ms[w].GrantRole(p.ctx, lifecycle.System("bootstrap"), user, parityUsers[user])
			})
		}
	}
	return p
}

func (p *parity) close() {
	for _, s := range p.sides {
		switch c := s.st.(type) {
		case interface{ Close() error }:
			_ = c.Close()
		case interface{ Close() }:
			c.Close()
		}
	}
}

// sentinels are the errors RunParity compares by errors.Is: those of
// lifecycle and of roles (role changes refuse with the latter).
var sentinels = []error{
	lifecycle.ErrNotFound, lifecycle.ErrForbidden, lifecycle.ErrInvalidTransition, lifecycle.ErrNotEditable,
	lifecycle.ErrNotDeletable, lifecycle.ErrSenderOccupied, lifecycle.ErrValidation, lifecycle.ErrWarningsNotAcknowledged,
	lifecycle.ErrConflict, lifecycle.ErrInvalidInput, lifecycle.ErrNoBot, lifecycle.ErrLastAdmin, lifecycle.ErrUnavailable,
	lifecycle.ErrNoRollback, lifecycle.ErrSenderClaimed, lifecycle.ErrTestSessionLimit, lifecycle.ErrSessionOver,
	roles.ErrUnknownRole, roles.ErrUnknownPermission, roles.ErrTwoChatbotRoles, roles.ErrRoleHeld, roles.ErrRoleNotHeld,
	context.Canceled, context.DeadlineExceeded,
}

// kind names the sentinels err wraps: "ok" for nil, "other" for an error
// that wraps none (which fails the run: every error must have one).
func kind(err error) string {
	if err == nil {
		return "ok"
	}
	var names []string
	for _, s := range sentinels {
		if errors.Is(err, s) {
			names = append(names, s.Error())
		}
	}
	if len(names) == 0 {
		return "other"
	}
	return strings.Join(names, "+")
}

// both runs op on each side and requires the same result and the same
// error sentinels. It returns the reference's result and error.
func (p *parity) both(what string, op func(s *paritySide) (any, error)) (any, error) {
	p.t.Helper()
	p.steps++
	var res [2]any
	var errs [2]error
	for i, s := range p.sides {
		res[i], errs[i] = op(s)
	}
	k0, k1 := kind(errs[0]), kind(errs[1])
	if k0 != k1 {
		p.t.Fatalf("%s: the stores disagree:\n  reference: %v\n  candidate: %v", what, errs[0], errs[1])
	}
	for i, k := range []string{k0, k1} {
		if k == "other" {
			p.t.Fatalf("%s: the %s's error wraps no lifecycle sentinel: %v", what, p.sides[i].name, errs[i])
		}
	}
	if errs[0] == nil {
		if diff := cmp.Diff(res[0], res[1]); diff != "" {
			p.t.Fatalf("%s: the stores give different results (-reference +candidate):\n%s", what, diff)
		}
	}
	return res[0], errs[0]
}

// --- what a run draws -----------------------------------------------------

// text is a name, description or similar: plain, or now and then hostile.
func (p *parity) text(label string) string {
	if rapid.IntRange(0, 5).Draw(p.t, label+" hostile?") == 0 {
		return rapid.SampledFrom(hostile).Draw(p.t, label)
	}
	return rapid.SampledFrom([]string{"Support", "Sales", "Ünïcode ✓", "x"}).Draw(p.t, label)
}

// actor is usually likely (the user with the role the operation needs),
// sometimes anyone, including users without roles and with hostile ids.
func (p *parity) actor(likely string) lifecycle.Actor {
	if rapid.IntRange(0, 4).Draw(p.t, "any actor?") == 0 {
		return lifecycle.User(rapid.SampledFrom(p.users).Draw(p.t, "actor"))
	}
	return lifecycle.User(likely)
}

// system is the system actor with a reason, sometimes hostile.
func (p *parity) system() lifecycle.Actor {
	return lifecycle.System(p.text("reason"))
}

func (p *parity) botID() lifecycle.BotID {
	if len(p.ids) == 0 || rapid.IntRange(0, 15).Draw(p.t, "missing bot?") == 0 {
		return lifecycle.BotID(rapid.SampledFrom([]string{"nope", hostile[0], hostile[4]}).Draw(p.t, "missing bot"))
	}
	return rapid.SampledFrom(p.ids).Draw(p.t, "bot")
}

var paritySenders = []string{"1001", "1002", "1003"}

func (p *parity) senders() []lifecycle.Sender {
	picked := rapid.SliceOfNDistinct(rapid.SampledFrom(paritySenders), 0, 2, func(s string) string { return s }).Draw(p.t, "senders")
	out := make([]lifecycle.Sender, len(picked))
	for i, a := range picked {
		out[i] = lifecycle.Sender{Channel: "sms", Address: a}
	}
	if rapid.IntRange(0, 12).Draw(p.t, "hostile sender?") == 0 {
		out = append(out, lifecycle.Sender{Channel: "sms", Address: rapid.SampledFrom(hostile).Draw(p.t, "sender")})
	}
	return out
}

// definition is valid, or has a warning (no fallback), or an error, or is
// hostile text in the reference format (R21, R25).
func (p *parity) definition() lifecycle.Definition {
	d := validate.Definition{Channel: "sms", EntryDialog: "hi", FallbackDialog: "hi", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello"}, {Type: validate.Close}}},
	}}
	switch rapid.IntRange(0, 5).Draw(p.t, "definition") {
	case 0:
		d.FallbackDialog = "" // warning: fallback.missing
	case 1:
		d.EntryDialog = "missing" // an error
	case 2:
		return lifecycle.Definition{Format: validate.ReferenceFormat, Text: p.text("definition text")}
	case 3:
		d.Intents = []validate.Intent{} // empty, not nil: in the text as []
	}
	def, err := lifecycle.ReferenceDefinition(d)
	if err != nil {
		p.t.Fatal(err)
	}
	return def
}

func (p *parity) decision() lifecycle.Decision {
	switch rapid.IntRange(0, 3).Draw(p.t, "decision") {
	case 0:
		return lifecycle.Decision{}
	case 1:
		return lifecycle.Immediate()
	}
	return lifecycle.Grace(p.duration("grace"))
}

var parityDurations = []time.Duration{0, time.Nanosecond, time.Second, time.Minute, 10 * time.Minute, 30 * time.Minute, time.Hour, 25 * time.Hour, -time.Minute}

func (p *parity) duration(label string) time.Duration {
	return rapid.SampledFrom(parityDurations).Draw(p.t, label)
}

func (p *parity) ack() lifecycle.Ack {
	switch rapid.IntRange(0, 2).Draw(p.t, "ack") {
	case 0:
		return lifecycle.Ack{}
	case 1:
		return lifecycle.Ack{Codes: []string{"fallback.missing"}}
	}
	return lifecycle.Ack{Fingerprint: "nope"}
}

// --- the operations ---------------------------------------------------------

func (p *parity) keepBot(res any, err error) {
	if err != nil {
		return
	}
	if b, ok := res.(lifecycle.Bot); ok {
		p.ids = append(p.ids, b.ID)
	}
}

func (p *parity) create(t *rapid.T) {
	a := p.actor("dan")
	c := lifecycle.Create{Name: p.text("name"), Description: p.text("description"), Channel: "sms", Senders: p.senders(), Definition: p.definition()}
	if rapid.Bool().Draw(t, "idle?") {
		c.IdleTimeout = p.duration("idle")
	}
	p.keepBot(p.both("create", func(s *paritySide) (any, error) { return s.m.Create(p.ctx, a, c) }))
}

func (p *parity) update(t *rapid.T) {
	a, id := p.actor("dan"), p.botID()
	u := lifecycle.Update{Bot: id}
	switch rapid.IntRange(0, 3).Draw(t, "field") {
	case 0:
		name := p.text("name")
		u.Name = &name
	case 1:
		d := p.text("description")
		u.Description = &d
	case 2:
		ss := p.senders()
		u.Senders = &ss
	case 3:
		d := p.definition()
		u.Definition = &d
	}
	p.both("update "+string(id), func(s *paritySide) (any, error) { return s.m.Update(p.ctx, a, u) })
}

func (p *parity) duplicate(t *rapid.T) {
	a, id := p.actor("dan"), p.botID()
	name := ""
	if rapid.Bool().Draw(t, "named?") {
		name = p.text("copy name")
	}
	p.keepBot(p.both("duplicate "+string(id), func(s *paritySide) (any, error) { return s.m.Duplicate(p.ctx, a, id, name) }))
}

func (p *parity) exportImport(t *rapid.T) {
	a, id := p.actor("dan"), p.botID()
	doc, err := p.both("export "+string(id), func(s *paritySide) (any, error) { return s.m.Export(p.ctx, a, id) })
	if err != nil || !rapid.Bool().Draw(t, "import?") {
		return
	}
	data, b := doc.([]byte), p.actor("dan")
	p.keepBot(p.both("import", func(s *paritySide) (any, error) { return s.m.Import(p.ctx, b, data) }))
}

func (p *parity) delete(t *rapid.T) {
	a, id := p.actor("dan"), p.botID()
	p.both("delete "+string(id), func(s *paritySide) (any, error) { return nil, s.m.Delete(p.ctx, a, id) })
}

// subset is no senders (all of them), or some senders, maybe not the
// bot's (R22).
func (p *parity) subset() []lifecycle.Sender {
	if rapid.IntRange(0, 2).Draw(p.t, "subset?") > 0 {
		return nil
	}
	return p.senders()
}

func (p *parity) activate(t *rapid.T) {
	a, cmd := p.actor("mia"), p.activation()
	p.both("activate "+string(cmd.Bot), func(s *paritySide) (any, error) { return s.m.Apply(p.ctx, a, cmd) })
}

func (p *parity) activation() lifecycle.Activate {
	return lifecycle.Activate{Bot: p.botID(), Decision: p.decision(), Ack: p.ack(), Senders: p.subset()}
}

func (p *parity) deactivation() lifecycle.Deactivate {
	c := lifecycle.Deactivate{Bot: p.botID(), Senders: p.subset()}
	if rapid.Bool().Draw(p.t, "grace?") {
		c.Grace = p.duration("grace")
	}
	return c
}

// schedule schedules an activation or a deactivation (R23), due soon,
// at once, in the past or too far ahead; ExpireDue runs what is due.
func (p *parity) schedule(t *rapid.T) {
	a := p.actor("mia")
	var cmd lifecycle.Schedulable = p.activation()
	if rapid.Bool().Draw(t, "deactivation?") {
		cmd = p.deactivation()
	}
	in := rapid.SampledFrom(append(parityDurations, 91*24*time.Hour)).Draw(t, "schedule in")
	res, err := p.both(fmt.Sprintf("schedule %T", cmd), func(s *paritySide) (any, error) {
		sc, err := s.m.Schedule(p.ctx, a, p.now.Add(in), cmd)
		return sc, err
	})
	if err == nil {
		p.sched = append(p.sched, res.(lifecycle.Schedule).ID)
	}
}

func (p *parity) cancelSchedule(t *rapid.T) {
	a, id := p.actor("mia"), lifecycle.ScheduleID("nope")
	if len(p.sched) > 0 && rapid.IntRange(0, 8).Draw(t, "missing schedule?") > 0 {
		id = rapid.SampledFrom(p.sched).Draw(t, "schedule")
	}
	p.both("cancel schedule "+string(id), func(s *paritySide) (any, error) { return s.m.CancelSchedule(p.ctx, a, id) })
}

func (p *parity) deactivate(t *rapid.T) {
	a := p.actor("mia")
	if rapid.IntRange(0, 4).Draw(t, "system?") == 0 {
		a = p.system()
	}
	cmd := p.deactivation()
	p.both("deactivate "+string(cmd.Bot), func(s *paritySide) (any, error) { return s.m.Apply(p.ctx, a, cmd) })
}

func (p *parity) endGrace(t *rapid.T) {
	a := p.actor("mia")
	if rapid.IntRange(0, 4).Draw(t, "system?") == 0 {
		a = p.system()
	}
	id := p.botID()
	p.both("end grace "+string(id), func(s *paritySide) (any, error) { return s.m.EndGrace(p.ctx, a, id) })
}

func (p *parity) rollback(t *rapid.T) {
	a, id, dec, ack := p.actor("mia"), p.botID(), p.decision(), p.ack()
	p.both("rollback "+string(id), func(s *paritySide) (any, error) { return s.m.Rollback(p.ctx, a, id, dec, ack) })
}

func (p *parity) route(t *rapid.T) {
	snd := lifecycle.Sender{Channel: "sms", Address: rapid.SampledFrom(paritySenders).Draw(t, "sender")}
	if rapid.IntRange(0, 15).Draw(t, "hostile sender?") == 0 {
		snd.Address = rapid.SampledFrom(hostile).Draw(t, "sender")
	}
	user := rapid.SampledFrom([]string{"+4470001", "+4470002", "+4470003"}).Draw(t, "end user")
	if rapid.IntRange(0, 10).Draw(t, "hostile end user?") == 0 {
		user = rapid.SampledFrom(hostile).Draw(t, "end user")
	}
	res, err := p.both("route "+snd.String()+" "+user, func(s *paritySide) (any, error) { return s.m.Route(p.ctx, snd, user) })
	if err == nil {
		p.last = max(p.last, res.(lifecycle.Session).ID)
	}
}

func (p *parity) closeSession(t *rapid.T) {
	id := lifecycle.SessionID(rapid.Uint64Range(0, uint64(p.last)+1).Draw(t, "session"))
	p.both(fmt.Sprint("close session ", id), func(s *paritySide) (any, error) { return s.m.CloseSession(p.ctx, id) })
}

func (p *parity) roles(t *rapid.T) {
	a := p.actor("ada")
	if rapid.IntRange(0, 3).Draw(t, "system?") == 0 {
		a = p.system()
	}
	user := rapid.SampledFrom(p.users).Draw(t, "user")
	role := rapid.SampledFrom([]roles.Role{roles.Admin, roles.Manager, roles.Designer, roles.Supervisor, roles.Analyzer}).Draw(t, "role")
	if rapid.Bool().Draw(t, "grant?") {
		p.both(fmt.Sprintf("grant %v to %q", role, user), func(s *paritySide) (any, error) { return s.m.GrantRole(p.ctx, a, user, role) })
	} else {
		p.both(fmt.Sprintf("revoke %v from %q", role, user), func(s *paritySide) (any, error) { return s.m.RevokeRole(p.ctx, a, user, role) })
	}
}

// plan is a dry run (R17) of an activation, deactivation or rollback.
func (p *parity) plan(t *rapid.T) {
	a, id := p.actor("mia"), p.botID()
	var cmd lifecycle.Command
	switch rapid.IntRange(0, 2).Draw(t, "command") {
	case 0:
		c := p.activation()
		c.Bot = id
		cmd = c
	case 1:
		c := p.deactivation()
		c.Bot = id
		cmd = c
	case 2:
		cmd = lifecycle.Rollback{Bot: id, Decision: p.decision(), Ack: p.ack()}
	}
	p.both(fmt.Sprintf("plan %T %s", cmd, id), func(s *paritySide) (any, error) { return s.m.Plan(p.ctx, a, cmd) })
}

// clock moves both clocks to the same instant: forward by a step that may
// land on a grace or idle deadline exactly, or backward.
func (p *parity) clock(t *rapid.T) {
	d := p.duration("clock step")
	if rapid.IntRange(0, 5).Draw(t, "backward?") == 0 {
		d = -d
	}
	p.now = p.now.Add(d)
	for _, s := range p.sides {
		s.clk.Set(p.now)
	}
}

func (p *parity) expire(t *rapid.T) {
	p.both("expire due", func(s *paritySide) (any, error) { return s.m.ExpireDue(p.ctx) })
}

// expireConcurrently runs two ExpireDue at once on each side. Which call
// settles what is a race, so the step compares what the two settled
// together; the stores' contents are compared after it as after any step.
// With two drains due their audit entries could land in either order, so
// then it runs one ExpireDue instead.
func (p *parity) expireConcurrently(t *rapid.T) {
	due, err := dueDrains(p.ctx, p.sides[0].st, p.ws, p.now, 2)
	if err != nil {
		t.Fatal(err)
	}
	scheds, err := dueSchedules(p.ctx, p.sides[0].st, p.ws, p.now, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(due) > 1 || len(scheds) > 0 { // schedules run in order: one ExpireDue
		p.expire(t)
		return
	}
	p.both("two ExpireDue at once", func(s *paritySide) (any, error) {
		var out [2]lifecycle.Expiry
		var errs [2]error
		var wg sync.WaitGroup
		for i := range out {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out[i], errs[i] = s.m.ExpireDue(p.ctx)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs[:]...); err != nil {
			return nil, err
		}
		var sum lifecycle.Expiry
		for _, x := range out {
			sum.DrainsEnded = append(sum.DrainsEnded, x.DrainsEnded...)
			sum.Failed = append(sum.Failed, x.Failed...)
			sum.SessionsClosed += x.SessionsClosed
		}
		sort.Slice(sum.DrainsEnded, func(i, j int) bool { return sum.DrainsEnded[i] < sum.DrainsEnded[j] })
		sort.Slice(sum.Failed, func(i, j int) bool { return sum.Failed[i] < sum.Failed[j] })
		return sum, nil
	})
}

// --- after every step -------------------------------------------------------

// contents is everything a store holds, as recorded, and the analytics a
// Manager derives from it.
type parityContents struct {
	Bots      []lifecycle.Bot
	Roles     []roleAssignment
	Audit     []lifecycle.AuditEntry
	Sessions  []lifecycle.Session
	Stats     []lifecycle.SessionStats
	Schedules []lifecycle.Schedule
	Analytics lifecycle.Analytics
	// AnalyticsErr is the kind of the error Analytics returned: "ok", or
	// the sentinel (ann, the Analyzer, may have lost her role).
	AnalyticsErr string
}

func (p *parity) contents(s *paritySide, w int) (parityContents, error) {
	var c parityContents
	var err error
	ws := parityWorkspaces[w]
	if c.Bots, err = s.st.Bots(p.ctx, ws, "", 1<<30); err != nil {
		return c, err
	}
	if c.Roles, err = rolesOf(p.ctx, s.st, ws, p.roleUsers()); err != nil {
		return c, err
	}
	if c.Audit, err = s.st.AuditLog(p.ctx, ws, 0, 1<<30); err != nil {
		return c, err
	}
	if c.Sessions, err = s.st.Sessions(p.ctx, ws, 0, 1<<30); err != nil {
		return c, err
	}
	if c.Stats, err = s.st.SessionStats(p.ctx, ws); err != nil {
		return c, err
	}
	if c.Schedules, err = s.st.Schedules(p.ctx, ws, 0, 1<<30); err != nil {
		return c, err
	}
	// A store may answer "none" with a nil or an empty list; inside the
	// values, nil and empty must match.
	c.Bots, c.Roles, c.Audit, c.Sessions, c.Stats = nonNil(c.Bots), nonNil(c.Roles), nonNil(c.Audit), nonNil(c.Sessions), nonNil(c.Stats)
	c.Schedules = nonNil(c.Schedules)
	c.Analytics, err = s.ms[w].Analytics(p.ctx, lifecycle.User("ann"))
	c.AnalyticsErr = kind(err)
	if errors.Is(err, lifecycle.ErrForbidden) {
		err = nil
	}
	return c, err
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

func (p *parity) compare(t *rapid.T) {
	var cs [2][len(parityWorkspaces)]parityContents
	for i, s := range p.sides {
		for w := range parityWorkspaces {
			var err error
			if cs[i][w], err = p.contents(s, w); err != nil {
				t.Fatalf("reading the %s store: %v", s.name, err)
			}
		}
	}
	if diff := cmp.Diff(cs[0], cs[1], cmpEmptyMaps); diff != "" {
		t.Fatalf("after %d steps the stores hold different things (-reference +candidate):\n%s", p.steps, diff)
	}
}

// roleUsers are the users a parity run grants roles to: every one it names.
func (p *parity) roleUsers() map[string]bool {
	users := make(map[string]bool, len(p.users))
	for _, u := range p.users {
		users[u] = true
	}
	return users
}
