package lifecycle

import (
	"context"
	"time"
)

// Schedule schedules cmd, an Activate or a Deactivate, for the instant at
// (R23); see CreateSchedule for time zones. It needs the permission of the
// operation, checked again when it runs (as actor, validated then).
func (m *Manager) Schedule(ctx context.Context, actor Actor, at time.Time, cmd Schedulable) (_ Schedule, err error) {
	ctx, sp := m.trace(ctx, OpSchedule)
	defer sp.end(&err)
	c := m.withID(CreateSchedule{At: at, Do: cmd}).(CreateSchedule)
	return m.applySchedule(ctx, actor, c, c.ID)
}

// CancelSchedule cancels a pending schedule. It needs the permission of
// the operation the schedule would run.
func (m *Manager) CancelSchedule(ctx context.Context, actor Actor, id ScheduleID) (_ Schedule, err error) {
	ctx, sp := m.trace(ctx, OpCancelSchedule)
	defer sp.end(&err)
	return m.applySchedule(ctx, actor, CancelSchedule{ID: id}, id)
}

func (m *Manager) applySchedule(ctx context.Context, actor Actor, cmd Command, id ScheduleID) (Schedule, error) {
	if _, err := m.apply(ctx, actor, cmd); err != nil {
		return Schedule{}, err
	}
	sc, err := m.store.Schedule(ctx, m.ws, id) // as stored, with its Seq
	return sc, opError(cmd.op(), err)
}

// GetSchedule returns a schedule, with its status and outcome. Needs "View
// chatbots (detailed)".
func (m *Manager) GetSchedule(ctx context.Context, actor Actor, id ScheduleID) (_ Schedule, err error) {
	ctx, sp := m.trace(ctx, OpReadSchedules)
	defer sp.end(&err)
	if err := m.authorizeRead(ctx, actor, readOp{What: OpReadSchedules, Schedule: id}); err != nil {
		return Schedule{}, err
	}
	if err := checkID("schedule id", string(id)); err != nil { // R21
		return Schedule{}, opError(OpReadSchedules, err)
	}
	sc, err := m.store.Schedule(ctx, m.ws, id)
	return sc, opError(OpReadSchedules, err)
}

// Schedules returns up to limit schedules made after the one with Seq
// after, in the order they were made. Needs "View chatbots
// (detailed)".
func (m *Manager) Schedules(ctx context.Context, actor Actor, after uint64, limit int) (_ []Schedule, err error) {
	ctx, sp := m.trace(ctx, OpReadSchedules)
	defer sp.end(&err)
	if err := m.authorize(ctx, actor, OpReadSchedules); err != nil {
		return nil, err
	}
	if err := checkLimit(OpReadSchedules, limit, MaxPage); err != nil {
		return nil, err
	}
	out, err := m.store.Schedules(ctx, m.ws, after, limit)
	return out, opError(OpReadSchedules, err)
}
