package lifecycle_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin on machines without a zone database

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/google/go-cmp/cmp"
)

func berlin(t *testing.T) *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// R23: a release scheduled for 02:00 Berlin time runs when ExpireDue sees
// that instant, not a nanosecond before, as the manager who made it, with
// the decision given then; the schedule records it and the audit entry
// names it.
func TestR23ScheduledReleaseRunsAtItsInstant(t *testing.T) {
	e := newEnv(t)
	v1 := e.live("v1", "100")
	v2 := e.draft("v2", "100")
	at := time.Date(2026, 3, 2, 2, 0, 0, 0, berlin(t)) // 01:00 UTC
	sc, err := e.m.Schedule(e.ctx, manager, at, lifecycle.Activate{Bot: v2.ID, Decision: lifecycle.Grace(10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if !sc.At.Equal(at) || sc.Zone != "Europe/Berlin" || sc.Status != lifecycle.SchedulePending || sc.CreatedBy != "mia" || sc.Seq == 0 {
		t.Fatalf("R23: stored schedule %+v", sc)
	}
	e.clk.Set(at.Add(-time.Nanosecond))
	if x, _ := e.m.ExpireDue(e.ctx); len(x.Schedules) != 0 || e.state(v2.ID) != lifecycle.Draft {
		t.Fatalf("R23: ran before its instant: %+v", x)
	}
	e.clk.Set(at)
	x, err := e.m.ExpireDue(e.ctx)
	if err != nil || !cmp.Equal(x.Schedules, []lifecycle.ScheduleID{sc.ID}) {
		t.Fatalf("R23: ExpireDue at the instant = %+v, %v", x, err)
	}
	if got := e.states(v1.ID, v2.ID); !cmp.Equal(got, []lifecycle.State{lifecycle.Deactivated, lifecycle.Active}) {
		t.Fatalf("R23: after the release v1, v2 = %v", got)
	}
	ran, _ := e.m.GetSchedule(e.ctx, manager, sc.ID)
	if ran.Status != lifecycle.ScheduleDone || !ran.RanAt.Equal(at) || ran.Outcome != "" {
		t.Fatalf("R23: the schedule after running: %+v", ran)
	}
	log := e.audit()
	last := log[len(log)-1]
	if last.Action != lifecycle.OpActivate || last.Actor != "mia" || last.Schedule != sc.ID || last.Roles != roles.MustSet(roles.Manager) {
		t.Fatalf("R16/R23: the release's audit entry %+v", last)
	}
	if x, _ := e.m.ExpireDue(e.ctx); len(x.Schedules) != 0 {
		t.Fatalf("R23: a schedule runs once; ran again: %+v", x)
	}
}

// R23: schedules due at the same instant run in the order they were made,
// whatever their ids.
func TestR23SameInstantRunsInCreationOrder(t *testing.T) {
	e := newEnv(t)
	first := e.draft("first", "100")
	second := e.draft("second", "100")
	at := start.Add(time.Hour)
	for _, c := range []struct {
		id  lifecycle.ScheduleID
		bot lifecycle.BotID
	}{{"z-made-first", first.ID}, {"a-made-second", second.ID}} {
		cmd := lifecycle.CreateSchedule{ID: c.id, At: at, Do: lifecycle.Activate{Bot: c.bot, Decision: lifecycle.Immediate()}}
		if _, err := e.m.Apply(e.ctx, manager, cmd); err != nil {
			t.Fatal(err)
		}
	}
	e.clk.Set(at)
	x, err := e.m.ExpireDue(e.ctx)
	if err != nil || !cmp.Equal(x.Schedules, []lifecycle.ScheduleID{"z-made-first", "a-made-second"}) {
		t.Fatalf("R23: ran %v, %v; want creation order", x.Schedules, err)
	}
	if got := e.states(first.ID, second.ID); !cmp.Equal(got, []lifecycle.State{lifecycle.Inactive, lifecycle.Active}) {
		t.Fatalf("R23: the later-made schedule replaced the earlier's bot: %v", got)
	}
}

// R23: a schedule runs with its creator's roles at run time; a creator who
// lost the permission gets a refusal, recorded on the schedule and audited
// as denied, and it is not tried again.
func TestR23RunsWithTheCreatorsRolesThen(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100")
	sc, err := e.m.Schedule(e.ctx, manager, start.Add(time.Hour), lifecycle.Activate{Bot: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.m.RevokeRole(e.ctx, admin, "mia", roles.Manager))
	e.clk.Add(time.Hour)
	before := e.dump()
	x, err := e.m.ExpireDue(e.ctx)
	if err != nil || !cmp.Equal(x.Schedules, []lifecycle.ScheduleID{sc.ID}) || !cmp.Equal(x.SchedulesRefused, []lifecycle.ScheduleID{sc.ID}) {
		t.Fatalf("ExpireDue = %+v, %v; want the schedule run and refused", x, err)
	}
	ran, _ := e.m.GetSchedule(e.ctx, supervisor, sc.ID)
	if ran.Status != lifecycle.ScheduleRefused || !strings.Contains(ran.Outcome, "lacks permission") {
		t.Fatalf("R23: %+v", ran)
	}
	if diff := cmp.Diff(before.Bots, e.dump().Bots); diff != "" {
		t.Fatalf("R23: a refused schedule changed bots:\n%s", diff)
	}
	log := e.audit()
	if last := log[len(log)-1]; last.Action != lifecycle.OpRunSchedule || !last.Denied || last.Actor != "mia" || last.Schedule != sc.ID {
		t.Fatalf("R16/R23: the refusal's audit entry %+v", last)
	}
	n := len(log)
	if x, _ := e.m.ExpireDue(e.ctx); len(x.Schedules) != 0 || len(e.audit()) != n {
		t.Fatalf("R23: a refused schedule was retried: %+v", x)
	}
}

// R23: what a schedule's time means. An instant is kept as it is, with the
// zone it was given in for display; a wall-clock time in a zone is the
// instant time.Date makes of it when the schedule is made - a time a
// daylight-saving change skips (02:30 on 29 March 2026 in Berlin) moves
// forward, and a later change of rules never moves the schedule.
func TestR23TimeZones(t *testing.T) {
	loc := berlin(t)
	tests := []struct {
		name string
		at   time.Time
		want time.Time // UTC
	}{
		{"R23/an-instant-with-an-offset", time.Date(2026, 3, 5, 2, 0, 0, 0, time.FixedZone("UTC+5", 5*3600)), time.Date(2026, 3, 4, 21, 0, 0, 0, time.UTC)},
		{"R23/berlin-winter-time", time.Date(2026, 3, 28, 2, 30, 0, 0, loc), time.Date(2026, 3, 28, 1, 30, 0, 0, time.UTC)},
		{"R23/a-wall-clock-time-the-change-skips", time.Date(2026, 3, 29, 2, 30, 0, 0, loc), time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},
		{"R23/berlin-summer-time", time.Date(2026, 3, 30, 2, 30, 0, 0, loc), time.Date(2026, 3, 30, 0, 30, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.draft("b", "100")
			sc, err := e.m.Schedule(e.ctx, manager, tt.at, lifecycle.Activate{Bot: b.ID})
			if err != nil {
				t.Fatal(err)
			}
			if !sc.At.Equal(tt.want) || sc.At.Location() != time.UTC || sc.Zone != tt.at.Location().String() {
				t.Fatalf("At = %v (%s), want %v", sc.At, sc.Zone, tt.want)
			}
		})
	}
}

// R23: refusals when a schedule is made or canceled change nothing; a
// permission refusal is audited.
func TestR23Refusals(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100")
	done, err := e.m.Schedule(e.ctx, manager, start.Add(time.Minute), lifecycle.Activate{Bot: b.ID})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.CancelSchedule(e.ctx, manager, done.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		want   error
		denied bool
		op     func() error
	}{
		{"R23/in-the-past", lifecycle.ErrInvalidInput, false, func() error {
			_, err := e.m.Schedule(e.ctx, manager, start.Add(-time.Second), lifecycle.Activate{Bot: b.ID})
			return err
		}},
		{"R23/beyond-the-horizon", lifecycle.ErrInvalidInput, false, func() error {
			_, err := e.m.Schedule(e.ctx, manager, start.Add(lifecycle.DefaultMaxScheduleAhead+time.Second), lifecycle.Activate{Bot: b.ID})
			return err
		}},
		{"R23/a-schedule-of-nothing", lifecycle.ErrInvalidInput, false, func() error {
			_, err := e.m.Schedule(e.ctx, manager, start.Add(time.Hour), nil)
			return err
		}},
		{"R23/a-designer-may-not-schedule-an-activation", lifecycle.ErrForbidden, true, func() error {
			_, err := e.m.Schedule(e.ctx, designer, start.Add(time.Hour), lifecycle.Activate{Bot: b.ID})
			return err
		}},
		{"R23/cancel-of-a-canceled-schedule", lifecycle.ErrInvalidTransition, false, func() error {
			_, err := e.m.CancelSchedule(e.ctx, manager, done.ID)
			return err
		}},
		{"R23/cancel-of-a-missing-schedule", lifecycle.ErrNotFound, false, func() error {
			_, err := e.m.CancelSchedule(e.ctx, manager, "nope")
			return err
		}},
		{"R23/an-analyzer-may-not-list", lifecycle.ErrForbidden, true, func() error {
			_, err := e.m.Schedules(e.ctx, analyzer, 0, 10)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { e.refused(tt.want, tt.denied, tt.op) })
	}
	e.clk.Add(time.Hour)
	if x, _ := e.m.ExpireDue(e.ctx); len(x.Schedules) != 0 || e.state(b.ID) != lifecycle.Draft {
		t.Fatalf("R23: a canceled schedule ran: %+v", x)
	}
}

// R22, R23: a schedule keeps the senders it names normalised, as the bot
// keeps its own, so it names them the way the bot does when it runs.
func TestR23ScheduleKeepsSendersNormalised(t *testing.T) {
	e := newEnv(t)
	b := e.live("b", "100", "200")
	sc, err := e.m.Schedule(e.ctx, manager, start.Add(time.Hour), lifecycle.Deactivate{Bot: b.ID, Senders: []lifecycle.Sender{{Address: " 2-00 "}}})
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(sc.Action.Senders, []lifecycle.Sender{sms("200")}) {
		t.Fatalf("stored senders %v, want [sms:200]", sc.Action.Senders)
	}
	if !strings.HasPrefix(string(sc.ID), "sched_") {
		t.Errorf("a schedule's default id %q is not a schedule id", sc.ID)
	}
}

// R21, R23: a schedule stores its acknowledgement, so its text is checked:
// at most MaxAckCodes codes of at most MaxIDBytes bytes each.
func TestR23AcknowledgementLimits(t *testing.T) {
	codes := func(n, size int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = strings.Repeat("c", size)
		}
		return out
	}
	tests := []struct {
		name  string
		codes []string
		ok    bool
	}{
		{"R21/as-many-codes-as-allowed", codes(lifecycle.MaxAckCodes, 8), true},
		{"R21/one-code-too-many", codes(lifecycle.MaxAckCodes+1, 8), false},
		{"R21/a-code-as-long-as-allowed", codes(1, lifecycle.MaxIDBytes), true},
		{"R21/a-code-one-byte-too-long", codes(1, lifecycle.MaxIDBytes+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.draft("b", "100")
			do := func() error {
				_, err := e.m.Schedule(e.ctx, manager, start.Add(time.Hour), lifecycle.Activate{Bot: b.ID, Ack: lifecycle.Ack{Codes: tt.codes}})
				return err
			}
			if tt.ok {
				if err := do(); err != nil {
					t.Fatal(err)
				}
				return
			}
			e.refused(lifecycle.ErrInvalidInput, false, do)
		})
	}
}

// R23: Manager.Schedules pages through the schedules in creation order and
// refuses a limit it cannot serve, naming it.
func TestR23SchedulesPagesInCreationOrder(t *testing.T) {
	e := newEnv(t)
	var made []lifecycle.ScheduleID
	for i, name := range []string{"a", "b", "c"} {
		b := e.draft(name, fmt.Sprint(100+i))
		sc, err := e.m.Schedule(e.ctx, manager, start.Add(time.Hour), lifecycle.Activate{Bot: b.ID})
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, sc.ID)
	}
	first, err := e.m.Schedules(e.ctx, manager, 0, 2)
	if err != nil || len(first) != 2 || first[0].ID != made[0] || first[1].ID != made[1] {
		t.Fatalf("R23: first page %+v, %v; want %v", first, err, made[:2])
	}
	rest, err := e.m.Schedules(e.ctx, manager, first[1].Seq, lifecycle.MaxPage)
	if err != nil || len(rest) != 1 || rest[0].ID != made[2] {
		t.Fatalf("R23: second page %+v, %v; want %v", rest, err, made[2:])
	}
	for _, limit := range []int{0, -1, lifecycle.MaxPage + 1} {
		if got, err := e.m.Schedules(e.ctx, manager, 0, limit); !errors.Is(err, lifecycle.ErrInvalidInput) || got != nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("R23: limit %d gave %v, %v; want an input error naming the limit", limit, got, err)
		}
	}
}

// R23, R21: a caller's schedule id that a schedule already has is refused
// at once as an input error, changing nothing - not retried as a conflict
// until the Manager gives up (Create refuses a taken bot id the same way).
func TestR23ScheduleIDTakenIsInvalidInput(t *testing.T) {
	e := newEnv(t)
	b := e.live("b", "100")
	cmd := lifecycle.CreateSchedule{ID: "s1", At: start.Add(time.Hour), Do: lifecycle.Deactivate{Bot: b.ID}}
	e.must(e.m.Apply(e.ctx, manager, cmd))
	err := e.refused(lifecycle.ErrInvalidInput, false, func() error {
		_, err := e.m.Apply(e.ctx, manager, lifecycle.CreateSchedule{ID: "s1", At: start.Add(2 * time.Hour), Do: lifecycle.Deactivate{Bot: b.ID}})
		return err
	})
	if errors.Is(err, lifecycle.ErrConflict) || !strings.Contains(err.Error(), "already taken") {
		t.Errorf("a taken schedule id: %v; want a clear input error", err)
	}
	if _, err := e.m.Plan(e.ctx, manager, cmd); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Errorf("R17: the dry run of a taken schedule id: %v; want ErrInvalidInput", err)
	}
}
