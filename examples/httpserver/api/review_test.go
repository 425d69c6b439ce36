package api_test

import (
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// R17: applying a kept plan answers the ETag of the bot the command acts
// on, as the same change made directly does - not the ETag of whichever
// bot the plan happens to change first (the replaced bot of an
// activation).
func TestR17AppliedPlanETagIsTheTargets(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var old, next api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &old)
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &next)
	if r := c.Do("POST", "/bots/"+old.ID+"/activate", "mia", ""); r.Status != 200 {
		t.Fatalf("activate %s: %d %s", old.ID, r.Status, r.Body)
	}
	var p api.Plan
	r := c.Do("POST", "/bots/"+next.ID+"/activate?dry_run=true", "mia", `{"decision":"immediate"}`)
	r.JSON(t, &p)
	if r.Status != 200 || p.ID == "" {
		t.Fatalf("dry run: %d %s", r.Status, r.Body)
	}
	r = c.Do("POST", "/plans/"+p.ID+"/apply", "mia", "")
	if r.Status != 200 {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	get := c.Do("GET", "/bots/"+next.ID, "mia", "")
	if got, want := r.Header.Get("ETag"), get.Header.Get("ETag"); got != want {
		t.Errorf("the applied activation of %s answers ETag %s; the bot's is %s", next.ID, got, want)
	}
}
