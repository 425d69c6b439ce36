package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/google/go-cmp/cmp"
)

// R23: Seq numbers schedules 1, 2, 3... in creation order, as the memory
// store does: a refused commit hands out no number, new schedules of one
// plan are numbered in its order, and commits creating schedules at once
// from several connections get distinct numbers without gaps. A schedule
// comes back exactly as committed, hostile text included, with the
// store's Seq.
func TestScheduleSeq(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	sched := func(id string) lifecycle.Schedule {
		return lifecycle.Schedule{ID: lifecycle.ScheduleID(id), At: at, Zone: "Europe/Paris", Status: lifecycle.SchedulePending, Revision: 1,
			CreatedBy: "bad\xffutf8 nul\x00", CreatedAt: at.Add(-time.Hour), Seq: 99,
			Action: lifecycle.ScheduledAction{Op: lifecycle.OpActivate, Bot: "b", Senders: []lifecycle.Sender{{Channel: "sms", Address: "\xc3\x28"}},
				Decision: "grace 1m", Ack: lifecycle.Ack{Codes: []string{}}}}
	}
	commit := func(changes ...lifecycle.ScheduleChange) error {
		_, err := st.Commit(ctx, lifecycle.Plan{Schedules: changes})
		return err
	}
	if err := commit(lifecycle.ScheduleChange{After: sched("a")}, lifecycle.ScheduleChange{After: sched("b")}); err != nil {
		t.Fatal(err)
	}
	if err := commit(lifecycle.ScheduleChange{After: sched("c")}, lifecycle.ScheduleChange{After: sched("a")}); !errors.Is(err, lifecycle.ErrConflict) {
		t.Fatalf("creating an existing schedule: %v, want ErrConflict", err)
	}
	if err := commit(lifecycle.ScheduleChange{After: sched("d")}, lifecycle.ScheduleChange{After: sched("d")}); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Fatalf("a plan changing one schedule twice: %v, want ErrInvalidInput", err)
	}
	if err := commit(lifecycle.ScheduleChange{After: sched("c")}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Schedule(ctx, "", "c")
	if err != nil {
		t.Fatal(err)
	}
	want := sched("c")
	want.Seq = 3
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("schedule c (-want +got):\n%s", diff)
	}
	// A change keeps the Seq, whatever the plan's copy says.
	done := got
	done.Seq, done.Status, done.Revision, done.RanAt, done.Outcome = 0, lifecycle.ScheduleRefused, 2, at, "refused: no"
	if err := commit(lifecycle.ScheduleChange{Revision: 1, After: done}); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Schedule(ctx, "", "c"); got.Seq != 3 || got.Status != lifecycle.ScheduleRefused || !got.RanAt.Equal(at) {
		t.Fatalf("schedule c after it ran = %+v", got)
	}
	if due, _ := st.Due(ctx, "", at, 10); !cmp.Equal(scheduleIDs(due.Schedules), []lifecycle.ScheduleID{"a", "b"}) {
		t.Fatalf("due: %v, want [a b]", scheduleIDs(due.Schedules))
	}
	const n = 20
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = commit(lifecycle.ScheduleChange{After: sched(fmt.Sprint("p", i))})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	all, err := st.Schedules(ctx, "", 0, everything)
	if err != nil {
		t.Fatal(err)
	}
	for i, sc := range all {
		if sc.Seq != uint64(i+1) {
			t.Fatalf("schedule %d of %d has Seq %d: %v", i+1, len(all), sc.Seq, scheduleIDs(all))
		}
	}
	if len(all) != 3+n {
		t.Fatalf("%d schedules, want %d", len(all), 3+n)
	}
}

func scheduleIDs(ss []lifecycle.Schedule) []lifecycle.ScheduleID {
	out := []lifecycle.ScheduleID{}
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}
