package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// Sentinel errors: the kinds of failure. Every error the Manager and Decide
// return is an *Error whose Kind is one of them (test with errors.Is); the
// typed errors below carry the details (read them with errors.As).
var (
	// ErrNotFound: no bot, schedule, session or test session with that id.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the actor lacks the permission (the same value as
	// roles.ErrForbidden), or the system acted beyond what R19 allows.
	ErrForbidden = roles.ErrForbidden
	// ErrInvalidTransition: the bot's state does not allow the operation (S1).
	ErrInvalidTransition = errors.New("invalid transition")
	// ErrNotEditable: the bot is live and cannot be edited (R11).
	ErrNotEditable = errors.New("bot is not editable")
	// ErrNotDeletable: the bot was activated once and cannot be deleted (R12).
	ErrNotDeletable = errors.New("bot is not deletable")
	// ErrSenderOccupied: activation needs a decision about the bots already
	// Active on its senders (R5).
	ErrSenderOccupied = errors.New("sender occupied")
	// ErrValidation: the definition has validation errors (R4); the same value
	// as validate.ErrValidation.
	ErrValidation = validate.ErrValidation
	// ErrWarningsNotAcknowledged: the definition has warnings the request did
	// not acknowledge (R4).
	ErrWarningsNotAcknowledged = errors.New("warnings not acknowledged")
	// ErrNoRollback: there is no bot to roll back to, or it changed since it
	// was last Active (R20).
	ErrNoRollback = errors.New("cannot roll back")
	// ErrContentChanged: the bot's content (definition or senders) is not
	// what the operation was pinned to: a scheduled run whose bot changed
	// since it was scheduled (R23). A rollback refused for a changed target
	// (R20) is of kind ErrNoRollback and matches it too.
	ErrContentChanged = errors.New("content changed")
	// ErrConflict: a concurrent operation changed the bots or roles this one
	// read. Retrying the whole operation is safe (R15).
	ErrConflict = errors.New("conflict")
	// ErrInvalidInput: an argument is malformed or out of range.
	ErrInvalidInput = errors.New("invalid input")
	// ErrNoBot: a message arrived on a sender with no bot to take it (R10).
	ErrNoBot = errors.New("no bot")
	// ErrLastAdmin: the change would remove the last Admin (the same value as
	// roles.ErrLastAdmin).
	ErrLastAdmin = roles.ErrLastAdmin
	// ErrRoleHeld: the user already holds the role (roles.ErrRoleHeld).
	ErrRoleHeld = roles.ErrRoleHeld
	// ErrRoleNotHeld: the user does not hold the role (roles.ErrRoleNotHeld).
	ErrRoleNotHeld = roles.ErrRoleNotHeld
	// ErrUnknownRole: not a role (roles.ErrUnknownRole).
	ErrUnknownRole = roles.ErrUnknownRole
	// ErrUnavailable: the store could not be reached or did not answer in
	// time (connection lost, timeout, server shutting down); an HTTP service
	// answers 503. A read may be retried. A write may have been applied
	// when the answer was lost after the store had it (a connection lost
	// during its commit). A retried Apply decides again on what is stored:
	// it may be refused (the bot is Active already) or, for a command that
	// creates, create a second bot or schedule; a retried Route may count a
	// message twice or open a second session. Each store's documentation
	// says when its writes can end so.
	ErrUnavailable = errors.New("store unavailable")
	// ErrStore: the store failed in a way it did not classify. A Store
	// should return one of the kinds above instead.
	ErrStore = errors.New("store failed")
	// ErrTestSessionLimit: the bot already has the most open test sessions
	// allowed (Policy.MaxTestSessions, R26).
	ErrTestSessionLimit = errors.New("too many test sessions")
	// ErrSessionOver: the test session is over - its bot's content
	// changed, it idled out or it was closed (R26) - and takes no message.
	ErrSessionOver = errors.New("session over")
)

// kinds are the sentinels an *Error's Kind is chosen from, in the order
// they are tried.
var kinds = []error{
	ErrForbidden, ErrNotFound, ErrNotEditable, ErrNotDeletable, ErrInvalidTransition,
	ErrSenderOccupied, ErrValidation, ErrWarningsNotAcknowledged, ErrNoRollback, ErrContentChanged,
	ErrLastAdmin, ErrRoleHeld, ErrRoleNotHeld, ErrUnknownRole, ErrConflict,
	ErrInvalidInput, ErrNoBot, ErrSenderClaimed, ErrTestSessionLimit, ErrSessionOver, ErrUnavailable, context.Canceled, context.DeadlineExceeded,
}

// Error is every failure of an operation, in the manner of upspin's
// errors: the operation, the kind of failure (one of the sentinels above,
// for errors.Is) and the detail (a typed error such as *StateError, for
// errors.As).
type Error struct {
	Op   Op
	Kind error
	Err  error
}

// Error implements the error interface: "<op>: <detail>", or the detail
// alone for an error of no operation (New, Manager.Workspace, a nil
// command).
func (e *Error) Error() string {
	if e.Op == "" {
		return e.Err.Error()
	}
	return string(e.Op) + ": " + e.Err.Error()
}

// Unwrap returns the detail and the kind.
func (e *Error) Unwrap() []error { return []error{e.Err, e.Kind} }

// opError wraps err as an *Error of op, choosing its kind; an *Error is
// returned as it is, and nil stays nil.
func opError(op Op, err error) error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	kind := ErrStore
	for _, k := range kinds {
		if errors.Is(err, k) {
			kind = k
			break
		}
	}
	return &Error{Op: op, Kind: kind, Err: err}
}

// StateError reports an operation the bot's state does not allow: the
// transition table has no Event from State (S1). It wraps
// ErrInvalidTransition, ErrNotEditable or ErrNotDeletable.
//
// With Sender set, State is the bot's state on that one sender and the
// table is the per-sender one (R22); State Inactive there means off.
type StateError struct {
	Bot    BotID
	Name   string
	Sender *Sender
	State  State
	Op     Op
	Event  Event
	Err    error
}

// Error implements the error interface. The hint comes from the table,
// but for an Active bot's activation, which R22 decides.
func (e *StateError) Error() string {
	var hint string
	switch e.Err {
	case ErrNotEditable:
		hint = "live bots are never edited; duplicate it, edit the copy and activate the copy"
	case ErrNotDeletable:
		hint = "only bots that were never activated (Draft) can be deleted"
	default:
		if e.Sender != nil {
			hint = fmt.Sprintf("%s on a sender needs a bot that is %s there; from %v the sender table allows %s",
				e.Event, joinStates(senderSources(e.Event), " or "), e.State, joinEvents(senderEvents(e.State)))
			return fmt.Sprintf("cannot %s bot %s (%q) on sender %s: it is %v there; %s", e.Op.verb(), e.Bot, e.Name, e.Sender, e.State, hint)
		}
		hint = fmt.Sprintf("%s needs a bot that is %s; from %v the table allows %s",
			e.Event, joinStates(sources(e.Event), " or "), e.State, joinEvents(events(e.State)))
		if e.Event == EventActivate && e.State == Active {
			// Only when no sender is named (a named one is the sender
			// table's): an Active bot goes live only where it is off (R22).
			hint = "it is live or draining on every one of its senders already, and an Active bot goes live only on senders it is off (R22), so there is nothing to activate; to activate it anew, take it off all of them first: deactivate it, then end the grace period of any drain left"
		}
	}
	return fmt.Sprintf("cannot %s bot %s (%q): it is %v; %s", e.Op.verb(), e.Bot, e.Name, e.State, hint)
}

// Unwrap returns the sentinel.
func (e *StateError) Unwrap() error { return e.Err }

func joinStates(ss []State, sep string) string {
	names := make([]string, len(ss))
	for i, s := range ss {
		names[i] = s.String()
	}
	return strings.Join(names, sep)
}

func joinEvents(es []Event) string {
	if len(es) == 0 {
		return "nothing"
	}
	names := make([]string, len(es))
	for i, e := range es {
		names[i] = string(e)
	}
	return strings.Join(names, ", ")
}

// Occupant is a bot Active on a sender that an activation wants.
type Occupant struct {
	Sender Sender `json:"sender"`
	Bot    BotID  `json:"bot"`
	Name   string `json:"name"`
}

// OccupiedError reports that activation needs a decision about the bots
// already Active on its senders (R5). It wraps ErrSenderOccupied.
type OccupiedError struct {
	Op        Op
	Bot       BotID
	Occupants []Occupant
}

// Error implements the error interface.
func (e *OccupiedError) Error() string {
	parts := make([]string, len(e.Occupants))
	for i, o := range e.Occupants {
		parts[i] = fmt.Sprintf("%s (%q) is Active on %s", o.Bot, o.Name, o.Sender)
	}
	return fmt.Sprintf("cannot %s without a decision: %s; pass Immediate() to take the old bot offline now or Grace(d) to let its open sessions finish",
		activating(e.Op, e.Bot), strings.Join(parts, ", "))
}

// Unwrap returns ErrSenderOccupied.
func (e *OccupiedError) Unwrap() error { return ErrSenderOccupied }

// WarningsError reports warnings an activation did not acknowledge (R4). It
// wraps ErrWarningsNotAcknowledged.
type WarningsError struct {
	Op  Op
	Bot BotID
	// Unacknowledged are the warnings that block.
	Unacknowledged []validate.Finding
	// Report is the whole validation report: every warning (R4).
	Report validate.Report
}

// Error implements the error interface.
func (e *WarningsError) Error() string {
	codes := make([]string, len(e.Unacknowledged))
	for i, f := range e.Unacknowledged {
		codes[i] = f.Code
	}
	return fmt.Sprintf("cannot %s: %d warning(s) not acknowledged (%s); fix them, or acknowledge them with fingerprint %s or their codes",
		activating(e.Op, e.Bot), len(e.Unacknowledged), strings.Join(codes, ", "), e.Report.Fingerprint())
}

// Unwrap returns ErrWarningsNotAcknowledged.
func (e *WarningsError) Unwrap() error { return ErrWarningsNotAcknowledged }

// ValidationError reports the validation errors that block an activation
// (R4). It wraps the *validate.ValidationError, and so ErrValidation.
type ValidationError struct {
	Op  Op
	Bot BotID
	// Report is the whole validation report: every error and every warning
	// (R4).
	Report validate.Report
	Err    *validate.ValidationError
}

// Error implements the error interface.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("cannot %s: %v", activating(e.Op, e.Bot), e.Err)
}

// Unwrap returns the *validate.ValidationError.
func (e *ValidationError) Unwrap() error { return e.Err }

// SystemError reports an operation the hosting service tried as the system
// beyond what R19 allows. It wraps ErrForbidden.
type SystemError struct{ Op Op }

// Error implements the error interface.
func (e *SystemError) Error() string {
	return fmt.Sprintf("the system may not %s: it may only expire or end grace periods, deactivate bots and grant or revoke roles (R19); act as a user whose role allows it", e.Op.verb())
}

// Unwrap returns ErrForbidden.
func (e *SystemError) Unwrap() error { return ErrForbidden }

// activating says what an activation does, for messages: "activate bot b"
// or, for a rollback, "roll back to bot b".
func activating(op Op, bot BotID) string {
	if op == OpRollback {
		return "roll back to bot " + string(bot)
	}
	return "activate bot " + string(bot)
}

// RollbackError reports a rollback that cannot be done (R20): there is no
// bot that was Active on the senders before, or that bot's content changed
// since it was last Active. It wraps ErrNoRollback, and in the second case
// matches ErrContentChanged too.
type RollbackError struct {
	Bot    BotID // the Active bot to roll back
	Target BotID // the bot that was Active before; "" when there is none
	// Changed lists what of Target's content changed since it was last
	// Active ("definition", "senders"; see Bot.ChangedSinceActive). It is
	// empty when Target, unchanged since it was last Active (elsewhere),
	// names none of the senders: it dropped them before that activation.
	Changed []string
}

// Error implements the error interface.
func (e *RollbackError) Error() string {
	if e.Target == "" {
		return fmt.Sprintf("cannot roll back bot %s: no other bot was Active on its senders before; activate the bot you want explicitly", e.Bot)
	}
	if len(e.Changed) == 0 {
		return fmt.Sprintf("cannot roll back bot %s to %s: %s no longer names the senders %s is Active on; activate the bot you want explicitly",
			e.Bot, e.Target, e.Target, e.Bot)
	}
	return fmt.Sprintf("cannot roll back bot %s to %s: the %s of %s changed since it was last Active; review it and activate it explicitly",
		e.Bot, e.Target, strings.Join(e.Changed, " and "), e.Target)
}

// Unwrap returns ErrNoRollback.
func (e *RollbackError) Unwrap() error { return ErrNoRollback }

// Is reports ErrContentChanged for a target that changed since it was last
// Active.
func (e *RollbackError) Is(target error) bool {
	return target == ErrContentChanged && len(e.Changed) > 0
}

// ContentChangedError reports a scheduled run refused because its bot's
// content changed since the schedule was made (R23). It wraps
// ErrContentChanged.
type ContentChangedError struct {
	Bot      BotID
	Schedule ScheduleID
	// Changed names what changed ("definition", "senders"); empty when the
	// schedule was made by a version before content fingerprints, which
	// cannot tell (see Schedule.Edition).
	Changed []string
}

// Error implements the error interface.
func (e *ContentChangedError) Error() string {
	what := "its " + strings.Join(e.Changed, " and ") + " differ"
	if len(e.Changed) == 1 && e.Changed[0] == "definition" {
		what = "its definition differs"
	}
	if len(e.Changed) == 0 {
		what = "schedule " + string(e.Schedule) + " was made by an earlier version, which pinned the bot's name and settings too, and they differ"
	}
	return fmt.Sprintf("bot %s changed since it was scheduled: %s; review the bot and schedule it again", e.Bot, what)
}

// Unwrap returns ErrContentChanged.
func (e *ContentChangedError) Unwrap() error { return ErrContentChanged }

// NotFoundError reports a missing bot, schedule, session or test session,
// or another workspace's plan (R27). It wraps ErrNotFound.
type NotFoundError struct {
	Kind string // "bot", "schedule", "session", "test session" or "plan"
	ID   string
}

// Error implements the error interface.
func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s %s not found; check the id", e.Kind, e.ID)
}

// Unwrap returns ErrNotFound.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// InputError reports a malformed argument. It wraps ErrInvalidInput.
type InputError struct {
	Field   string // which argument
	Value   string // what was given (shortened, and never more than 64 bytes)
	Problem string // what is wrong and what to do
}

// Error implements the error interface.
func (e *InputError) Error() string {
	return fmt.Sprintf("invalid %s %q: %s", e.Field, e.Value, e.Problem)
}

// Unwrap returns ErrInvalidInput.
func (e *InputError) Unwrap() error { return ErrInvalidInput }

// ConflictError reports a commit refused because what the plan read has
// changed, or because it would break an invariant a concurrent commit
// already relies on (R1, R2, the last Admin). It wraps ErrConflict.
type ConflictError struct {
	// Bot is the bot whose stored state differs from what the plan read,
	// if the conflict is about one bot.
	Bot BotID
	// Reason says what moved.
	Reason string
	// Fix says what to do about it, such as "plan again" for a plan
	// ApplyPlan refuses (R17); empty means retry the operation, which is
	// safe (R15).
	Fix string
}

// Error implements the error interface.
func (e *ConflictError) Error() string {
	fix := e.Fix
	if fix == "" {
		fix = "retry the operation"
	}
	return "conflict: " + e.Reason + "; " + fix
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// NoBotError reports a message on a sender with no bot to take it (R10). It
// wraps ErrNoBot.
type NoBotError struct {
	Sender Sender
	// Normal is Sender as NewSender writes it, when that differs (R18):
	// no bot's sender is Sender then, however many are live. It is zero
	// for a sender in its normal form.
	Normal Sender
}

// Error implements the error interface.
func (e *NoBotError) Error() string {
	if e.Normal != (Sender{}) {
		given, normal := e.Sender.String(), e.Normal.String()
		msg := fmt.Sprintf("no bot is Active on %s: senders are compared as written, and bots' are as NewSender writes them (R18); build the sender with NewSender, which gives %s",
			shown(given), shown(normal))
		if shown(given) == shown(normal) {
			// Both shortened alike: say where they differ, or the error
			// quotes the same text twice.
			i := 0
			for i < len(given) && i < len(normal) && given[i] == normal[i] {
				i++
			}
			for i > 0 && (i < len(given) && !utf8.RuneStart(given[i]) || i < len(normal) && !utf8.RuneStart(normal[i])) {
				i--
			}
			msg += fmt.Sprintf(" (from byte %d on: %q, where NewSender writes %q)", i, shown(given[i:]), shown(normal[i:]))
		}
		return msg
	}
	return fmt.Sprintf("no bot is Active on %s; activate one to answer its messages", shown(e.Sender.String()))
}

// Unwrap returns ErrNoBot.
func (e *NoBotError) Unwrap() error { return ErrNoBot }
