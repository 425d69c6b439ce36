package apitest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
)

// Status is one row of the status table: a request and the problem it
// gets.
type Status struct {
	Name, Method, Path, Who, Body string
	Headers                       []string
	Status                        int
	Type                          string // the problem's type without "/problems/"
}

// Statuses sends requests that fail in every way the API answers, and
// checks each status and problem type, and that every failure is an
// application/problem+json body with the same status.
func Statuses(t *testing.T, f *Fixture, c *Client) {
	setup := func(method, path, who, body string) api.Bot {
		t.Helper()
		r := c.Do(method, path, who, body)
		if r.Status >= 300 {
			t.Fatalf("setup %s %s: %d %s", method, path, r.Status, r.Body)
		}
		var b api.Bot
		r.JSON(t, &b)
		return b
	}
	v1 := setup("POST", "/bots", "dan", BotJSON)
	v2 := setup("POST", "/bots", "dan", BotJSON)
	c.Do("POST", "/bots/"+v1.ID+"/activate", "mia", "")
	warn := setup("POST", "/bots", "dan", strings.Replace(BotJSON, `"fallback_dialog":"a",`, "", 1))
	bad := setup("POST", "/bots", "dan", strings.Replace(BotJSON, `"text":"Hi"`, `"text":"{{who}}"`, 1))
	long := strings.Repeat("x", 300)
	big := `{"name":"` + strings.Repeat("x", api.DefaultMaxBody) + `"}`

	rows := []Status{
		{"no token", "GET", "/bots", "", "", nil, 401, "unauthenticated"},
		{"unknown token", "GET", "/bots", "nobody-token", "", nil, 401, "unauthenticated"},
		{"oversize token", "GET", "/bots", strings.Repeat("t", 5000), "", nil, 401, "unauthenticated"},
		{"P1 forbidden", "POST", "/bots/" + v2.ID + "/activate", "dan", "", nil, 403, "forbidden"},
		{"P1 forbidden audit", "GET", "/audit", "mia", "", nil, 403, "forbidden"},
		{"P1 forbidden events", "GET", "/events", "mia", "", nil, 403, "forbidden"},
		{"not found", "GET", "/bots/nope", "mia", "", nil, 404, "not-found"},
		{"session not found", "GET", "/sessions/77", "mia", "", nil, 404, "not-found"},
		{"no such route", "GET", "/nope", "", "", nil, 404, "no-such-route"},
		{"no such problem", "GET", "/problems/nope", "", "", nil, 404, "no-such-route"},
		{"method not allowed", "PUT", "/bots", "dan", "", nil, 405, "method-not-allowed"},
		{"R10 no bot", "POST", "/route", "gateway", `{"channel":"sms","address":"999","end_user":"u"}`, nil, 404, "no-bot"},
		{"R5 occupied", "POST", "/bots/" + v2.ID + "/activate", "mia", "", nil, 409, "sender-occupied"},
		{"S1 invalid transition", "POST", "/bots/" + v2.ID + "/deactivate", "mia", "", nil, 409, "invalid-transition"},
		{"S1 end grace of an active bot", "POST", "/bots/" + v1.ID + "/end-grace", "mia", "", nil, 409, "invalid-transition"},
		{"R11 not editable", "PATCH", "/bots/" + v1.ID, "dan", `{"name":"x"}`, nil, 409, "not-editable"},
		{"R12 not deletable", "DELETE", "/bots/" + v1.ID, "dan", "", nil, 409, "not-deletable"},
		{"R4 validation", "POST", "/bots/" + bad.ID + "/activate", "mia", "", nil, 422, "validation-failed"},
		{"R4 warnings", "POST", "/bots/" + warn.ID + "/activate", "mia", "", nil, 422, "warnings-not-acknowledged"},
		{"P2 last admin", "DELETE", "/users/ada/roles/admin", "ada", "", nil, 409, "last-admin"},
		{"P2 role held", "POST", "/users/ada/roles", "ada", `{"role":"admin"}`, nil, 409, "role-held"},
		{"P2 role not held", "DELETE", "/users/al/roles/designer", "ada", "", nil, 409, "role-not-held"},
		{"R20 nothing to roll back to", "POST", "/bots/" + v1.ID + "/rollback", "mia", `{"decision":"immediate"}`, nil, 409, "no-rollback"},
		{"P3 unknown role", "POST", "/users/zed/roles", "ada", `{"role":"superuser"}`, nil, 400, "unknown-role"},
		{"bad decision", "POST", "/bots/" + v2.ID + "/activate", "mia", `{"decision":"later"}`, nil, 400, "invalid-input"},
		{"bad grace", "POST", "/bots/" + v1.ID + "/deactivate", "mia", `{"grace":"soon"}`, nil, 400, "invalid-input"},
		{"bad limit", "GET", "/bots?limit=0", "al", "", nil, 400, "invalid-input"},
		{"bad cursor", "GET", "/bots?cursor=!!!", "al", "", nil, 400, "invalid-input"},
		{"bad dry_run", "POST", "/bots?dry_run=maybe", "dan", BotJSON, nil, 400, "invalid-input"},
		{"bad If-Match", "PATCH", "/bots/" + v2.ID, "dan", `{"name":"y"}`, []string{"If-Match: 3"}, 400, "invalid-input"},
		{"bad Last-Event-ID", "GET", "/events", "ada", "", []string{"Last-Event-ID: x"}, 400, "invalid-input"},
		{"R21 long end user", "POST", "/route", "gateway", `{"channel":"sms","address":"+15550100","end_user":"` + long + `"}`, nil, 400, "invalid-input"},
		{"R21 long address", "POST", "/route", "gateway", `{"channel":"livechat","address":"` + long + `","end_user":"u"}`, nil, 400, "invalid-input"},
		{"R21 long user", "GET", "/users/" + long + "/roles", "ada", "", nil, 400, "invalid-input"},
		{"long idempotency key", "POST", "/bots", "dan", BotJSON, []string{"Idempotency-Key: " + long}, 400, "invalid-input"},
		{"precondition failed", "DELETE", "/bots/" + v2.ID, "dan", "", []string{`If-Match: "7"`}, 412, "precondition-failed"},
		{"weak tag never matches", "DELETE", "/bots/" + v2.ID, "dan", "", []string{`If-Match: W/"1"`}, 412, "precondition-failed"},
		{"too large", "POST", "/bots", "dan", big, nil, 413, "too-large"},
		{"route too large", "POST", "/route", "gateway", `{"channel":"sms","address":"1","end_user":"` + strings.Repeat("u", 5000) + `"}`, nil, 413, "too-large"},
		{"not JSON", "POST", "/bots", "dan", "name=x", []string{"Content-Type: application/x-www-form-urlencoded"}, 415, "unsupported-media-type"},
		{"empty body", "POST", "/bots", "dan", "", nil, 400, "malformed-body"},
		{"trailing data", "POST", "/bots/" + v2.ID + "/activate", "mia", `{} {"decision":"immediate"} ###`, nil, 400, "malformed-body"},
		{"unknown field", "POST", "/bots", "dan", `{"nme":"x"}`, nil, 400, "malformed-body"},
		{"key in another case", "POST", "/bots/" + v2.ID + "/duplicate", "dan", `{"NaMe":"x"}`, nil, 400, "malformed-body"},
		{"duplicate key", "POST", "/bots/" + v2.ID + "/duplicate", "dan", `{"name":"x","name":"y"}`, nil, 400, "malformed-body"},
		{"R13 definition key in another case", "POST", "/bots", "dan", strings.Replace(BotJSON, `"id":"a"`, `"ID":"a"`, 1), nil, 400, "malformed-body"},
		{"wrong type", "POST", "/bots/" + v2.ID + "/deactivate", "mia", `{"grace":5}`, nil, 400, "malformed-body"},
		{"not an object", "POST", "/bots/" + v2.ID + "/duplicate", "dan", `[]`, nil, 400, "malformed-body"},
		{"R19 system reason required", "POST", "/system/bots/" + v1.ID + "/deactivate", "scheduler", `{"reason":" "}`, nil, 400, "invalid-input"},
	}
	for _, row := range rows {
		t.Run(row.Name, func(t *testing.T) {
			c := c.With(t)
			r := c.Do(row.Method, row.Path, row.Who, row.Body, row.Headers...)
			if r.Status != row.Status || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s %s = %d %s %s, want %d", row.Method, row.Path, r.Status, r.Header.Get("Content-Type"), r.Body, row.Status)
			}
			p := r.Problem(t)
			if p.Type != "/problems/"+row.Type || p.Status != row.Status || p.Title == "" || p.Detail == "" || p.Instance == "" {
				t.Errorf("problem %+v, want type %s", p, row.Type)
			}
			switch row.Status {
			case http.StatusUnauthorized:
				if r.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			case http.StatusMethodNotAllowed:
				if r.Header.Get("Allow") == "" {
					t.Error("405 without Allow")
				}
			}
			switch row.Type {
			case "warnings-not-acknowledged":
				if p.Fingerprint == "" || p.Report == nil || len(p.Report.Findings) == 0 || p.Report.Fingerprint != p.Fingerprint {
					t.Errorf("R4 warnings problem %+v", p)
				}
			case "validation-failed":
				if p.Report == nil || len(p.Report.Findings) == 0 {
					t.Errorf("R4 validation problem %+v", p)
				}
			}
			if n := strings.Count(string(r.Body), `"findings"`); row.Status == http.StatusUnprocessableEntity && p.Report != nil && n != 1 {
				t.Errorf("issue 28: the 422 body lists findings %d times, want once (in report)", n)
			}
			if len(r.Body) > 4096 {
				t.Errorf("R21 the problem body is %d bytes: it copies the input", len(r.Body))
			}
		})
	}
	// R17: a kept plan whose bot moved since is refused, not decided anew.
	r := c.Do("PATCH", "/bots/"+v2.ID+"?dry_run=true", "dan", `{"name":"x"}`)
	var dry api.Plan
	r.JSON(t, &dry)
	if r := c.Do("PATCH", "/bots/"+v2.ID, "dan", `{"name":"y"}`); r.Status != 200 {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	r = c.Do("POST", "/plans/"+dry.ID+"/apply", "dan", "")
	if r.Status != 409 || r.Problem(t).Type != "/problems/conflict" {
		t.Errorf("R17 a stale plan: %d %s", r.Status, r.Body)
	}
	if r.Header.Get("Retry-After") != "" { // the plan is used up: a retry gets 404; plan again
		t.Error("R17 a stale plan's 409 conflict tells the client to retry it")
	}

	// Every problem type the API can answer is described at its URI.
	for _, k := range api.Problems() {
		r := c.Do("GET", k.Type(), "", "")
		if r.Status != 200 {
			t.Errorf("GET %s: %d", k.Type(), r.Status)
		}
	}
	_ = f
}
