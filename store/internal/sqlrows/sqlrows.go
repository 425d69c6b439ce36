// Package sqlrows is what the SQLite and PostgreSQL stores write once: the
// list of their embedded migrations, times as Unix nanoseconds, decoding of
// stored documents, the session columns read back, audit entries as
// stored, the library's own errors, and the WaitAudit calls in progress
// per workspace. Each store keeps its own SQL dialect; this package holds
// no SQL and no driver. It is internal to the stores.
package sqlrows

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/internal/binarydoc"
	"github.com/botlife/botlife/validate"
)

// Migration is one embedded schema script, numbered by its name.
type Migration struct {
	Version int    // the number its name starts with: 3 for 003_rows.sql
	Name    string // its path in the file system
	SQL     string
	// RefreshRows says that, once this script is applied, the store
	// rewrites every bot's rows from its document as this version's core
	// computes them (lifecycle.Change.Rows), after the last script and in
	// the same transaction: the script holds the line RefreshRowsLine. Rows are facts the core computed; when a later
	// core computes them otherwise, rows an earlier version wrote would
	// keep the old facts until their bot is next written.
	RefreshRows bool
}

// RefreshRowsLine, a line of a migration script, marks it RefreshRows.
const RefreshRowsLine = "-- botlife: refresh rows"

// refreshRows reports whether script holds the line RefreshRowsLine,
// whatever its line ends: a checkout with CRLF (git's core.autocrlf on
// Windows) embeds the scripts so, and the refresh would be skipped while
// the schema version says it ran.
func refreshRows(script string) bool {
	for line := range strings.Lines(script) {
		if strings.TrimRight(line, "\r\n") == RefreshRowsLine {
			return true
		}
	}
	return false
}

// Migrations returns the scripts migrations/NNN_*.sql of fsys in version
// order, which is their name order.
func Migrations(fsys fs.FS) ([]Migration, error) {
	names, _ := fs.Glob(fsys, "migrations/*.sql") // sorted; the pattern is valid
	out := make([]Migration, len(names))
	for i, name := range names {
		script, err := fs.ReadFile(fsys, name)
		version, err2 := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
		if err = cmp.Or(err, err2); err != nil {
			return nil, fmt.Errorf("migration %s: %w", name, err)
		}
		out[i] = Migration{Version: version, Name: name, SQL: string(script),
			RefreshRows: refreshRows(string(script))}
	}
	return out, nil
}

// MinTime and MaxTime bound the instants a column of Unix nanoseconds
// (a 64-bit integer) holds.
var (
	MinTime = time.Unix(0, math.MinInt64)
	MaxTime = time.Unix(0, math.MaxInt64)
)

// Nanos returns t as Unix nanoseconds for a column, nil for the zero time,
// or an error wrapping lifecycle.ErrInvalidInput for an instant the column
// cannot hold exactly: a refused value, never a rounded one.
func Nanos(field string, t time.Time) (*int64, error) {
	if t.IsZero() {
		return nil, nil
	}
	n, err := MustNanos(field, t)
	if err != nil {
		return nil, err
	}
	return &n, nil
}

// MustNanos is Nanos for a time that must not be zero, such as now.
func MustNanos(field string, t time.Time) (int64, error) {
	switch {
	case t.IsZero():
		return 0, &lifecycle.InputError{Field: field, Value: "0001-01-01T00:00:00Z", Problem: "is the zero time; pass the current time"}
	case t.Before(MinTime) || t.After(MaxTime):
		return 0, &lifecycle.InputError{Field: field, Value: t.UTC().Format(time.RFC3339Nano),
			Problem: "is outside the times the store can hold exactly (1677-09-21 to 2262-04-11)"}
	}
	return t.UnixNano(), nil
}

// Clamp returns t as Unix nanoseconds for a comparison, clamped to the
// range a column holds: every stored instant compares with it as with t.
func Clamp(t time.Time) int64 {
	switch {
	case t.Before(MinTime):
		return math.MinInt64
	case t.After(MaxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// NextEnd is lifecycle.NextSessionEnd as a column of Unix nanoseconds
// holds it, clamped (Clamp): the instant a session of bot b on sender in
// activation, last active at last, can next end, when its group of open
// sessions is next due; math.MaxInt64 when it cannot end.
func NextEnd(b *lifecycle.Bot, sender lifecycle.Sender, activation uint64, last time.Time) int64 {
	at, ok := lifecycle.NextSessionEnd(b, sender, activation, last)
	if !ok {
		return math.MaxInt64
	}
	return Clamp(at)
}

// Time reads a column of Unix nanoseconds, in UTC; NULL is the zero time.
func Time(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// Decode decodes a stored document (store/internal/binarydoc).
func Decode[T any](doc []byte) (T, error) {
	var v T
	err := binarydoc.Decode(doc, &v)
	return v, err
}

// Bot decodes a stored bot document as this version keeps it, whichever
// version wrote it (upgrade, definitionBeforeR25), JSON as the first
// PostgreSQL schema kept it included; nil for no document (a bot that does
// not exist).
func Bot(doc []byte) (*lifecycle.Bot, error) {
	if doc == nil {
		return nil, nil
	}
	var b lifecycle.Bot
	decode := func(v any) error { return binarydoc.Decode(doc, v) }
	if len(doc) > 0 && doc[0] == '{' { // a binary document starts with its format version
		decode = func(v any) error { return json.Unmarshal(doc, v) }
		if err := decode(&b); err != nil {
			return nil, fmt.Errorf("decoding a stored bot: %w", err)
		}
	} else if err := decode(&b); err != nil {
		return nil, err
	}
	if b.Definition == (lifecycle.Definition{}) {
		b.Definition = definitionBeforeR25(decode)
	}
	b = upgrade(b)
	return &b, nil
}

// definitionBeforeR25 returns the definition of a bot stored before R25,
// when a bot's definition was the reference chatbot definition itself
// (validate.Definition, under the same field name), as this version keeps
// it: a document in validate.ReferenceFormat. decode reads the stored
// document into a value; a document of this version, whose definition
// has none of that struct's fields, gives the zero Definition, as does
// one whose text R21 would refuse.
func definitionBeforeR25(decode func(v any) error) lifecycle.Definition {
	var old struct {
		Definition validate.Definition `json:"definition"`
	}
	if decode(&old) != nil || reflect.ValueOf(old.Definition).IsZero() {
		return lifecycle.Definition{}
	}
	def, err := lifecycle.ReferenceDefinition(old.Definition)
	if err != nil {
		return lifecycle.Definition{}
	}
	return def
}

// upgrade returns a bot stored by a version before bots were live per
// sender (R22) as this version keeps it: such a live bot has no Live, and
// was live on every sender at once, in its latest activation, draining
// until its one deadline. Any other bot comes back as it is.
func upgrade(b lifecycle.Bot) lifecycle.Bot {
	if !b.State.Live() || len(b.Live) > 0 {
		return b
	}
	for _, s := range b.Senders {
		e := lifecycle.SenderState{Sender: s, State: b.State, Activation: b.Activations}
		if b.State == lifecycle.Deactivated {
			e.GraceDeadline = b.GraceDeadline
		}
		b.Live = append(b.Live, e)
	}
	return b
}

// Scanner is a row of either driver: *sql.Row, *sql.Rows, pgx.Row.
type Scanner interface{ Scan(dest ...any) error }

// ScanSession reads a session from the columns id, channel, address,
// end_user, bot_id, activation, opened_at, last_activity_at, closed_at,
// close_reason, messages, in that order, then any extra columns into
// extra. A row of NULLs reads as the zero Session.
func ScanSession(r Scanner, extra ...any) (lifecycle.Session, error) {
	var id, activation, opened, last, closed, messages *int64
	var channel, address, user, bot, reason *string
	err := r.Scan(append([]any{&id, &channel, &address, &user, &bot, &activation, &opened, &last, &closed, &reason, &messages}, extra...)...)
	return lifecycle.Session{ID: lifecycle.SessionID(val(id)), Sender: lifecycle.Sender{Channel: val(channel), Address: val(address)},
		EndUser: val(user), Bot: lifecycle.BotID(val(bot)), Activation: uint64(val(activation)),
		OpenedAt: Time(opened), LastActivityAt: Time(last), ClosedAt: Time(closed),
		CloseReason: lifecycle.CloseReason(val(reason)), Messages: uint64(val(messages))}, err
}

func val[T any](p *T) (v T) {
	if p != nil {
		v = *p
	}
	return v
}

// Numbered returns the audit entries of a commit as it stores them,
// numbered from first, sharing no slice or pointer with the plan's.
func Numbered(entries []lifecycle.AuditEntry, first uint64) []lifecycle.AuditEntry {
	out := make([]lifecycle.AuditEntry, len(entries))
	for i, e := range entries {
		e.Seq = first + uint64(i)
		e.Transitions = slices.Clone(e.Transitions)
		e.Acknowledged = slices.Clone(e.Acknowledged)
		e.Senders = slices.Clone(e.Senders)
		if e.Test != nil {
			t := *e.Test
			e.Test = &t
		}
		out[i] = e
	}
	return out
}

// Known reports whether err already wraps a sentinel of the library (a
// conflict, not found, invalid input...): a store returns it unchanged.
func Known(err error) bool {
	for _, sentinel := range []error{lifecycle.ErrConflict, lifecycle.ErrNotFound, lifecycle.ErrInvalidInput,
		lifecycle.ErrNoBot, lifecycle.ErrSenderClaimed, lifecycle.ErrTestSessionLimit, lifecycle.ErrSessionOver, lifecycle.ErrUnavailable} {
		if errors.Is(err, sentinel) {
			return true
		}
	}
	return false
}
