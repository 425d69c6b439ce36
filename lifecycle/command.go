package lifecycle

import (
	"fmt"
	"strings"
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
)

// Permission returns the permission an actor needs for the operation (the
// matrix of rules.md). OpExpireGrace is done by the system only and needs
// ActivateChatbots from anyone else.
func (op Op) Permission() roles.Permission {
	switch op {
	case OpCreate, OpUpdate, OpDelete, OpDuplicate, OpImport, OpExport:
		return roles.EditChatbots
	case OpActivate, OpDeactivate, OpEndGrace, OpExpireGrace, OpRollback:
		return roles.ActivateChatbots
	case OpGrantRole, OpRevokeRole, OpReadRoles:
		return roles.ManageRoles
	case OpGet, OpSessions:
		return roles.ViewDetails
	case OpList:
		return roles.ViewDashboard
	case OpReadAudit:
		return roles.ViewAuditLog
	case OpAnalytics:
		return roles.ViewAnalytics
	}
	return 0
}

// Command is an operation that changes stored state, as [Decide] takes it.
// The Manager's methods build commands for you.
type Command interface {
	Op() Op
	command()
}

// Create makes a new Draft bot.
type Create struct {
	ID          BotID // chosen by the Manager when empty
	Name        string
	Description string
	Channel     string
	Senders     []Sender
	Definition  validate.Definition
	// IdleTimeout closes sessions after this long without a message; zero
	// means the Manager's default.
	IdleTimeout time.Duration
}

// Update edits a Draft or Inactive bot (R11). Nil fields stay as they are.
type Update struct {
	Bot         BotID
	Name        *string
	Description *string
	Senders     *[]Sender
	Definition  *validate.Definition
	IdleTimeout *time.Duration
}

// Delete removes a bot that was never activated (R12).
type Delete struct{ Bot BotID }

// Duplicate makes a new Draft with the same settings and definition (R13).
type Duplicate struct {
	Bot  BotID
	ID   BotID  // the copy's id; chosen by the Manager when empty
	Name string // the copy's name; "<name> (copy)" when empty
}

// Import makes a new Draft from a document written by Export (R13).
type Import struct {
	ID   BotID // chosen by the Manager when empty
	Data []byte
}

// Activate makes a Draft or Inactive bot Active (R4, R5, R6, R14).
type Activate struct {
	Bot BotID
	// Decision says what happens to bots already Active on the senders.
	Decision Decision
	// Ack acknowledges validation warnings.
	Ack Ack
}

// Deactivate takes an Active bot offline, at once or after a grace period
// (R7), and every other bot on its senders with it (R8).
type Deactivate struct {
	Bot BotID
	// Grace lets open sessions finish; zero closes them now.
	Grace time.Duration
}

// EndGrace ends a Deactivated bot's grace period now.
type EndGrace struct{ Bot BotID }

// ExpireGrace records that a Deactivated bot's grace deadline has passed
// (R9). ExpireDue issues it as the system.
type ExpireGrace struct{ Bot BotID }

// Rollback activates again the bot most recently Active on the senders of Bot
// (an Active bot), replacing Bot as Decision says. A predecessor still
// draining ends its drain first (its open sessions close as replaced), since
// the table has no Deactivated -> Active.
type Rollback struct {
	Bot      BotID
	Decision Decision
	Ack      Ack
}

// GrantRole gives a user a role (P2).
type GrantRole struct {
	User string
	Role roles.Role
}

// RevokeRole takes a role from a user (P2).
type RevokeRole struct {
	User string
	Role roles.Role
}

// Op returns OpCreate.
func (Create) Op() Op { return OpCreate }

// Op returns OpUpdate.
func (Update) Op() Op { return OpUpdate }

// Op returns OpDelete.
func (Delete) Op() Op { return OpDelete }

// Op returns OpDuplicate.
func (Duplicate) Op() Op { return OpDuplicate }

// Op returns OpImport.
func (Import) Op() Op { return OpImport }

// Op returns OpActivate.
func (Activate) Op() Op { return OpActivate }

// Op returns OpDeactivate.
func (Deactivate) Op() Op { return OpDeactivate }

// Op returns OpEndGrace.
func (EndGrace) Op() Op { return OpEndGrace }

// Op returns OpExpireGrace.
func (ExpireGrace) Op() Op { return OpExpireGrace }

// Op returns OpRollback.
func (Rollback) Op() Op { return OpRollback }

// Op returns OpGrantRole.
func (GrantRole) Op() Op { return OpGrantRole }

// Op returns OpRevokeRole.
func (RevokeRole) Op() Op { return OpRevokeRole }

// target names the one bot a command acts on, for the commands whose
// snapshot is that bot's sender group.
func (c Update) target() BotID      { return c.Bot }
func (c Delete) target() BotID      { return c.Bot }
func (c Deactivate) target() BotID  { return c.Bot }
func (c EndGrace) target() BotID    { return c.Bot }
func (c ExpireGrace) target() BotID { return c.Bot }

func (Create) command()      {}
func (Update) command()      {}
func (Delete) command()      {}
func (Duplicate) command()   {}
func (Import) command()      {}
func (Activate) command()    {}
func (Deactivate) command()  {}
func (EndGrace) command()    {}
func (ExpireGrace) command() {}
func (Rollback) command()    {}
func (GrantRole) command()   {}
func (RevokeRole) command()  {}

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

// IsZero reports whether no decision was made.
func (d Decision) IsZero() bool { return d.kind == 0 }

// IsGrace reports whether the decision is a grace period.
func (d Decision) IsGrace() bool { return d.kind == 2 }

// GracePeriod returns the grace period; zero unless IsGrace.
func (d Decision) GracePeriod() time.Duration { return d.grace }

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
	return Decision{}, &InputError{Field: "decision", Value: s, Problem: `is not a decision; use "immediate" or "grace:<duration>" such as "grace:15m"`}
}

// Ack acknowledges validation warnings (R4): either exactly the warnings of
// a report, by its fingerprint, or any warning whose code is listed.
type Ack struct {
	Fingerprint string   `json:"fingerprint,omitempty"`
	Codes       []string `json:"codes,omitempty"`
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
		return &InputError{Field: "grace period", Value: d.String(), Problem: fmt.Sprintf("must be more than 0 and at most %v", max)}
	}
	return nil
}
