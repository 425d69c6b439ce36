package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// Problem is an RFC 9457 problem details object, the body of every failure
// (Content-Type application/problem+json). Type is a stable URI reference,
// one per kind of failure (see [Problems]); clients branch on it, never on
// Title or Detail.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`

	// Fingerprint acknowledges exactly the current warnings
	// (warnings-not-acknowledged).
	Fingerprint string `json:"fingerprint,omitempty"`
	// Report is the whole validation report of a refused activation
	// (validation-failed, warnings-not-acknowledged): every error and
	// every warning, not only what blocked (R4), each finding once with its
	// severity.
	Report *Report `json:"report,omitempty"`
	// Occupants are the bots Active on the senders (sender-occupied).
	Occupants []Occupant `json:"occupants,omitempty"`
	// CloseReason and ClosedAt say why and since when a test session is
	// over (session-over, R26).
	CloseReason string `json:"close_reason,omitempty"`
	ClosedAt    string `json:"closed_at,omitempty"`
}

// ProblemKind is one kind of failure: its stable type, its title and its
// status.
type ProblemKind struct {
	Name   string // the last part of Type: "not-found"
	Title  string
	Status int
	// Sentinel is the library error the kind answers (matched with
	// errors.Is); nil for failures of the HTTP layer itself.
	Sentinel error
}

// Type is the problem's type URI reference, "/problems/<name>"; the server
// describes each at that path.
func (k ProblemKind) Type() string { return "/problems/" + k.Name }

// The failures of the HTTP layer itself.
var (
	probUnauthenticated  = ProblemKind{"unauthenticated", "Authentication required", http.StatusUnauthorized, nil}
	probNoRoute          = ProblemKind{"no-such-route", "No such route", http.StatusNotFound, nil}
	probMethod           = ProblemKind{"method-not-allowed", "Method not allowed", http.StatusMethodNotAllowed, nil}
	probTooLarge         = ProblemKind{"too-large", "Request body too large", http.StatusRequestEntityTooLarge, nil}
	probMediaType        = ProblemKind{"unsupported-media-type", "Unsupported media type", http.StatusUnsupportedMediaType, nil}
	probBadBody          = ProblemKind{"malformed-body", "Malformed request body", http.StatusBadRequest, nil}
	probPrecondition     = ProblemKind{"precondition-failed", "Precondition failed", http.StatusPreconditionFailed, nil}
	probIdempotencyReuse = ProblemKind{"idempotency-key-reused", "Idempotency key reused with another request", http.StatusUnprocessableEntity, nil}
	probIdempotencyBusy  = ProblemKind{"idempotency-key-in-use", "A request with this idempotency key is in progress", http.StatusConflict, nil}
	probIdempotencyLost  = ProblemKind{"idempotency-response-lost", "The response kept for this idempotency key is lost", http.StatusConflict, nil}
	probInternal         = ProblemKind{"internal", "Internal error", http.StatusInternalServerError, nil}
)

// sentinelKinds maps the library's sentinel errors to problems, first match
// wins. A new sentinel is one row here (and one in openapi.yaml's list).
var sentinelKinds = []ProblemKind{
	{"forbidden", "Forbidden", http.StatusForbidden, lifecycle.ErrForbidden},
	{"not-found", "Not found", http.StatusNotFound, lifecycle.ErrNotFound},
	{"no-bot", "No bot on the sender", http.StatusNotFound, lifecycle.ErrNoBot},
	{"sender-occupied", "Sender occupied", http.StatusConflict, lifecycle.ErrSenderOccupied},
	{"invalid-transition", "Invalid transition", http.StatusConflict, lifecycle.ErrInvalidTransition},
	{"not-editable", "Bot not editable", http.StatusConflict, lifecycle.ErrNotEditable},
	{"not-deletable", "Bot not deletable", http.StatusConflict, lifecycle.ErrNotDeletable},
	{"last-admin", "Last Admin", http.StatusConflict, lifecycle.ErrLastAdmin},
	{"role-held", "Role already held", http.StatusConflict, lifecycle.ErrRoleHeld},
	{"role-not-held", "Role not held", http.StatusConflict, lifecycle.ErrRoleNotHeld},
	// R27: the sender is another workspace's; the detail names the sender
	// the request gave and nothing of the other workspace.
	{"sender-claimed", "Sender registered to another account", http.StatusConflict, lifecycle.ErrSenderClaimed},
	{"conflict", "Conflict", http.StatusConflict, lifecycle.ErrConflict},
	{"validation-failed", "Validation failed", http.StatusUnprocessableEntity, lifecycle.ErrValidation},
	{"warnings-not-acknowledged", "Warnings not acknowledged", http.StatusUnprocessableEntity, lifecycle.ErrWarningsNotAcknowledged},
	{"unknown-role", "Unknown role", http.StatusBadRequest, lifecycle.ErrUnknownRole},
	{"two-chatbot-roles", "Two chatbot roles", http.StatusConflict, roles.ErrTwoChatbotRoles},
	{"no-rollback", "Cannot roll back", http.StatusConflict, lifecycle.ErrNoRollback},
	// R26: the cap on open test sessions is a state of the bot, which only
	// closing one (or one idling out) changes, not a rate the client
	// exceeded: 409, not 429, so no client retries it on a timer.
	{"test-session-limit", "Too many test sessions", http.StatusConflict, lifecycle.ErrTestSessionLimit},
	// R26: a test session that is over still reads (GET answers 200 with
	// why and since when), so a message on it conflicts with its state
	// (409); 410 Gone would say the resource itself is gone.
	{"session-over", "Test session over", http.StatusConflict, lifecycle.ErrSessionOver},
	{"invalid-input", "Invalid input", http.StatusBadRequest, lifecycle.ErrInvalidInput},
	{"unavailable", "Service unavailable", http.StatusServiceUnavailable, lifecycle.ErrUnavailable},
	{"timeout", "Timed out", http.StatusServiceUnavailable, context.DeadlineExceeded},
	{"canceled", "Request canceled", http.StatusServiceUnavailable, context.Canceled},
}

// probTimeout is the kind of a request that ran out of time: the one
// context.DeadlineExceeded answers.
var probTimeout = sentinelKind(context.DeadlineExceeded)

// sentinelKind is the row of sentinelKinds that answers sentinel.
func sentinelKind(sentinel error) ProblemKind {
	for _, k := range sentinelKinds {
		if k.Sentinel == sentinel {
			return k
		}
	}
	panic("api: no problem kind answers " + sentinel.Error())
}

// Problems lists every kind of failure the API answers with, library
// sentinels first.
func Problems() []ProblemKind {
	out := append([]ProblemKind{}, sentinelKinds...)
	return append(out, probUnauthenticated, probNoRoute, probMethod, probTooLarge, probMediaType, probBadBody,
		probPrecondition, probIdempotencyReuse, probIdempotencyBusy, probIdempotencyLost, probInternal)
}

// httpError is a failure of the HTTP layer, with a detail safe to show
// and, for a failure the server answers for a cause of its own (a Keeper
// call out of time), that cause: logged and matched with errors.Is, never
// shown.
type httpError struct {
	kind   ProblemKind
	detail string
	cause  error
}

// Error is the detail alone, the detail of the problem answered.
func (e *httpError) Error() string { return e.detail }

// Unwrap is the cause, nil if none.
func (e *httpError) Unwrap() error { return e.cause }

func fail(kind ProblemKind, detail string) error { return &httpError{kind: kind, detail: detail} }

// failWith is fail keeping cause, for the log and errors.Is; the answer
// is the same problem.
func failWith(kind ProblemKind, detail string, cause error) error {
	return &httpError{kind: kind, detail: detail, cause: cause}
}

// causeOf is the cause an httpError in err's chain keeps, nil if none.
func causeOf(err error) error {
	var he *httpError
	if errors.As(err, &he) {
		return he.cause
	}
	return nil
}

// problemOf turns an error into the problem to answer. Details of 5xx
// errors stay in the log, never in the answer.
func problemOf(err error) Problem {
	kind := probInternal
	var he *httpError
	if errors.As(err, &he) {
		kind = he.kind
	} else {
		for _, k := range sentinelKinds {
			if errors.Is(err, k.Sentinel) {
				kind = k
				break
			}
		}
	}
	p := Problem{Type: kind.Type(), Title: kind.Title, Status: kind.Status, Detail: err.Error()}
	if kind.Status >= 500 && he == nil { // an httpError's detail is written to be shown
		p.Detail = ""
		if kind == probInternal {
			p.Detail = "the server failed; the error is logged"
		} else {
			p.Detail = "the store cannot be reached now; retry later"
		}
	}
	var ve *lifecycle.ValidationError
	var we *lifecycle.WarningsError
	var oe *lifecycle.OccupiedError
	var se *lifecycle.SessionOverError
	switch {
	case errors.As(err, &se):
		p.CloseReason, p.ClosedAt = string(se.Reason), timestamp(se.At)
	case errors.As(err, &ve):
		r := report(ve.Report)
		p.Report = &r
	case errors.As(err, &we):
		r := report(we.Report)
		p.Fingerprint, p.Report = r.Fingerprint, &r
	case errors.As(err, &oe):
		// The library's hint names Go calls; an HTTP client sends a body.
		p.Detail = strings.Replace(p.Detail, "pass Immediate() to take the old bot offline now or Grace(d) to let its open sessions finish",
			`send {"decision":"immediate"} to take the old bot offline now, or {"decision":"grace:15m"} (any duration) to let its open sessions finish`, 1)
		for _, o := range oe.Occupants {
			p.Occupants = append(p.Occupants, Occupant{Sender: Sender{Channel: o.Sender.Channel, Address: o.Sender.Address},
				Bot: string(o.Bot), Name: o.Name})
		}
	}
	return p
}

// kindByName finds a problem kind for GET /problems/{name}.
func kindByName(name string) (ProblemKind, bool) {
	for _, k := range Problems() {
		if k.Name == name {
			return k, true
		}
	}
	return ProblemKind{}, false
}

// retryAfter tells the client to retry a 503, a request whose
// Idempotency-Key is in use by one still running, and a 409 conflict
// unless err says a retry cannot succeed.
func retryAfter(h http.Header, p Problem, err error) {
	var final *finalError
	if p.Status == http.StatusServiceUnavailable || p.Type == probIdempotencyBusy.Type() ||
		p.Type == (ProblemKind{Name: "conflict"}).Type() && !errors.As(err, &final) {
		h.Set("Retry-After", strconv.Itoa(1))
	}
}

// finalError is an error that the same request retried cannot get past,
// such as the conflict of a kept plan the world has moved past (R17): its
// answer has no Retry-After.
type finalError struct{ error }

func (e *finalError) Unwrap() error { return e.error }
