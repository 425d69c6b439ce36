package api_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// R17: a route that has no dry run refuses ?dry_run=true (400) and
// changes nothing; it never commits what the client asked only to see.
func TestR17NoDryRunIsRefusedNotIgnored(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var b api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
	if r := c.Do("POST", "/bots/"+b.ID+"/activate", "mia", ""); r.Status != 200 {
		t.Fatalf("activate: %d %s", r.Status, r.Body)
	}
	var ts api.TestSession
	c.Do("POST", "/bots/"+b.ID+"/test-sessions", "dan", "").JSON(t, &ts)
	var sess api.Session
	c.Do("POST", "/route", "gateway", `{"channel":"sms","address":"+1 555 0100","end_user":"u1"}`).JSON(t, &sess)
	var p api.Plan
	c.Do("POST", "/bots/"+b.ID+"/deactivate?dry_run=true", "mia", "").JSON(t, &p)
	tsPath := "/test-sessions/" + url.PathEscape(ts.ID)
	world := func() string {
		w, _ := apitest.World(t, c, b.ID)
		return w + string(c.Do("GET", "/sessions?limit=500", "mia", "").Body) + string(c.Do("GET", tsPath, "dan", "").Body)
	}
	before := world()
	for _, tc := range []struct{ name, path, who, body string }{
		{"apply a plan", "/plans/" + p.ID + "/apply", "mia", ""},
		{"send a test message", tsPath + "/messages", "dan", ""},
		{"close a test session", tsPath + "/close", "dan", ""},
		{"route", "/route", "gateway", `{"channel":"sms","address":"+1 555 0100","end_user":"u2"}`},
		{"close a session", "/sessions/" + sess.ID + "/close", "gateway", ""},
		{"system deactivate", "/system/bots/" + b.ID + "/deactivate", "scheduler", `{"reason":"out of credit"}`},
		{"system end grace", "/system/bots/" + b.ID + "/end-grace", "scheduler", `{"reason":"out of credit"}`},
		{"expire due", "/system/expire-due", "scheduler", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.With(t).Do("POST", tc.path+"?dry_run=true", tc.who, tc.body)
			if r.Status != 400 {
				t.Errorf("POST %s?dry_run=true: %d %s", tc.path, r.Status, r.Body)
			}
		})
	}
	if after := world(); after != before {
		t.Errorf("R17 requests for a dry run changed something:\nbefore %s\nafter  %s", before, after)
	}
}

// R17: a query parameter no route takes is refused (400), never ignored: a
// misspelt dry run (?dry-run=true, ?dryrun=1) would commit the change the
// client only meant to preview. Nothing changes.
func TestR17UnknownQueryParameterIsRefused(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var b api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
	before, _ := apitest.World(t, c, b.ID)
	for _, tc := range []struct{ method, path, who string }{
		{"POST", "/bots/" + b.ID + "/activate?dry-run=true", "mia"},
		{"POST", "/bots/" + b.ID + "/activate?dryrun=1", "mia"},
		{"POST", "/bots/" + b.ID + "/activate?dry_run=true&force=1", "mia"},
		{"GET", "/bots?limt=5", "mia"},
		{"GET", "/events?from=0", "mia"},
	} {
		r := c.With(t).Do(tc.method, tc.path, tc.who, "")
		if r.Status != 400 || !strings.Contains(string(r.Body), "is not one this API takes") {
			t.Errorf("%s %s: %d %s; want 400 naming the parameter", tc.method, tc.path, r.Status, r.Body)
		}
	}
	if after, _ := apitest.World(t, c, b.ID); after != before {
		t.Errorf("R17: refused requests changed something:\nbefore %s\nafter  %s", before, after)
	}
	if r := c.Do("GET", "/bots?limit=5", "mia", ""); r.Status != 200 {
		t.Errorf("GET /bots?limit=5: %d %s", r.Status, r.Body)
	}
}
