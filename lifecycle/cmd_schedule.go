package lifecycle

import (
	"fmt"
	"time"
)

// CreateSchedule schedules an Activate or a Deactivate for the instant At
// (R23). At may be in any time zone: its Location is kept as the
// schedule's Zone, for display, and the instant is what counts. For a
// local wall-clock time, build At with time.Date in the zone's Location;
// Go resolves a time that a daylight-saving change skips or repeats (see
// time.Date), and the instant it gives is fixed from then on. It needs the
// permission of the operation it schedules, checked again when it runs.
type CreateSchedule struct {
	ID ScheduleID // chosen by the Manager when empty
	At time.Time
	Do Schedulable // an Activate or a Deactivate; nil is refused
}

// Schedulable is a command a schedule can run (R23): an [Activate] or a
// [Deactivate]. No other type implements it, so scheduling anything else
// does not compile.
type Schedulable interface {
	Command
	schedulable()
}

func (Activate) schedulable()   {}
func (Deactivate) schedulable() {}

// op returns OpSchedule.
func (CreateSchedule) op() Op { return OpSchedule }

func (c CreateSchedule) reads() reads {
	a, _ := scheduled(c.Do)
	return reads{bots: []BotID{a.Bot}, schedule: c.ID} // the schedule: its id must be free
}

func (c CreateSchedule) withID(n newIDs) Command {
	if c.ID == "" {
		c.ID = n.schedule()
	}
	return c
}

func (c CreateSchedule) decide(d *decider) error {
	if err := checkID("schedule id", string(c.ID)); err != nil {
		return err
	}
	if _, err := d.schedule(c.ID); err == nil {
		return &InputError{Field: "schedule id", Value: shown(string(c.ID)), Problem: "is already taken; choose another or leave it empty"}
	}
	a, err := scheduled(c.Do)
	if err != nil {
		return err
	}
	if err := permit(d.s, a.Op); err != nil { // the permission of what it schedules
		return err
	}
	if c.At.IsZero() || !c.At.After(d.now) || c.At.Sub(d.now) > d.s.Policy.MaxScheduleAhead {
		return &InputError{Field: "schedule time", Value: c.At.Format(time.RFC3339),
			Problem: fmt.Sprintf("must be after now (%s) and at most %s ahead", d.now.Format(time.RFC3339), humanDuration(d.s.Policy.MaxScheduleAhead))}
	}
	if a, err = d.checkScheduled(a); err != nil {
		return err
	}
	zone := c.At.Location().String()
	if zone == "" { // a fixed zone without a name: its offset
		zone = c.At.Format("-07:00")
	}
	if err := checkID("time zone", zone); err != nil { // R21
		return err
	}
	b, err := d.bot(a.Bot)
	if err != nil {
		return err
	}
	d.changeSchedule(0, Schedule{ID: c.ID, At: c.At.UTC(), Zone: zone, Action: a,
		CreatedBy: d.s.Actor.ID, CreatedAt: d.now, Edition: contentFingerprint(b), Status: SchedulePending})
	return nil
}

// MaxAckCodes bounds the warning codes an acknowledgement lists.
const MaxAckCodes = 100

// checkScheduled checks what can be checked of a scheduled action now:
// its decision and grace period, its acknowledgement's text (R21: it is
// stored) and its senders; the rest is decided when it runs.
func (d *decider) checkScheduled(a ScheduledAction) (ScheduledAction, error) {
	if err := a.Ack.check(); err != nil {
		return a, err
	}
	cmd, err := a.command()
	if err != nil {
		return a, err
	}
	if c, ok := cmd.(Activate); ok && c.Decision.isGrace() {
		if err := checkGrace(c.Decision.grace, d.s.Policy.MaxGrace); err != nil {
			return a, err
		}
	}
	if a.Grace != 0 {
		if err := checkDrainGrace(a.Grace, d.s.Policy.MaxGrace); err != nil {
			return a, err
		}
	}
	b, err := d.bot(a.Bot)
	if err != nil {
		return a, err
	}
	if len(a.Senders) > 0 { // kept normalised, as the bot's own (R22)
		a.Senders, err = d.subset(b, a.Senders, func(Sender) bool { return true })
	}
	return a, err
}
