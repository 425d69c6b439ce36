package lifecycle

import (
	"errors"
	"fmt"
	"strings"

	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// Sentinel errors. Every error the Manager returns wraps one of them (test
// with errors.Is); the typed errors below carry the details (read them with
// errors.As).
var (
	// ErrNotFound: no bot or session with that id.
	ErrNotFound = errors.New("not found")
	// ErrForbidden: the actor lacks the permission (the same value as
	// roles.ErrForbidden).
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
	// ErrUnavailable: the store could not be reached or did not answer in
	// time (connection lost, timeout, server shutting down). Nothing is known
	// to have changed; retrying later is safe, and an HTTP service answers
	// 503.
	ErrUnavailable = errors.New("store unavailable")
)

// StateError reports an operation the bot's state does not allow. It wraps
// ErrInvalidTransition, ErrNotEditable or ErrNotDeletable.
type StateError struct {
	Bot   BotID
	Name  string
	State State
	Op    Op
	Err   error
}

// Error implements the error interface.
func (e *StateError) Error() string {
	var hint string
	switch {
	case e.Err == ErrNotEditable:
		hint = "live bots are never edited; duplicate it, edit the copy and activate the copy"
	case e.Err == ErrNotDeletable:
		hint = "only bots that were never activated can be deleted"
	case e.Op == OpActivate || e.Op == OpRollback:
		hint = "only Draft and Inactive bots can be activated"
	case e.Op == OpDeactivate:
		hint = "only Active bots can be deactivated"
	case e.Op == OpEndGrace || e.Op == OpExpireGrace:
		hint = "only a Deactivated bot has a grace period to end"
	default:
		hint = fmt.Sprintf("from %v the table allows %v", e.State, Events(e.State))
	}
	return fmt.Sprintf("cannot %s bot %s (%q): it is %v; %s", e.Op, e.Bot, e.Name, e.State, hint)
}

// Unwrap returns the sentinel.
func (e *StateError) Unwrap() error { return e.Err }

// Occupant is a bot Active on a sender that an activation wants.
type Occupant struct {
	Sender Sender
	Bot    BotID
	Name   string
}

// OccupiedError reports that activation needs a decision about the bots
// already Active on its senders (R5). It wraps ErrSenderOccupied.
type OccupiedError struct {
	Bot       BotID
	Occupants []Occupant
}

// Error implements the error interface.
func (e *OccupiedError) Error() string {
	parts := make([]string, len(e.Occupants))
	for i, o := range e.Occupants {
		parts[i] = fmt.Sprintf("%s (%q) is Active on %s", o.Bot, o.Name, o.Sender)
	}
	return fmt.Sprintf("cannot activate bot %s without a decision: %s; pass Immediate() to take the old bot offline now or Grace(d) to let its open sessions finish",
		e.Bot, strings.Join(parts, ", "))
}

// Unwrap returns ErrSenderOccupied.
func (e *OccupiedError) Unwrap() error { return ErrSenderOccupied }

// WarningsError reports warnings an activation did not acknowledge (R4). It
// wraps ErrWarningsNotAcknowledged.
type WarningsError struct {
	Bot BotID
	// Unacknowledged are the warnings that block.
	Unacknowledged []validate.Finding
	// Fingerprint acknowledges exactly the current warnings.
	Fingerprint string
}

// Error implements the error interface.
func (e *WarningsError) Error() string {
	codes := make([]string, len(e.Unacknowledged))
	for i, f := range e.Unacknowledged {
		codes[i] = f.Code
	}
	return fmt.Sprintf("cannot activate bot %s: %d warning(s) not acknowledged (%s); fix them, or acknowledge them with fingerprint %s or their codes",
		e.Bot, len(e.Unacknowledged), strings.Join(codes, ", "), e.Fingerprint)
}

// Unwrap returns ErrWarningsNotAcknowledged.
func (e *WarningsError) Unwrap() error { return ErrWarningsNotAcknowledged }

// ValidationError reports the validation errors that block an activation
// (R4). It wraps the *validate.ValidationError, and so ErrValidation.
type ValidationError struct {
	Bot BotID
	Err *validate.ValidationError
}

// Error implements the error interface.
func (e *ValidationError) Error() string {
	return fmt.Sprintf("cannot activate bot %s: %v", e.Bot, e.Err)
}

// Unwrap returns the *validate.ValidationError.
func (e *ValidationError) Unwrap() error { return e.Err }

// NotFoundError reports a missing bot or session. It wraps ErrNotFound.
type NotFoundError struct {
	Kind string // "bot" or "session"
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
	Value   string // what was given
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
	Reason string
}

// Error implements the error interface.
func (e *ConflictError) Error() string {
	return "conflict: " + e.Reason + "; retry the operation"
}

// Unwrap returns ErrConflict.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// NoBotError reports a message on a sender with no bot to take it (R10). It
// wraps ErrNoBot.
type NoBotError struct {
	Sender Sender
}

// Error implements the error interface.
func (e *NoBotError) Error() string {
	return fmt.Sprintf("no bot is Active on %s; activate one to answer its messages", e.Sender)
}

// Unwrap returns ErrNoBot.
func (e *NoBotError) Unwrap() error { return ErrNoBot }
