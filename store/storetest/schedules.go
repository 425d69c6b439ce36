package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/google/go-cmp/cmp"
)

// schedule commits a schedule of cmd at h.now+in.
func (h *harness) schedule(id string, in time.Duration, cmd lifecycle.Schedulable) lifecycle.Schedule {
	h.t.Helper()
	p := h.do(lifecycle.CreateSchedule{ID: lifecycle.ScheduleID(id), At: h.now.Add(in), Do: cmd})
	sc, err := h.st.Schedule(h.ctx, h.ws, lifecycle.ScheduleID(id))
	if err != nil {
		h.t.Fatalf("Schedule(%s): %v", id, err)
	}
	want := p.Schedules[0].After
	want.Seq = sc.Seq
	if diff := cmp.Diff(want, sc); diff != "" {
		h.t.Fatalf("R23: the stored schedule differs from the committed one (-committed +stored):\n%s", diff)
	}
	return sc
}

func scheduleIDs(ss []lifecycle.Schedule) []lifecycle.ScheduleID {
	out := []lifecycle.ScheduleID{}
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

// R23: schedules are stored exactly, numbered in creation order, listed in
// it, due by (At, Seq), and leave the due list once run or canceled; a
// stale change is refused and changes nothing.
func testSchedules(t *testing.T, h *harness) {
	b := h.create("100")
	s1 := h.schedule("s1", 2*time.Hour, lifecycle.Activate{Bot: b.ID, Decision: lifecycle.Grace(time.Minute), Ack: lifecycle.Ack{Codes: []string{"x"}}})
	s2 := h.schedule("s2", time.Hour, lifecycle.Activate{Bot: b.ID, Senders: h.senders("100")})
	h.schedule("s3", time.Hour, lifecycle.Deactivate{Bot: b.ID, Grace: time.Minute})
	if s1.Seq == 0 || s2.Seq <= s1.Seq {
		t.Fatalf("R23: Seq is creation order: s1 %d, s2 %d", s1.Seq, s2.Seq)
	}
	all, err := h.st.Schedules(h.ctx, h.ws, 0, 10)
	if err != nil || !cmp.Equal(scheduleIDs(all), []lifecycle.ScheduleID{"s1", "s2", "s3"}) {
		t.Fatalf("Schedules = %v, %v", scheduleIDs(all), err)
	}
	if page, _ := h.st.Schedules(h.ctx, h.ws, s1.Seq, 1); !cmp.Equal(scheduleIDs(page), []lifecycle.ScheduleID{"s2"}) {
		t.Fatalf("Schedules after s1, limit 1 = %v", scheduleIDs(page))
	}
	if due, _ := dueSchedules(h.ctx, h.st, h.ws, h.now.Add(time.Hour-time.Nanosecond), 10); len(due) != 0 {
		t.Fatalf("due before any: %v", scheduleIDs(due))
	}
	due, _ := dueSchedules(h.ctx, h.st, h.ws, h.now.Add(3*time.Hour), 10)
	if !cmp.Equal(scheduleIDs(due), []lifecycle.ScheduleID{"s2", "s3", "s1"}) {
		t.Fatalf("R23: due by At then creation order = %v, want [s2 s3 s1]", scheduleIDs(due))
	}
	if due, _ := dueSchedules(h.ctx, h.st, h.ws, h.now.Add(3*time.Hour), 1); !cmp.Equal(scheduleIDs(due), []lifecycle.ScheduleID{"s2"}) {
		t.Fatalf("limit 1: %v", scheduleIDs(due))
	}
	h.do(lifecycle.CancelSchedule{ID: "s2"})
	if due, _ := dueSchedules(h.ctx, h.st, h.ws, h.now.Add(3*time.Hour), 10); !cmp.Equal(scheduleIDs(due), []lifecycle.ScheduleID{"s3", "s1"}) {
		t.Fatalf("R23: a canceled schedule is not due: %v", scheduleIDs(due))
	}
	// A change on a stale revision, and a second creation of s1.
	stale := s1
	stale.Status, stale.Revision = lifecycle.ScheduleCanceled, s1.Revision+2
	h.refused(lifecycle.Plan{Schedules: []lifecycle.ScheduleChange{{Revision: s1.Revision + 1, After: stale}}}, "R23: a stale schedule revision")
	stale.Revision = 1
	h.refused(lifecycle.Plan{Schedules: []lifecycle.ScheduleChange{{Revision: 0, After: stale}}}, "R23: creating an existing schedule")
	if _, err := h.st.Schedule(h.ctx, h.ws, "nope"); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("Schedule(nope) = %v, want ErrNotFound", err)
	}
}

// R23: a due schedule runs as its creator, with the creator's roles read
// from the store then: granted, it activates; revoked, it is refused and
// recorded so. Either way it is no longer due.
func testScheduleRuns(t *testing.T, h *harness) {
	h.do(lifecycle.GrantRole{User: operator.ID, Role: roles.Admin})
	h.do(lifecycle.GrantRole{User: operator.ID, Role: roles.Manager})
	b := h.create("100")
	c := h.create("200")
	h.schedule("go", time.Hour, lifecycle.Activate{Bot: b.ID})
	h.schedule("no", 2*time.Hour, lifecycle.Activate{Bot: c.ID})
	h.now = h.now.Add(time.Hour)
	ran := map[lifecycle.ScheduleID]time.Time{"go": h.now}
	if x := h.expireDue(); !cmp.Equal(x.Schedules, []lifecycle.ScheduleID{"go"}) {
		t.Fatalf("R23: ExpireDue ran %v, want [go]", x.Schedules)
	}
	if got := h.bot(b.ID); got.State != lifecycle.Active {
		sc, _ := h.st.Schedule(h.ctx, h.ws, "go")
		t.Fatalf("R23: the schedule ran as its creator: b is %v (%s: %s)", got.State, sc.Status, sc.Outcome)
	}
	h.do(lifecycle.RevokeRole{User: operator.ID, Role: roles.Manager})
	h.now = h.now.Add(time.Hour)
	ran["no"] = h.now
	if x := h.expireDue(); !cmp.Equal(x.SchedulesRefused, []lifecycle.ScheduleID{"no"}) {
		t.Fatalf("R23: ExpireDue refused %v, want [no]", x.SchedulesRefused)
	}
	if got := h.bot(c.ID); got.State != lifecycle.Draft {
		t.Fatalf("R23: the creator lost the permission, yet c is %v", got.State)
	}
	for id, want := range map[lifecycle.ScheduleID]lifecycle.ScheduleStatus{"go": lifecycle.ScheduleDone, "no": lifecycle.ScheduleRefused} {
		sc, _ := h.st.Schedule(h.ctx, h.ws, id)
		if sc.Status != want || !sc.RanAt.Equal(ran[id]) || (want == lifecycle.ScheduleRefused) == (sc.Outcome == "") {
			t.Errorf("R23: schedule %s = %s at %v (%q), want %s", id, sc.Status, sc.RanAt, sc.Outcome, want)
		}
	}
	if due, _ := dueSchedules(h.ctx, h.st, h.ws, h.now, 10); len(due) != 0 {
		t.Fatalf("R23: a schedule runs once; still due: %v", scheduleIDs(due))
	}
	log, _ := h.st.AuditLog(h.ctx, h.ws, 0, 100)
	var audited []lifecycle.ScheduleID
	for _, e := range log {
		if e.Action == lifecycle.OpActivate || e.Action == lifecycle.OpRunSchedule {
			audited = append(audited, e.Schedule)
		}
	}
	if !cmp.Equal(audited, []lifecycle.ScheduleID{"go", "no"}) {
		t.Fatalf("R23: audited runs = %v, want [go no]", audited)
	}
}
