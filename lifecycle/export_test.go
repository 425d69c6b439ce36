package lifecycle

import (
	"time"

	"github.com/botlife/botlife/roles"
)

// For the tests of package lifecycle_test: the fingerprint of a bot's
// content, the schedule edition versions before it wrote, and the export
// encoder behind Manager.Export.
var (
	ContentFingerprint = contentFingerprint
	LegacyEdition      = legacyEdition
	EncodeExport       = encodeExport
	// Kinds are the sentinels an *Error's Kind is one of.
	Kinds = kinds
	// CheckContent is a schedule's check of its bot's content (R23).
	CheckContent = Schedule.checkContent
)

// StateOn is a bot's state on a sender, Inactive where it is off (R22).
func StateOn(b Bot, s Sender) State { return b.stateOn(s) }

// The commands and reads only the Manager issues, for the tests that call
// Decide with them.
type (
	ExpireGrace = expireGrace
	RunSchedule = runSchedule
	Read        = readOp
)

// RoleAssignment is the roles one user holds, as the tests read them back
// from a store.
type RoleAssignment struct {
	User  string    `json:"user"`
	Roles roles.Set `json:"roles"`
}

// The per-sender transition table (R22) Decide moves a bot's senders by,
// for its own tests.
var NextOnSender = nextOnSender

// The events the transition table allows from a state, for the tests that
// walk it.
var Events = events

// The diagrams drawn from the transition tables (S2), for the tests that
// keep the README's and the package documentation's drawings equal to them.
var (
	Diagram       = botDiagram
	SenderDiagram = senderDiagram
)

// AsOf is a stored bot as it reads at now, as Manager.Get returns it, for
// the model test that compares bots read from the store.
func AsOf(b Bot, now time.Time) Bot { return b.asOf(now) }

// SessionEnd, the one rule of when a session is over, for its own tests.
var SessionEnd = sessionEnd
