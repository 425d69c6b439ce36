package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/internal/sqlrows"
	"github.com/jackc/pgx/v5/pgconn"
)

// Error is a database failure reported with a library sentinel, so that no
// caller reads SQLSTATE codes: lifecycle.ErrUnavailable (unreachable, timed
// out, shut down, no connection to spare: retry later, answer 503) or
// lifecycle.ErrInvalidInput (a value the database cannot hold). It also
// wraps the driver's error: errors.As finds the *pgconn.PgError.
type Error struct {
	// Kind is lifecycle.ErrUnavailable or lifecycle.ErrInvalidInput.
	Kind error
	// Op names the store method that failed.
	Op string
	// Err is the driver's error.
	Err error
}

// Error implements the error interface. The message names the failure in
// words; the SQLSTATE stays in the wrapped *pgconn.PgError.
func (e *Error) Error() string {
	var pe *pgconn.PgError
	detail := ""
	if errors.As(e.Err, &pe) {
		detail = pe.Message
	} else if e.Err != nil {
		detail = e.Err.Error()
	}
	if e.Kind == lifecycle.ErrInvalidInput {
		return fmt.Sprintf("postgres: %s: the database cannot store the value (%s); remove NUL bytes and invalid UTF-8, and keep ids short", e.Op, detail)
	}
	// Not "nothing was changed": a statement cancelled or cut off may have
	// committed first (see Cancellation in the package doc).
	return fmt.Sprintf("postgres: %s: the database is unavailable (%s); retry later", e.Op, detail)
}

// Unwrap returns the sentinel and the driver's error.
func (e *Error) Unwrap() []error { return []error{e.Kind, e.Err} }

// conflictCodes mean "another transaction got there first": the Manager
// decides again.
var conflictCodes = map[string]bool{
	"23505": true, // unique_violation: R1, R2, an id taken, an open session
	"23P01": true, // exclusion_violation
	"23503": true, // foreign_key_violation: a bot deleted under us
	"40001": true, // serialization_failure
	"40P01": true, // deadlock_detected
	"BL409": true, // botlife_conflict(): a revision or role check failed
}

// fail maps err to an error wrapping a library sentinel. Errors that
// already wrap one (conflicts, not found, input) pass unchanged.
func fail(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if sqlrows.Known(err) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		var claimed [2]string // botlife_claimed(): the sender, in DETAIL
		switch {
		case pe.Code == "BL423" && json.Unmarshal([]byte(pe.Detail), &claimed) == nil:
			return &lifecycle.ClaimError{Sender: lifecycle.Sender{Channel: claimed[0], Address: claimed[1]}}
		case conflictCodes[pe.Code]:
			if pe.Code == "BL409" {
				return &lifecycle.ConflictError{Reason: pe.Message}
			}
			what := pe.ConstraintName
			if what == "" {
				what = pe.Message
			}
			return &lifecycle.ConflictError{Reason: fmt.Sprintf("the database refused the change (%s)", what)}
		case strings.HasPrefix(pe.Code, "22"), // data_exception: NUL (22P05), bad UTF-8 (22021), out of range
			strings.HasPrefix(pe.Code, "54"): // program_limit_exceeded: index row too large (54000)
			return &Error{Kind: lifecycle.ErrInvalidInput, Op: op, Err: err}
		}
		// Connections (08, 53300), shutdown and cancel (57), lock
		// timeouts (55P03), system errors: the database cannot do it now.
		return &Error{Kind: lifecycle.ErrUnavailable, Op: op, Err: err}
	}
	// Connection refused or lost, timeouts, a closed pool: no SQLSTATE.
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	return &Error{Kind: lifecycle.ErrUnavailable, Op: op, Err: err}
}

// MaxKeyBytes is the longest text the store keys or indexes by (bot,
// end-user and user ids, channels, addresses); longer text is refused with
// an error wrapping lifecycle.ErrInvalidInput, whatever its compression:
// three such keys fit in one btree entry (2704 bytes). The core caps ids at
// 256 bytes (R21); this keeps the store safe on its own.
const MaxKeyBytes = 512

// inputError reports text or a time the store refuses, quoting at most a
// short prefix of it, so that an error never copies unbounded input.
func inputError(field, value, problem string) error {
	if len(value) > 64 {
		value = value[:64] + "..."
	}
	return &lifecycle.InputError{Field: field, Value: strings.ToValidUTF8(value, "\ufffd"), Problem: problem}
}

// checkText refuses what PostgreSQL text cannot hold exactly (NUL, invalid
// UTF-8) and, for keys, more than MaxKeyBytes.
func checkText(field, s string, key bool) error {
	if !utf8.ValidString(s) {
		return inputError(field, s, "is not valid UTF-8; the store keeps text exactly or refuses it")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return inputError(field, s, "contains a NUL byte, which PostgreSQL text cannot hold")
	}
	if key && len(s) > MaxKeyBytes {
		return inputError(field, s, fmt.Sprintf("is %d bytes; the store accepts at most %d", len(s), MaxKeyBytes))
	}
	return nil
}
