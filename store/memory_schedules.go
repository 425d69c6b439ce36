package store

import (
	"cmp"
	"container/heap"
	"context"
	"slices"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// schedules keeps schedules (R23): by id, in Seq order for listing, and
// the pending ones in a heap by (At, Seq), so DueSchedules costs what it
// returns. Schedules are kept like audit entries: one per user request.
type schedules struct {
	byID    map[lifecycle.ScheduleID]*lifecycle.Schedule
	bySeq   []*lifecycle.Schedule
	pending scheduleHeap
}

type scheduleHeap []*lifecycle.Schedule

func (h scheduleHeap) Len() int { return len(h) }
func (h scheduleHeap) Less(i, j int) bool {
	return cmp.Or(h[i].At.Compare(h[j].At), cmp.Compare(h[i].Seq, h[j].Seq)) < 0
}
func (h scheduleHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *scheduleHeap) Push(x any)   { *h = append(*h, x.(*lifecycle.Schedule)) }
func (h *scheduleHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func cloneSchedule(s *lifecycle.Schedule) lifecycle.Schedule {
	c := *s
	c.Action.Senders = slices.Clone(s.Action.Senders)
	c.Action.Ack.Codes = slices.Clone(s.Action.Ack.Codes)
	return c
}

// checkSchedules refuses schedule changes whose revision is stale
// (Plan.Check has refused malformed ones). The caller holds m.mu.
func (m *Memory) checkSchedules(changes []lifecycle.ScheduleChange) error {
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

// applySchedules stores checked schedule changes. The caller holds m.mu
// for writing.
func (m *Memory) applySchedules(changes []lifecycle.ScheduleChange) {
	for _, c := range changes {
		after := cloneSchedule(&c.After)
		cur, ok := m.sched.byID[after.ID]
		if !ok {
			after.Seq = uint64(len(m.sched.bySeq)) + 1
			s := &after
			m.sched.byID[s.ID] = s
			m.sched.bySeq = append(m.sched.bySeq, s)
			if s.Status == lifecycle.SchedulePending {
				heap.Push(&m.sched.pending, s)
			}
			continue
		}
		after.Seq = cur.Seq
		*cur = after // the heap drops it when it is no longer pending
	}
}

// Schedule implements lifecycle.ScheduleStore.
func (m *Memory) Schedule(ctx context.Context, id lifecycle.ScheduleID) (lifecycle.Schedule, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.sched.byID[id]
	if !ok {
		return lifecycle.Schedule{}, &lifecycle.NotFoundError{Kind: "schedule", ID: string(id)}
	}
	return cloneSchedule(s), nil
}

// Schedules implements lifecycle.ScheduleStore.
func (m *Memory) Schedules(ctx context.Context, after uint64, limit int) ([]lifecycle.Schedule, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := []lifecycle.Schedule{}
	for i := after; i < uint64(len(m.sched.bySeq)) && (limit < 0 || len(out) < limit); i++ {
		out = append(out, cloneSchedule(m.sched.bySeq[i]))
	}
	return out, nil
}

// DueSchedules implements lifecycle.ScheduleStore. Schedules that are no
// longer pending leave the heap when met at its top, so the cost is that of
// the due schedules and of those settled since.
func (m *Memory) DueSchedules(ctx context.Context, now time.Time, limit int) ([]lifecycle.Schedule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := &m.sched.pending
	for h.Len() > 0 && (*h)[0].Status != lifecycle.SchedulePending {
		heap.Pop(h)
	}
	out := []lifecycle.Schedule{}
	// Walk the heap's due part in order without popping: a copy of the
	// due prefix, sorted, is bounded by what is due.
	var due []*lifecycle.Schedule
	var walk func(i int)
	walk = func(i int) {
		if i >= h.Len() || (*h)[i].At.After(now) {
			return
		}
		if (*h)[i].Status == lifecycle.SchedulePending {
			due = append(due, (*h)[i])
		}
		walk(2*i + 1)
		walk(2*i + 2)
	}
	walk(0)
	slices.SortFunc(due, func(a, b *lifecycle.Schedule) int { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Seq, b.Seq)) })
	for _, s := range due {
		if limit >= 0 && len(out) >= limit {
			break
		}
		out = append(out, cloneSchedule(s))
	}
	return out, nil
}
