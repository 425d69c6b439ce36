package lifecycle

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// Defaults of [Policy].
const (
	DefaultMaxGrace    = 24 * time.Hour
	DefaultIdleTimeout = 30 * time.Minute
	MaxIdleTimeout     = 7 * 24 * time.Hour
	DefaultMaxImport   = 1 << 20 // bytes
)

// Policy holds the settings Decide applies. Zero fields take the defaults.
type Policy struct {
	// Matrix decides permissions; nil means roles.Default().
	Matrix *roles.Matrix
	// MaxGrace is the longest grace period allowed (R5); default 24h.
	MaxGrace time.Duration
	// IdleTimeout is given to bots created without one; default 30m.
	IdleTimeout time.Duration
	// MaxImport is the largest import document in bytes; default 1 MiB.
	MaxImport int
}

func (p Policy) withDefaults() Policy {
	if p.Matrix == nil {
		p.Matrix = roles.Default()
	}
	if p.MaxGrace <= 0 {
		p.MaxGrace = DefaultMaxGrace
	}
	if p.IdleTimeout <= 0 {
		p.IdleTimeout = DefaultIdleTimeout
	}
	if p.MaxImport <= 0 {
		p.MaxImport = DefaultMaxImport
	}
	return p
}

// Snapshot is what Decide knows of the world: who asks, the stored bots the
// command may touch, and for role changes the roles involved. The Manager
// reads it from the Store; a caller of Decide may build it by hand.
type Snapshot struct {
	Actor      Actor
	ActorRoles roles.Set
	// Bots are the stored bots the command may touch: the bot it names and
	// every bot sharing a sender with a live bot involved.
	Bots []Bot
	// UserRoles are the current roles of the user a role command names, and
	// Admins how many users hold Admin.
	UserRoles roles.Set
	Admins    int
	// Report is the validation report of the bot an Activate or Rollback
	// activates.
	Report *validate.Report
	Policy Policy
}

// Decide works out what cmd changes, given what s says is stored, at time
// now. It is pure: it reads no clock, does no I/O and starts no goroutines,
// and the same arguments always give the same plan. A refused command
// returns an error and no plan; nothing is to be stored then, except that a
// refusal on permission grounds is audited by the Manager (R16).
func Decide(s Snapshot, cmd Command, now time.Time) (Plan, error) {
	s.Policy = s.Policy.withDefaults()
	if cmd == nil {
		return Plan{}, &InputError{Field: "command", Value: "nil", Problem: "is missing"}
	}
	if err := authorize(s.Policy.Matrix, s.Actor, s.ActorRoles, cmd.Op()); err != nil {
		return Plan{}, err
	}
	d := &decider{s: s, now: now, bots: map[BotID]*Bot{}, stored: map[BotID]Bot{}}
	d.plan = Plan{Op: cmd.Op(), Actor: s.Actor, Time: now}
	for _, b := range s.Bots {
		if _, dup := d.bots[b.ID]; dup {
			continue
		}
		c := b.Clone()
		d.bots[b.ID] = &c
		d.stored[b.ID] = b
		d.order = append(d.order, b.ID)
	}
	sort.Slice(d.order, func(i, j int) bool { return d.order[i] < d.order[j] })
	var err error
	switch c := cmd.(type) {
	case Create:
		err = d.create(c)
	case Update:
		err = d.update(c)
	case Delete:
		err = d.delete(c)
	case Duplicate:
		err = d.duplicate(c)
	case Import:
		err = d.importBot(c)
	case Activate:
		err = d.activate(c.Bot, c.Decision, c.Ack)
	case Deactivate:
		err = d.deactivate(c)
	case EndGrace:
		err = d.endGrace(c)
	case ExpireGrace:
		err = d.expireGrace(c)
	case Rollback:
		err = d.rollback(c)
	case GrantRole:
		err = d.changeRole(c.User, c.Role, true)
	case RevokeRole:
		err = d.changeRole(c.User, c.Role, false)
	default:
		err = &InputError{Field: "command", Value: fmt.Sprintf("%T", cmd), Problem: "is not a command this version knows"}
	}
	if err != nil {
		return Plan{}, err
	}
	return d.finish(), nil
}

// authorize checks the actor's permission for op (P1). The system needs none
// (R19).
func authorize(m *roles.Matrix, a Actor, rs roles.Set, op Op) error {
	if a.System {
		return nil
	}
	return m.Check(a.ID, rs, op.Permission())
}

type decider struct {
	s      Snapshot
	now    time.Time
	bots   map[BotID]*Bot // working copies
	stored map[BotID]Bot  // as read
	order  []BotID        // snapshot ids, sorted
	plan   Plan
	// touched lists changed bots in the order they first changed.
	touched []BotID
	deleted map[BotID]bool
	// steps are the table moves of the operation, in order, for its audit
	// entry; expiries settled on the way have entries of their own.
	steps    []Transition
	settling bool
	// entry is the operation's own audit entry; expired drains settled on
	// the way get entries of their own.
	entry AuditEntry
}

func (d *decider) bot(id BotID) (*Bot, error) {
	b, ok := d.bots[id]
	if !ok || d.deleted[id] {
		return nil, &NotFoundError{Kind: "bot", ID: string(id)}
	}
	return b, nil
}

func (d *decider) touch(id BotID) {
	for _, t := range d.touched {
		if t == id {
			return
		}
	}
	d.touched = append(d.touched, id)
}

// move applies event e to b through the transition table (S2) and records
// the timestamps the new state implies.
func (d *decider) move(b *Bot, op Op, e Event, reason CloseReason, at time.Time) error {
	to, ok := Next(b.State, e)
	if !ok {
		return &StateError{Bot: b.ID, Name: b.Name, State: b.State, Op: op, Err: ErrInvalidTransition}
	}
	from := b.State
	switch to {
	case Active:
		b.Activations++
		b.ActivatedAt = at
		if b.FirstActivatedAt.IsZero() {
			b.FirstActivatedAt = at
		}
		b.GraceDeadline = time.Time{}
	case Deactivated:
		b.DeactivatedAt = at
	case Inactive:
		if from == Active {
			b.DeactivatedAt = at
		}
		b.EndedAt = at
		b.EndReason = reason
		b.GraceDeadline = time.Time{}
	}
	b.State = to
	b.UpdatedAt = d.now
	d.touch(b.ID)
	if !d.settling {
		d.steps = append(d.steps, Transition{Bot: b.ID, From: from, To: to})
	}
	return nil
}

// settleExpired ends the drains in the snapshot whose grace deadline has
// passed (R9), each with an audit entry of its own by the system, so the
// plan never stores a second Deactivated bot beside one that is over.
func (d *decider) settleExpired() {
	for _, id := range d.order {
		b := d.bots[id]
		if b.State != Deactivated || d.now.Before(b.GraceDeadline) {
			continue
		}
		deadline := b.GraceDeadline
		d.settling = true
		_ = d.move(b, OpExpireGrace, EventEndDrain, CloseGraceExpired, deadline) // Deactivated -> Inactive is in the table
		d.settling = false
		d.plan.Audit = append(d.plan.Audit, AuditEntry{
			Time: d.now, Actor: System("").ID, System: true, Action: OpExpireGrace,
			Transitions:   []Transition{{Bot: id, From: Deactivated, To: Inactive}},
			GraceDeadline: deadline, Reason: "grace period ended",
		})
	}
}

// liveNeighbours returns the other bots in state that share a sender with
// b, sorted by id.
func (d *decider) liveNeighbours(b *Bot, state State) []*Bot {
	var out []*Bot
	for _, id := range d.order {
		o := d.bots[id]
		if id != b.ID && o.State == state && !d.deleted[id] && o.sharesSender(b) {
			out = append(out, o)
		}
	}
	return out
}

func (d *decider) finish() Plan {
	p := d.plan
	moved := map[BotID]bool{}
	for _, st := range d.steps {
		moved[st.Bot] = true
	}
	d.entry.Transitions = d.steps
	for _, id := range d.touched {
		c := Change{Bot: id}
		if st, ok := d.stored[id]; ok {
			c.From, c.Revision = st.State, st.Revision
		}
		if d.deleted[id] {
			c.To = Deleted
		} else {
			after := *d.bots[id]
			after.Revision = c.Revision + 1
			c.To, c.After = after.State, &after
		}
		p.Changes = append(p.Changes, c)
		// Creations, edits and deletions are not table moves; the entry
		// lists them too.
		if !moved[id] && (c.From == c.To || c.From == 0 || c.To == Deleted) {
			d.entry.Transitions = append(d.entry.Transitions, Transition{Bot: id, From: c.From, To: c.To})
		}
	}
	if d.entry.Action != "" {
		e := d.entry
		e.Time, e.Actor, e.System, e.Roles = d.now, d.s.Actor.ID, d.s.Actor.System, d.s.ActorRoles
		if d.s.Actor.System && e.Reason == "" {
			e.Reason = d.s.Actor.Reason
		}
		p.Audit = append(p.Audit, e)
	}
	return p
}

func (d *decider) begin(op Op) {
	d.entry = AuditEntry{Action: op}
}

// --- bots as drafts --------------------------------------------------------

func checkName(name string) (string, error) {
	n := strings.TrimSpace(name)
	if n == "" {
		return "", &InputError{Field: "name", Value: name, Problem: "is empty; give the bot a name"}
	}
	if utf8.RuneCountInString(n) > MaxNameLength || strings.IndexFunc(n, unicode.IsControl) >= 0 {
		return "", &InputError{Field: "name", Value: name, Problem: fmt.Sprintf("must be at most %d characters without control characters", MaxNameLength)}
	}
	return n, nil
}

func checkDescription(desc string) error {
	if utf8.RuneCountInString(desc) > MaxDescriptionLength {
		return &InputError{Field: "description", Value: truncate(desc, 40), Problem: fmt.Sprintf("is %d characters; at most %d are allowed", utf8.RuneCountInString(desc), MaxDescriptionLength)}
	}
	return nil
}

func checkIdle(d time.Duration) error {
	if d < 0 || d > MaxIdleTimeout {
		return &InputError{Field: "idle timeout", Value: d.String(), Problem: fmt.Sprintf("must be between 0 (the default) and %v", MaxIdleTimeout)}
	}
	return nil
}

func checkDefinitionChannel(def *validate.Definition, channel string) error {
	if def.Channel == "" {
		def.Channel = channel
		return nil
	}
	if c, err := NormalizeChannel(def.Channel); err != nil || c != channel {
		return &InputError{Field: "definition channel", Value: def.Channel, Problem: fmt.Sprintf("differs from the bot's channel %s; leave it empty or make them equal", channel)}
	}
	def.Channel = channel
	return nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "..."
}

// newDraft checks the settings of a new bot and adds it to the plan.
func (d *decider) newDraft(id BotID, c Create) error {
	if id == "" {
		return &InputError{Field: "bot id", Value: "", Problem: "is empty; the Manager chooses one when you leave Create.ID empty"}
	}
	if _, exists := d.bots[id]; exists {
		return &InputError{Field: "bot id", Value: string(id), Problem: "is already taken"}
	}
	name, err := checkName(c.Name)
	if err != nil {
		return err
	}
	if err := checkDescription(c.Description); err != nil {
		return err
	}
	channel, err := NormalizeChannel(c.Channel)
	if err != nil {
		return err
	}
	senders, err := normalizeSenders(channel, c.Senders)
	if err != nil {
		return err
	}
	if err := checkIdle(c.IdleTimeout); err != nil {
		return err
	}
	idle := c.IdleTimeout
	if idle == 0 {
		idle = d.s.Policy.IdleTimeout
	}
	def := c.Definition
	if err := checkDefinitionChannel(&def, channel); err != nil {
		return err
	}
	b := &Bot{ID: id, Name: name, Description: c.Description, Channel: channel, Senders: senders,
		Definition: def, IdleTimeout: idle, State: Draft, CreatedAt: d.now, UpdatedAt: d.now}
	d.bots[id] = b
	d.touch(id)
	return nil
}

func (d *decider) create(c Create) error {
	d.begin(OpCreate)
	return d.newDraft(c.ID, c)
}

func (d *decider) update(c Update) error {
	d.begin(OpUpdate)
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	d.settleExpired()
	if b.State != Draft && b.State != Inactive {
		return &StateError{Bot: b.ID, Name: b.Name, State: b.State, Op: OpUpdate, Err: ErrNotEditable}
	}
	next := b.Clone()
	if c.Name != nil {
		if next.Name, err = checkName(*c.Name); err != nil {
			return err
		}
	}
	if c.Description != nil {
		if err := checkDescription(*c.Description); err != nil {
			return err
		}
		next.Description = *c.Description
	}
	if c.Senders != nil {
		if next.Senders, err = normalizeSenders(b.Channel, *c.Senders); err != nil {
			return err
		}
	}
	if c.Definition != nil {
		def := *c.Definition
		if err := checkDefinitionChannel(&def, b.Channel); err != nil {
			return err
		}
		next.Definition = def
	}
	if c.IdleTimeout != nil {
		if err := checkIdle(*c.IdleTimeout); err != nil {
			return err
		}
		next.IdleTimeout = *c.IdleTimeout
		if next.IdleTimeout == 0 {
			next.IdleTimeout = d.s.Policy.IdleTimeout
		}
	}
	next.UpdatedAt = d.now
	*b = next
	d.touch(b.ID)
	return nil
}

func (d *decider) delete(c Delete) error {
	d.begin(OpDelete)
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	if _, ok := Next(b.State, EventDelete); !ok || !b.FirstActivatedAt.IsZero() {
		return &StateError{Bot: b.ID, Name: b.Name, State: b.StateAt(d.now), Op: OpDelete, Err: ErrNotDeletable}
	}
	if d.deleted == nil {
		d.deleted = map[BotID]bool{}
	}
	d.deleted[b.ID] = true
	d.touch(b.ID)
	return nil
}

func (d *decider) duplicate(c Duplicate) error {
	d.begin(OpDuplicate)
	src, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	name := c.Name
	if name == "" {
		name = truncate(src.Name, MaxNameLength-len(" (copy)")-3) + " (copy)"
	}
	return d.newDraft(c.ID, Create{Name: name, Description: src.Description, Channel: src.Channel,
		Senders: src.Senders, Definition: src.Definition, IdleTimeout: src.IdleTimeout})
}

func (d *decider) importBot(c Import) error {
	d.begin(OpImport)
	cr, err := decodeExport(c.Data, d.s.Policy.MaxImport)
	if err != nil {
		return err
	}
	return d.newDraft(c.ID, cr)
}

// --- going live and offline -------------------------------------------------

func (d *decider) activate(id BotID, dec Decision, ack Ack) error {
	if d.entry.Action == "" {
		d.begin(OpActivate)
	}
	op := d.entry.Action
	b, err := d.bot(id)
	if err != nil {
		return err
	}
	d.settleExpired()
	if _, ok := Next(b.State, EventActivate); !ok {
		return &StateError{Bot: b.ID, Name: b.Name, State: b.State, Op: op, Err: ErrInvalidTransition}
	}
	if len(b.Senders) == 0 {
		return &InputError{Field: "senders", Value: string(b.ID), Problem: "are empty; add at least one sender before activating the bot (R18)"}
	}
	if dec.IsGrace() {
		if err := checkGrace(dec.grace, d.s.Policy.MaxGrace); err != nil {
			return err
		}
	}
	// R4: validation first. Errors block; unacknowledged warnings block.
	r := d.s.Report
	if r == nil {
		return &InputError{Field: "report", Value: string(b.ID), Problem: "is missing; Decide needs the bot's validation report to activate it"}
	}
	d.plan.Report = r
	if err := r.Err(); err != nil {
		return &ValidationError{Bot: b.ID, Err: err.(*validate.ValidationError)}
	}
	if un := ack.unacknowledged(r); len(un) > 0 {
		return &WarningsError{Bot: b.ID, Unacknowledged: un, Fingerprint: r.Fingerprint()}
	}
	d.entry.Acknowledged = r.WarningCodes()

	// R5: the bots Active on its senders need a decision.
	occupants := d.liveNeighbours(b, Active)
	if len(occupants) > 0 && dec.IsZero() {
		e := &OccupiedError{Bot: b.ID}
		for _, o := range occupants {
			for _, s := range b.Senders {
				if o.HasSender(s) {
					e.Occupants = append(e.Occupants, Occupant{Sender: s, Bot: o.ID, Name: o.Name})
				}
			}
		}
		return e
	}
	for _, o := range occupants {
		if !dec.IsGrace() {
			_ = d.move(o, op, EventDeactivate, CloseReplaced, d.now) // o is Active
		} else {
			// R6: a bot already draining on the old bot's senders ends now.
			for _, x := range d.liveNeighbours(o, Deactivated) {
				_ = d.move(x, op, EventEndDrain, CloseReplaced, d.now)
			}
			_ = d.move(o, op, EventDrain, "", d.now)
			o.GraceDeadline = d.now.Add(dec.grace)
			d.entry.GraceDeadline = o.GraceDeadline
		}
		// R14: senders of the old bot the new one lacks go dark.
		for _, s := range o.Senders {
			if !b.HasSender(s) {
				d.plan.DarkSenders = append(d.plan.DarkSenders, s)
			}
		}
	}
	return d.move(b, op, EventActivate, "", d.now)
}

func (d *decider) rollback(c Rollback) error {
	d.begin(OpRollback)
	cur, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	d.settleExpired()
	if cur.State != Active {
		return &StateError{Bot: cur.ID, Name: cur.Name, State: cur.State, Op: OpRollback, Err: ErrInvalidTransition}
	}
	target := rollbackTarget(d.s.Bots, cur)
	if target == "" {
		return &InputError{Field: "rollback", Value: string(cur.ID), Problem: "has nothing to roll back to: no other bot on its senders was ever Active and is now Inactive or draining"}
	}
	// The table has no Deactivated -> Active: a predecessor still draining
	// (the usual case: the new version is broken during its grace period)
	// ends its drain first, its open sessions closed as replaced.
	if t := d.bots[target]; t.State == Deactivated {
		_ = d.move(t, OpRollback, EventEndDrain, CloseReplaced, d.now) // Deactivated -> Inactive is in the table
	}
	return d.activate(target, c.Decision, c.Ack)
}

// rollbackTarget returns the bot that was most recently Active on the
// senders of cur and can be activated again, or "" if none.
func rollbackTarget(bots []Bot, cur *Bot) BotID {
	var best *Bot
	for i := range bots {
		b := &bots[i]
		if b.ID == cur.ID || b.FirstActivatedAt.IsZero() || !b.sharesSender(cur) {
			continue
		}
		if b.State != Inactive && b.State != Deactivated {
			continue
		}
		if best == nil || b.DeactivatedAt.After(best.DeactivatedAt) || (b.DeactivatedAt.Equal(best.DeactivatedAt) && b.ID < best.ID) {
			best = b
		}
	}
	if best == nil {
		return ""
	}
	return best.ID
}

// RollbackTarget returns the id of the bot a Rollback of cur would activate:
// the one most recently Active on cur's senders, now Inactive or draining
// (a draining one is ended first). It returns "" when there is none.
func RollbackTarget(bots []Bot, cur Bot) BotID { return rollbackTarget(bots, &cur) }

func (d *decider) deactivate(c Deactivate) error {
	d.begin(OpDeactivate)
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	d.settleExpired()
	if b.State != Active {
		return &StateError{Bot: b.ID, Name: b.Name, State: b.State, Op: OpDeactivate, Err: ErrInvalidTransition}
	}
	if c.Grace != 0 {
		if err := checkGrace(c.Grace, d.s.Policy.MaxGrace); err != nil {
			return err
		}
	}
	// R8: every other live bot on its senders goes Inactive now.
	for _, x := range d.liveNeighbours(b, Deactivated) {
		_ = d.move(x, OpDeactivate, EventEndDrain, CloseDeactivated, d.now)
	}
	for _, x := range d.liveNeighbours(b, Active) { // only with a broken store; R1 forbids it
		_ = d.move(x, OpDeactivate, EventDeactivate, CloseDeactivated, d.now)
	}
	if c.Grace == 0 {
		return d.move(b, OpDeactivate, EventDeactivate, CloseDeactivated, d.now)
	}
	if err := d.move(b, OpDeactivate, EventDrain, "", d.now); err != nil {
		return err
	}
	b.GraceDeadline = d.now.Add(c.Grace)
	d.entry.GraceDeadline = b.GraceDeadline
	return nil
}

func (d *decider) endGrace(c EndGrace) error {
	d.begin(OpEndGrace)
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	d.settleExpired()
	if b.State != Deactivated {
		return &StateError{Bot: b.ID, Name: b.Name, State: b.State, Op: OpEndGrace, Err: ErrInvalidTransition}
	}
	d.entry.GraceDeadline = b.GraceDeadline
	return d.move(b, OpEndGrace, EventEndDrain, CloseGraceEnded, d.now)
}

func (d *decider) expireGrace(c ExpireGrace) error {
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	if b.State != Deactivated {
		return &StateError{Bot: b.ID, Name: b.Name, State: b.State, Op: OpExpireGrace, Err: ErrInvalidTransition}
	}
	if d.now.Before(b.GraceDeadline) {
		return &InputError{Field: "grace deadline", Value: b.GraceDeadline.Format(time.RFC3339Nano), Problem: "has not passed yet; end the grace early with EndGrace"}
	}
	d.settleExpired() // the settled expiry carries its own audit entry
	return nil
}

// --- roles ------------------------------------------------------------------

// systemMatrix lets the system grant and revoke roles (R19).
var systemMatrix, _ = roles.NewMatrix(map[roles.Role][]roles.Permission{roles.Admin: {roles.ManageRoles}})

func checkUser(user string) error {
	if strings.TrimSpace(user) == "" || len(user) > 256 || strings.IndexFunc(user, unicode.IsControl) >= 0 {
		return &InputError{Field: "user", Value: user, Problem: "must be a non-empty id of at most 256 bytes without control characters"}
	}
	return nil
}

func (d *decider) changeRole(user string, role roles.Role, grant bool) error {
	op := OpRevokeRole
	if grant {
		op = OpGrantRole
	}
	d.begin(op)
	if err := checkUser(user); err != nil {
		return err
	}
	m, actorRoles := d.s.Policy.Matrix, d.s.ActorRoles
	if d.s.Actor.System {
		m, actorRoles = systemMatrix, roles.MustSet(roles.Admin)
	}
	c := roles.Change{Actor: d.s.Actor.ID, ActorRoles: actorRoles, User: user, UserRoles: d.s.UserRoles, Role: role, Admins: d.s.Admins}
	decide := m.Revoke
	if grant {
		decide = m.Grant
	}
	next, err := decide(c)
	if err != nil {
		return err
	}
	d.plan.Roles = append(d.plan.Roles, RoleChange{User: user, From: d.s.UserRoles, To: next})
	d.entry.User, d.entry.Role = user, role
	return nil
}
