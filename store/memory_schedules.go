package store

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// schedules keeps schedules (R23): by id, in Seq order for listing, and
// the pending ones in a heap by (At, Seq), so Due costs what it returns.
// Schedules are kept like audit entries: one per user request.
type schedules struct {
	byID    map[lifecycle.ScheduleID]*schedRec
	bySeq   []*schedRec
	pending minHeap[*schedRec]
}

// schedRec is a stored schedule and its index in the pending heap (-1
// when not pending).
type schedRec struct {
	lifecycle.Schedule
	at int
}

func newSchedules() schedules {
	return schedules{byID: map[lifecycle.ScheduleID]*schedRec{}, pending: minHeap[*schedRec]{
		less:  func(a, b *schedRec) bool { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Seq, b.Seq)) < 0 },
		moved: func(r *schedRec, i int) { r.at = i },
	}}
}

func cloneSchedule(s *lifecycle.Schedule) lifecycle.Schedule {
	c := *s
	c.Action.Senders = slices.Clone(s.Action.Senders)
	c.Action.Ack.Codes = slices.Clone(s.Action.Ack.Codes)
	return c
}

// checkSchedules refuses schedule changes whose revision is stale. The
// caller holds m.mu.
func (m *space) checkSchedules(changes []lifecycle.ScheduleChange) error {
	for _, c := range changes {
		cur, ok := m.sched.byID[c.After.ID]
		switch {
		case c.Revision == 0 && ok:
			return conflict("schedule %s already exists", c.After.ID)
		case c.Revision != 0 && !ok:
			return conflict("schedule %s does not exist", c.After.ID)
		case ok && cur.Revision != c.Revision:
			return conflict("schedule %s changed (revision %d, the plan read %d)", c.After.ID, cur.Revision, c.Revision)
		}
	}
	return nil
}

// applySchedules stores checked schedule changes, a new schedule with the
// next Seq, and keeps the pending heap to their status and At. The caller
// holds m.mu for writing.
func (m *space) applySchedules(changes []lifecycle.ScheduleChange) {
	x := &m.sched
	for _, c := range changes {
		r := x.byID[c.After.ID]
		if r == nil {
			r = &schedRec{at: -1}
			x.byID[c.After.ID], x.bySeq = r, append(x.bySeq, r)
			c.After.Seq = uint64(len(x.bySeq))
		} else {
			c.After.Seq = r.Seq
		}
		r.Schedule = cloneSchedule(&c.After)
		switch pending := r.Status == lifecycle.SchedulePending; {
		case pending && r.at < 0:
			x.pending.push(r)
		case pending:
			x.pending.fix(r.at)
		case r.at >= 0:
			x.pending.remove(r.at)
		}
	}
}

// Schedule implements lifecycle.Store.
func (m *Memory) Schedule(ctx context.Context, ws lifecycle.Workspace, id lifecycle.ScheduleID) (lifecycle.Schedule, error) {
	sp := m.read(ws)
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	s, ok := sp.sched.byID[id]
	if !ok {
		return lifecycle.Schedule{}, &lifecycle.NotFoundError{Kind: "schedule", ID: string(id)}
	}
	return cloneSchedule(&s.Schedule), nil
}

// Schedules implements lifecycle.Store.
func (m *Memory) Schedules(ctx context.Context, ws lifecycle.Workspace, after uint64, limit int) ([]lifecycle.Schedule, error) {
	sp := m.read(ws)
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	out := []lifecycle.Schedule{}
	for i := after; i < uint64(len(sp.sched.bySeq)) && len(out) < limit; i++ {
		out = append(out, cloneSchedule(&sp.sched.bySeq[i].Schedule))
	}
	return out, nil
}

// due returns up to limit pending schedules due at now, by (At, Seq),
// walking the pending heap best-first: its cost is what it returns.
func (x *schedules) due(now time.Time, limit int) []lifecycle.Schedule {
	out := []lifecycle.Schedule{}
	x.pending.ascend(func(r *schedRec) bool { return !r.At.After(now) }, func(r *schedRec) bool {
		if len(out) >= limit {
			return false
		}
		out = append(out, cloneSchedule(&r.Schedule))
		return true
	})
	return out
}
