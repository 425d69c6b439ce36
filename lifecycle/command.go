package lifecycle

import (
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"time"

	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// Op names an operation, in plans, audit entries and errors.
type Op string

// The operations.
const (
	OpCreate      Op = "create"
	OpUpdate      Op = "update"
	OpDelete      Op = "delete"
	OpDuplicate   Op = "duplicate"
	OpImport      Op = "import"
	OpExport      Op = "export"
	OpActivate    Op = "activate"
	OpDeactivate  Op = "deactivate"
	OpEndGrace    Op = "end_grace"
	OpExpireGrace Op = "expire_grace"
	OpRollback    Op = "rollback"
	OpGrantRole   Op = "grant_role"
	OpRevokeRole  Op = "revoke_role"
	OpGet         Op = "get"
	OpList        Op = "list"
	OpReadAudit   Op = "read_audit"
	OpReadRoles   Op = "read_roles"
	OpAnalytics   Op = "analytics"
	OpSessions    Op = "read_sessions"
	// Schedules (R23).
	OpSchedule       Op = "schedule"
	OpCancelSchedule Op = "cancel_schedule"
	OpRunSchedule    Op = "run_schedule"
	OpReadSchedules  Op = "read_schedules"
	// Session operations, in errors only: routing has no actor.
	OpRoute        Op = "route"
	OpSession      Op = "read_session"
	OpCloseSession Op = "close_session"
	OpApplyPlan    Op = "apply_plan"
	// Test sessions (R26).
	OpOpenTestSession  Op = "open_test_session"
	OpCloseTestSession Op = "close_test_session"
	OpTestSession      Op = "read_test_session"
	OpSendTest         Op = "send_test"
	// A Tracer's own (see Tracer): a dry run (Manager.Plan), one
	// ExpireDue, one entry Watch or Backlog delivered.
	OpPlan      Op = "plan"
	OpExpireDue Op = "expire_due"
	OpWatch     Op = "watch"
)

// opInfo is what the library knows of an operation, as data: the
// permission it needs (the matrix of rules.md, P1), whether the hosting
// service may do it as the system (R19), whether it only reads, and the verb
// its messages use.
type opInfo struct {
	perm   roles.Permission
	system bool
	read   bool
	verb   string
}

// ops is the operation table. A new command is a new file and a row here.
var ops = map[Op]opInfo{
	OpCreate:      {perm: roles.EditChatbots, verb: "create"},
	OpUpdate:      {perm: roles.EditChatbots, verb: "update"},
	OpDelete:      {perm: roles.EditChatbots, verb: "delete"},
	OpDuplicate:   {perm: roles.EditChatbots, verb: "duplicate"},
	OpImport:      {perm: roles.EditChatbots, verb: "import"},
	OpExport:      {perm: roles.EditChatbots, read: true, verb: "export"},
	OpActivate:    {perm: roles.ActivateChatbots, verb: "activate"},
	OpDeactivate:  {perm: roles.ActivateChatbots, system: true, verb: "deactivate"},
	OpEndGrace:    {perm: roles.ActivateChatbots, system: true, verb: "end the grace period of"},
	OpExpireGrace: {perm: roles.ActivateChatbots, system: true, verb: "expire the grace period of"},
	OpRollback:    {perm: roles.ActivateChatbots, verb: "roll back"},
	OpGrantRole:   {perm: roles.ManageRoles, system: true, verb: "grant a role"},
	OpRevokeRole:  {perm: roles.ManageRoles, system: true, verb: "revoke a role"},
	OpGet:         {perm: roles.ViewDetails, read: true, verb: "read"},
	OpSessions:    {perm: roles.ViewDetails, read: true, verb: "read sessions"},
	OpList:        {perm: roles.ViewDashboard, read: true, verb: "list"},
	OpReadAudit:   {perm: roles.ViewAuditLog, read: true, verb: "read the audit log"},
	OpReadRoles:   {perm: roles.ManageRoles, read: true, verb: "read roles"},
	OpAnalytics:   {perm: roles.ViewAnalytics, read: true, verb: "read analytics"},
	// A schedule needs the permission of what it runs, checked again as
	// its creator when it runs; the system only sets a due one off.
	OpSchedule:       {perm: roles.ActivateChatbots, verb: "schedule"},
	OpCancelSchedule: {perm: roles.ActivateChatbots, verb: "cancel"},
	OpRunSchedule:    {perm: roles.ActivateChatbots, system: true, verb: "run"},
	OpReadSchedules:  {perm: roles.ViewDetails, read: true, verb: "read schedules"},
	// Test sessions (R26).
	OpOpenTestSession:  {perm: roles.TestChatbots, verb: "open a test session on"},
	OpCloseTestSession: {perm: roles.TestChatbots, verb: "close a test session on"},
	OpTestSession:      {perm: roles.TestChatbots, read: true, verb: "read a test session"},
	// A test message is decided as a read - the permission check alone
	// (P2: a tester who lost it sends no more); Store.Route counts it.
	OpSendTest: {perm: roles.TestChatbots, read: true, verb: "send a test message"},
}

// permission returns the permission an actor needs for the operation (the
// matrix of rules.md); 0 for an operation the library does not know.
func (op Op) permission() roles.Permission { return ops[op].perm }

// systemMay reports whether the hosting service may do op as the system,
// without a role (R19): grace expiry, ending a grace period, deactivation
// and role changes. The system never creates, edits, activates or rolls
// back a bot, and reads nothing through the Manager.
func (op Op) systemMay() bool { return ops[op].system }

// isRead reports whether op only reads.
func (op Op) isRead() bool { return ops[op].read }

func (op Op) verb() string {
	if v := ops[op].verb; v != "" {
		return v
	}
	return string(op)
}

// Command is an operation that changes stored state, as [Decide] takes it.
// Each command is one type in a file of its own: its fields, the reads its
// snapshot needs and its decision. The Manager's methods build commands for
// you.
type Command interface {
	op() Op
	// reads says what the snapshot must hold (see ReadSnapshot).
	reads() reads
	// decide works out the command's changes on d; it runs after the
	// permission check (P1) and after expired drains are settled (R9).
	decide(d *decider) error
}

// commandOf returns cmd as the value the library works on: a pointer to
// a command is the command it points to, and a nil pointer is no command
// at all (nil), refused as missing - never a panic on a method called
// through it.
func commandOf(cmd Command) Command {
	if cmd == nil {
		return nil
	}
	v := reflect.ValueOf(cmd)
	if v.Kind() != reflect.Pointer {
		return cmd
	}
	if v.IsNil() {
		return nil
	}
	if c, ok := v.Elem().Interface().(Command); ok {
		return c
	}
	return cmd
}

// newIDs draws the ids of new bots and schedules.
type newIDs struct {
	ws          Workspace
	newBot      func(Workspace) BotID
	newSchedule func(Workspace) ScheduleID
	clock       Clock
	last        *atomic.Uint64 // the last incarnation drawn, shared by the Manager's workspaces
}

// bot draws a bot id for the Manager's workspace.
func (n newIDs) bot() BotID { return n.newBot(n.ws) }

// schedule draws a schedule id for the Manager's workspace.
func (n newIDs) schedule() ScheduleID { return n.newSchedule(n.ws) }

// incarnation draws a new bot's Bot.Incarnation: the clock's time in
// nanoseconds, or one more than the last drawn if that is not less, so that
// no two bots the Manager makes share one - however soon after a bot's
// deletion it makes another with the bot's id (R26). Bots made by two
// Managers share one only if made within nanoseconds of each other by
// their clocks.
// It is a time, not a random number, so that ids on a mock clock repeat from
// run to run.
func (n newIDs) incarnation() uint64 {
	t := uint64(n.clock.Now().UnixNano()) & (1<<63 - 1)
	for {
		last := n.last.Load()
		next := max(t, last+1) & (1<<63 - 1)
		if next == 0 {
			next = 1
		}
		if n.last.CompareAndSwap(last, next) {
			return next
		}
	}
}

// idAssigner is a command that creates a bot and takes its id from the
// Manager when none is given: the id is drawn once, before deciding, and is
// part of the plan (R17).
type idAssigner interface {
	withID(n newIDs) Command
}

// Decision says what an activation does to the bots already Active on its
// senders (R5). The zero value is no decision: activation then fails with an
// *OccupiedError if a sender is occupied.
type Decision struct {
	kind  uint8 // 0 none, 1 immediate, 2 grace
	grace time.Duration
}

// Immediate replaces the old bot now: it goes Inactive and its sessions close.
func Immediate() Decision { return Decision{kind: 1} }

// Grace lets the old bot drain for d: it goes Deactivated until now+d and
// keeps its open sessions until then. d must be positive and at most the
// Manager's maximum grace; activation refuses any other d.
func Grace(d time.Duration) Decision { return Decision{kind: 2, grace: d} }

// Equal reports whether d and o are the same decision (as == does); it is
// what lets go-cmp compare plans and commands that hold one.
func (d Decision) Equal(o Decision) bool { return d == o }

// IsZero reports whether no decision was made.
func (d Decision) IsZero() bool { return d.kind == 0 }

// replaceEvent is the table event that moves a bot this decision replaces:
// drain for a grace period, deactivate otherwise.
func (d Decision) replaceEvent() Event {
	if d.isGrace() {
		return EventDrain
	}
	return EventDeactivate
}

// isGrace reports whether the decision is a grace period.
func (d Decision) isGrace() bool { return d.kind == 2 }

// GracePeriod returns the grace period and true when the decision is one;
// zero and false for no decision or Immediate.
func (d Decision) GracePeriod() (time.Duration, bool) { return d.grace, d.isGrace() }

// String returns "none", "immediate" or "grace:<duration>".
func (d Decision) String() string {
	switch d.kind {
	case 0:
		return "none"
	case 1:
		return "immediate"
	}
	return "grace:" + d.grace.String()
}

// ParseDecision reads the forms String writes: "", "none", "immediate" or
// "grace:15m".
func ParseDecision(s string) (Decision, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	switch {
	case t == "" || t == "none":
		return Decision{}, nil
	case t == "immediate":
		return Immediate(), nil
	case strings.HasPrefix(t, "grace:"):
		d, err := time.ParseDuration(strings.TrimPrefix(t, "grace:"))
		if err != nil || d <= 0 {
			break
		}
		return Grace(d), nil
	}
	return Decision{}, &InputError{Field: "decision", Value: shown(s), Problem: `is not a decision; use "immediate" or "grace:<duration>" such as "grace:15m"`}
}

// Ack acknowledges validation warnings (R4): either exactly the warnings of
// a report, by its fingerprint, or any warning whose code is listed. Its
// fingerprint and codes are text as a report gives them (R21): valid UTF-8
// without NUL, at most MaxIDBytes bytes each, at most MaxAckCodes codes;
// Activate, Rollback and Schedule refuse any other with an *InputError.
type Ack struct {
	Fingerprint string   `json:"fingerprint,omitempty"`
	Codes       []string `json:"codes,omitempty"`
}

// check refuses an acknowledgement that is not text a report could give
// (R21): more than MaxAckCodes codes, or a code or fingerprint that is not
// valid UTF-8, holds a NUL or is over MaxIDBytes bytes. Every path that
// activates (and Schedule) checks it before deciding anything.
func (a Ack) check() error {
	if len(a.Codes) > MaxAckCodes {
		return &InputError{Field: "acknowledged codes", Value: fmt.Sprint(len(a.Codes)), Problem: fmt.Sprintf("are too many; list at most %d warning codes", MaxAckCodes)}
	}
	if err := checkAckText("acknowledged fingerprint", a.Fingerprint); err != nil {
		return err
	}
	for _, code := range a.Codes {
		if err := checkAckText("acknowledged code", code); err != nil {
			return err
		}
	}
	return nil
}

func checkAckText(field, s string) error {
	p := textProblem(s)
	if p == "" && len(s) > MaxIDBytes {
		p = fmt.Sprintf("is %d bytes", len(s))
	}
	if p != "" {
		return &InputError{Field: field, Value: shown(s), Problem: fmt.Sprintf("%s; send it as the report gives it: text without NUL characters, at most %d bytes", p, MaxIDBytes)}
	}
	return nil
}

// unacknowledged returns the warnings of r that a does not acknowledge.
func (a Ack) unacknowledged(r *validate.Report) []validate.Finding {
	ws := r.Warnings()
	if a.Fingerprint != "" && a.Fingerprint == r.Fingerprint() {
		return nil
	}
	var out []validate.Finding
	for _, w := range ws {
		ok := false
		for _, c := range a.Codes {
			ok = ok || c == w.Code
		}
		if !ok {
			out = append(out, w)
		}
	}
	return out
}

func checkGrace(d, max time.Duration) error {
	if d <= 0 || d > max {
		return &InputError{Field: "grace period", Value: humanDuration(d), Problem: "must be more than 0 and at most " + humanDuration(max)}
	}
	return nil
}

// checkDrainGrace checks a deactivation's grace period, where 0 is
// allowed: no grace, the bot goes offline at once (R7).
func checkDrainGrace(d, max time.Duration) error {
	if d < 0 || d > max {
		return &InputError{Field: "grace period", Value: humanDuration(d), Problem: "must be 0 (no grace: offline at once) or more, and at most " + humanDuration(max)}
	}
	return nil
}
