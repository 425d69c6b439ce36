package apitest

import (
	"fmt"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the schedules name IANA zones; hosts may lack the tz database

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/google/go-cmp/cmp"
)

// scheduleBody is a POST /schedules body: when, then the operation.
func scheduleBody(when, bot, op string) string {
	return fmt.Sprintf(`{%s,"bot":%q,%s}`, when, bot, op)
}

// Schedules makes, reads, lists, cancels and runs schedules (R23): an
// activation at 02:00 Berlin time, a deactivation of one sender given with
// an offset, one refused when it runs because its bot's content changed
// since (R20's sense: a rename alone does not count),
// one canceled; then the refusals, each changing nothing.
func Schedules(t *testing.T, f *Fixture, c *Client) {
	b := create(t, c, BotJSON)
	d := create(t, c, onSenders("+1 555 0102"))
	night := scheduleBody(`"local":"2026-06-02T02:00:00","zone":"Europe/Berlin"`, b.ID, `"activate":{"decision":"immediate"}`)

	dry, r := DryRun(t, c, "POST", "/schedules?dry_run=true", "mia", night, b.ID)
	if len(dry.Schedules) != 1 || dry.Schedules[0].Status != "pending" || dry.Schedules[0].Seq != 0 || r.Header.Get("Location") != "/plans/"+dry.ID {
		t.Errorf("R17 schedule dry run: %s", r.Body)
	}

	first := schedule(t, c.Do("POST", "/schedules", "mia", night), 201)
	wantFirst := api.Schedule{ID: first.ID, Seq: 1, At: "2026-06-02T00:00:00Z", Zone: "Europe/Berlin", Local: "2026-06-02T02:00:00+02:00",
		Action:    api.ScheduledAction{Op: "activate", Bot: b.ID, Senders: []api.Sender{}, Decision: "immediate"},
		CreatedBy: "mia", CreatedAt: "2026-06-01T08:00:00Z", Revision: 1, Status: "pending"}
	if diff := cmp.Diff(wantFirst, first); diff != "" || !strings.HasPrefix(first.ID, "sched_") {
		t.Errorf("R23 the schedule made (-want +got):\n%s", diff)
	}
	if got := schedule(t, c.Do("GET", "/schedules/"+first.ID, "dan", ""), 200); !cmp.Equal(first, got) {
		t.Errorf("GET /schedules/{id}: %+v", got)
	}
	second := schedule(t, c.Do("POST", "/schedules", "mia", scheduleBody(`"at":"2026-06-02T03:00:00+02:00"`, b.ID,
		`"deactivate":{"grace":"5m","senders":[{"channel":"sms","address":"+15550100"}]}`)), 201)
	if second.Zone != "+02:00" || second.Local != "2026-06-02T03:00:00+02:00" || second.At != "2026-06-02T01:00:00Z" ||
		!cmp.Equal(second.Action, api.ScheduledAction{Op: "deactivate", Bot: b.ID, Senders: []api.Sender{{Channel: "sms", Address: "+15550100"}}, Grace: "5m0s"}) {
		t.Errorf("R23 a deactivation given with an offset: %+v", second)
	}
	edited := schedule(t, c.Do("POST", "/schedules", "mia", scheduleBody(`"at":"2026-06-01T23:00:00Z"`, d.ID, `"activate":{}`)), 201)
	want(t, "rename the bot after scheduling it (no change of content)", c.Do("PATCH", "/bots/"+d.ID, "dan", `{"name":"Pizza, renamed"}`), 200)
	want(t, "change its senders (its content)", c.Do("PATCH", "/bots/"+d.ID, "dan", `{"senders":[{"channel":"sms","address":"+1 555 0102"},{"channel":"sms","address":"+1 555 0103"}]}`), 200)
	canceled := schedule(t, c.Do("POST", "/schedules", "mia", scheduleBody(`"at":"2026-06-10T08:00:00Z"`, b.ID, `"activate":{}`)), 201)
	if canceled.Zone != "UTC" || canceled.Local != canceled.At {
		t.Errorf("an instant in UTC: %+v", canceled)
	}

	cancelSchedule(t, c, canceled.ID, b.ID)
	listSchedules(t, c, first.ID, second.ID, edited.ID, canceled.ID)
	refuseSchedules(t, c, b, first, canceled)
	runSchedules(t, f, c, b, first, second, edited)
}

// cancelSchedule cancels the fourth schedule made: a dry run first, then
// for real.
func cancelSchedule(t *testing.T, c *Client, id, bot string) {
	dry, r := DryRun(t, c, "POST", "/schedules/"+id+"/cancel?dry_run=true", "mia", "", bot)
	if len(dry.Schedules) != 1 || dry.Schedules[0].Status != "canceled" || dry.Schedules[0].Seq != 4 {
		t.Errorf("R17 cancel dry run: %s", r.Body)
	}
	got := schedule(t, c.Do("POST", "/schedules/"+id+"/cancel", "mia", ""), 200)
	if got.Status != "canceled" || got.RanAt != "2026-06-01T08:00:00Z" || got.Seq != 4 || got.Revision != 2 {
		t.Errorf("R23 canceled: %+v", got)
	}
}

// listSchedules reads the list one schedule per page: the ids, in the
// order they were made.
func listSchedules(t *testing.T, c *Client, ids ...string) {
	var got []string
	for next := "/schedules?limit=1"; next != ""; {
		r := c.Do("GET", next, "dan", "")
		want(t, "schedules page", r, 200)
		var pg api.Page[api.Schedule]
		r.JSON(t, &pg)
		for _, sc := range pg.Items {
			got = append(got, sc.ID)
		}
		if pg.Next != "" && r.Header.Get("Link") != "<"+pg.Next+`>; rel="next"` {
			t.Errorf("Link %q for next %q", r.Header.Get("Link"), pg.Next)
		}
		next = pg.Next
	}
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("R23 the list (-want +got):\n%s", diff)
	}
}

// refuseSchedules sends the requests that make, read or cancel schedules
// in every way the API refuses them; none changes anything.
func refuseSchedules(t *testing.T, c *Client, b api.Bot, pending, canceled api.Schedule) {
	act := `"activate":{"decision":"immediate"}`
	mk := func(name, who, body string, status int, typ string) Status {
		return Status{Name: name, Method: "POST", Path: "/schedules", Who: who, Body: body, Status: status, Type: typ}
	}
	Refuse(t, c, []Status{
		mk("bad time", "mia", scheduleBody(`"at":"tomorrow"`, b.ID, act), 400, "invalid-input"),
		mk("an instant without offset", "mia", scheduleBody(`"at":"2026-06-02T02:00:00"`, b.ID, act), 400, "invalid-input"),
		mk("a local time with an offset", "mia", scheduleBody(`"local":"2026-06-02T02:00:00+02:00","zone":"Europe/Berlin"`, b.ID, act), 400, "invalid-input"),
		mk("a local time without zone", "mia", scheduleBody(`"local":"2026-06-02T02:00:00"`, b.ID, act), 400, "invalid-input"),
		mk("both at and local", "mia", scheduleBody(`"at":"2026-06-02T02:00:00Z","local":"2026-06-02T02:00:00","zone":"UTC"`, b.ID, act), 400, "invalid-input"),
		mk("no time", "mia", fmt.Sprintf(`{"bot":%q,%s}`, b.ID, act), 400, "invalid-input"),
		mk("unknown zone", "mia", scheduleBody(`"local":"2026-06-02T02:00:00","zone":"Mars/Olympus_Mons"`, b.ID, act), 400, "invalid-input"),
		mk("the server's Local zone", "mia", scheduleBody(`"local":"2026-06-02T02:00:00","zone":"Local"`, b.ID, act), 400, "invalid-input"),
		mk("in the past", "mia", scheduleBody(`"at":"2026-06-01T07:59:59Z"`, b.ID, act), 400, "invalid-input"),
		mk("now", "mia", scheduleBody(`"at":"2026-06-01T10:00:00+02:00"`, b.ID, act), 400, "invalid-input"),
		mk("beyond the horizon", "mia", scheduleBody(`"at":"2026-08-30T08:00:01Z"`, b.ID, act), 400, "invalid-input"),
		mk("P1 forbidden to a Designer", "dan", scheduleBody(`"at":"2026-06-02T02:00:00Z"`, b.ID, act), 403, "forbidden"),
		mk("P1 forbidden to an Analyzer", "al", scheduleBody(`"at":"2026-06-02T02:00:00Z"`, b.ID, `"deactivate":{}`), 403, "forbidden"),
		mk("R22 a sender not the bot's", "mia", scheduleBody(`"at":"2026-06-02T02:00:00Z"`, b.ID, `"deactivate":{"senders":[{"address":"+15550199"}]}`), 400, "invalid-input"),
		mk("no operation", "mia", fmt.Sprintf(`{"at":"2026-06-02T02:00:00Z","bot":%q}`, b.ID), 400, "invalid-input"),
		mk("two operations", "mia", scheduleBody(`"at":"2026-06-02T02:00:00Z"`, b.ID, `"activate":{},"deactivate":{}`), 400, "invalid-input"),
		mk("no bot", "mia", scheduleBody(`"at":"2026-06-02T02:00:00Z"`, "", act), 400, "invalid-input"),
		mk("unknown bot", "mia", scheduleBody(`"at":"2026-06-02T02:00:00Z"`, "bot-404", act), 404, "not-found"),
		mk("bad decision", "mia", scheduleBody(`"at":"2026-06-02T02:00:00Z"`, b.ID, `"activate":{"decision":"later"}`), 400, "invalid-input"),
		mk("bad grace", "mia", scheduleBody(`"at":"2026-06-02T02:00:00Z"`, b.ID, `"deactivate":{"grace":"-5m"}`), 400, "invalid-input"),
		mk("a grace for an activation", "mia", scheduleBody(`"at":"2026-06-02T02:00:00Z"`, b.ID, `"activate":{"grace":"5m"}`), 400, "malformed-body"),
		mk("unknown field", "mia", scheduleBody(`"when":"2026-06-02T02:00:00Z"`, b.ID, act), 400, "malformed-body"),
		mk("empty body", "mia", "", 400, "malformed-body"),
		{Name: "P1 cancel forbidden", Method: "POST", Path: "/schedules/" + pending.ID + "/cancel", Who: "dan", Status: 403, Type: "forbidden"},
		{Name: "cancel a canceled schedule", Method: "POST", Path: "/schedules/" + canceled.ID + "/cancel", Who: "mia", Status: 409, Type: "invalid-transition"},
		{Name: "cancel an unknown schedule", Method: "POST", Path: "/schedules/sched_nope/cancel", Who: "mia", Status: 404, Type: "not-found"},
		{Name: "cancel with a body", Method: "POST", Path: "/schedules/" + pending.ID + "/cancel", Who: "mia", Body: `{"why":"x"}`, Status: 400, Type: "malformed-body"},
		{Name: "an unknown schedule", Method: "GET", Path: "/schedules/sched_nope", Who: "mia", Status: 404, Type: "not-found"},
		{Name: "P1 read forbidden", Method: "GET", Path: "/schedules/" + pending.ID, Who: "al", Status: 403, Type: "forbidden"},
		{Name: "P1 list forbidden", Method: "GET", Path: "/schedules", Who: "al", Status: 403, Type: "forbidden"},
		{Name: "bad cursor", Method: "GET", Path: "/schedules?cursor=eA", Who: "mia", Status: 400, Type: "invalid-input"},
	}, b.ID)
}

// runSchedules lets the clock pass the schedules: ExpireDue runs them in
// the order they fall due, each as its maker; the edited bot's is refused
// and says why; a schedule that ran cannot be canceled.
func runSchedules(t *testing.T, f *Fixture, c *Client, b api.Bot, first, second, edited api.Schedule) {
	f.Clock.Set(time.Date(2026, 6, 2, 0, 30, 0, 0, time.UTC))
	r := c.Do("POST", "/system/expire-due", "scheduler", "")
	want(t, "expire due", r, 200)
	var e api.Expiry
	r.JSON(t, &e)
	if diff := cmp.Diff([]string{edited.ID, first.ID}, e.Schedules); diff != "" {
		t.Errorf("R23 ExpireDue runs the due schedules by time (-want +got):\n%s", diff)
	}
	got := schedule(t, c.Do("GET", "/schedules/"+first.ID, "mia", ""), 200)
	if got.Status != "done" || got.RanAt != "2026-06-02T00:30:00Z" || got.Outcome != "" {
		t.Errorf("R23 the activation ran: %+v", got)
	}
	got = schedule(t, c.Do("GET", "/schedules/"+edited.ID, "mia", ""), 200)
	if got.Status != "refused" || !strings.Contains(got.Outcome, "changed since it was scheduled: its senders differ") {
		t.Errorf("R23 the edited bot's schedule is refused: %+v", got)
	}
	bot := getBot(t, c, b.ID)
	if bot.State != "active" || bot.ActivatedAt != "2026-06-02T00:30:00Z" {
		t.Errorf("R23 the bot after its scheduled activation: %s since %s", bot.State, bot.ActivatedAt)
	}
	var pg api.Page[api.AuditEntry]
	c.Do("GET", "/audit?limit=500", "ada", "").JSON(t, &pg)
	byID := map[string]api.AuditEntry{}
	for _, a := range pg.Items {
		if a.Schedule != "" {
			byID[a.Schedule+" "+a.Action] = a
		}
	}
	if a := byID[first.ID+" activate"]; a.Actor != "mia" || a.System || len(a.Transitions) != 1 || len(a.Senders) != 1 {
		t.Errorf("R23 the scheduled activation is audited as its maker: %+v", a)
	}
	if a := byID[edited.ID+" run_schedule"]; a.Actor != "mia" || !strings.HasPrefix(a.Reason, "schedule refused: ") {
		t.Errorf("R23 the refusal is audited: %+v", a)
	}
	Refuse(t, c, []Status{
		{Name: "cancel a done schedule", Method: "POST", Path: "/schedules/" + first.ID + "/cancel", Who: "mia", Status: 409, Type: "invalid-transition"},
		{Name: "cancel a refused schedule", Method: "POST", Path: "/schedules/" + edited.ID + "/cancel", Who: "mia", Status: 409, Type: "invalid-transition"},
	}, b.ID)

	f.Clock.Set(time.Date(2026, 6, 2, 1, 0, 0, 0, time.UTC))
	r = c.Do("POST", "/system/expire-due", "scheduler", "")
	want(t, "expire due", r, 200)
	var e2 api.Expiry
	r.JSON(t, &e2)
	bot = getBot(t, c, b.ID)
	if diff := cmp.Diff([]string{second.ID}, e2.Schedules); diff != "" || bot.State != "deactivated" || bot.GraceDeadline != "2026-06-02T01:05:00Z" {
		t.Errorf("R23 the scheduled deactivation: %s until %s, ran %v", bot.State, bot.GraceDeadline, e2.Schedules)
	}
}

// ScheduleZones makes schedules at wall-clock times that a daylight-saving
// change repeats or skips in Europe/Berlin: each is read as time.Date
// reads it, with the offset of one side of the change, and the answer
// shows the instant taken (at and local agree).
func ScheduleZones(t *testing.T, f *Fixture, c *Client) {
	b := create(t, c, BotJSON)
	for _, tc := range []struct {
		name, now, local string
		wants            []string // the local times time.Date may give
	}{
		{"repeated", "2026-10-01T00:00:00Z", "2026-10-25T02:30:00", []string{"2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00"}},
		{"plain winter time", "2026-11-20T00:00:00Z", "2026-12-01T02:00:00", []string{"2026-12-01T02:00:00+01:00"}},
		{"skipped", "2027-03-01T00:00:00Z", "2027-03-28T02:30:00", []string{"2027-03-28T03:30:00+02:00", "2027-03-28T01:30:00+01:00"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			now, _ := time.Parse(time.RFC3339, tc.now)
			f.Clock.Set(now)
			body := scheduleBody(fmt.Sprintf(`"local":%q,"zone":"Europe/Berlin"`, tc.local), b.ID, `"activate":{}`)
			sc := schedule(t, c.With(t).Do("POST", "/schedules", "mia", body), 201)
			at, err1 := time.Parse(time.RFC3339, sc.At)
			local, err2 := time.Parse(time.RFC3339, sc.Local)
			if err1 != nil || err2 != nil || !at.Equal(local) || !strings.HasSuffix(sc.At, "Z") {
				t.Errorf("at %q and local %q are not the same instant", sc.At, sc.Local)
			}
			found := false
			for _, w := range tc.wants {
				found = found || sc.Local == w
			}
			if !found {
				t.Errorf("local %q, want one of %v", sc.Local, tc.wants)
			}
		})
	}
}

// schedule reads a schedule answered with status.
func schedule(t testing.TB, r Response, status int) api.Schedule {
	t.Helper()
	want(t, "schedule", r, status)
	var sc api.Schedule
	r.JSON(t, &sc)
	if status == 201 && r.Header.Get("Location") != "/schedules/"+sc.ID {
		t.Errorf("Location %q for schedule %s", r.Header.Get("Location"), sc.ID)
	}
	return sc
}
