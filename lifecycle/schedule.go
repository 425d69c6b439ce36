package lifecycle

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// ScheduleID identifies a schedule. The Manager draws one when none is
// given.
type ScheduleID string

// ScheduleStatus is where a schedule is: pending until it runs or is
// canceled, then done, refused or canceled for good.
type ScheduleStatus string

// The statuses of a schedule (R23).
const (
	SchedulePending  ScheduleStatus = "pending"
	ScheduleDone     ScheduleStatus = "done"     // it ran and its operation was stored
	ScheduleRefused  ScheduleStatus = "refused"  // it ran and its operation was refused; Outcome says why
	ScheduleCanceled ScheduleStatus = "canceled" // canceled before it fell due
)

func (s ScheduleStatus) valid() bool {
	switch s {
	case SchedulePending, ScheduleDone, ScheduleRefused, ScheduleCanceled:
		return true
	}
	return false
}

// DefaultMaxScheduleAhead is how far ahead a schedule may be made by
// default (R23); Policy.MaxScheduleAhead changes it, up to
// MaxScheduleAheadLimit.
const (
	DefaultMaxScheduleAhead = 90 * 24 * time.Hour
	MaxScheduleAheadLimit   = 5 * 366 * 24 * time.Hour
)

// Schedule is an activation or a deactivation to run at an instant (R23).
// It runs when ExpireDue finds it due, as the user who made it, with that
// user's roles then, validated then; its outcome is recorded on it and
// audited, and it never runs twice.
type Schedule struct {
	ID ScheduleID `json:"id"`
	// Workspace is the workspace the schedule belongs to and runs in (R27).
	Workspace Workspace `json:"workspace,omitempty"`
	// Seq orders schedules by creation; the Store sets it when it stores a
	// new schedule. Schedules due at the same instant run in Seq order.
	Seq uint64 `json:"seq"`
	// At is the instant it falls due, in UTC. Zone names the time zone it
	// was given in (the Location of the time passed), for display: the
	// instant is fixed when the schedule is made, so a daylight-saving
	// change never moves it.
	At     time.Time       `json:"at"`
	Zone   string          `json:"zone,omitempty"`
	Action ScheduledAction `json:"action"`
	// CreatedBy is the user who made it; it runs as them.
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	// Edition is the content fingerprint of the bot (R20's sense: its
	// definition and senders) when the schedule was made: if its content
	// differs when the schedule falls due, the run is refused with a
	// *ContentChangedError (R23). A rename does not count.
	Edition  string         `json:"edition"`
	Revision uint64         `json:"revision"`
	Status   ScheduleStatus `json:"status"`
	// RanAt is when it ran or was canceled; Outcome why it was refused.
	RanAt   time.Time `json:"ran_at,omitzero"`
	Outcome string    `json:"outcome,omitempty"`
}

// ScheduledAction is the operation a schedule runs, as data: an Activate
// or a Deactivate with everything given when it was made.
type ScheduledAction struct {
	Op      Op       `json:"op"` // OpActivate or OpDeactivate
	Bot     BotID    `json:"bot"`
	Senders []Sender `json:"senders,omitempty"`
	// Decision is an activation's decision, as Decision.String writes it;
	// Ack its acknowledgement of warnings.
	Decision string `json:"decision,omitempty"`
	Ack      Ack    `json:"ack,omitzero"`
	// Grace is a deactivation's grace period.
	Grace time.Duration `json:"grace,omitempty"`
}

// scheduled returns cmd as a schedule's action: only an Activate or a
// Deactivate can be scheduled.
func scheduled(cmd Command) (ScheduledAction, error) {
	cmd = commandOf(cmd)
	switch c := cmd.(type) {
	case Activate:
		return ScheduledAction{Op: OpActivate, Bot: c.Bot, Senders: c.Senders, Decision: c.Decision.String(), Ack: c.Ack}, nil
	case Deactivate:
		return ScheduledAction{Op: OpDeactivate, Bot: c.Bot, Senders: c.Senders, Grace: c.Grace}, nil
	}
	what := "nothing"
	if cmd != nil {
		what = string(cmd.op())
	}
	return ScheduledAction{}, &InputError{Field: "scheduled operation", Value: what, Problem: "cannot be scheduled; schedule an Activate or a Deactivate"}
}

// command returns the action as the command it runs.
func (a ScheduledAction) command() (Command, error) {
	switch a.Op {
	case OpActivate:
		dec, err := ParseDecision(a.Decision)
		if err != nil {
			return nil, err
		}
		return Activate{Bot: a.Bot, Decision: dec, Ack: a.Ack, Senders: a.Senders}, nil
	case OpDeactivate:
		return Deactivate{Bot: a.Bot, Grace: a.Grace, Senders: a.Senders}, nil
	}
	return nil, &InputError{Field: "scheduled operation", Value: shown(string(a.Op)), Problem: "cannot be scheduled; schedule an Activate or a Deactivate"}
}

// legacyEdition is the Edition versions before content fingerprints gave
// a schedule: a fingerprint of the bot's name, description, definition,
// idle timeout and senders. the run of a schedule reads it in schedules
// they stored.
func legacyEdition(b *Bot) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q %q %q %q %d %d", b.Name, b.Description, b.Definition.Format, b.Definition.Text, b.IdleTimeout, len(b.Senders))
	for _, s := range b.Senders {
		fmt.Fprintf(h, " %q", s.String())
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// ScheduleChange is one schedule created or changed by a plan. The Store
// refuses the plan with ErrConflict if the stored revision differs from
// Revision (0: the schedule must not exist yet).
type ScheduleChange struct {
	Revision uint64   `json:"revision"`
	After    Schedule `json:"after"`
}

// ScheduleError reports an operation on a schedule that is no longer
// pending. It wraps ErrInvalidTransition.
type ScheduleError struct {
	ID     ScheduleID
	Status ScheduleStatus
	Op     Op
}

// Error implements the error interface.
func (e *ScheduleError) Error() string {
	return fmt.Sprintf("cannot %s schedule %s: it is %s; only a pending schedule can be canceled or run", e.Op.verb(), e.ID, e.Status)
}

// Unwrap returns ErrInvalidTransition.
func (e *ScheduleError) Unwrap() error { return ErrInvalidTransition }

// schedule returns the schedule the snapshot holds, if it is id.
func (d *decider) schedule(id ScheduleID) (*Schedule, error) {
	if err := checkID("schedule id", string(id)); err != nil { // R21
		return nil, err
	}
	if sc := d.s.Schedule; sc != nil && sc.ID == id {
		c := *sc
		c.Action.Senders = append([]Sender(nil), sc.Action.Senders...)
		return &c, nil
	}
	return nil, &NotFoundError{Kind: "schedule", ID: shown(string(id))}
}

// changeSchedule records the schedule as the plan leaves it, and names it
// in the operation's audit entry.
func (d *decider) changeSchedule(before uint64, after Schedule) {
	after.Revision = before + 1
	d.plan.Schedules = append(d.plan.Schedules, ScheduleChange{Revision: before, After: after})
	d.entry.Schedule = after.ID
}
