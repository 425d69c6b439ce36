package api_test

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// R21: a refusal never quotes back what is not text - a control
// character, invalid UTF-8, or a character cut in two by the shortening
// of a long value - from a query parameter, a header or a body: the
// detail is text, and the value is left out. Each such value came back
// escaped by %q ("\x01", "\xff"), a long one was cut inside a
// character, and a role or a decision came back whole, however long.
func TestR21RefusalsQuoteOnlyText(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var b api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
	if r := c.Do("POST", "/bots/"+b.ID+"/activate", "mia", ""); r.Status != 200 {
		t.Fatalf("activate: %d %s", r.Status, r.Body)
	}
	long := strings.Repeat("é", 30) // 60 bytes, shortened to 40 at most
	bot := func(field, value string) string {
		return strings.Replace(apitest.BotJSON, `{`, `{"`+field+`":`+value+`,`, 1)
	}
	for _, tc := range []struct {
		name, method, path, who, body string
		header                        [2]string
	}{
		{name: "a query parameter's name, a control character", method: "GET", path: "/bots?%01=1", who: "mia"},
		{name: "a query parameter's name, invalid UTF-8", method: "GET", path: "/bots?%FF=1", who: "mia"},
		{name: "a query parameter's name, long", method: "GET", path: "/bots?a" + long + "=1", who: "mia"},
		{name: "dry_run", method: "POST", path: "/bots?dry_run=%01", who: "dan", body: apitest.BotJSON},
		{name: "limit", method: "GET", path: "/bots?limit=%FF", who: "mia"},
		{name: "cursor", method: "GET", path: "/bots?cursor=%01", who: "mia"},
		{name: "If-Match", method: "PATCH", path: "/bots/" + b.ID, who: "dan", body: `{"name":"x"}`, header: [2]string{"If-Match", "x\x01"}},
		{name: "a duration", method: "POST", path: "/bots", who: "dan", body: bot("idle_timeout", `"\u0001"`)},
		{name: "an unknown field", method: "POST", path: "/bots", who: "dan", body: bot("\\u0001", `1`)},
		{name: "an unknown field, long", method: "POST", path: "/bots", who: "dan", body: bot("a"+long, `1`)},
		{name: "a key twice", method: "POST", path: "/bots", who: "dan", body: `{"name":"a","name":"b"}`},
		{name: "a system reason", method: "POST", path: "/system/bots/" + b.ID + "/deactivate", who: "scheduler",
			body: `{"reason":"\u0001` + strings.Repeat("x", 600) + `"}`},
		{name: "a zone", method: "POST", path: "/schedules", who: "mia",
			body: `{"local":"2026-12-01T02:00:00","zone":"\u0001","bot":"` + b.ID + `","deactivate":{}}`},
		{name: "an instant", method: "POST", path: "/schedules", who: "mia",
			body: `{"at":"a` + long + `","bot":"` + b.ID + `","deactivate":{}}`},
		{name: "a role, a control character", method: "POST", path: "/users/zed/roles", who: "ada", body: `{"role":"\u0001"}`},
		{name: "a role, long", method: "POST", path: "/users/zed/roles", who: "ada", body: `{"role":"` + strings.Repeat("x", 5000) + `"}`},
		{name: "a decision, a control character", method: "POST", path: "/bots/" + b.ID + "/activate", who: "mia", body: `{"decision":"\u0001"}`},
		{name: "a decision, long", method: "POST", path: "/bots/" + b.ID + "/rollback", who: "mia", body: `{"decision":"` + strings.Repeat("x", 5000) + `"}`},
		{name: "a scheduled decision", method: "POST", path: "/schedules", who: "mia",
			body: `{"at":"2026-12-01T02:00:00Z","bot":"` + b.ID + `","activate":{"decision":"\u0001"}}`},
	} {
		t.Run("R21/"+tc.name, func(t *testing.T) {
			c := c.With(t)
			before, _ := apitest.World(t, c, b.ID)
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			req.Header.Set("Authorization", "Bearer "+apitest.Token(tc.who))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			if tc.header[0] != "" {
				req.Header[tc.header[0]] = []string{tc.header[1]}
			}
			r := c.Send(req, []byte(tc.body))
			if r.Status != 400 {
				t.Fatalf("%s %s = %d %s, want 400", tc.method, tc.path, r.Status, r.Body)
			}
			p := r.Problem(t)
			if p.Detail == "" || !utf8.ValidString(p.Detail) || strings.ContainsFunc(p.Detail, unicode.IsControl) ||
				strings.Contains(p.Detail, `\x`) || strings.Contains(p.Detail, `\u`) || strings.ContainsRune(p.Detail, utf8.RuneError) {
				t.Errorf("detail %q quotes what is not text", p.Detail)
			}
			if strings.Contains(p.Detail, `""`) {
				t.Errorf("detail %q quotes a value that was not empty as empty", p.Detail)
			}
			if len(p.Detail) > 400 {
				t.Errorf("the detail is %d bytes: it copies the input", len(p.Detail))
			}
			if after, _ := apitest.World(t, c, b.ID); after != before {
				t.Errorf("the refused request changed something:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// R21: a 404 or 405 quotes the method and path it refuses shortened - a
// path of thousands of bytes came back whole - and a path that is not text
// not at all.
func TestR21NoRouteQuotesAShortenedPath(t *testing.T) {
	f := apitest.NewFixture(t)
	long := "/" + strings.Repeat("x", 5000)
	for _, tc := range []struct{ method, path string }{
		{"GET", long},
		{"DELETE", "/openapi.yaml" + strings.Repeat("/y", 2000)},
		{strings.Repeat("M", 300), "/bots"},
		{"PUT", "/bots"},
	} {
		req := httptest.NewRequest("GET", "/", nil)
		req.Method, req.URL.Path = tc.method, tc.path
		req.Header.Set("Authorization", "Bearer "+apitest.Token("mia"))
		rec := httptest.NewRecorder()
		f.Server.ServeHTTP(rec, req)
		if rec.Code != 404 && rec.Code != 405 {
			t.Fatalf("%.20s %.40s = %d, want 404 or 405", tc.method, tc.path, rec.Code)
		}
		if body := rec.Body.String(); len(body) > 1500 {
			t.Errorf("%.20s %.40s: %d-byte problem quotes the request whole: %.200s", tc.method, tc.path, len(body), body)
		}
	}
}
