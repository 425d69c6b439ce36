package lifecycle

import (
	"errors"
	"time"
)

// runSchedule runs a schedule that has fallen due (R23): ExpireDue issues
// it as the system for each due schedule, in order. The scheduled
// operation is decided as the user who made the schedule, with that user's
// roles now, validated now, with the decision and acknowledgement given
// then; a bot whose content (definition or senders) changed since
// is refused, a renamed one is not. Either way the schedule records the
// outcome, and the audit log has it: the operation's own entry naming the
// schedule, or an entry of the refusal. A refused schedule is never run
// again.
type runSchedule struct{ ID ScheduleID }

// op returns OpRunSchedule.
func (runSchedule) op() Op { return OpRunSchedule }

func (c runSchedule) reads() reads { return reads{schedule: c.ID, scheduled: true} }

func (c runSchedule) decide(d *decider) error {
	sc, err := d.schedule(c.ID)
	if err != nil {
		return err
	}
	if sc.Status != SchedulePending {
		return &ScheduleError{ID: sc.ID, Status: sc.Status, Op: d.op}
	}
	if d.now.Before(sc.At) {
		return &InputError{Field: "schedule", Value: shown(string(sc.ID)), Problem: "is not due until " + sc.At.Format(time.RFC3339) + "; cancel it, or let ExpireDue run it then"}
	}
	after := *sc
	after.RanAt = d.now
	creator := Snapshot{Workspace: d.s.Workspace, Actor: User(sc.CreatedBy), ActorRoles: d.s.UserRoles, Bots: d.s.Bots, Policy: d.s.Policy}
	p, err := runScheduled(creator, sc, d.now)
	d.s.Actor, d.s.ActorRoles = creator.Actor, creator.ActorRoles // it runs as its creator
	if err != nil {
		after.Status, after.Outcome = ScheduleRefused, err.Error()
		d.entry.Reason, d.entry.Denied = "schedule refused: "+err.Error(), errors.Is(err, ErrForbidden)
		d.changeSchedule(sc.Revision, after)
		return nil
	}
	after.Status = ScheduleDone
	for i := range p.Audit {
		if p.Audit[i].Action == sc.Action.Op {
			p.Audit[i].Schedule = sc.ID
		}
	}
	d.adopted = &p
	d.changeSchedule(sc.Revision, after)
	return nil
}

// runScheduled decides a schedule's action as its creator.
func runScheduled(creator Snapshot, sc *Schedule, now time.Time) (Plan, error) {
	cmd, err := sc.Action.command()
	if err != nil {
		return Plan{}, err
	}
	if err := permit(creator, sc.Action.Op); err != nil { // P1: before anything else, the pinned content too
		return Plan{}, opError(sc.Action.Op, err)
	}
	for _, b := range creator.Bots {
		if b.ID == sc.Action.Bot {
			if err := sc.checkContent(b); err != nil {
				return Plan{}, opError(sc.Action.Op, err)
			}
		}
	}
	return Decide(creator, cmd, now)
}
