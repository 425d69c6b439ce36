package lifecycle

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// Defaults and limits of [Policy].
const (
	DefaultMaxGrace    = 24 * time.Hour
	DefaultIdleTimeout = 30 * time.Minute
	MaxIdleTimeout     = 7 * 24 * time.Hour
	// DefaultMaxDefinition is the default limit of a definition's text, in
	// bytes (R25).
	DefaultMaxDefinition = 1 << 20
	// DefaultMaxImport is the default limit of an import document, in
	// bytes: room for a definition of DefaultMaxDefinition bytes even if
	// JSON escaping makes its text six times longer, and for the settings.
	DefaultMaxImport  = 6*DefaultMaxDefinition + 2<<20
	DefaultMaxPlanAge = 10 * time.Minute
	// MaxGraceLimit bounds Policy.MaxGrace, so that every deadline a plan
	// holds fits every store (PostgreSQL keeps Unix nanoseconds).
	MaxGraceLimit = 366 * 24 * time.Hour
)

// Policy holds the settings Decide applies. Zero fields take the defaults.
type Policy struct {
	// Matrix decides permissions (P1, P4); nil means roles.Default().
	Matrix *roles.Matrix
	// Checker validates a bot's definition when Decide activates it (R4,
	// R25), and names the definition formats the service accepts; nil
	// means validate.Default(), the reference chatbot definition. It must
	// be a pure function of its input (see validate.Checker).
	Checker validate.Checker
	// MaxDefinition is the largest definition text in bytes; default
	// DefaultMaxDefinition (1 MiB).
	MaxDefinition int
	// MaxGrace is the longest grace period allowed (R5); default 24h, at
	// most MaxGraceLimit.
	MaxGrace time.Duration
	// IdleTimeout is given to bots created without one; default 30m, at
	// most MaxIdleTimeout, the longest a bot's own may be (New refuses a
	// longer one; Decide takes MaxIdleTimeout), so that every bot made
	// with it can be edited, duplicated and imported again (R11, R13).
	IdleTimeout time.Duration
	// MaxImport is the largest import document in bytes; default
	// DefaultMaxImport (8 MiB), and six times MaxDefinition plus 2 MiB
	// when MaxDefinition is larger, so that every export imports again.
	MaxImport int
	// MaxPlanAge is how old a plan Manager.ApplyPlan still applies; default
	// 10m (R17).
	MaxPlanAge time.Duration
	// MaxScheduleAhead is how far ahead a schedule may be made (R23);
	// default 90 days, at most MaxScheduleAheadLimit.
	MaxScheduleAhead time.Duration
	// MaxTestSessions is how many test sessions a bot may have open at
	// once (R26); default DefaultMaxTestSessions (20), at most 999.
	MaxTestSessions int
}

func (p Policy) withDefaults() Policy {
	if p.Matrix == nil {
		p.Matrix = roles.Default()
	}
	if p.Checker == nil {
		p.Checker = validate.Default()
	}
	if p.MaxDefinition <= 0 {
		p.MaxDefinition = DefaultMaxDefinition
	}
	if p.MaxGrace <= 0 {
		p.MaxGrace = DefaultMaxGrace
	}
	p.MaxGrace = min(p.MaxGrace, MaxGraceLimit)
	if p.IdleTimeout <= 0 {
		p.IdleTimeout = DefaultIdleTimeout
	}
	p.IdleTimeout = min(p.IdleTimeout, MaxIdleTimeout)
	if p.MaxImport <= 0 {
		p.MaxImport = math.MaxInt // an export of a definition that large would not fit in memory
		if p.MaxDefinition <= (math.MaxInt-2<<20)/6 {
			p.MaxImport = max(DefaultMaxImport, 6*p.MaxDefinition+2<<20)
		}
	}
	if p.MaxPlanAge <= 0 {
		p.MaxPlanAge = DefaultMaxPlanAge
	}
	if p.MaxScheduleAhead <= 0 {
		p.MaxScheduleAhead = DefaultMaxScheduleAhead
	}
	p.MaxScheduleAhead = min(p.MaxScheduleAhead, MaxScheduleAheadLimit)
	if p.MaxTestSessions <= 0 {
		p.MaxTestSessions = DefaultMaxTestSessions
	}
	p.MaxTestSessions = min(p.MaxTestSessions, 999)
	return p
}

// Snapshot is what Decide knows of the world: who asks and with which
// roles, the stored bots the command may touch, and for role changes the
// roles involved. [ReadSnapshot] reads it from a Store as the command
// declares; a caller of Decide may build it by hand.
type Snapshot struct {
	// Workspace is the workspace the command acts in (R27). Decide treats
	// a bot or schedule of another workspace as not found.
	Workspace  Workspace
	Actor      Actor
	ActorRoles roles.Set
	// Bots are the stored bots the command may touch: the bots it names and,
	// for commands that move bots on senders, the live bots around them;
	// for a Rollback also the bot Active last on each sender the bot rolled
	// back is Active on (R20).
	Bots []Bot
	// LastActive is, for a Rollback, the bot the store says was Active last
	// on the senders of the bot rolled back (Store.SenderBots); "" if none.
	// It is one of Bots.
	LastActive BotID
	// UserRoles are the current roles of the user a role command names, and
	// Admins how many users hold Admin.
	UserRoles roles.Set
	Admins    int
	// Schedule is the schedule a schedule command names, as stored; nil if
	// there is none.
	Schedule *Schedule
	Policy   Policy
}

// Decide works out what cmd changes, given what s says is stored, at time
// now. It is the only place any rule is decided: the actor's permission
// (P1, once) and what the system may do (R19), input text (R21), the
// transition table (S1), validation of exactly the bot it activates (R4),
// decisions and cascades (R5-R8, R14), rollback's target (R20) and grace
// expiries due at now (R9).
//
// It is pure: it reads no clock, draws no id, does no I/O and starts no
// goroutines; the same arguments always give the same plan.
//
// On refusal it returns an *Error and a plan that changes nothing: empty,
// except that a refusal on permission grounds holds the one audit entry
// that records it (R16), and a refused activation holds the validation
// report (R4).
func Decide(s Snapshot, cmd Command, now time.Time) (Plan, error) {
	if cmd = commandOf(cmd); cmd == nil {
		return Plan{}, opError("", &InputError{Field: "command", Value: "nil", Problem: "is missing"})
	}
	op := cmd.op()
	s.Policy = s.Policy.withDefaults()
	plan := Plan{Op: op, Actor: s.Actor, Time: now, Command: cmd, Workspace: s.Workspace}
	s = s.inWorkspace()
	if err := checkActor(s.Actor); err != nil {
		return plan, opError(op, err)
	}
	if err := permit(s, op); err != nil {
		e := AuditEntry{Time: now, Actor: s.Actor.ID, System: s.Actor.System, Roles: s.ActorRoles,
			Action: op, Denied: true, Reason: err.Error()}
		if s.Actor.System {
			// R19: the system's operations are audited with its reason,
			// refused ones too.
			e.Reason = s.Actor.Reason + "; denied: " + e.Reason
		}
		deniedTarget(cmd, &e)
		plan.Audit = []AuditEntry{e}
		return plan, opError(op, err)
	}
	d := newDecider(s, op, now)
	d.settleExpired()
	if err := cmd.decide(d); err != nil {
		plan.Report = d.plan.Report
		return plan, opError(op, err)
	}
	p := d.finish()
	p.Command = cmd
	p.Workspace = s.Workspace
	for i := range p.Changes {
		if a := p.Changes[i].After; a != nil {
			a.Workspace = s.Workspace
		}
	}
	for i := range p.Schedules {
		p.Schedules[i].After.Workspace = s.Workspace
	}
	return p, nil
}

// inWorkspace returns s without the bots and schedule of workspaces other
// than s.Workspace: to Decide they do not exist (R27). It does not change
// s's slices.
func (s Snapshot) inWorkspace() Snapshot {
	if s.Schedule != nil && s.Schedule.Workspace != s.Workspace {
		s.Schedule = nil
	}
	for _, b := range s.Bots {
		if b.Workspace != s.Workspace {
			s.Bots = slices.DeleteFunc(slices.Clone(s.Bots), func(b Bot) bool { return b.Workspace != s.Workspace })
			if !slices.ContainsFunc(s.Bots, func(b Bot) bool { return b.ID == s.LastActive }) {
				s.LastActive = ""
			}
			break
		}
	}
	return s
}

// deniedTarget names in e, the entry of cmd's denial, what cmd names - the
// bot it reads first, the user and role of a role change, the schedule -
// so that the log says who tried what on what (R16). Text that is not an
// id is left out: it is never stored (R21).
func deniedTarget(cmd Command, e *AuditEntry) {
	r := cmd.reads()
	if c, ok := cmd.(readOp); ok { // a read names what it reads without reading it first
		r.bots, r.user, r.schedule = []BotID{c.Bot}, &c.User, c.Schedule
	}
	if len(r.bots) > 0 && checkID("bot id", string(r.bots[0])) == nil {
		e.Bot = r.bots[0]
	}
	if r.user != nil && checkID("user", *r.user) == nil {
		e.User = *r.user
		switch c := cmd.(type) {
		case GrantRole:
			e.Role = c.Role
		case RevokeRole:
			e.Role = c.Role
		}
	}
	if r.schedule != "" && checkID("schedule id", string(r.schedule)) == nil {
		e.Schedule = r.schedule
	}
}

// checkActor checks who acts: a user's id is text (R21); the system always
// says why (R19).
func checkActor(a Actor) error {
	if !a.System {
		return checkID("actor", a.ID)
	}
	if err := checkReason(a.Reason); err != nil {
		return err
	}
	if a.Reason == "" {
		return &InputError{Field: "reason", Value: "", Problem: "is empty; the system must say why it acts (R19), e.g. System(\"account out of credit\")"}
	}
	return nil
}

// permit is the permission check, the one place P1 and R19 are decided: a
// user needs the permission the matrix gives op; the system may do only
// what R19 lists.
func permit(s Snapshot, op Op) error {
	if s.Actor.System {
		if !op.systemMay() {
			return &SystemError{Op: op}
		}
		return nil
	}
	return s.Policy.Matrix.Check(s.Actor.ID, s.ActorRoles, op.permission())
}

// decider is the working state of one decision.
type decider struct {
	s      Snapshot
	op     Op
	now    time.Time
	bots   map[BotID]*Bot // working copies
	stored map[BotID]Bot  // as read
	order  []BotID        // snapshot ids, sorted
	plan   Plan
	// touched lists changed bots in the order they first changed.
	touched []BotID
	deleted map[BotID]bool
	// settled are the drains that ended at their deadline on the way (R9).
	settled map[BotID]bool
	// steps are the table moves of the operation, in order, for its audit
	// entry; entry holds the rest of it.
	steps       []Transition
	senderSteps []SenderTransition
	entry       AuditEntry
	// adopted is a plan decided whole for another actor (a schedule run as
	// its creator, R23): it is the plan, plus the schedule changes.
	adopted *Plan
}

func newDecider(s Snapshot, op Op, now time.Time) *decider {
	d := &decider{s: s, op: op, now: now, bots: map[BotID]*Bot{}, stored: map[BotID]Bot{},
		deleted: map[BotID]bool{}, settled: map[BotID]bool{}}
	d.plan = Plan{Op: op, Actor: s.Actor, Time: now}
	for _, b := range s.Bots {
		if _, dup := d.bots[b.ID]; dup {
			continue
		}
		c := b.Clone()
		d.bots[b.ID] = &c
		d.stored[b.ID] = b
		d.order = append(d.order, b.ID)
	}
	slices.Sort(d.order)
	return d
}

// bot returns the working copy of a bot the snapshot holds.
func (d *decider) bot(id BotID) (*Bot, error) {
	if err := checkID("bot id", string(id)); err != nil { // R21: not text is no id at all
		return nil, err
	}
	b, ok := d.bots[id]
	if !ok || d.deleted[id] {
		return nil, &NotFoundError{Kind: "bot", ID: shown(string(id))}
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

// step is one move the transition table allows: b may take e, to to.
type step struct {
	b  *Bot
	e  Event
	to State
}

// refusedAs is the sentinel of a refused event, where it is not
// ErrInvalidTransition.
var refusedAs = map[Event]error{EventEdit: ErrNotEditable, EventDelete: ErrNotDeletable}

// can asks the transition table whether b may take e (S1, S2). The refusal
// names the bot, its state, the operation and what the table allows.
func (d *decider) can(b *Bot, e Event) (step, error) {
	to, ok := Next(b.State, e)
	if !ok {
		sentinel := refusedAs[e]
		if sentinel == nil {
			sentinel = ErrInvalidTransition
		}
		return step{}, &StateError{Bot: b.ID, Name: b.Name, State: b.State, Op: d.op, Event: e, Err: sentinel}
	}
	return step{b: b, e: e, to: to}, nil
}

// take applies a step the table allowed, with the timestamps the new state
// implies, and returns the transition. It cannot fail.
func (d *decider) take(s step, reason CloseReason, at time.Time) Transition {
	b, from := s.b, s.b.State
	if s.to != from {
		switch s.to {
		case Active:
			b.ActivatedAt = at
			if b.FirstActivatedAt.IsZero() {
				b.FirstActivatedAt = at
			}
			b.ActiveContent, b.Edited = contentFingerprint(b), nil // R20
		case Deactivated:
			b.DeactivatedAt = at
		case Inactive:
			if from == Active {
				b.DeactivatedAt = at
			}
			b.EndedAt, b.EndReason = at, reason
		case Deleted:
			d.deleted[b.ID] = true
		}
	}
	b.State = s.to
	b.UpdatedAt = d.now
	d.touch(b.ID)
	return Transition{Bot: b.ID, From: from, To: s.to}
}

// move takes a step as part of the operation, recorded in its audit entry.
func (d *decider) move(s step, reason CloseReason, at time.Time) {
	d.steps = append(d.steps, d.take(s, reason, at))
}

// shift moves b by e on each of senders, as the sender table allows (R22):
// activate puts it on them in a new activation, drain starts a drain until
// deadline, deactivate and end_drain take it off them, ending their
// sessions at at for reason. When the bot's own state changes as a result,
// it moves by the bot's table (S1); a move that table refuses refuses the
// operation. It returns the moves, for an audit entry.
func (d *decider) shift(b *Bot, senders []Sender, e Event, reason CloseReason, at, deadline time.Time) ([]Transition, []SenderTransition, error) {
	moves := make([]SenderTransition, 0, len(senders))
	for _, sn := range senders {
		from := b.stateOn(sn)
		to, ok := nextOnSender(from, e)
		if !ok {
			return nil, nil, &StateError{Bot: b.ID, Name: b.Name, Sender: &sn, State: from, Op: d.op, Event: e, Err: ErrInvalidTransition}
		}
		moves = append(moves, SenderTransition{Bot: b.ID, Sender: sn, From: from, To: to})
	}
	b.noteLeft(moves, at)
	switch e {
	case EventActivate:
		b.Activations++
		for _, sn := range senders {
			b.Live = append(b.Live, SenderState{Sender: sn, State: Active, Activation: b.Activations})
		}
		slices.SortFunc(b.Live, func(x, y SenderState) int { return x.Sender.compare(y.Sender) })
	case EventDrain:
		for i := range b.Live {
			if slices.Contains(senders, b.Live[i].Sender) {
				b.Live[i].State, b.Live[i].GraceDeadline = Deactivated, deadline
			}
		}
		b.GraceDeadline = b.earliestDeadline()
	default:
		b.leave(senders, at, reason)
	}
	b.UpdatedAt = d.now
	d.touch(b.ID)
	to := b.liveState()
	if to == b.State {
		return nil, moves, nil
	}
	s, err := d.can(b, botEvent(b.State, to))
	if err != nil {
		return nil, nil, err
	}
	return []Transition{d.take(s, reason, at)}, moves, nil
}

// botEvent is the bot table's event from one state to another that its
// senders' states imply (R22).
func botEvent(from, to State) Event {
	switch {
	case to == Active:
		return EventActivate
	case to == Deactivated:
		return EventDrain
	case from == Active:
		return EventDeactivate
	}
	return EventEndDrain
}

// shiftOp shifts b as part of the operation, at now, recording the moves
// in its audit entry.
func (d *decider) shiftOp(b *Bot, senders []Sender, e Event, reason CloseReason, deadline time.Time) error {
	ts, ss, err := d.shift(b, senders, e, reason, d.now, deadline)
	if err != nil {
		return err
	}
	d.steps = append(d.steps, ts...)
	d.senderSteps = append(d.senderSteps, ss...)
	return nil
}

// off takes b off every sender now: its drains end, then it leaves the
// senders it is Active on (the cascades of R6 and R8, and replacement
// without grace).
func (d *decider) off(b *Bot, reason CloseReason) error {
	if err := d.shiftOp(b, b.sendersIn(Deactivated), EventEndDrain, reason, time.Time{}); err != nil {
		return err
	}
	return d.shiftOp(b, b.sendersIn(Active), EventDeactivate, reason, time.Time{})
}

// settleExpired ends the drains in the snapshot whose grace deadline has
// passed (R9), at their deadline, each bot's with an audit entry of its own
// by the system, so the plan never stores a second Deactivated bot beside
// one that is over.
func (d *decider) settleExpired() {
	for _, id := range d.order {
		b := d.bots[id]
		groups := b.dueDrains(d.now)
		if len(groups) == 0 {
			continue
		}
		e := AuditEntry{Time: d.now, Actor: System("").ID, System: true, Action: OpExpireGrace,
			GraceDeadline: b.GraceDeadline, Reason: "grace period ended"}
		for _, g := range groups {
			ts, ss, err := d.shift(b, g, EventEndDrain, CloseGraceExpired, b.GraceDeadline, time.Time{})
			if err != nil {
				break // unreachable: a due drain may always end
			}
			e.Transitions = append(e.Transitions, ts...)
			e.Senders = append(e.Senders, ss...)
		}
		d.settled[id] = true
		d.plan.Audit = append(d.plan.Audit, e)
	}
}

// neighbours returns the other bots in state on any of senders, sorted by
// id.
func (d *decider) neighbours(b *Bot, senders []Sender, state State) []*Bot {
	var out []*Bot
	for _, id := range d.order {
		o := d.bots[id]
		if id == b.ID || d.deleted[id] {
			continue
		}
		if slices.ContainsFunc(senders, func(s Sender) bool { return o.stateOn(s) == state }) {
			out = append(out, o)
		}
	}
	return out
}

// offAll takes every bot in bots off every sender now (a cascade).
func (d *decider) offAll(bots []*Bot, reason CloseReason) error {
	for _, o := range bots {
		if err := d.off(o, reason); err != nil {
			return err
		}
	}
	return nil
}

// finish turns the decision into a plan: a change per touched bot with the
// revision it was read at, and the operation's audit entry.
func (d *decider) finish() Plan {
	if a := d.adopted; a != nil {
		p := *a
		p.Op, p.Actor, p.Time, p.Schedules = d.plan.Op, d.plan.Actor, d.plan.Time, d.plan.Schedules
		return p
	}
	p := d.plan
	e := d.entry
	e.Action, e.Time, e.Actor, e.System, e.Roles = d.op, d.now, d.s.Actor.ID, d.s.Actor.System, d.s.ActorRoles
	if d.s.Actor.System {
		e.Reason = d.s.Actor.Reason
	}
	e.Transitions, e.Senders = d.steps, d.senderSteps
	moved := map[BotID]bool{}
	for _, st := range d.steps {
		moved[st.Bot] = true
	}
	for _, id := range d.touched {
		if !d.deleted[id] {
			var ran *Bot
			if st, ok := d.stored[id]; ok {
				ran = &st
			}
			d.bots[id].endStaleLeases(d.now, ran) // R26: a content change ends its test sessions
		}
		c := Change{Bot: id}
		if st, ok := d.stored[id]; ok {
			c.From, c.Revision = st.State, st.Revision
		}
		if d.deleted[id] {
			c.To = Deleted
		} else {
			after := *d.bots[id]
			after.Revision = c.Revision + 1
			if st, ok := d.stored[id]; ok {
				after.dropEnds(&st)
			}
			after.OpenActivations = nil
			c.To, c.After = after.State, &after
		}
		p.Changes = append(p.Changes, c)
		if !moved[id] && !d.settled[id] && c.From == 0 { // a creation: not a table move
			e.Transitions = append(e.Transitions, Transition{Bot: id, From: c.From, To: c.To})
		}
	}
	if len(e.Transitions) > 0 || len(e.Senders) > 0 || len(p.Roles) > 0 || len(p.Schedules) > 0 || e.Test != nil {
		p.Audit = append(p.Audit, e)
	}
	return p
}

// validate runs the policy's checker on exactly the bot being activated
// (R4, R25): errors block; warnings block unless acknowledged. The report
// goes into the plan either way. An acknowledgement that is not text is
// refused first (R21). A checker that panics is an error finding
// (validate.CodeCheckerPanic), never a crash.
func (d *decider) validate(b *Bot, ack Ack) error {
	if err := ack.check(); err != nil { // R21
		return err
	}
	r, err := check(d.s.Policy, b)
	if err != nil {
		return err
	}
	d.plan.Report = &r
	if err := r.Err(); err != nil {
		ve, ok := err.(*validate.ValidationError)
		if !ok {
			return fmt.Errorf("validating bot %s: %w", b.ID, err)
		}
		return &ValidationError{Op: d.op, Bot: b.ID, Report: r, Err: ve}
	}
	if un := ack.unacknowledged(&r); len(un) > 0 {
		return &WarningsError{Op: d.op, Bot: b.ID, Unacknowledged: un, Report: r}
	}
	d.entry.Acknowledged = r.WarningCodes()
	return nil
}
