package apitest

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/google/go-cmp/cmp"
)

// testSession reads a test session answered with status; a 201 must carry
// the test session's Location.
func testSession(t testing.TB, r Response, status int) api.TestSession {
	t.Helper()
	want(t, "test session", r, status)
	var ts api.TestSession
	r.JSON(t, &ts)
	if loc := r.Header.Get("Location"); status == 201 && loc != tsPath(ts.ID) {
		t.Errorf("R26 Location %q for test session %q", loc, ts.ID)
	}
	return ts
}

// tsPath is the path of test session id, percent-encoded.
func tsPath(id string) string { return "/test-sessions/" + url.PathEscape(id) }

// openTest opens a test session on bot as who.
func openTest(t testing.TB, c *Client, bot, who string) api.TestSession {
	t.Helper()
	return testSession(t, c.Do("POST", "/bots/"+bot+"/test-sessions", who, ""), 201)
}

// TestSessions (R26) opens test sessions on a Draft - a dry run applied,
// then directly and idempotently -, sends on one, reads and closes it;
// then the refusals, the cap, the content pin and the idle timeout.
// Test sessions never show in sessions or analytics, and are audited.
func TestSessions(t *testing.T, f *Fixture, c *Client) {
	b := create(t, c, BotJSON)
	dry, _ := DryRun(t, c, "POST", "/bots/"+b.ID+"/test-sessions?dry_run=true", "dan", "", b.ID)
	if dry.Op != "open_test_session" || len(dry.Audit) != 1 || dry.Audit[0].TestSession == nil || dry.Audit[0].TestSession.Bot != b.ID {
		t.Errorf("R17 R26 the dry run's plan: %+v", dry)
	}
	first := testSession(t, c.Do("POST", "/plans/"+dry.ID+"/apply", "dan", ""), 201)
	wantFirst := api.TestSession{ID: first.ID, Bot: b.ID, Tester: "dan", Content: dry.Audit[0].TestSession.Content,
		OpenedAt: "2026-06-01T08:00:00Z", LastActivityAt: "2026-06-01T08:00:00Z"}
	if diff := cmp.Diff(wantFirst, first); diff != "" || first.Content == "" {
		t.Errorf("R17 R26 the applied plan's test session (-want +got):\n%s", diff)
	}

	open := func() Response {
		return c.Do("POST", "/bots/"+b.ID+"/test-sessions", "mia", "", "Idempotency-Key: ts-1")
	}
	second := testSession(t, open(), 201)
	if again := open(); again.Header.Get("Idempotent-Replayed") != "true" || testSession(t, again, 201) != second {
		t.Errorf("R26 an opening replayed: %s", again.Body)
	}
	if second.ID == first.ID || second.Tester != "mia" || second.Content != first.Content {
		t.Errorf("R26 a second test session: %+v", second)
	}

	f.Clock.Add(time.Minute)
	sent := testSession(t, c.Do("POST", tsPath(first.ID)+"/messages", "dan", ""), 200)
	if sent.Messages != 1 || sent.LastActivityAt != "2026-06-01T08:01:00Z" || sent.ClosedAt != "" {
		t.Errorf("R26 a message on the test session: %+v", sent)
	}
	wantFirst.Messages, wantFirst.LastActivityAt = 1, sent.LastActivityAt
	if got := testSession(t, c.Do("GET", tsPath(first.ID), "dan", ""), 200); !cmp.Equal(wantFirst, got) {
		t.Errorf("R26 read (-want +got):\n%s", cmp.Diff(wantFirst, got))
	}
	refuseTestSessions(t, c, b.ID, first.ID)
	closed := testSession(t, c.Do("POST", tsPath(first.ID)+"/close", "dan", `{}`), 200)
	if closed.ClosedAt != "2026-06-01T08:01:00Z" || closed.CloseReason != "completed" {
		t.Errorf("R26 closed: %+v", closed)
	}
	sessionOver(t, c, "a message after the close", "POST", tsPath(first.ID)+"/messages", "dan", "completed", closed.ClosedAt)
	sessionOver(t, c, "a second close", "POST", tsPath(first.ID)+"/close", "dan", "completed", closed.ClosedAt)

	testSessionCap(t, c)
	testSessionPin(t, f, c)
	testSessionsUnseen(t, c, b.ID)
}

// sessionOver sends a request on a test session that is over and checks
// the 409 session-over problem says why and since when (R26).
func sessionOver(t *testing.T, c *Client, name, method, path, who, reason, since string) {
	t.Helper()
	r := c.Do(method, path, who, "")
	if r.Status != 409 || r.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("R26 %s: %d %s, want 409", name, r.Status, r.Body)
	}
	p := r.Problem(t)
	if p.Type != "/problems/session-over" || p.CloseReason != reason || p.ClosedAt != since || !strings.Contains(p.Detail, reason) {
		t.Errorf("R26 %s: %+v, want session-over, %s since %s", name, p, reason, since)
	}
}

// refuseTestSessions sends the requests the test session routes refuse;
// none changes anything, and only a 403 is audited (P1).
func refuseTestSessions(t *testing.T, c *Client, bot, id string) {
	ts := tsPath(id)
	row := func(name, method, path, who, body string, status int, typ string, headers ...string) Status {
		return Status{Name: name, Method: method, Path: path, Who: who, Body: body, Headers: headers, Status: status, Type: typ}
	}
	long := "/test-sessions/" + strings.Repeat("9", 700) // longer than any id the service gives
	Refuse(t, c, []Status{
		row("P1 an Analyzer may not open one", "POST", "/bots/"+bot+"/test-sessions", "al", "", 403, "forbidden"),
		row("P1 an Admin may not open one", "POST", "/bots/"+bot+"/test-sessions", "ada", "", 403, "forbidden"),
		row("P1 an Analyzer may not read one", "GET", ts, "al", "", 403, "forbidden"),
		row("P1 an Analyzer may not close one", "POST", ts+"/close", "al", "", 403, "forbidden"),
		row("another tester's: read", "GET", ts, "mia", "", 404, "not-found"),
		row("another tester's: message", "POST", ts+"/messages", "mia", "", 404, "not-found"),
		row("another tester's: close", "POST", ts+"/close", "mia", "", 404, "not-found"),
		row("P1 an Analyzer may not send on one", "POST", ts+"/messages", "al", "", 403, "forbidden"),
		row("an unknown bot", "POST", "/bots/bot-404/test-sessions", "dan", "", 404, "not-found"),
		row("an id no server made: read", "GET", "/test-sessions/x.y", "dan", "", 404, "not-found"),
		row("an id no server made: message", "POST", "/test-sessions/x.y/messages", "dan", "", 404, "not-found"),
		row("an id no server made: close", "POST", "/test-sessions/x.y/close", "dan", "", 404, "not-found"),
		row("R21 a long id", "GET", long, "dan", "", 400, "invalid-input"),
		row("a body on a message", "POST", ts+"/messages", "dan", `{"text":"hi"}`, 400, "malformed-body"),
		row("a body on opening", "POST", "/bots/"+bot+"/test-sessions", "dan", `{"name":"x"}`, 400, "malformed-body"),
		row("bad dry_run", "POST", "/bots/"+bot+"/test-sessions?dry_run=maybe", "dan", "", 400, "invalid-input"),
		row("R17 a stale If-Match", "POST", "/bots/"+bot+"/test-sessions", "dan", "", 412, "precondition-failed", `If-Match: "1"`),
		row("no token", "GET", ts, "", "", 401, "unauthenticated"),
	}, bot)
}

// testSessionCap opens test sessions on a fresh bot up to the cap (the
// default 20, shared by every tester): the next is refused with 409
// test-session-limit; closing one makes room (R26).
func testSessionCap(t *testing.T, c *Client) {
	b := create(t, c, onSenders("+1 555 0107"))
	var last api.TestSession
	for i := range 20 {
		last = openTest(t, c, b.ID, []string{"dan", "mia"}[i%2])
	}
	Refuse(t, c, []Status{
		{Name: "R26 the cap", Method: "POST", Path: "/bots/" + b.ID + "/test-sessions", Who: "dan", Status: 409, Type: "test-session-limit"},
	}, b.ID)
	testSession(t, c.Do("POST", tsPath(last.ID)+"/close", last.Tester, ""), 200)
	openTest(t, c, b.ID, "dan")
}

// testSessionPin: a test session is pinned to the content it was opened
// on (R26). A rename leaves it open; an edit of the definition ends it
// with content_changed at the edit, before any sweep; a session that idles
// out is over with idle_timeout; deleting the bot ends its test sessions.
func testSessionPin(t *testing.T, f *Fixture, c *Client) {
	b := create(t, c, onSenders("+1 555 0108"))
	// R17: with If-Match, the test session opens on the revision read.
	ts := testSession(t, c.Do("POST", "/bots/"+b.ID+"/test-sessions", "dan", "", `If-Match: "1"`), 201)
	want(t, "rename", c.Do("PATCH", "/bots/"+b.ID, "dan", `{"name":"Pizza, renamed"}`), 200)
	testSession(t, c.Do("POST", tsPath(ts.ID)+"/messages", "dan", ""), 200)

	f.Clock.Add(time.Minute)
	want(t, "edit the definition", c.Do("PATCH", "/bots/"+b.ID, "dan", `{"definition":{"channel":"sms","entry_dialog":"a",`+
		`"fallback_dialog":"a","dialogs":[{"id":"a","name":"A","elements":[{"type":"text","text":"Hello"},{"type":"close"}]}]}}`), 200)
	at := "2026-06-01T08:02:00Z"
	sessionOver(t, c, "a message after the definition changed", "POST", tsPath(ts.ID)+"/messages", "dan", "content_changed", at)
	got := testSession(t, c.Do("GET", tsPath(ts.ID), "dan", ""), 200)
	if got.CloseReason != "content_changed" || got.ClosedAt != at || got.Messages != 1 {
		t.Errorf("R26 R9 read after the edit: %+v", got)
	}
	sessionOver(t, c, "a close after the definition changed", "POST", tsPath(ts.ID)+"/close", "dan", "content_changed", at)

	idle := openTest(t, c, b.ID, "dan")
	f.Clock.Add(31 * time.Minute)
	sessionOver(t, c, "a message after the idle timeout", "POST", tsPath(idle.ID)+"/messages", "dan", "idle_timeout", "2026-06-01T08:32:00Z")

	// A deleted bot's test session is over as content_changed at its last
	// activity, the last instant it served.
	gone := openTest(t, c, b.ID, "dan")
	want(t, "delete the bot", c.Do("DELETE", "/bots/"+b.ID, "dan", ""), 204)
	sessionOver(t, c, "a message after the bot was deleted", "POST", tsPath(gone.ID)+"/messages", "dan", "content_changed", "2026-06-01T08:33:00Z")
}

// testSessionsUnseen: test sessions are in no session list and no
// analytics, and the audit log has who opened and closed which (R26).
func testSessionsUnseen(t *testing.T, c *Client, bot string) {
	var sessions api.Page[api.Session]
	c.Do("GET", "/sessions", "mia", "").JSON(t, &sessions)
	var a api.Analytics
	c.Do("GET", "/analytics", "mia", "").JSON(t, &a)
	if len(sessions.Items) != 0 || len(a.ByBot) != 0 || len(a.BySender) != 0 {
		t.Errorf("R26 test sessions show as sessions %+v or in analytics %+v", sessions.Items, a)
	}
	var pg api.Page[api.AuditEntry]
	c.Do("GET", "/audit?limit=500", "ada", "").JSON(t, &pg)
	var got []string
	for _, e := range pg.Items {
		if e.TestSession != nil && e.TestSession.Bot == bot && e.TestSession.Content != "" {
			got = append(got, e.Action+" "+e.Actor)
		}
	}
	want := []string{"open_test_session dan", "open_test_session mia", "close_test_session dan"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("R26 the audit of the first bot's test sessions (-want +got):\n%s", diff)
	}
}
