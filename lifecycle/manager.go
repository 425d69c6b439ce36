package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"reflect"
	"slices"
	"sync/atomic"
	"time"

	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// Clock tells the time. A *clock.Mock from github.com/benbjohnson/clock
// satisfies it; a nil Clock means real time.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

// Now returns time.Now() in UTC, without its monotonic reading: the form
// every store gives back, so that a plan that crossed JSON or a database
// compares equal to one decided again (ApplyPlan).
func (realClock) Now() time.Time { return time.Now().UTC() }

// Config configures a Manager. Only Store is required.
type Config struct {
	Store Store
	// Clock is read once per decision; nil means real time.
	Clock Clock
	// Policy holds what Decide applies: the permission matrix, the
	// checker, the maximum grace period, the default idle timeout, and the
	// size, plan-age, schedule and test-session limits.
	Policy Policy
	// Logger receives a line per committed change; nil discards.
	Logger *slog.Logger
	// NewID makes bot ids, for the workspace the bot is made in (R27):
	// ids need only be unique within it, and ids numbered across
	// workspaces would tell one customer how many bots the others made.
	// nil means random ids like "bot_3f2a9c0d1e4b".
	NewID func(Workspace) BotID
	// NewScheduleID makes schedule ids, for the workspace of the
	// schedule; nil means random ids like "sched_3f2a9c0d1e4b".
	NewScheduleID func(Workspace) ScheduleID
	// MaxAttempts bounds how often an operation is decided and committed
	// when commits conflict (R15), with a short random wait between
	// attempts; default 8.
	MaxAttempts int
	// Tracer is called around every operation, for metrics and traces
	// (see Tracer); nil traces nothing, at no cost.
	Tracer Tracer
}

// Manager runs operations. It does I/O only: it reads the snapshot a
// command declares (ReadSnapshot), calls Decide, commits the plan
// atomically and retries on conflict. Every rule is decided in Decide. It
// holds no state of its own beyond its configuration and is safe for
// concurrent use.
type Manager struct {
	ws       Workspace // see Manager.Workspace; "" is the default
	store    Store
	clock    Clock
	policy   Policy
	log      *slog.Logger
	ids      newIDs
	attempts int
	tracer   Tracer
}

// New returns a Manager for cfg.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, opError("", &InputError{Field: "Config.Store", Value: "nil", Problem: "is required; use store.NewMemory() for an in-memory store"})
	}
	if cfg.Policy.MaxGrace > MaxGraceLimit {
		return nil, opError("", &InputError{Field: "Config.Policy.MaxGrace", Value: humanDuration(cfg.Policy.MaxGrace), Problem: "is longer than " + humanDuration(MaxGraceLimit) + ", the longest grace every store can hold"})
	}
	if cfg.Policy.IdleTimeout > MaxIdleTimeout {
		return nil, opError("", &InputError{Field: "Config.Policy.IdleTimeout", Value: humanDuration(cfg.Policy.IdleTimeout), Problem: "is longer than " + humanDuration(MaxIdleTimeout) + ", the longest idle timeout a bot may have; give it at most that"})
	}
	m := &Manager{store: cfg.Store, clock: cfg.Clock, policy: cfg.Policy.withDefaults(),
		log: cfg.Logger, ids: newIDs{newBot: cfg.NewID, newSchedule: cfg.NewScheduleID, last: new(atomic.Uint64)}, attempts: cfg.MaxAttempts, tracer: cfg.Tracer}
	if m.clock == nil {
		m.clock = realClock{}
	}
	m.ids.clock = m.clock
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.ids.newBot == nil {
		m.ids.newBot = randomID
	}
	if m.ids.newSchedule == nil {
		m.ids.newSchedule = randomScheduleID
	}
	if m.attempts <= 0 {
		m.attempts = 8
	}
	return m, nil
}

// randomID returns a random bot id such as "bot_3f2a9c0d1e4b": the
// Manager's default Config.NewID.
func randomID(Workspace) BotID {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return BotID("bot_" + hex.EncodeToString(b[:]))
}

// randomScheduleID returns a random schedule id such as
// "sched_3f2a9c0d1e4b": the Manager's default Config.NewScheduleID.
func randomScheduleID(Workspace) ScheduleID {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return ScheduleID("sched_" + hex.EncodeToString(b[:]))
}

// Now returns the time on the Manager's clock.
func (m *Manager) Now() time.Time { return m.clock.Now() }

// Policy returns the policy the Manager decides with, defaults filled in.
func (m *Manager) Policy() Policy { return m.policy }

// withID draws the id of a command that creates a bot or a schedule, once
// (R17).
func (m *Manager) withID(cmd Command) Command {
	cmd = commandOf(cmd)
	if c, ok := cmd.(idAssigner); ok {
		return c.withID(m.ids)
	}
	return cmd
}

// decide reads the snapshot cmd declares and decides it at now.
func (m *Manager) decide(ctx context.Context, actor Actor, cmd Command, now time.Time) (Plan, error) {
	if cmd == nil {
		return Decide(Snapshot{}, nil, now)
	}
	snap, err := ReadSnapshot(ctx, m.store, m.ws, actor, cmd)
	if err != nil {
		return Plan{}, opError(cmd.op(), err)
	}
	snap.Policy = m.policy
	p, err := Decide(snap, cmd, now)
	if err == nil {
		if err = m.claimed(ctx, &snap, &p); err != nil {
			return Plan{}, opError(p.Op, err)
		}
	}
	return p, err
}

// Plan decides cmd and returns the plan without writing anything, not even
// the audit entry of a refusal: a dry run (R17). Ids of bots the command
// creates are drawn now and are part of the plan; ApplyPlan applies it as
// it is.
func (m *Manager) Plan(ctx context.Context, actor Actor, cmd Command) (_ Plan, err error) {
	ctx, sp := m.trace(ctx, OpPlan)
	defer sp.end(&err)
	return m.decide(ctx, actor, m.withID(cmd), m.clock.Now())
}

// Apply decides cmd and commits the plan atomically (R15), deciding again
// when the commit conflicts. It returns the plan as committed, with the
// audit entries' sequence numbers. A refusal on permission grounds is
// audited (R16); other refusals change nothing.
//
// An OpenTestSession opens its test session too, as ApplyPlan does (R26);
// Manager.OpenTestSession returns its id.
func (m *Manager) Apply(ctx context.Context, actor Actor, cmd Command) (_ Plan, err error) {
	ctx, sp := m.trace(ctx, opOf(cmd))
	defer sp.end(&err)
	p, err := m.apply(ctx, actor, cmd)
	if _, ok := commandOf(cmd).(OpenTestSession); ok && err == nil {
		if _, err := m.openCommitted(ctx, p); err != nil {
			return Plan{}, err
		}
	}
	return p, err
}

// apply is Apply, untraced: for the operations built on it.
func (m *Manager) apply(ctx context.Context, actor Actor, cmd Command) (Plan, error) {
	cmd = m.withID(cmd)
	for attempt := 0; ; attempt++ {
		plan, err := m.decide(ctx, actor, cmd, m.clock.Now())
		if err != nil {
			return plan, m.refused(ctx, plan, err)
		}
		entries, err := m.store.Commit(ctx, plan)
		if err == nil {
			plan.Audit = entries
			m.logPlan(ctx, plan)
			return plan, nil
		}
		if !errors.Is(err, ErrConflict) {
			return Plan{}, opError(plan.Op, err)
		}
		if attempt+1 >= m.attempts {
			m.logger().WarnContext(ctx, "botlife: operation kept conflicting", "op", plan.Op, "attempts", m.attempts, "err", err)
			return Plan{}, opError(plan.Op, fmt.Errorf("gave up after %d attempts: %w", m.attempts, err))
		}
		if err := backoff(ctx, attempt); err != nil {
			return Plan{}, opError(plan.Op, err)
		}
	}
}

// ApplyPlan commits p as Plan returned it - the same ids, changes and
// audit entries (R17) - or refuses it with an error wrapping ErrConflict
// when the world moved since: the command, decided again at the plan's
// time on what is stored now, must give the same plan, and the plan must
// be at most Policy.MaxPlanAge old. Applying a plan a second time is such
// a conflict. The permission comes first (P1): a plan, stale or not, whose
// actor no longer holds it is refused with ErrForbidden, and audited (R16).
//
// A plan takes effect when it is committed: its times - audit times, grace
// deadlines, session ends - are those of the commit, each shifted by the
// same delay, so that no record claims a time before traffic the bot
// really served. The command decided at the clock's now must give exactly
// that shifted plan, or ApplyPlan refuses it as a conflict; which ended
// activations a bot keeps the end of (Bot.Ends) follows the sessions open
// at the commit and is not compared. It returns the plan as committed.
// It never decides anew on its own: plan again after a conflict.
//
// A plan to open a test session (R26) opens it too; ApplyTestPlan returns
// the test session.
func (m *Manager) ApplyPlan(ctx context.Context, p Plan) (_ Plan, err error) {
	ctx, sp := m.trace(ctx, planOp(p))
	defer sp.end(&err)
	fresh, err := m.applyPlan(ctx, p)
	if _, ok := commandOf(p.Command).(OpenTestSession); ok && err == nil {
		if _, err := m.openCommitted(ctx, fresh); err != nil {
			return Plan{}, err
		}
	}
	return fresh, err
}

// applyPlan commits p as ApplyPlan says.
func (m *Manager) applyPlan(ctx context.Context, p Plan) (Plan, error) {
	if p.Command = commandOf(p.Command); p.Command == nil {
		return Plan{}, opError(OpApplyPlan, &InputError{Field: "plan", Value: shown(string(p.Op)), Problem: "has no command; apply a plan that Manager.Plan returned"})
	}
	op := p.Command.op()
	if p.Workspace != m.ws {
		return Plan{}, opError(op, &NotFoundError{Kind: "plan", ID: string(op)}) // R27: another workspace's plan
	}
	if err := checkActor(p.Actor); err != nil {
		// Bad input, not a world that moved (R19, R21): a system actor
		// without a reason, or a user id that is not text, is refused so at
		// any time and must be fixed, not planned again.
		return Plan{}, opError(op, err)
	}
	now := m.clock.Now()
	snap, err := ReadSnapshot(ctx, m.store, m.ws, p.Actor, p.Command)
	if err != nil {
		return Plan{}, opError(op, err)
	}
	snap.Policy = m.policy
	if p.Time.After(now) || now.Sub(p.Time) > m.policy.MaxPlanAge {
		// P1 before anything else: an actor who lost the permission is
		// refused as such, and audited (R16), not told to plan again.
		if denied, err := Decide(snap, p.Command, now); errors.Is(err, ErrForbidden) {
			return denied, m.refused(ctx, denied, err)
		}
		return Plan{}, opError(op, &ConflictError{Reason: fmt.Sprintf("the plan was made at %v, more than %s ago (or in the future)", p.Time.Format(time.RFC3339), humanDuration(m.policy.MaxPlanAge)), Fix: planAgain})
	}
	then, err := Decide(snap, p.Command, p.Time)
	if errors.Is(err, ErrForbidden) {
		// The actor lost the permission: audited (R16) at the refusal's
		// time, not the plan's, which may predate the revocation.
		denied, err := Decide(snap, p.Command, now)
		return denied, m.refused(ctx, denied, err)
	}
	if err != nil {
		return Plan{}, opError(op, &ConflictError{Reason: "the plan can no longer be applied as it was made - it was applied already, or what it read has changed since (" + err.Error() + ")", Fix: planAgain})
	}
	if !reflect.DeepEqual(withoutEnds(then), withoutEnds(p)) {
		return Plan{}, opError(op, &ConflictError{Reason: "the bots or roles the plan read have changed since it was made, or the plan was altered", Fix: planAgain})
	}
	fresh, err := Decide(snap, p.Command, now)
	if err != nil || !shiftedBy(withoutEnds(p), withoutEnds(fresh), now.Sub(p.Time)) {
		return Plan{}, opError(op, &ConflictError{Reason: fmt.Sprintf("the plan made at %v no longer holds at %v (a deadline passed or a decision changed in between)", p.Time.Format(time.RFC3339), now.Format(time.RFC3339)), Fix: planAgain})
	}
	entries, err := m.commitApplied(ctx, &snap, fresh)
	if err != nil {
		return Plan{}, opError(op, err)
	}
	fresh.Audit = entries
	m.logPlan(ctx, fresh)
	return fresh, nil
}

// commitApplied commits fresh, the plan ApplyPlan decided again at now,
// and says "plan again" of what refuses it: a sender claimed since the
// plan was made, or a commit that came first.
func (m *Manager) commitApplied(ctx context.Context, snap *Snapshot, fresh Plan) ([]AuditEntry, error) {
	err := m.claimed(ctx, snap, &fresh)
	var entries []AuditEntry
	if err == nil {
		entries, err = m.store.Commit(ctx, fresh)
	}
	if ce := (*ClaimError)(nil); errors.As(err, &ce) {
		// The sender was free when the plan was made (Plan asks): the
		// world moved (R17, R27).
		err = &ConflictError{Reason: fmt.Sprintf("sender %s was registered to another account after the plan was made", ce.Sender), Fix: planAgain}
	} else if errors.Is(err, ErrConflict) {
		// Another commit came first: this plan can never be applied now.
		ce := &ConflictError{Reason: "another operation changed what the plan read while it was committed", Fix: planAgain}
		if se := (*ConflictError)(nil); errors.As(err, &se) {
			ce.Bot, ce.Reason = se.Bot, ce.Reason+" ("+se.Reason+")"
		}
		err = ce
	}
	return entries, err
}

// planAgain is what to do about a plan ApplyPlan refuses as a conflict
// (R17): applying the same plan again can never succeed.
const planAgain = "plan again"

// withoutEnds returns p with its bots' Ends left out, for comparing
// decisions: which ended activations a bot keeps the end of follows the
// sessions still recorded open (Bot.OpenActivations), and a sweep between
// Plan and ApplyPlan may let some go - bookkeeping, not something the
// plan decided (R9, R17). It does not change p.
func withoutEnds(p Plan) Plan {
	p.Changes = slices.Clone(p.Changes)
	for i, c := range p.Changes {
		if c.After != nil {
			b := *c.After
			b.Ends = nil
			p.Changes[i].After = &b
		}
	}
	return p
}

// refused stores the audit entry of a refusal on permission grounds, if
// the plan holds one (R16), and returns err.
func (m *Manager) refused(ctx context.Context, plan Plan, err error) error {
	if len(plan.Audit) == 0 {
		return err
	}
	denial := Plan{Op: plan.Op, Actor: plan.Actor, Time: plan.Time, Workspace: plan.Workspace, Audit: plan.Audit}
	if _, cerr := m.store.Commit(ctx, denial); cerr != nil {
		return errors.Join(err, fmt.Errorf("auditing the refusal failed: %w", cerr))
	}
	return err
}

// authorize decides a read (P1) before it happens; a refusal is audited.
func (m *Manager) authorize(ctx context.Context, actor Actor, op Op) error {
	return m.authorizeRead(ctx, actor, readOp{What: op})
}

// authorizeRead is authorize for a read that names a bot, user or
// schedule: its refusal's audit entry names them (R16).
func (m *Manager) authorizeRead(ctx context.Context, actor Actor, r readOp) error {
	plan, err := m.decide(ctx, actor, r, m.clock.Now())
	if err != nil {
		return m.refused(ctx, plan, err)
	}
	return nil
}

// backoff waits a random time that grows with the attempt (at most about
// 1ms, 2ms, 4ms, ... 64ms) so that operations racing for the same senders
// spread out instead of colliding again. It returns early with ctx's error.
func backoff(ctx context.Context, attempt int) error {
	limit := time.Millisecond << min(attempt, 6)
	return sleep(ctx, time.Duration(mrand.Int64N(int64(limit))))
}

// sleep waits d, or returns ctx's error when ctx ends first.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// logger is the log of the Manager's workspace: its lines name the
// workspace, but for the default one (R27: ids are per workspace, so
// "bot-1" alone could be any customer's).
func (m *Manager) logger() *slog.Logger {
	if m.ws == "" {
		return m.log
	}
	return m.log.With("workspace", string(m.ws))
}

func (m *Manager) logPlan(ctx context.Context, p Plan) {
	if len(p.Changes)+len(p.Roles) == 0 || !m.log.Enabled(ctx, slog.LevelInfo) {
		return // building the attributes costs allocations nobody reads
	}
	log := m.logger()
	for _, c := range p.Changes {
		log.InfoContext(ctx, "botlife: bot changed", "op", p.Op, "actor", p.Actor.ID, "bot", c.Bot, "from", c.From, "to", c.To)
	}
	for _, r := range p.Roles {
		log.InfoContext(ctx, "botlife: roles changed", "actor", p.Actor.ID, "user", r.User, "from", r.From, "to", r.To)
	}
}

// --- the operations, one method each ---------------------------------------

func (m *Manager) applyBot(ctx context.Context, actor Actor, cmd Command, id BotID) (Bot, error) {
	p, err := m.apply(ctx, actor, cmd)
	if err != nil {
		return Bot{}, err
	}
	b, _ := p.Bot(id)
	return b, nil
}

// Create makes a new Draft bot. Needs "Create and edit chatbots".
func (m *Manager) Create(ctx context.Context, actor Actor, c Create) (_ Bot, err error) {
	ctx, sp := m.trace(ctx, OpCreate)
	defer sp.end(&err)
	cmd := m.withID(c).(Create)
	return m.applyBot(ctx, actor, cmd, cmd.ID)
}

// Update edits a Draft or Inactive bot (R11). Needs "Create and edit
// chatbots".
func (m *Manager) Update(ctx context.Context, actor Actor, u Update) (_ Bot, err error) {
	ctx, sp := m.trace(ctx, OpUpdate)
	defer sp.end(&err)
	return m.applyBot(ctx, actor, u, u.Bot)
}

// Delete removes a bot that was never activated (R12). Needs "Create and
// edit chatbots".
func (m *Manager) Delete(ctx context.Context, actor Actor, id BotID) (err error) {
	ctx, sp := m.trace(ctx, OpDelete)
	defer sp.end(&err)
	_, err = m.apply(ctx, actor, Delete{Bot: id})
	return err
}

// Duplicate makes a Draft copy of a bot, named name or "<name> (copy)"
// (R13). Needs "Create and edit chatbots".
func (m *Manager) Duplicate(ctx context.Context, actor Actor, id BotID, name string) (_ Bot, err error) {
	ctx, sp := m.trace(ctx, OpDuplicate)
	defer sp.end(&err)
	cmd := m.withID(Duplicate{Bot: id, Name: name}).(Duplicate)
	return m.applyBot(ctx, actor, cmd, cmd.ID)
}

// Import makes a Draft from a document written by Export (R13). Needs
// "Create and edit chatbots".
func (m *Manager) Import(ctx context.Context, actor Actor, data []byte) (_ Bot, err error) {
	ctx, sp := m.trace(ctx, OpImport)
	defer sp.end(&err)
	cmd := m.withID(Import{Data: data}).(Import)
	return m.applyBot(ctx, actor, cmd, cmd.ID)
}

// Export writes a bot's settings and definition as a versioned JSON document
// (R13). Needs "Create and edit chatbots".
func (m *Manager) Export(ctx context.Context, actor Actor, id BotID) (_ []byte, err error) {
	ctx, sp := m.trace(ctx, OpExport)
	defer sp.end(&err)
	b, err := m.read(ctx, actor, OpExport, id)
	if err != nil {
		return nil, err
	}
	out, err := encodeExport(b)
	return out, opError(OpExport, err)
}

// Activate makes a Draft or Inactive bot Active (R4, R5, R6, R14) on
// senders, some of its own (R22), or with none named on every sender it is
// not live on; an Active bot goes Active on more of its senders the same
// way. Needs "Activate and deactivate chatbots".
func (m *Manager) Activate(ctx context.Context, actor Actor, id BotID, dec Decision, ack Ack, senders ...Sender) (_ Plan, err error) {
	ctx, sp := m.trace(ctx, OpActivate)
	defer sp.end(&err)
	return m.apply(ctx, actor, Activate{Bot: id, Decision: dec, Ack: ack, Senders: senders})
}

// Deactivate takes an Active bot off senders, some of those it is Active
// on (R22), or with none named off all of them: with a grace period for
// its open sessions there or (grace 0) at once, and every other bot on
// those senders with it (R7, R8). Needs "Activate and deactivate
// chatbots", unless actor is the system (R19).
func (m *Manager) Deactivate(ctx context.Context, actor Actor, id BotID, grace time.Duration, senders ...Sender) (_ Plan, err error) {
	ctx, sp := m.trace(ctx, OpDeactivate)
	defer sp.end(&err)
	return m.apply(ctx, actor, Deactivate{Bot: id, Grace: grace, Senders: senders})
}

// EndGrace ends a bot's drains now, on every sender it drains on (R22): a
// Deactivated bot goes Inactive, an Active one stays Active on its other
// senders. Needs "Activate and deactivate chatbots".
func (m *Manager) EndGrace(ctx context.Context, actor Actor, id BotID) (_ Plan, err error) {
	ctx, sp := m.trace(ctx, OpEndGrace)
	defer sp.end(&err)
	return m.apply(ctx, actor, EndGrace{Bot: id})
}

// Rollback activates again, on the senders where the Active bot id is
// Active and on those only, the bot most recently Active there, replacing
// id there as dec says (R20); it takes no other bot offline anywhere. The
// target's content (definition and senders) must be as it was when it was
// last Active; a target still draining ends its drain first. Needs
// "Activate and deactivate chatbots".
func (m *Manager) Rollback(ctx context.Context, actor Actor, id BotID, dec Decision, ack Ack) (_ Plan, err error) {
	ctx, sp := m.trace(ctx, OpRollback)
	defer sp.end(&err)
	return m.apply(ctx, actor, Rollback{Bot: id, Decision: dec, Ack: ack})
}

// read checks the permission of op and reads one bot.
func (m *Manager) read(ctx context.Context, actor Actor, op Op, id BotID) (Bot, error) {
	if err := m.authorizeRead(ctx, actor, readOp{What: op, Bot: id}); err != nil {
		return Bot{}, err
	}
	if err := checkID("bot id", string(id)); err != nil { // R21
		return Bot{}, opError(op, err)
	}
	b, err := m.store.Bot(ctx, m.ws, id)
	return b, opError(op, err)
}

// Get returns a bot in detail, its state as seen now (R9). Needs "View
// chatbots (detailed)". Its OpenActivations, the store's bookkeeping for
// Decide, and its test sessions' leases (Tests, R26) are left out.
func (m *Manager) Get(ctx context.Context, actor Actor, id BotID) (_ Bot, err error) {
	ctx, sp := m.trace(ctx, OpGet)
	defer sp.end(&err)
	b, err := m.read(ctx, actor, OpGet, id)
	if err != nil {
		return Bot{}, err
	}
	b.OpenActivations, b.Tests = nil, nil // bookkeeping, and testers' own (R26)
	return b.asOf(m.clock.Now()), nil
}

// Validate returns the validation report of a bot's definition, as
// activation would see it: from the policy's checker (R4, R25). A
// definition in a format the checker does not read is an ErrInvalidInput.
// Needs "View chatbots (detailed)".
func (m *Manager) Validate(ctx context.Context, actor Actor, id BotID) (_ validate.Report, err error) {
	ctx, sp := m.trace(ctx, OpGet)
	defer sp.end(&err)
	b, err := m.read(ctx, actor, OpGet, id)
	if err != nil {
		return validate.Report{}, err
	}
	r, err := check(m.policy, &b)
	return r, opError(OpGet, err)
}

// List returns the dashboard view of up to limit bots with ids after after,
// sorted by id, with states as seen now. Needs "View chatbots (dashboard)".
func (m *Manager) List(ctx context.Context, actor Actor, after BotID, limit int) (_ []Summary, err error) {
	ctx, sp := m.trace(ctx, OpList)
	defer sp.end(&err)
	if err := m.authorize(ctx, actor, OpList); err != nil {
		return nil, err
	}
	if err := checkLimit(OpList, limit, MaxPage); err != nil {
		return nil, err
	}
	if after != "" {
		if err := checkID("after", string(after)); err != nil { // R21
			return nil, opError(OpList, err)
		}
	}
	bots, err := m.store.Bots(ctx, m.ws, after, limit)
	if err != nil {
		return nil, opError(OpList, err)
	}
	now := m.clock.Now()
	out := make([]Summary, len(bots))
	for i, b := range bots {
		out[i] = summarize(b, now)
	}
	return out, nil
}

// GrantRole gives user a role (P2). Needs "Manage user roles", unless actor
// is the system, which is how a service makes its first Admin.
func (m *Manager) GrantRole(ctx context.Context, actor Actor, user string, role roles.Role) (_ roles.Set, err error) {
	ctx, sp := m.trace(ctx, OpGrantRole)
	defer sp.end(&err)
	return m.roleChange(ctx, actor, GrantRole{User: user, Role: role})
}

// RevokeRole takes a role from user (P2); the last Admin stays. Needs "Manage
// user roles".
func (m *Manager) RevokeRole(ctx context.Context, actor Actor, user string, role roles.Role) (_ roles.Set, err error) {
	ctx, sp := m.trace(ctx, OpRevokeRole)
	defer sp.end(&err)
	return m.roleChange(ctx, actor, RevokeRole{User: user, Role: role})
}

func (m *Manager) roleChange(ctx context.Context, actor Actor, cmd Command) (roles.Set, error) {
	p, err := m.apply(ctx, actor, cmd)
	if err != nil {
		return 0, err
	}
	return p.Roles[0].To, nil
}

// UserRoles returns a user's roles. Needs "Manage user roles".
func (m *Manager) UserRoles(ctx context.Context, actor Actor, user string) (_ roles.Set, err error) {
	ctx, sp := m.trace(ctx, OpReadRoles)
	defer sp.end(&err)
	if err := m.authorizeRead(ctx, actor, readOp{What: OpReadRoles, User: user}); err != nil {
		return 0, err
	}
	if err := checkID("user", user); err != nil { // R21
		return 0, opError(OpReadRoles, err)
	}
	rs, _, err := m.store.Roles(ctx, m.ws, user)
	return rs, opError(OpReadRoles, err)
}

// AuditLog returns up to limit audit entries after sequence number after.
// Needs "View audit log".
func (m *Manager) AuditLog(ctx context.Context, actor Actor, after uint64, limit int) (_ []AuditEntry, err error) {
	ctx, sp := m.trace(ctx, OpReadAudit)
	defer sp.end(&err)
	if err := m.authorize(ctx, actor, OpReadAudit); err != nil {
		return nil, err
	}
	if err := checkLimit(OpReadAudit, limit, MaxAuditPage); err != nil {
		return nil, err
	}
	log, err := m.store.AuditLog(ctx, m.ws, after, limit)
	return log, opError(OpReadAudit, err)
}

// Page sizes: every listing takes at most MaxPage items a call, the audit
// log MaxAuditPage entries.
const (
	MaxPage      = 1000
	MaxAuditPage = 10000
)

// checkLimit refuses a page size outside 1..max.
func checkLimit(op Op, limit, max int) error {
	if limit <= 0 || limit > max {
		return opError(op, &InputError{Field: "limit", Value: fmt.Sprint(limit), Problem: fmt.Sprintf("must be between 1 and %d", max)})
	}
	return nil
}
