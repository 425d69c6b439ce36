package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"sort"
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

// Now returns time.Now().
func (realClock) Now() time.Time { return time.Now() }

// Config configures a Manager. Only Store is required.
type Config struct {
	Store Store
	// Clock is read once per operation; nil means real time.
	Clock Clock
	// Validator validates definitions on activation; nil means
	// validate.Default().
	Validator *validate.Validator
	// Policy holds the permission matrix, the maximum grace period, the
	// default idle timeout and the import size limit.
	Policy Policy
	// Logger receives a line per committed change; nil discards.
	Logger *slog.Logger
	// NewID makes bot ids; nil means random ids like "bot_3f2a9c0d1e4b".
	NewID func() BotID
	// MaxAttempts bounds how often an operation is decided and committed
	// when commits conflict (R15), with a short random wait between
	// attempts; default 8.
	MaxAttempts int
}

// Manager runs operations: it checks the actor's permission (P1), reads a
// snapshot from the Store, validates, calls Decide and commits the plan
// atomically, retrying on conflict. It holds no state of its own beyond its
// configuration and is safe for concurrent use.
type Manager struct {
	store    Store
	clock    Clock
	valid    *validate.Validator
	policy   Policy
	log      *slog.Logger
	newID    func() BotID
	attempts int
}

// New returns a Manager for cfg.
func New(cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, &InputError{Field: "Config.Store", Value: "nil", Problem: "is required; use store.NewMemory() for an in-memory store"}
	}
	m := &Manager{store: cfg.Store, clock: cfg.Clock, valid: cfg.Validator, policy: cfg.Policy.withDefaults(),
		log: cfg.Logger, newID: cfg.NewID, attempts: cfg.MaxAttempts}
	if m.clock == nil {
		m.clock = realClock{}
	}
	if m.valid == nil {
		m.valid = validate.Default()
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.newID == nil {
		m.newID = randomID
	}
	if m.attempts <= 0 {
		m.attempts = 8
	}
	return m, nil
}

func randomID() BotID {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return BotID("bot_" + hex.EncodeToString(b[:]))
}

// Now returns the time on the Manager's clock.
func (m *Manager) Now() time.Time { return m.clock.Now() }

// Store returns the Manager's store.
func (m *Manager) Store() Store { return m.store }

// Plan decides cmd and returns the plan without storing anything: a dry run
// (R17). Applying the same command right after yields the same changes.
func (m *Manager) Plan(ctx context.Context, actor Actor, cmd Command) (Plan, error) {
	return m.run(ctx, actor, cmd, false)
}

// Apply decides cmd and commits the plan atomically (R15). It returns the
// plan as committed, with the audit entries' sequence numbers.
func (m *Manager) Apply(ctx context.Context, actor Actor, cmd Command) (Plan, error) {
	return m.run(ctx, actor, cmd, true)
}

func (m *Manager) run(ctx context.Context, actor Actor, cmd Command, commit bool) (Plan, error) {
	if cmd == nil {
		return Plan{}, &InputError{Field: "command", Value: "nil", Problem: "is missing"}
	}
	actorRoles, err := m.authorize(ctx, actor, cmd.Op())
	if err != nil {
		return Plan{}, err
	}
	cmd = m.withIDs(cmd)
	var lastErr error
	for attempt := 0; attempt < m.attempts; attempt++ {
		now := m.clock.Now()
		snap, err := m.snapshot(ctx, actor, actorRoles, cmd)
		if err != nil {
			return Plan{}, err
		}
		plan, err := Decide(snap, cmd, now)
		if err != nil || !commit {
			return plan, err
		}
		entries, err := m.store.Commit(ctx, plan)
		if err == nil {
			plan.Audit = entries
			m.logPlan(ctx, plan)
			return plan, nil
		}
		if !errors.Is(err, ErrConflict) {
			return Plan{}, err
		}
		lastErr = err
		if err := backoff(ctx, attempt); err != nil {
			return Plan{}, err
		}
	}
	m.log.WarnContext(ctx, "botlife: operation kept conflicting", "op", cmd.Op(), "attempts", m.attempts, "err", lastErr)
	return Plan{}, fmt.Errorf("%s gave up after %d attempts: %w", cmd.Op(), m.attempts, lastErr)
}

// backoff waits a random time that grows with the attempt (at most about
// 1ms, 2ms, 4ms, ... 64ms) so that operations racing for the same senders
// spread out instead of colliding again. It returns early with ctx's error.
func backoff(ctx context.Context, attempt int) error {
	limit := time.Millisecond << min(attempt, 6)
	t := time.NewTimer(time.Duration(mrand.Int64N(int64(limit))))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// withIDs gives commands that create a bot an id, once, so that a retried
// commit keeps it.
func (m *Manager) withIDs(cmd Command) Command {
	switch c := cmd.(type) {
	case Create:
		if c.ID == "" {
			c.ID = m.newID()
		}
		return c
	case Duplicate:
		if c.ID == "" {
			c.ID = m.newID()
		}
		return c
	case Import:
		if c.ID == "" {
			c.ID = m.newID()
		}
		return c
	}
	return cmd
}

func (m *Manager) logPlan(ctx context.Context, p Plan) {
	for _, c := range p.Changes {
		m.log.InfoContext(ctx, "botlife: bot changed", "op", p.Op, "actor", p.Actor.ID, "bot", c.Bot, "from", c.From, "to", c.To)
	}
	for _, r := range p.Roles {
		m.log.InfoContext(ctx, "botlife: roles changed", "actor", p.Actor.ID, "user", r.User, "from", r.From, "to", r.To)
	}
}

// authorize reads the actor's roles and checks the permission op needs
// before anything else (P1). A refusal is audited (R16) and returned as a
// *roles.PermissionError wrapping ErrForbidden.
func (m *Manager) authorize(ctx context.Context, actor Actor, op Op) (roles.Set, error) {
	if actor.System {
		return 0, nil
	}
	rs, err := m.store.UserRoles(ctx, actor.ID)
	if err != nil {
		return 0, err
	}
	denied := authorize(m.policy.Matrix, actor, rs, op)
	if denied == nil {
		return rs, nil
	}
	entry := AuditEntry{Time: m.clock.Now(), Actor: actor.ID, Roles: rs, Action: op, Denied: true, Reason: denied.Error()}
	if _, err := m.store.Commit(ctx, Plan{Op: op, Actor: actor, Time: entry.Time, Audit: []AuditEntry{entry}}); err != nil {
		return rs, errors.Join(denied, fmt.Errorf("auditing the refusal failed: %w", err))
	}
	return rs, denied
}

// snapshot reads what Decide needs for cmd.
func (m *Manager) snapshot(ctx context.Context, actor Actor, actorRoles roles.Set, cmd Command) (Snapshot, error) {
	s := Snapshot{Actor: actor, ActorRoles: actorRoles, Policy: m.policy}
	var err error
	switch c := cmd.(type) {
	case Create, Import:
	case Duplicate:
		var b Bot
		if b, err = m.store.Bot(ctx, c.Bot); err == nil {
			s.Bots = []Bot{b}
		}
	case Update, Delete, Deactivate, EndGrace, ExpireGrace:
		s.Bots, err = m.group(ctx, c.(interface{ target() BotID }).target())
	case Activate:
		if s.Bots, err = m.group(ctx, c.Bot); err == nil {
			s.Report = m.report(s.Bots, c.Bot)
		}
	case Rollback:
		if s.Bots, err = m.group(ctx, c.Bot); err != nil {
			break
		}
		cur := findBot(s.Bots, c.Bot)
		if cur == nil {
			break
		}
		prev, perr := m.store.LastActive(ctx, cur.Senders, cur.ID)
		if perr != nil {
			if !errors.Is(perr, ErrNotFound) {
				err = perr
			}
			break
		}
		if s.Bots, err = m.group(ctx, c.Bot, prev.ID); err == nil {
			if target := rollbackTarget(s.Bots, cur); target != "" {
				s.Report = m.report(s.Bots, target)
			}
		}
	case GrantRole:
		s.UserRoles, s.Admins, err = m.roleFacts(ctx, c.User)
	case RevokeRole:
		s.UserRoles, s.Admins, err = m.roleFacts(ctx, c.User)
	}
	return s, err
}

func findBot(bots []Bot, id BotID) *Bot {
	for i := range bots {
		if bots[i].ID == id {
			return &bots[i]
		}
	}
	return nil
}

func (m *Manager) report(bots []Bot, id BotID) *validate.Report {
	b := findBot(bots, id)
	if b == nil {
		return nil
	}
	r := m.valid.Validate(&b.Definition)
	return &r
}

// group reads the named bots and every bot on the senders of a bot read so
// far that is named or live, until no new sender turns up: everything an
// activation, deactivation or cascade can touch (R5, R6, R8).
func (m *Manager) group(ctx context.Context, ids ...BotID) ([]Bot, error) {
	seen := map[BotID]Bot{}
	var frontier []Sender
	senders := map[Sender]bool{}
	add := func(b Bot, named bool) {
		seen[b.ID] = b
		if !named && !b.State.Live() {
			return
		}
		for _, s := range b.Senders {
			if !senders[s] {
				senders[s] = true
				frontier = append(frontier, s)
			}
		}
	}
	for _, id := range ids {
		b, err := m.store.Bot(ctx, id)
		if err != nil {
			return nil, err
		}
		add(b, true)
	}
	for len(frontier) > 0 {
		next := frontier
		frontier = nil
		bots, err := m.store.LiveBots(ctx, next)
		if err != nil {
			return nil, err
		}
		for _, b := range bots {
			if _, ok := seen[b.ID]; !ok {
				add(b, false)
			}
		}
	}
	out := make([]Bot, 0, len(seen))
	for _, b := range seen {
		out = append(out, b)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (m *Manager) roleFacts(ctx context.Context, user string) (roles.Set, int, error) {
	rs, err := m.store.UserRoles(ctx, user)
	if err != nil {
		return 0, 0, err
	}
	all, err := m.store.RoleAssignments(ctx)
	if err != nil {
		return 0, 0, err
	}
	admins := 0
	for _, a := range all {
		if a.Roles.IsAdmin() {
			admins++
		}
	}
	return rs, admins, nil
}

// --- the operations, one method each ---------------------------------------

func (m *Manager) applyBot(ctx context.Context, actor Actor, cmd Command, id BotID) (Bot, error) {
	p, err := m.Apply(ctx, actor, cmd)
	if err != nil {
		return Bot{}, err
	}
	b, _ := p.Bot(id)
	return b, nil
}

// Create makes a new Draft bot. Needs "Create and edit chatbots".
func (m *Manager) Create(ctx context.Context, actor Actor, c Create) (Bot, error) {
	cmd := m.withIDs(c).(Create)
	return m.applyBot(ctx, actor, cmd, cmd.ID)
}

// Update edits a Draft or Inactive bot (R11). Needs "Create and edit
// chatbots".
func (m *Manager) Update(ctx context.Context, actor Actor, u Update) (Bot, error) {
	return m.applyBot(ctx, actor, u, u.Bot)
}

// Delete removes a bot that was never activated (R12). Needs "Create and
// edit chatbots".
func (m *Manager) Delete(ctx context.Context, actor Actor, id BotID) error {
	_, err := m.Apply(ctx, actor, Delete{Bot: id})
	return err
}

// Duplicate makes a Draft copy of a bot, named name or "<name> (copy)"
// (R13). Needs "Create and edit chatbots".
func (m *Manager) Duplicate(ctx context.Context, actor Actor, id BotID, name string) (Bot, error) {
	cmd := m.withIDs(Duplicate{Bot: id, Name: name}).(Duplicate)
	return m.applyBot(ctx, actor, cmd, cmd.ID)
}

// Import makes a Draft from a document written by Export (R13). Needs
// "Create and edit chatbots".
func (m *Manager) Import(ctx context.Context, actor Actor, data []byte) (Bot, error) {
	cmd := m.withIDs(Import{Data: data}).(Import)
	return m.applyBot(ctx, actor, cmd, cmd.ID)
}

// Export writes a bot's settings and definition as a versioned JSON document
// (R13). Needs "Create and edit chatbots".
func (m *Manager) Export(ctx context.Context, actor Actor, id BotID) ([]byte, error) {
	b, err := m.read(ctx, actor, OpExport, id)
	if err != nil {
		return nil, err
	}
	return EncodeExport(b)
}

// Activate makes a Draft or Inactive bot Active (R4, R5, R6, R14). Needs
// "Activate and deactivate chatbots".
func (m *Manager) Activate(ctx context.Context, actor Actor, id BotID, dec Decision, ack Ack) (Plan, error) {
	return m.Apply(ctx, actor, Activate{Bot: id, Decision: dec, Ack: ack})
}

// Deactivate takes an Active bot offline, with a grace period for its open
// sessions or (grace 0) at once, and every other bot on its senders with it
// (R7, R8). Needs "Activate and deactivate chatbots", unless actor is the
// system (R19).
func (m *Manager) Deactivate(ctx context.Context, actor Actor, id BotID, grace time.Duration) (Plan, error) {
	return m.Apply(ctx, actor, Deactivate{Bot: id, Grace: grace})
}

// EndGrace ends a Deactivated bot's grace period now. Needs "Activate and
// deactivate chatbots".
func (m *Manager) EndGrace(ctx context.Context, actor Actor, id BotID) (Plan, error) {
	return m.Apply(ctx, actor, EndGrace{Bot: id})
}

// Rollback activates again the bot that was most recently Active on the
// senders of the Active bot id, replacing id as dec says; a predecessor still
// draining ends its drain first. Needs "Activate and
// deactivate chatbots".
func (m *Manager) Rollback(ctx context.Context, actor Actor, id BotID, dec Decision, ack Ack) (Plan, error) {
	return m.Apply(ctx, actor, Rollback{Bot: id, Decision: dec, Ack: ack})
}

// read checks the permission of op and reads one bot.
func (m *Manager) read(ctx context.Context, actor Actor, op Op, id BotID) (Bot, error) {
	if _, err := m.authorize(ctx, actor, op); err != nil {
		return Bot{}, err
	}
	return m.store.Bot(ctx, id)
}

// Get returns a bot in detail, its state as seen now (R9). Needs "View
// chatbots (detailed)".
func (m *Manager) Get(ctx context.Context, actor Actor, id BotID) (Bot, error) {
	b, err := m.read(ctx, actor, OpGet, id)
	if err != nil {
		return Bot{}, err
	}
	return b.AsOf(m.clock.Now()), nil
}

// Validate returns the validation report of a bot's definition, as
// activation would see it. Needs "View chatbots (detailed)".
func (m *Manager) Validate(ctx context.Context, actor Actor, id BotID) (validate.Report, error) {
	b, err := m.read(ctx, actor, OpGet, id)
	if err != nil {
		return validate.Report{}, err
	}
	return m.valid.Validate(&b.Definition), nil
}

// List returns the dashboard view of up to limit bots with ids after after,
// sorted by id, with states as seen now. Needs "View chatbots (dashboard)".
func (m *Manager) List(ctx context.Context, actor Actor, after BotID, limit int) ([]Summary, error) {
	if _, err := m.authorize(ctx, actor, OpList); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		return nil, &InputError{Field: "limit", Value: fmt.Sprint(limit), Problem: "must be between 1 and 1000"}
	}
	bots, err := m.store.Bots(ctx, after, limit)
	if err != nil {
		return nil, err
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
func (m *Manager) GrantRole(ctx context.Context, actor Actor, user string, role roles.Role) (roles.Set, error) {
	return m.roleChange(ctx, actor, GrantRole{User: user, Role: role})
}

// RevokeRole takes a role from user (P2); the last Admin stays. Needs "Manage
// user roles".
func (m *Manager) RevokeRole(ctx context.Context, actor Actor, user string, role roles.Role) (roles.Set, error) {
	return m.roleChange(ctx, actor, RevokeRole{User: user, Role: role})
}

func (m *Manager) roleChange(ctx context.Context, actor Actor, cmd Command) (roles.Set, error) {
	p, err := m.Apply(ctx, actor, cmd)
	if err != nil {
		return 0, err
	}
	return p.Roles[0].To, nil
}

// UserRoles returns a user's roles. Needs "Manage user roles".
func (m *Manager) UserRoles(ctx context.Context, actor Actor, user string) (roles.Set, error) {
	if _, err := m.authorize(ctx, actor, OpReadRoles); err != nil {
		return 0, err
	}
	return m.store.UserRoles(ctx, user)
}

// AuditLog returns up to limit audit entries after sequence number after.
// Needs "View audit log".
func (m *Manager) AuditLog(ctx context.Context, actor Actor, after uint64, limit int) ([]AuditEntry, error) {
	if _, err := m.authorize(ctx, actor, OpReadAudit); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 10000 {
		return nil, &InputError{Field: "limit", Value: fmt.Sprint(limit), Problem: "must be between 1 and 10000"}
	}
	return m.store.AuditLog(ctx, after, limit)
}
