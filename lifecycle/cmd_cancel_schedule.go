package lifecycle

// CancelSchedule cancels a pending schedule (R23). It needs the permission
// of the operation the schedule would run.
type CancelSchedule struct{ ID ScheduleID }

// op returns OpCancelSchedule.
func (CancelSchedule) op() Op { return OpCancelSchedule }

func (c CancelSchedule) reads() reads { return reads{schedule: c.ID} }

func (c CancelSchedule) decide(d *decider) error {
	sc, err := d.schedule(c.ID)
	if err != nil {
		return err
	}
	if err := permit(d.s, sc.Action.Op); err != nil {
		return err
	}
	if sc.Status != SchedulePending {
		return &ScheduleError{ID: sc.ID, Status: sc.Status, Op: d.op}
	}
	after := *sc
	after.Status, after.RanAt = ScheduleCanceled, d.now
	d.changeSchedule(sc.Revision, after)
	return nil
}
