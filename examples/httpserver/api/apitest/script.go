package apitest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/google/go-cmp/cmp"
)

// BotJSON is a valid bot on the SMS sender +1 555 0100.
const BotJSON = `{"name":"Pizza","channel":"sms","senders":[{"address":"+1 555 0100"}],
 "definition":{"channel":"sms","entry_dialog":"a","fallback_dialog":"a","dialogs":[{"id":"a","name":"A","elements":[{"type":"text","text":"Hi"},{"type":"close"}]}]}}`

// Run runs the scripted session, the status table, the per-sender story
// (R22), the schedules (R23), the refusals of what is not text (R21) and
// the test sessions (R26) and the workspaces (R27),
// sending every request through a fresh fixture's handler and check (which
// may be nil).
func Run(t *testing.T, check Check) {
	for _, part := range []struct {
		name string
		run  func(*testing.T, *Fixture, *Client)
	}{
		{"Story", Story}, {"Statuses", Statuses}, {"Senders", Senders}, {"Schedules", Schedules},
		{"ScheduleZones", ScheduleZones}, {"TextBodies", TextBodies}, {"TextPaths", TextPaths},
		{"TestSessions", TestSessions}, {"R27/Isolation", Isolation}, {"R27/SenderClaims", SenderClaims},
	} {
		t.Run(part.name, func(t *testing.T) {
			f, c := newClient(t, check)
			part.run(t, f, c)
		})
	}
}

func newClient(t *testing.T, check Check) (*Fixture, *Client) {
	f := NewFixture(t)
	return f, &Client{T: t, Handler: f.Server, Check: check}
}

func want(t testing.TB, what string, r Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.Status, status, r.Body)
	}
}

// Story walks every route in the order a team uses them: create, edit,
// validate, activate (dry run first), route messages, redeploy with a grace
// period, page through lists, roll back, deactivate, end grace, export and
// import, delete, roles, audit, analytics, the system's jobs.
func Story(t *testing.T, f *Fixture, c *Client) {
	r := c.Do("GET", "/openapi.yaml", "", "")
	want(t, "openapi", r, 200)
	if !strings.HasPrefix(string(r.Body), "openapi: 3.0.3") {
		t.Errorf("openapi.yaml starts %q", r.Body[:min(len(r.Body), 20)])
	}
	want(t, "problem doc", c.Do("GET", "/problems/sender-occupied", "", ""), 200)

	// Create, with a dry run first (R17: nothing is stored).
	r = c.Do("POST", "/bots?dry_run=true", "dan", BotJSON)
	want(t, "create dry run", r, 200)
	var p api.Plan
	r.JSON(t, &p)
	if !p.DryRun || len(p.Changes) != 1 || p.Changes[0].To != "draft" {
		t.Fatalf("R17 create dry run: %+v", p)
	}
	var list api.Page[api.Summary]
	c.Do("GET", "/bots", "al", "").JSON(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("R17: the dry run stored a bot: %+v", list)
	}
	r = c.Do("POST", "/bots", "dan", BotJSON)
	want(t, "create", r, 201)
	var v1 api.Bot
	r.JSON(t, &v1)
	if r.Header.Get("Location") != "/bots/"+v1.ID || r.Header.Get("ETag") != fmt.Sprintf(`"%d"`, v1.Revision) {
		t.Errorf("create headers %v", r.Header)
	}
	if v1.State != "draft" || v1.IdleTimeout != "30m0s" || v1.CreatedAt != "2026-06-01T08:00:00Z" || v1.Senders[0].Address != "+15550100" {
		t.Errorf("created %+v", v1)
	}

	// Edit under If-Match.
	want(t, "stale If-Match", c.Do("PATCH", "/bots/"+v1.ID, "dan", `{"description":"x"}`, `If-Match: "99"`), 412)
	r = c.Do("PATCH", "/bots/"+v1.ID, "dan", `{"description":"Pizza to order","idle_timeout":"10m"}`, "If-Match: "+r.Header.Get("ETag"))
	want(t, "update", r, 200)
	r.JSON(t, &v1)
	if v1.Description != "Pizza to order" || v1.IdleTimeout != "10m0s" {
		t.Errorf("updated %+v", v1)
	}
	r = c.Do("GET", "/bots/"+v1.ID, "mia", "")
	want(t, "get", r, 200)
	etag := r.Header.Get("ETag")
	want(t, "validation", c.Do("GET", "/bots/"+v1.ID+"/validation", "al", ""), 403)
	r = c.Do("GET", "/bots/"+v1.ID+"/validation", "mia", "")
	want(t, "validation", r, 200)
	var rep api.Report
	r.JSON(t, &rep)
	if len(rep.Findings) != 0 || rep.Fingerprint != "" {
		t.Errorf("report %+v", rep)
	}

	// Activate: a dry run, then exactly that plan (R17).
	r = c.Do("POST", "/bots/"+v1.ID+"/activate?dry_run=true", "mia", "", "If-Match: "+etag)
	want(t, "activate dry run", r, 200)
	var dry api.Plan
	r.JSON(t, &dry)
	if diff := cmp.Diff([]string{"draft", "active"}, []string{dry.Changes[0].From, dry.Changes[0].To}); diff != "" || !dry.DryRun || dry.ID == "" {
		t.Errorf("R17 activate dry run %+v (-want +got):\n%s", dry, diff)
	}
	if r.Header.Get("Location") != "/plans/"+dry.ID {
		t.Errorf("dry run Location %q", r.Header.Get("Location"))
	}
	c.Do("GET", "/bots/"+v1.ID, "mia", "").JSON(t, &v1)
	if v1.State != "draft" {
		t.Fatalf("R17: the dry run activated the bot")
	}
	want(t, "apply another's plan", c.Do("POST", "/plans/"+dry.ID+"/apply", "ada", ""), 404)
	r = c.Do("POST", "/plans/"+dry.ID+"/apply", "mia", "")
	want(t, "apply the plan", r, 200)
	r.JSON(t, &p)
	if diff := cmp.Diff(dry.Changes, p.Changes); diff != "" || p.DryRun || len(p.Audit) != 1 || p.Audit[0].Seq == 0 || p.Actor != "mia" {
		t.Errorf("R17 the applied plan differs from the dry run (-dry +applied):\n%s", diff)
	}
	want(t, "apply the plan twice", c.Do("POST", "/plans/"+dry.ID+"/apply", "mia", ""), 404)

	// Messages from the gateway.
	want(t, "route as a user", c.Do("POST", "/route", "mia", `{"channel":"sms","address":"+15550100","end_user":"u1"}`), 401)
	r = c.Do("POST", "/route", "gateway", `{"channel":"sms","address":"+1 555 0100","end_user":"u1"}`)
	want(t, "route", r, 200)
	var s1 api.Session
	r.JSON(t, &s1)
	if s1.Bot != v1.ID || s1.ID != "1" || s1.Messages != 1 {
		t.Errorf("session %+v", s1)
	}

	// Redeploy: duplicate (idempotently), then activate with a grace period.
	dup := func(body string) Response {
		return c.Do("POST", "/bots/"+v1.ID+"/duplicate", "dan", body, "Idempotency-Key: dup-1")
	}
	r = dup(`{"name":"Pizza v2"}`)
	want(t, "duplicate", r, 201)
	var v2 api.Bot
	r.JSON(t, &v2)
	again := dup(`{"name":"Pizza v2"}`)
	want(t, "duplicate replayed", again, 201)
	if string(again.Body) != string(r.Body) || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %s %v", again.Body, again.Header)
	}
	want(t, "idempotency key reused", dup(`{"name":"Pizza v3"}`), 422)
	c.Do("GET", "/bots", "al", "").JSON(t, &list)
	if len(list.Items) != 2 {
		t.Errorf("one Idempotency-Key made %d bots", len(list.Items))
	}
	r = c.Do("POST", "/bots/"+v2.ID+"/activate", "mia", "")
	want(t, "occupied", r, 409)
	if pr := r.Problem(t); pr.Type != "/problems/sender-occupied" || len(pr.Occupants) != 1 || pr.Occupants[0].Bot != v1.ID {
		t.Errorf("occupied problem %+v", pr)
	}
	r = c.Do("POST", "/bots/"+v2.ID+"/activate", "mia", `{"decision":"grace:15m"}`)
	want(t, "activate with grace", r, 200)
	r.JSON(t, &p)
	got := map[string]string{}
	for _, ch := range p.Changes {
		got[ch.Bot] = ch.To
	}
	if diff := cmp.Diff(map[string]string{v1.ID: "deactivated", v2.ID: "active"}, got); diff != "" {
		t.Errorf("R5 grace (-want +got):\n%s", diff)
	}
	f.Clock.Add(time.Minute)
	r = c.Do("POST", "/route", "gateway", `{"channel":"sms","address":"+15550100","end_user":"u1"}`)
	r.JSON(t, &s1)
	if s1.Bot != v1.ID || s1.Messages != 2 {
		t.Errorf("R10 open session stays with the draining bot: %+v", s1)
	}
	var s2 api.Session
	c.Do("POST", "/route", "gateway", `{"channel":"sms","address":"+15550100","end_user":"u2"}`).JSON(t, &s2)
	if s2.Bot != v2.ID {
		t.Errorf("R10 new session goes to the new bot: %+v", s2)
	}

	// Pages: sessions one at a time, following next.
	var ids []string
	next := "/sessions?limit=1"
	for next != "" {
		r = c.Do("GET", next, "mia", "")
		want(t, "sessions page", r, 200)
		var pg api.Page[api.Session]
		r.JSON(t, &pg)
		for _, s := range pg.Items {
			ids = append(ids, s.ID)
		}
		if pg.Next != "" && r.Header.Get("Link") != "<"+pg.Next+`>; rel="next"` {
			t.Errorf("Link %q for next %q", r.Header.Get("Link"), pg.Next)
		}
		next = pg.Next
	}
	if diff := cmp.Diff([]string{"1", "2"}, ids); diff != "" {
		t.Errorf("sessions (-want +got):\n%s", diff)
	}
	want(t, "session", c.Do("GET", "/sessions/2", "mia", ""), 200)
	r = c.Do("POST", "/sessions/2/close", "gateway", "")
	want(t, "close session", r, 200)
	r.JSON(t, &s2)
	if s2.CloseReason != "completed" || s2.ClosedAt != "2026-06-01T08:01:00Z" {
		t.Errorf("closed %+v", s2)
	}

	// Roll back to v1 (draining), then deactivate it with grace and end the grace.
	r = c.Do("POST", "/bots/"+v2.ID+"/rollback", "mia", `{"decision":"immediate"}`)
	want(t, "rollback", r, 200)
	c.Do("GET", "/bots/"+v1.ID, "mia", "").JSON(t, &v1)
	if v1.State != "active" {
		t.Errorf("R20 rollback: v1 is %s", v1.State)
	}
	r = c.Do("POST", "/bots/"+v1.ID+"/deactivate", "mia", `{"grace":"5m"}`)
	want(t, "deactivate", r, 200)
	r.JSON(t, &p)
	if p.Changes[0].After.GraceDeadline != "2026-06-01T08:06:00Z" {
		t.Errorf("R7 grace deadline %+v", p.Changes[0].After)
	}
	want(t, "end grace", c.Do("POST", "/bots/"+v1.ID+"/end-grace", "mia", ""), 200)

	// Export, import, delete.
	r = c.Do("GET", "/bots/"+v2.ID+"/export", "dan", "")
	want(t, "export", r, 200)
	r = c.Do("POST", "/bots/import", "dan", string(r.Body))
	want(t, "import", r, 201)
	var v3 api.Bot
	r.JSON(t, &v3)
	want(t, "delete dry run", c.Do("DELETE", "/bots/"+v3.ID+"?dry_run=true", "dan", ""), 200)
	want(t, "delete", c.Do("DELETE", "/bots/"+v3.ID, "dan", "", "If-Match: "+r.Header.Get("ETag")), 204)
	want(t, "deleted", c.Do("GET", "/bots/"+v3.ID, "dan", ""), 404)

	// Roles.
	r = c.Do("POST", "/users/zed/roles", "ada", `{"role":"Analyzer"}`)
	want(t, "grant", r, 200)
	var ur api.UserRoles
	r.JSON(t, &ur)
	if diff := cmp.Diff(api.UserRoles{User: "zed", Roles: []string{"analyzer"}}, ur); diff != "" {
		t.Errorf("grant (-want +got):\n%s", diff)
	}
	want(t, "user roles", c.Do("GET", "/users/zed/roles", "ada", ""), 200)
	want(t, "revoke dry run", c.Do("DELETE", "/users/zed/roles/analyzer?dry_run=true", "ada", ""), 200)
	want(t, "revoke", c.Do("DELETE", "/users/zed/roles/analyzer", "ada", ""), 204)

	// The audit log, in pages of 5, in Seq order.
	var seqs []uint64
	next = "/audit?limit=5"
	for next != "" {
		var pg api.Page[api.AuditEntry]
		r = c.Do("GET", next, "ada", "")
		want(t, "audit page", r, 200)
		r.JSON(t, &pg)
		for _, e := range pg.Items {
			seqs = append(seqs, e.Seq)
		}
		next = pg.Next
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("audit seqs %v", seqs)
		}
	}
	want(t, "analytics", c.Do("GET", "/analytics", "al", ""), 200)
	want(t, "list bots", c.Do("GET", "/bots?limit=1", "al", ""), 200)

	// The system's jobs (R19).
	f.Clock.Add(time.Hour)
	want(t, "activate again", c.Do("POST", "/bots/"+v2.ID+"/activate", "mia", ""), 200)
	want(t, "expire due", c.Do("POST", "/system/expire-due", "scheduler", ""), 200)
	want(t, "expire due as a user", c.Do("POST", "/system/expire-due", "ada", ""), 401)
	r = c.Do("POST", "/system/bots/"+v2.ID+"/deactivate", "scheduler", `{"reason":"account out of credit","grace":"5m"}`)
	want(t, "system deactivate", r, 200)
	r.JSON(t, &p)
	if !p.System || p.Reason != "account out of credit" {
		t.Errorf("R19 system plan %+v", p)
	}
	want(t, "system end grace", c.Do("POST", "/system/bots/"+v2.ID+"/end-grace", "scheduler", `{"reason":"support ticket 7"}`), 200)
	want(t, "system end grace again", c.Do("POST", "/system/bots/"+v2.ID+"/end-grace", "scheduler", `{"reason":"support ticket 7"}`), 409)
}
