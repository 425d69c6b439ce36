package apitest

import (
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
)

// TextBodies (R21): a request body whose JSON holds an escaped lone UTF-16
// surrogate ("\ud800") is refused as a malformed body, on every route that
// reads one. encoding/json would read each such escape as U+FFFD, so the
// end users "\ud800", "\udbff" and "\udfff" would all be one end user and
// share one session. A surrogate pair, and an escaped backslash before
// "u", are text, and routed.
func TextBodies(t *testing.T, f *Fixture, c *Client) {
	v1 := create(t, c, BotJSON)
	want(t, "activate", c.Do("POST", "/bots/"+v1.ID+"/activate", "mia", ""), 200)
	draft := create(t, c, BotJSON)
	route := func(endUser string) string {
		return `{"channel":"sms","address":"+15550100","end_user":"` + endUser + `"}`
	}
	rows := []Status{
		{Name: `R21/route end user \ud800`, Method: "POST", Path: "/route", Who: "gateway", Body: route(`\ud800`)},
		{Name: `R21/route end user \udbff`, Method: "POST", Path: "/route", Who: "gateway", Body: route(`\udbff`)},
		{Name: `R21/route end user \udfff`, Method: "POST", Path: "/route", Who: "gateway", Body: route(`\udfff`)},
		{Name: "R21/route end user with a high surrogate before a non-surrogate", Method: "POST", Path: "/route", Who: "gateway", Body: route(`a\ud800\u0041`)},
		{Name: "R21/route end user with two low surrogates", Method: "POST", Path: "/route", Who: "gateway", Body: route(`\udc00\udc00`)},
		{Name: "R21/route address", Method: "POST", Path: "/route", Who: "gateway", Body: `{"channel":"sms","address":"+15550100\ud800","end_user":"u"}`},
		{Name: "R21/route key", Method: "POST", Path: "/route", Who: "gateway", Body: `{"channel":"sms","address":"+15550100","end_user":"u","\ud800":1}`},
		{Name: "R21/create name", Method: "POST", Path: "/bots", Who: "dan", Body: strings.Replace(BotJSON, `"Pizza"`, `"Pizza\udc00"`, 1)},
		{Name: "R21/create definition text", Method: "POST", Path: "/bots", Who: "dan", Body: strings.Replace(BotJSON, `"Hi"`, `"Hi \ud83d"`, 1)},
		{Name: "R21/update name", Method: "PATCH", Path: "/bots/" + draft.ID, Who: "dan", Body: `{"name":"\ud800"}`},
		{Name: "R21/activation acknowledgement", Method: "POST", Path: "/bots/" + draft.ID + "/activate", Who: "mia", Body: `{"decision":"immediate","ack":{"codes":["\ud800"]}}`},
		{Name: "R21/schedule acknowledgement", Method: "POST", Path: "/schedules", Who: "mia",
			Body: scheduleBody(`"at":"2026-06-02T08:00:00Z"`, draft.ID, `"activate":{"decision":"immediate","ack":{"codes":["\udfff"]}}`)},
		{Name: "R21/system reason", Method: "POST", Path: "/system/bots/" + v1.ID + "/deactivate", Who: "scheduler", Body: `{"reason":"credit \ud800"}`},
		{Name: "R21/role grant", Method: "POST", Path: "/users/zed/roles", Who: "ada", Body: `{"role":"designer\ud800"}`},
	}
	for i := range rows {
		rows[i].Status, rows[i].Type = 400, "malformed-body"
	}
	Refuse(t, c, rows, v1.ID, draft.ID)
	if n := sessions(t, c); n != 0 {
		t.Fatalf("R21: refused messages opened %d session(s)", n)
	}

	// Valid text is routed, each end user to a session of their own.
	for _, endUser := range []string{`\ud83d\ude00`, `\\ud800`, `\\udbff`, `\ufffd`} {
		r := c.Do("POST", "/route", "gateway", route(endUser))
		want(t, "route "+endUser, r, 200)
	}
	if n := sessions(t, c); n != 4 {
		t.Errorf("R21: 4 distinct end users have %d session(s), want 4", n)
	}
	_ = f
}

// sessions counts the sessions the store holds.
func sessions(t *testing.T, c *Client) int {
	t.Helper()
	r := c.Do("GET", "/sessions?limit=500", "mia", "")
	want(t, "sessions", r, 200)
	var pg api.Page[api.Session]
	r.JSON(t, &pg)
	return len(pg.Items)
}
