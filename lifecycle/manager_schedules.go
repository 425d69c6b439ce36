package lifecycle

import (
	"context"
	"errors"
	"time"
)

// Schedule schedules cmd, an Activate or a Deactivate, for the instant at
// (R23); see CreateSchedule for time zones. It needs the permission of the
// operation, checked again when it runs (as actor, validated then).
func (m *Manager) Schedule(ctx context.Context, actor Actor, at time.Time, cmd Command) (Schedule, error) {
	c := m.withID(CreateSchedule{At: at, Do: cmd}).(CreateSchedule)
	return m.applySchedule(ctx, actor, c, c.ID)
}

// CancelSchedule cancels a pending schedule. It needs the permission of
// the operation the schedule would run.
func (m *Manager) CancelSchedule(ctx context.Context, actor Actor, id ScheduleID) (Schedule, error) {
	return m.applySchedule(ctx, actor, CancelSchedule{ID: id}, id)
}

func (m *Manager) applySchedule(ctx context.Context, actor Actor, cmd Command, id ScheduleID) (Schedule, error) {
	if _, err := m.Apply(ctx, actor, cmd); err != nil {
		return Schedule{}, err
	}
	sc, err := m.store.Schedule(ctx, id) // as stored, with its Seq
	return sc, opError(cmd.Op(), err)
}

// GetSchedule returns a schedule, with its status and outcome. Needs "View
// chatbot details".
func (m *Manager) GetSchedule(ctx context.Context, actor Actor, id ScheduleID) (Schedule, error) {
	if err := m.authorize(ctx, actor, OpReadSchedules); err != nil {
		return Schedule{}, err
	}
	sc, err := m.store.Schedule(ctx, id)
	return sc, opError(OpReadSchedules, err)
}

// Schedules returns up to limit schedules made after the one with Seq
// after, in the order they were made. Needs "View chatbot details".
func (m *Manager) Schedules(ctx context.Context, actor Actor, after uint64, limit int) ([]Schedule, error) {
	if err := m.authorize(ctx, actor, OpReadSchedules); err != nil {
		return nil, err
	}
	if err := checkLimit(OpReadSchedules, limit, 1000); err != nil {
		return nil, err
	}
	out, err := m.store.Schedules(ctx, after, limit)
	return out, opError(OpReadSchedules, err)
}

// runDue runs the schedules due at now, in order (R23), each as its own
// operation: a refusal is recorded on the schedule and is not an error. A
// schedule that cannot be run at all (the store fails) is logged and
// skipped, and tried again by the next ExpireDue.
func (m *Manager) runDue(ctx context.Context, now time.Time, out *Expiry) error {
	failed := map[ScheduleID]bool{}
	for {
		due, err := m.store.DueSchedules(ctx, now, expireBatch+len(failed))
		if err != nil {
			return err
		}
		progress := false
		for _, sc := range due {
			if failed[sc.ID] {
				continue
			}
			progress = true
			_, err := m.Apply(ctx, System("schedule due"), RunSchedule{ID: sc.ID})
			switch {
			case err == nil:
				out.Schedules = append(out.Schedules, sc.ID)
			case errors.Is(err, ErrInvalidTransition):
				// Run or canceled meanwhile by another process.
			case ctx.Err() != nil:
				return ctx.Err()
			default:
				failed[sc.ID] = true
				out.FailedSchedules = append(out.FailedSchedules, sc.ID)
				m.log.ErrorContext(ctx, "botlife: could not run a due schedule; skipping it", "schedule", sc.ID, "err", err)
			}
		}
		if !progress || len(due) < expireBatch+len(failed) {
			return nil
		}
	}
}
