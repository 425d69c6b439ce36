package api_test

import (
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// R11: a PATCH /bots/{id} that names no field ({}, null, or only nulls)
// edits nothing, so it is a 400 invalid-input problem that says which
// fields a PATCH takes - in their JSON names - and it changes nothing:
// not the bot's revision (its ETag), not the audit log. A dry run and a
// PATCH with If-Match are refused alike. The library refuses an Update
// naming nothing; its message names the Go fields ("idle timeout").
func TestR11EmptyPatchSaysWhichFieldsAPatchTakes(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var b api.Bot
	created := c.Do("POST", "/bots", "dan", apitest.BotJSON)
	created.JSON(t, &b)
	etag := created.Header.Get("ETag")
	for _, tc := range []struct {
		name, path, body string
		headers          []string
	}{
		{"R11/{}", "/bots/" + b.ID, `{}`, nil},
		{"R11/null", "/bots/" + b.ID, `null`, nil},
		{"R11/only nulls", "/bots/" + b.ID, `{"name":null,"idle_timeout":null}`, nil},
		{"R11/with If-Match", "/bots/" + b.ID, `{}`, []string{"If-Match: " + etag}},
		{"R17/a dry run", "/bots/" + b.ID + "?dry_run=true", `{}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c.With(t)
			before, _ := apitest.World(t, c, b.ID)
			r := c.Do("PATCH", tc.path, "dan", tc.body, tc.headers...)
			if r.Status != 400 {
				t.Fatalf("PATCH %s %s = %d %s, want 400", tc.path, tc.body, r.Status, r.Body)
			}
			p := r.Problem(t)
			if p.Type != "/problems/invalid-input" {
				t.Errorf("problem type %s, want invalid-input", p.Type)
			}
			for _, field := range []string{"name", "description", "senders", "definition", "idle_timeout"} {
				if !strings.Contains(p.Detail, field) {
					t.Errorf("detail %q does not name the field %s", p.Detail, field)
				}
			}
			after, _ := apitest.World(t, c, b.ID)
			if after != before {
				t.Errorf("the refused PATCH changed something:\nbefore %s\nafter  %s", before, after)
			}
			if got := c.Do("GET", "/bots/"+b.ID, "dan", "").Header.Get("ETag"); got != etag {
				t.Errorf("ETag %s after the refused PATCH, want %s", got, etag)
			}
		})
	}

	// P1, R11: the permission and the bot's state are still decided
	// first: an Analyzer's empty PATCH is a 403 (audited), one of a live
	// bot a 409.
	if r := c.Do("PATCH", "/bots/"+b.ID, "al", `{}`); r.Status != 403 {
		t.Errorf("P1 an Analyzer's empty PATCH = %d %s, want 403", r.Status, r.Body)
	}
	if r := c.Do("POST", "/bots/"+b.ID+"/activate", "mia", ""); r.Status != 200 {
		t.Fatalf("activate: %d %s", r.Status, r.Body)
	}
	if r := c.Do("PATCH", "/bots/"+b.ID, "dan", `{}`); r.Status != 409 || r.Problem(t).Type != "/problems/not-editable" {
		t.Errorf("R11 an empty PATCH of a live bot = %d %s, want 409 not-editable", r.Status, r.Body)
	}
}
