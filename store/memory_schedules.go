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
	byID    map[lifecycle.ScheduleID]*lifecycle.Schedule
	bySeq   []*lifecycle.Schedule
	pending minHeap[*lifecycle.Schedule]
}

func newSchedules() schedules {
	return schedules{byID: map[lifecycle.ScheduleID]*lifecycle.Schedule{}, pending: minHeap[*lifecycle.Schedule]{
		less: func(a, b *lifecycle.Schedule) bool { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Seq, b.Seq)) < 0 },
	}}
}

func cloneSchedule(s *lifecycle.Schedule) lifecycle.Schedule {
	c := *s
	c.Action.Senders = slices.Clone(s.Action.Senders)
	c.Action.Ack.Codes = slices.Clone(s.Action.Ack.Codes)
	return c
}

// checkSchedules refuses schedule changes whose revision is stale
// (Plan.Check has refused malformed ones). The caller holds m.mu.
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
		case ok && (!cur.At.Equal(c.After.At) || c.After.Status == lifecycle.SchedulePending):
			// Decide only settles a pending schedule; the heap relies on it.
			return &lifecycle.InputError{Field: "plan", Value: string(c.After.ID), Problem: "moves a schedule or makes it pending again; a schedule only runs or is canceled"}
		}
	}
	return nil
}

// applySchedules stores checked schedule changes. The caller holds m.mu
// for writing.
func (m *space) applySchedules(changes []lifecycle.ScheduleChange) {
	for _, c := range changes {
		s := cloneSchedule(&c.After)
		if cur, ok := m.sched.byID[s.ID]; ok {
			s.Seq = cur.Seq
			*cur = s // the heap drops it when it is no longer pending
			continue
		}
		s.Seq = uint64(len(m.sched.bySeq)) + 1
		m.sched.byID[s.ID] = &s
		m.sched.bySeq = append(m.sched.bySeq, &s)
		if s.Status == lifecycle.SchedulePending {
			m.sched.pending.push(&s)
		}
	}
}

// Schedule implements lifecycle.Store.
func (m *space) Schedule(ctx context.Context, id lifecycle.ScheduleID) (lifecycle.Schedule, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.sched.byID[id]
	if !ok {
		return lifecycle.Schedule{}, &lifecycle.NotFoundError{Kind: "schedule", ID: string(id)}
	}
	return cloneSchedule(s), nil
}

// Schedules implements lifecycle.Store.
func (m *space) Schedules(ctx context.Context, after uint64, limit int) ([]lifecycle.Schedule, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []lifecycle.Schedule{}
	for i := after; i < uint64(len(m.sched.bySeq)) && (limit < 0 || len(out) < limit); i++ {
		out = append(out, cloneSchedule(m.sched.bySeq[i]))
	}
	return out, nil
}

// due returns up to limit pending schedules due at now, by (At, Seq). It
// walks the pending heap best-first from its top, so its cost is that of
// the schedules it returns and of the settled ones it passes (which leave
// the heap when met at its top), never of every schedule due. The caller
// holds m.mu for writing.
func (x *schedules) due(now time.Time, limit int) []lifecycle.Schedule {
	h := &x.pending
	for h.len() > 0 && h.items[0].Status != lifecycle.SchedulePending {
		h.remove(0)
	}
	out := []lifecycle.Schedule{}
	h.ascend(func(s *lifecycle.Schedule) bool { return !s.At.After(now) }, func(s *lifecycle.Schedule) bool {
		if limit >= 0 && len(out) >= limit {
			return false
		}
		if s.Status == lifecycle.SchedulePending {
			out = append(out, cloneSchedule(s))
		}
		return true
	})
	return out
}
