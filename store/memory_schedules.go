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
		case ok && (!cur.At.Equal(c.After.At) || c.After.Status == lifecycle.SchedulePending):
			// Decide only settles a pending schedule; the heap relies on it.
			return &lifecycle.InputError{Field: "plan", Value: string(c.After.ID), Problem: "moves a schedule or makes it pending again; a schedule only runs or is canceled"}
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

// DueSchedules implements lifecycle.ScheduleStore. It walks the pending
// heap best-first from its top, so its cost is that of the schedules it
// returns and of the settled ones it passes (which leave the heap when met
// at its top), never of every schedule due.
func (m *Memory) DueSchedules(ctx context.Context, now time.Time, limit int) ([]lifecycle.Schedule, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := &m.sched.pending
	for h.Len() > 0 && (*h)[0].Status != lifecycle.SchedulePending {
		heap.Pop(h)
	}
	out := []lifecycle.Schedule{}
	frontier := &indexHeap{h: *h}
	if h.Len() > 0 {
		heap.Push(frontier, 0)
	}
	for frontier.Len() > 0 && (limit < 0 || len(out) < limit) {
		i := heap.Pop(frontier).(int)
		s := (*h)[i]
		if s.At.After(now) {
			break // the best left is not due: nothing else is
		}
		if s.Status == lifecycle.SchedulePending {
			out = append(out, cloneSchedule(s))
		}
		for _, c := range []int{2*i + 1, 2*i + 2} {
			if c < h.Len() {
				heap.Push(frontier, c)
			}
		}
	}
	return out, nil
}

// indexHeap orders positions of a schedule heap by their schedules.
type indexHeap struct {
	h   scheduleHeap
	idx []int
}

func (x *indexHeap) Len() int           { return len(x.idx) }
func (x *indexHeap) Less(i, j int) bool { return x.h.Less(x.idx[i], x.idx[j]) }
func (x *indexHeap) Swap(i, j int)      { x.idx[i], x.idx[j] = x.idx[j], x.idx[i] }
func (x *indexHeap) Push(v any)         { x.idx = append(x.idx, v.(int)) }
func (x *indexHeap) Pop() any {
	v := x.idx[len(x.idx)-1]
	x.idx = x.idx[:len(x.idx)-1]
	return v
}
