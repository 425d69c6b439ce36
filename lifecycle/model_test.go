package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/google/go-cmp/cmp"
	"pgregory.net/rapid"
)

// The model-based test runs random sequences of operations by random actors
// against the Manager and against a tiny reference model written straight
// from rules.md, and after every step checks R1, R2 (per sender, R22), R3
// and R12, every bot's state on each sender, that a refused operation
// changed nothing, that audit sequence numbers strictly
// increase, and that every bot's state equals the model's. Test sessions
// (R26) are opened, used, closed, edited away and swept among them: each
// must read as the model has it, and a twin Manager that runs every other
// operation without them must show the same bots on every sender, route
// every message alike and report the same analytics and sessions.
//
// The default run is short. A long campaign:
//
//	go test ./lifecycle -run TestModel -v -rapid.checks=3000

var modelOps atomic.Int64

// rollbacksMet counts rollbacks of an Active bot with a target,
// rollbacksChanged those whose target's content changed (R20), and
// rollbacksDropped those whose target no longer names the senders: how far
// the sequences reach.
var rollbacksMet, rollbacksChanged, rollbacksDropped atomic.Int64

type mBot struct {
	state   lifecycle.State
	senders map[string]bool
	// on is the bot's state per sender it is live on (R22): Active, or
	// Deactivated until deadline.
	on            map[string]mOn
	everActive    bool
	deactivatedAt time.Time // when it last left Active
	// leftAt is, per sender, when it last left Active there (R20, R22);
	// activeOn the senders it was Active on at the last derive.
	leftAt   map[string]time.Time
	activeOn map[string]bool
	warns    bool // its definition has a warning (the model's two definitions)
	// wasSenders and wasWarns are its content when it was last Active (R20).
	wasSenders map[string]bool
	wasWarns   bool
}

// changed reports whether the bot's content - definition and senders -
// differs from when it was last Active (R20); a rename is no change.
func (b *mBot) changed() bool {
	return b.everActive && (b.warns != b.wasWarns || !maps.Equal(b.senders, b.wasSenders))
}

type mOn struct {
	state    lifecycle.State
	deadline time.Time
}

type model struct {
	bots  map[lifecycle.BotID]*mBot
	roles map[string]roles.Set
}

// settle applies R9: drains past their deadline are over.
func (md *model) settle(now time.Time) {
	for _, b := range md.bots {
		for s, o := range b.on {
			if o.state == lifecycle.Deactivated && !now.Before(o.deadline) {
				delete(b.on, s)
			}
		}
		b.derive(now)
	}
}

// derive sets the bot's state from its senders' (R22); now is when it
// leaves Active, if it does.
func (b *mBot) derive(now time.Time) {
	st := lifecycle.Inactive
	for _, o := range b.on {
		if o.state == lifecycle.Active {
			st = lifecycle.Active
			break
		}
		st = lifecycle.Deactivated
	}
	b.noteLeft(now)
	if len(b.on) == 0 && !b.state.Live() {
		return // Draft or Inactive stays
	}
	if b.state == lifecycle.Active && st != lifecycle.Active {
		b.deactivatedAt = now
	}
	b.state = st
}

// noteLeft records when the bot left Active on each sender it was Active
// on at the last derive and is not now; a sender it is Active on again
// forgets it.
func (b *mBot) noteLeft(now time.Time) {
	if b.leftAt == nil {
		b.leftAt, b.activeOn = map[string]time.Time{}, map[string]bool{}
	}
	for s := range b.activeOn {
		if b.on[s].state != lifecycle.Active {
			b.leftAt[s] = now
			delete(b.activeOn, s)
		}
	}
	for s, o := range b.on {
		if o.state == lifecycle.Active {
			b.activeOn[s] = true
			delete(b.leftAt, s)
		}
	}
}

// lastLeft returns when the bot last left Active on any of senders, those
// it was edited since to drop included: what a rollback's target is chosen
// by (R20); zero if never.
func (b *mBot) lastLeft(senders []string) time.Time {
	var at time.Time
	for _, s := range senders {
		if t := b.leftAt[s]; t.After(at) {
			at = t
		}
	}
	return at
}

// in returns the senders the bot is in state st on.
func (b *mBot) in(st lifecycle.State) []string {
	var out []string
	for s, o := range b.on {
		if o.state == st {
			out = append(out, s)
		}
	}
	return out
}

// off takes b off every sender (R5 immediate, R8).
func (b *mBot) off(now time.Time) {
	clear(b.on)
	b.derive(now)
}

// rollbackTarget readies b to go Active again on senders on as a
// rollback's target (R20): if it only drains it ends every drain (S1);
// if it is Active elsewhere it ends its drains on on (R22).
func (b *mBot) rollbackTarget(on []string, now time.Time) {
	if b.state != lifecycle.Active {
		b.off(now)
		return
	}
	for _, s := range on {
		if b.on[s].state == lifecycle.Deactivated {
			delete(b.on, s)
		}
	}
	b.derive(now)
}

// endDrains ends b's drains (R6).
func (b *mBot) endDrains(now time.Time) {
	for _, s := range b.in(lifecycle.Deactivated) {
		delete(b.on, s)
	}
	b.derive(now)
}

// liveOn returns the bots other than id in state st on any of senders.
func (md *model) liveOn(id lifecycle.BotID, senders []string, st lifecycle.State) []*mBot {
	var out []*mBot
	for oid, o := range md.bots {
		if oid == id {
			continue
		}
		for _, s := range senders {
			if o.on[s].state == st {
				out = append(out, o)
				break
			}
		}
	}
	return out
}

// own returns those of senders that are b's.
func (b *mBot) own(senders []string) []string {
	var out []string
	for _, s := range senders {
		if b.senders[s] {
			out = append(out, s)
		}
	}
	return out
}

// lastOwn returns the senders of held that target names and was the bot
// Active last on before cur (R20): it left Active there, and no other bot
// left later (ties: the smaller id).
func (md *model) lastOwn(target, cur lifecycle.BotID, held []string) []string {
	t := md.bots[target]
	var out []string
	for _, s := range t.own(held) {
		at := t.leftAt[s]
		if at.IsZero() {
			continue
		}
		later := false
		for oid, o := range md.bots {
			if oid == target || oid == cur {
				continue
			}
			if oa := o.leftAt[s]; !oa.IsZero() && (oa.After(at) || (oa.Equal(at) && oid < target)) {
				later = true
			}
		}
		if !later {
			out = append(out, s)
		}
	}
	return out
}

func (md *model) can(actor string, p roles.Permission) bool {
	return roles.Default().Can(md.roles[actor], p)
}

type modelRun struct {
	t   *rapid.T
	ctx context.Context
	clk *clock.Mock
	st  *store.Memory
	m   *lifecycle.Manager
	// twin runs every operation but the test sessions' (R26) on a store
	// of its own: bots, routing and live figures must be the same on both.
	twin  *lifecycle.Manager
	tst   *store.Memory
	tests []*mTest // every test session opened, in order
	md    *model
	ids   []lifecycle.BotID // every id ever created, deleted ones too
	users []string
	seq   uint64
}

var modelSenders = []string{"1001", "1002", "1003"}

// modelWorkspace is the workspace the model's Manager acts in (R27). Its
// store also holds another workspace, set up with the same bot ids and
// users and live bots with sessions on senders of its own: nothing the
// model checks may see or feel it.
const modelWorkspace lifecycle.Workspace = "acme"

// neighbour fills workspace "neighbour" of st through base: bots with
// the ids the model's Manager will hand out, live on senders of its own,
// with open sessions, and the model's users with other roles.
func neighbour(t *rapid.T, base *lifecycle.Manager) {
	ctx := context.Background()
	m, err := base.Workspace("neighbour")
	if err != nil {
		t.Fatal(err)
	}
	for _, user := range []string{"ada", "mia", "dan", "sue", "eve"} {
		if _, err := m.GrantRole(ctx, lifecycle.System("setup"), user, roles.Manager); err != nil {
			t.Fatal(err)
		}
	}
	for i, addr := range []string{"2001", "2002", "2003"} {
		b, err := m.Create(ctx, lifecycle.User("mia"), lifecycle.Create{ID: lifecycle.BotID(fmt.Sprintf("b%03d", i+1)), Name: "neighbour", Channel: "sms", Senders: []lifecycle.Sender{sms(addr)}, Definition: cleanDef()})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Activate(ctx, lifecycle.User("mia"), b.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Route(ctx, sms(addr), "u1"); err != nil {
			t.Fatal(err)
		}
	}
}

func newModelRun(t *rapid.T) *modelRun {
	r := &modelRun{t: t, ctx: context.Background(), clk: clock.NewMock(), st: store.NewMemory(), tst: store.NewMemory(),
		md: &model{bots: map[lifecycle.BotID]*mBot{}, roles: map[string]roles.Set{}}}
	r.clk.Set(start)
	manager := func(st *store.Memory) *lifecycle.Manager {
		n := 0
		m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: r.clk, Policy: lifecycle.Policy{MaxTestSessions: modelMaxTests},
			NewID: func(lifecycle.Workspace) lifecycle.BotID {
				n++
				return lifecycle.BotID(fmt.Sprintf("b%03d", n))
			}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	base := manager(r.st)
	neighbour(t, base)
	acme, err := base.Workspace(modelWorkspace)
	if err != nil {
		t.Fatal(err)
	}
	r.m, r.twin = acme, manager(r.tst)
	r.users = []string{"ada", "mia", "dan", "sue", "eve"}
	for _, user := range []string{"ada", "mia", "dan", "sue"} { // in order: the same audit on every run
		role := map[string]roles.Role{"ada": roles.Admin, "mia": roles.Manager, "dan": roles.Designer, "sue": roles.Supervisor}[user]
		for _, m := range []*lifecycle.Manager{r.m, r.twin} {
			if _, err := m.GrantRole(r.ctx, lifecycle.System("setup"), user, role); err != nil {
				t.Fatal(err)
			}
		}
		r.md.roles[user] = roles.MustSet(role)
	}
	for _, m := range []*lifecycle.Manager{r.m, r.twin} {
		if _, err := m.GrantRole(r.ctx, lifecycle.System("setup"), viewer.ID, roles.Manager); err != nil {
			t.Fatal(err)
		}
	}
	r.seq = uint64(len(r.md.roles)) + 1
	return r
}

// actor returns usually the user whose role the operation needs, so that
// sequences go deep, and now and then anyone, so that refusals are tried.
func (r *modelRun) actor(likely string) lifecycle.Actor {
	if rapid.IntRange(0, 3).Draw(r.t, "any actor") == 0 {
		return lifecycle.User(rapid.SampledFrom(r.users).Draw(r.t, "actor"))
	}
	return lifecycle.User(likely)
}

func (r *modelRun) botID() lifecycle.BotID {
	if len(r.ids) == 0 || rapid.IntRange(0, 20).Draw(r.t, "missing") == 0 {
		return "nope"
	}
	return rapid.SampledFrom(r.ids).Draw(r.t, "bot")
}

func (r *modelRun) senders() []lifecycle.Sender {
	min := 1
	if rapid.IntRange(0, 9).Draw(r.t, "no senders") == 0 {
		min = 0
	}
	picked := rapid.SliceOfNDistinct(rapid.SampledFrom(modelSenders), min, 3, func(s string) string { return s }).Draw(r.t, "senders")
	out := make([]lifecycle.Sender, len(picked))
	for i, a := range picked {
		out[i] = sms(a)
	}
	return out
}

func senderSet(ss []lifecycle.Sender) map[string]bool {
	out := map[string]bool{}
	for _, s := range ss {
		out[s.Address] = true
	}
	return out
}

// step runs op as stepOne does - want says whether the model allows it -
// on the Manager and on the twin, which must do the same.
func (r *modelRun) step(name string, want bool, op func(m *lifecycle.Manager) error) bool {
	return r.stepOne(name, want, func() error {
		err := op(r.m)
		r.mirror(name, err, func() error { return op(r.twin) })
		return err
	})
}

func (r *modelRun) dumpNoAudit() dump {
	bots, _ := r.st.Bots(r.ctx, modelWorkspace, "", 1<<20)
	rs := r.roleAssignments()
	ss, _ := r.st.SessionStats(r.ctx, modelWorkspace)
	return dump{Bots: bots, Roles: rs, Sessions: ss}
}

func (r *modelRun) create(t *rapid.T) {
	a, ss := r.actor("dan"), r.senders()
	warn := rapid.Bool().Draw(t, "warn")
	def := cleanDef()
	if warn {
		def = warnDef()
	}
	var b lifecycle.Bot
	if r.step("create", r.md.can(a.ID, roles.EditChatbots), func(m *lifecycle.Manager) (err error) {
		b, err = m.Create(r.ctx, a, lifecycle.Create{Name: "bot", Channel: "sms", Senders: ss, Definition: def})
		return err
	}) {
		r.ids = append(r.ids, b.ID)
		r.md.bots[b.ID] = &mBot{state: lifecycle.Draft, senders: senderSet(ss), on: map[string]mOn{}, warns: warn}
	}
}

func (r *modelRun) copyBot(t *rapid.T) {
	a, id := r.actor("dan"), r.botID()
	viaExport := rapid.Bool().Draw(t, "export")
	src, exists := r.md.bots[id]
	var b lifecycle.Bot
	if r.step("duplicate", r.md.can(a.ID, roles.EditChatbots) && exists, func(m *lifecycle.Manager) error {
		if !viaExport {
			var err error
			b, err = m.Duplicate(r.ctx, a, id, "")
			return err
		}
		doc, err := m.Export(r.ctx, a, id)
		if err != nil {
			return err
		}
		b, err = m.Import(r.ctx, a, doc)
		return err
	}) {
		r.ids = append(r.ids, b.ID)
		r.md.bots[b.ID] = &mBot{state: lifecycle.Draft, senders: src.senders, on: map[string]mOn{}, warns: src.warns}
	}
}

// update edits a bot's senders, its definition (one of two) or its name:
// edits that restore its content, and renames, leave it unchanged (R20).
func (r *modelRun) update(t *rapid.T) {
	a, id := r.actor("dan"), r.botIn(t, lifecycle.Draft, lifecycle.Inactive)
	u := lifecycle.Update{Bot: id}
	var ss []lifecycle.Sender
	warn := false
	what := rapid.SampledFrom([]string{"senders", "definition", "name"}).Draw(t, "edit")
	switch what {
	case "senders":
		ss = r.senders()
		u.Senders = &ss
	case "definition":
		warn = rapid.Bool().Draw(t, "warn")
		def := cleanDef()
		if warn {
			def = warnDef()
		}
		u.Definition = &def
	default:
		u.Name = ptr(rapid.SampledFrom([]string{"bot", "renamed"}).Draw(t, "name"))
	}
	b, exists := r.md.bots[id]
	ok := r.md.can(a.ID, roles.EditChatbots) && exists && (b.state == lifecycle.Draft || b.state == lifecycle.Inactive)
	if r.step("update", ok, func(m *lifecycle.Manager) error {
		_, err := m.Update(r.ctx, a, u)
		return err
	}) {
		switch what {
		case "senders":
			b.senders = senderSet(ss)
		case "definition":
			b.warns = warn
		}
		r.contentChanged(id, b) // R26: its test sessions on other content are over
	}
}

func (r *modelRun) delete(t *rapid.T) {
	a, id := r.actor("dan"), r.botID()
	b, exists := r.md.bots[id]
	ok := r.md.can(a.ID, roles.EditChatbots) && exists && b.state == lifecycle.Draft && !b.everActive
	if r.step("delete", ok, func(m *lifecycle.Manager) error { return m.Delete(r.ctx, a, id) }) {
		delete(r.md.bots, id)
		r.botDeleted(id)
	}
}

func (r *modelRun) decision(t *rapid.T) lifecycle.Decision {
	switch rapid.IntRange(0, 3).Draw(t, "decision") {
	case 0:
		return lifecycle.Decision{}
	case 1:
		return lifecycle.Immediate()
	case 2:
		return lifecycle.Grace(time.Duration(rapid.IntRange(1, 60).Draw(t, "grace minutes")) * time.Minute)
	}
	return lifecycle.Grace(-time.Minute) // always refused
}

// subset is nil (the default senders) or, now and then, some senders,
// maybe not the bot's own (R22).
func (r *modelRun) subset(t *rapid.T) []string {
	if rapid.Bool().Draw(t, "subset?") {
		return nil
	}
	return rapid.SliceOfNDistinct(rapid.SampledFrom(modelSenders), 1, 2, func(s string) string { return s }).Draw(t, "subset")
}

func smsAll(addrs []string) []lifecycle.Sender {
	var out []lifecycle.Sender
	for _, a := range addrs {
		out = append(out, sms(a))
	}
	return out
}

// targets are the senders an operation on b takes: the named ones, each
// b's own and in state want there, or by default every own sender in
// state want; ok is false when a named sender does not fit.
func targets(b *mBot, named []string, want lifecycle.State) ([]string, bool) {
	stateOn := func(s string) lifecycle.State {
		if o, ok := b.on[s]; ok {
			return o.state
		}
		return lifecycle.Inactive
	}
	if len(named) == 0 {
		var out []string
		for s := range b.senders {
			if stateOn(s) == want {
				out = append(out, s)
			}
		}
		return out, true
	}
	for _, s := range named {
		if !b.senders[s] || stateOn(s) != want {
			return nil, false
		}
	}
	return named, true
}

// modelActivate applies R4-R6 and R22 to the model and reports whether
// the activation is allowed.
func (r *modelRun) modelActivate(id lifecycle.BotID, dec lifecycle.Decision, acked bool, named []string, now time.Time, apply bool) bool {
	grace, isGrace := dec.GracePeriod()
	b, exists := r.md.bots[id]
	if !exists {
		return false
	}
	ts, ok := targets(b, named, lifecycle.Inactive)
	if !ok && len(named) > 0 {
		// A named sender where b drains is free for it once the bot Active
		// there is replaced with Grace: that bot's drain is the newest, and
		// b's drain there ends (R6, R22). With Immediate b still drains
		// there, and the activation is refused.
		ts, ok = named, true
		for _, s := range named {
			if !b.senders[s] || (b.on[s].state == lifecycle.Active) ||
				(b.on[s].state == lifecycle.Deactivated && (!isGrace || len(r.md.liveOn(id, []string{s}, lifecycle.Active)) == 0)) {
				ok = false
			}
		}
	}
	if !ok || ((b.state != lifecycle.Active || len(ts) == 0) && b.state != lifecycle.Draft && b.state != lifecycle.Inactive) || len(b.senders) == 0 {
		return false
	}
	if (b.warns && !acked) || (isGrace && grace <= 0) {
		return false
	}
	occupants := r.md.liveOn(id, ts, lifecycle.Active)
	if len(occupants) > 0 && dec.IsZero() {
		return false
	}
	if !apply {
		return true
	}
	for _, o := range occupants {
		if !isGrace {
			o.off(now)
			continue
		}
		active := o.in(lifecycle.Active)
		for _, x := range r.md.liveOn(r.idOf(o), active, lifecycle.Deactivated) {
			for _, s := range active { // R6 per sender: the newest drain wins there
				if x.on[s].state == lifecycle.Deactivated {
					delete(x.on, s)
				}
			}
			x.derive(now)
		}
		for _, s := range active {
			o.on[s] = mOn{state: lifecycle.Deactivated, deadline: now.Add(grace)}
		}
		o.derive(now)
	}
	for _, s := range ts {
		b.on[s] = mOn{state: lifecycle.Active}
	}
	if b.state != lifecycle.Active { // R20: its content as it goes Active
		b.wasSenders, b.wasWarns = maps.Clone(b.senders), b.warns
	}
	b.everActive = true
	b.derive(now)
	return true
}

func (r *modelRun) idOf(b *mBot) lifecycle.BotID {
	for id, x := range r.md.bots {
		if x == b {
			return id
		}
	}
	return ""
}

func (r *modelRun) activate(t *rapid.T) {
	a, id, dec, acked, named := r.actor("mia"), r.botID(), r.decision(t), rapid.Bool().Draw(t, "ack"), r.subset(t)
	ack := lifecycle.Ack{}
	if acked {
		ack.Codes = []string{"fallback.missing"}
	}
	now := r.clk.Now()
	ok := r.md.can(a.ID, roles.ActivateChatbots) && r.modelActivate(id, dec, acked, named, now, false)
	if r.step("activate", ok, func(m *lifecycle.Manager) error {
		_, err := m.Apply(r.ctx, a, lifecycle.Activate{Bot: id, Decision: dec, Ack: ack, Senders: smsAll(named)})
		return err
	}) {
		r.modelActivate(id, dec, acked, named, now, true)
	}
}

func (r *modelRun) deactivate(t *rapid.T) {
	a, id, named := r.actor("mia"), r.botID(), r.subset(t)
	grace := time.Duration(rapid.IntRange(-1, 30).Draw(t, "grace minutes")) * time.Minute
	b, exists := r.md.bots[id]
	var ts []string
	ok := r.md.can(a.ID, roles.ActivateChatbots) && exists && b.state == lifecycle.Active && grace >= 0
	if ok {
		ts, ok = targets(b, named, lifecycle.Active)
	}
	if r.step("deactivate", ok, func(m *lifecycle.Manager) error {
		_, err := m.Apply(r.ctx, a, lifecycle.Deactivate{Bot: id, Grace: grace, Senders: smsAll(named)})
		return err
	}) {
		now := r.clk.Now()
		for _, st := range []lifecycle.State{lifecycle.Active, lifecycle.Deactivated} {
			for _, x := range r.md.liveOn(id, ts, st) { // R8, on the named senders only (R22)
				x.off(now)
			}
		}
		for _, s := range ts {
			if grace == 0 {
				delete(b.on, s)
			} else {
				b.on[s] = mOn{state: lifecycle.Deactivated, deadline: now.Add(grace)}
			}
		}
		b.derive(now)
	}
}

func (r *modelRun) endGrace(t *rapid.T) {
	a, id := r.actor("mia"), r.botID()
	b, exists := r.md.bots[id]
	ok := r.md.can(a.ID, roles.ActivateChatbots) && exists && len(b.in(lifecycle.Deactivated)) > 0
	if r.step("end grace", ok, func(m *lifecycle.Manager) error { _, err := m.EndGrace(r.ctx, a, id); return err }) {
		b.endDrains(r.clk.Now())
	}
}

// botIn is usually a bot in one of states, so that rollbacks meet their
// targets and edits the bots they return to, and now and then any id.
func (r *modelRun) botIn(t *rapid.T, states ...lifecycle.State) lifecycle.BotID {
	var in []lifecycle.BotID
	for _, id := range r.ids {
		if b, ok := r.md.bots[id]; ok && slices.Contains(states, b.state) {
			in = append(in, id)
		}
	}
	if len(in) == 0 || rapid.IntRange(0, 3).Draw(t, "any bot") == 0 {
		return r.botID()
	}
	return rapid.SampledFrom(in).Draw(t, "bot in state")
}

func (r *modelRun) rollback(t *rapid.T) {
	a, id, dec := r.actor("mia"), r.botIn(t, lifecycle.Active), r.decision(t)
	cur, exists := r.md.bots[id]
	var target lifecycle.BotID
	var held []string // where cur is Active: all a rollback acts on (R20, R22)
	if exists && cur.state == lifecycle.Active {
		held = cur.in(lifecycle.Active)
		var best time.Time
		for oid, o := range r.md.bots {
			// Where it left Active among cur's senders; a bot still Active
			// on others counts too (R22).
			left := o.lastLeft(held)
			if oid == id || left.IsZero() || o.state == lifecycle.Draft {
				continue
			}
			if left.After(best) || (left.Equal(best) && oid < target) {
				best, target = left, oid
			}
		}
	}
	now := r.clk.Now()
	ok := false
	var on []string // where the target goes Active again: those of held it has
	if target != "" {
		rollbacksMet.Add(1)
		if r.md.bots[target].changed() {
			rollbacksChanged.Add(1)
		}
		if len(r.md.bots[target].own(held)) == 0 {
			rollbacksDropped.Add(1)
		}
	}
	if target != "" {
		on = r.md.lastOwn(target, id, held)
	}
	if t := r.md.bots[target]; r.md.can(a.ID, roles.ActivateChatbots) && target != "" && !t.changed() && len(on) > 0 {
		// A predecessor that only drains ends its drains first; one
		// Active elsewhere ends its drains where it goes back (R22). Try
		// it on a copy.
		saved := *t
		saved.on, saved.leftAt, saved.activeOn = maps.Clone(t.on), maps.Clone(t.leftAt), maps.Clone(t.activeOn)
		t.rollbackTarget(on, now)
		ok = r.modelActivate(target, dec, true, on, now, false)
		*t = saved
	}
	if r.step("rollback", ok, func(m *lifecycle.Manager) error {
		_, err := m.Rollback(r.ctx, a, id, dec, lifecycle.Ack{Codes: []string{"fallback.missing"}})
		return err
	}) {
		r.md.bots[target].rollbackTarget(on, now)
		r.modelActivate(target, dec, true, on, now, true)
	}
}

func (r *modelRun) grant(t *rapid.T) {
	a := r.actor("ada")
	user := rapid.SampledFrom(r.users).Draw(t, "user")
	role := rapid.SampledFrom(roles.AllRoles[:]).Draw(t, "role")
	revoke := rapid.Bool().Draw(t, "revoke")
	cur := r.md.roles[user]
	admins := 0
	for _, rs := range r.md.roles {
		if rs.IsAdmin() {
			admins++
		}
	}
	var ok bool
	var next roles.Set
	if revoke {
		ok = cur.Has(role) && !(role == roles.Admin && admins <= 1)
		next = roles.MustSet(without(cur.Roles(), role)...)
	} else {
		ok = !cur.Has(role)
		rs := cur.Roles()
		if role.IsChatbotRole() {
			rs = without(rs, cur.ChatbotRole())
		}
		next = roles.MustSet(append(rs, role)...)
	}
	ok = ok && r.md.can(a.ID, roles.ManageRoles)
	if r.step("role change", ok, func(m *lifecycle.Manager) error {
		var err error
		if revoke {
			_, err = m.RevokeRole(r.ctx, a, user, role)
		} else {
			_, err = m.GrantRole(r.ctx, a, user, role)
		}
		return err
	}) {
		r.md.roles[user] = next
	}
}

func without(rs []roles.Role, drop roles.Role) []roles.Role {
	var out []roles.Role
	for _, r := range rs {
		if r != drop {
			out = append(out, r)
		}
	}
	return out
}

func (r *modelRun) route(t *rapid.T) {
	modelOps.Add(1)
	addr := rapid.SampledFrom(modelSenders).Draw(t, "sender")
	user := rapid.SampledFrom([]string{"u1", "u2", "u3"}).Draw(t, "end user")
	s, err := r.m.Route(r.ctx, sms(addr), user)
	ts, terr := r.twin.Route(r.ctx, sms(addr), user)
	r.mirror("route", err, func() error { return terr })
	if err == nil && !sameSession(s, ts) { // R26: test sessions never change where a message goes
		t.Fatalf("R26: a message on %s went to %+v, on the twin without test sessions to %+v", addr, s, ts)
	}
	var active lifecycle.BotID
	for id, b := range r.md.bots {
		if b.on[addr].state == lifecycle.Active {
			active = id
		}
	}
	switch {
	case errors.Is(err, lifecycle.ErrNoBot):
		if active != "" {
			t.Fatalf("R10: no bot on %s, but the model has %s Active", addr, active)
		}
	case err != nil:
		t.Fatal(err)
	case s.Messages == 1 && s.Bot != active:
		t.Fatalf("R10: a new session on %s went to %s, the model's Active bot is %q", addr, s.Bot, active)
	default:
		b := r.md.bots[s.Bot]
		if b == nil || !b.on[addr].state.Live() {
			t.Fatalf("R10: an existing session on %s went to %s, which does not serve it", addr, s.Bot)
		}
	}
}

// closeSession closes the k-th end user's session, or an id no session
// has, on both Managers; now and then the id of a test session, which
// is no end user's (R26).
func (r *modelRun) closeSession(t *rapid.T) {
	modelOps.Add(1)
	k := rapid.IntRange(0, 29).Draw(t, "session")
	if len(r.tests) > 0 && rapid.IntRange(0, 5).Draw(t, "a test session's id") == 0 {
		id := r.tests[rapid.IntRange(0, len(r.tests)-1).Draw(t, "test session")].session
		if _, err := r.m.CloseSession(r.ctx, id); !errors.Is(err, lifecycle.ErrNotFound) {
			t.Fatalf("R26: CloseSession of test session %d: %v, want ErrNotFound", id, err)
		}
		return
	}
	var errs [2]error
	for i, st := range []*store.Memory{r.st, r.tst} {
		id := lifecycle.SessionID(1 << 40) // none
		if ss := endUserSessions(t, r.ctx, st, []lifecycle.Workspace{modelWorkspace, ""}[i]); k < len(ss) {
			id = ss[k].ID
		}
		m := []*lifecycle.Manager{r.m, r.twin}[i]
		if _, errs[i] = m.CloseSession(r.ctx, id); errs[i] != nil && !errors.Is(errs[i], lifecycle.ErrNotFound) {
			t.Fatal(errs[i])
		}
	}
	r.mirror("close session", errs[0], func() error { return errs[1] })
}

func (r *modelRun) advance(t *rapid.T) {
	r.clk.Add(time.Duration(rapid.IntRange(1, 40).Draw(t, "minutes")) * time.Minute)
	r.md.settle(r.clk.Now())
}

func (r *modelRun) expire(t *rapid.T) {
	modelOps.Add(1)
	if _, err := r.m.ExpireDue(r.ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.twin.ExpireDue(r.ctx); err != nil {
		t.Fatal(err)
	}
	now := r.clk.Now()
	for _, x := range r.tests { // the sweep records every test session over
		x.record(now)
	}
}

// check runs after every step.
func (r *modelRun) check(t *rapid.T) {
	now := r.clk.Now()
	r.md.settle(now)
	stored, err := r.st.Bots(r.ctx, modelWorkspace, "", 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != len(r.md.bots) {
		t.Fatalf("R12: store has %d bots, the model %d", len(stored), len(r.md.bots))
	}
	active, draining := map[lifecycle.Sender]int{}, map[lifecycle.Sender]int{}
	for _, b := range stored {
		mb, ok := r.md.bots[b.ID]
		if !ok {
			t.Fatalf("bot %s exists but not in the model", b.ID)
		}
		if got := lifecycle.AsOf(b, now).State; got != mb.state {
			t.Fatalf("bot %s is %v, the model says %v", b.ID, got, mb.state)
		}
		asOf := lifecycle.AsOf(b, now)
		on := map[string]mOn{}
		for _, e := range asOf.Live {
			on[e.Sender.Address] = mOn{state: e.State, deadline: e.GraceDeadline}
		}
		if !reflect.DeepEqual(mb.on, on) { // cmp decides and explains a difference
			if diff := cmp.Diff(mb.on, on, cmp.AllowUnexported(mOn{})); diff != "" {
				t.Fatalf("R22: bot %s per sender differs from the model (-model +store):\n%s", b.ID, diff)
			}
		}
		for _, e := range b.Live { // stored states: what the store guarantees
			switch e.State {
			case lifecycle.Active:
				active[e.Sender]++
			case lifecycle.Deactivated:
				draining[e.Sender]++
			}
		}
		if b.State.Live() && (b.FirstActivatedAt.IsZero()) {
			t.Fatalf("R3/R12: live bot %s never activated", b.ID)
		}
	}
	for s, n := range active {
		if n > 1 {
			t.Fatalf("R1: %d Active bots on %s", n, s)
		}
	}
	for s, n := range draining {
		if n > 1 {
			t.Fatalf("R2: %d Deactivated bots on %s", n, s)
		}
	}
	log, _ := r.st.AuditLog(r.ctx, modelWorkspace, r.seq, 1<<20)
	for _, e := range log {
		if e.Seq != r.seq+1 {
			t.Fatalf("R16: audit seq %d after %d", e.Seq, r.seq)
		}
		for _, tr := range e.Transitions {
			if !tableStep(tr) {
				t.Fatalf("S1: audit entry %d records %s %v -> %v, a move the table does not have", e.Seq, tr.Bot, tr.From, tr.To)
			}
		}
		r.seq = e.Seq
	}
	r.checkTests(t, stored)
	r.checkTwin(t, stored)
	rs := r.roleAssignments()
	got := map[string]roles.Set{}
	for _, a := range rs {
		got[a.User] = a.Roles
	}
	want := map[string]roles.Set{}
	for u, s := range r.md.roles {
		if !s.Empty() {
			want[u] = s
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("P2: roles differ from the model (-model +store):\n%s", diff)
	}
}

func TestModel(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		r := newModelRun(t)
		actions := []struct {
			name string
			f    func(*rapid.T)
		}{
			{"create", r.create}, {"create", r.create}, {"copy", r.copyBot}, {"update", r.update}, {"delete", r.delete},
			{"activate", r.activate}, {"activate", r.activate}, {"activate", r.activate}, {"deactivate", r.deactivate},
			{"deactivate", r.deactivate}, {"end grace", r.endGrace}, {"rollback", r.rollback}, {"role change", r.grant},
			{"route", r.route}, {"route", r.route}, {"close session", r.closeSession}, {"advance clock", r.advance},
			{"expire due", r.expire}, {"open test", r.openTest}, {"open test", r.openTest}, {"send test", r.sendTest},
			{"send test", r.sendTest}, {"close test", r.closeTest}, {"read test", r.readTest},
		}
		// Sequences must be long for drains, cascades and rollbacks to meet.
		steps := rapid.IntRange(50, 150).Draw(t, "steps")
		r.check(t)
		for i := 0; i < steps; i++ {
			a := actions[rapid.IntRange(0, len(actions)-1).Draw(t, "action")]
			a.f(t)
			r.check(t)
		}
	})
	t.Logf("model-based test: %d operations checked; %d rollbacks met a target, %d of them one whose content changed, %d one that no longer names the senders; %s",
		modelOps.Load(), rollbacksMet.Load(), rollbacksChanged.Load(), rollbacksDropped.Load(), testsReached())
}

// roleAssignments reads the roles of the run's users as the store keeps
// them: those holding a role, sorted by user (the users are sorted).
func (r *modelRun) roleAssignments() []lifecycle.RoleAssignment {
	var out []lifecycle.RoleAssignment
	for _, u := range r.users {
		if rs, _, err := r.st.Roles(r.ctx, modelWorkspace, u); err == nil && !rs.Empty() {
			out = append(out, lifecycle.RoleAssignment{User: u, Roles: rs})
		}
	}
	slices.SortFunc(out, func(a, b lifecycle.RoleAssignment) int { return strings.Compare(a.User, b.User) })
	return out
}
