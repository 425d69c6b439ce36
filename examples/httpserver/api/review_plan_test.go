package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/botlife/botlife/lifecycle"
)

// R17: a dry run's plan whose apply failed for want of the store (503,
// retry later) applies when retried: the failure does not use it up.
func TestR17PlanSurvivesUnavailableApply(t *testing.T) {
	st, c := flakyFixture(t)
	var p api.Plan
	r := c.Do("POST", "/bots?dry_run=true", "dan", apitest.BotJSON)
	r.JSON(t, &p)
	if r.Status != 200 || p.ID == "" {
		t.Fatalf("dry run: %d %s", r.Status, r.Body)
	}
	st.failNext(1, fmt.Errorf("connection lost: %w", lifecycle.ErrUnavailable))
	if r := c.Do("POST", "/plans/"+p.ID+"/apply", "dan", ""); r.Status != 503 {
		t.Fatalf("apply on a store cut off: %d %s", r.Status, r.Body)
	}
	if r := c.Do("POST", "/plans/"+p.ID+"/apply", "dan", ""); r.Status != 200 {
		t.Errorf("the retried apply: %d %s", r.Status, r.Body)
	}
	if r := c.Do("POST", "/plans/"+p.ID+"/apply", "dan", ""); r.Status != 404 && r.Status != 409 {
		t.Errorf("R17 applying it a second time: %d %s", r.Status, r.Body)
	}
}

// R17: a kept plan the world has moved past is a 409 conflict that says to
// plan again, without Retry-After: applying it again can never succeed
// (the plan is used up), unlike the conflict of a change whose commits
// kept colliding, which a retry may get past.
func TestR17StalePlanConflictSaysPlanAgain(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var b api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
	var p api.Plan
	c.Do("POST", "/bots/"+b.ID+"/activate?dry_run=true", "mia", "").JSON(t, &p)
	if r := c.Do("PATCH", "/bots/"+b.ID, "dan", `{"name":"Renamed"}`); r.Status != 200 {
		t.Fatalf("rename: %d %s", r.Status, r.Body)
	}
	r := c.Do("POST", "/plans/"+p.ID+"/apply", "mia", "")
	if r.Status != 409 || r.Header.Get("Retry-After") != "" {
		t.Errorf("applying a stale plan: %d, Retry-After %q, want 409 without it: %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	if r := c.Do("POST", "/plans/"+p.ID+"/apply", "mia", ""); r.Status == 200 {
		t.Errorf("a stale plan applied on a retry")
	}
}

// R17: a plan id the server does not hold - applied already, expired, or
// never given - is a 404 that says what to do: make the dry run again
// (plans are applied once and kept for a while). It said "check the id",
// though the id of a plan applied a moment ago is right.
func TestR17PlanNotFoundSaysDryRunAgain(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var p api.Plan
	c.Do("POST", "/bots?dry_run=true", "dan", apitest.BotJSON).JSON(t, &p)
	if r := c.Do("POST", "/plans/"+p.ID+"/apply", "dan", ""); r.Status != 201 && r.Status != 200 {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	for _, id := range []string{p.ID, "plan_none"} {
		before, _ := apitest.World(t, c)
		r := c.Do("POST", "/plans/"+id+"/apply", "dan", "")
		if r.Status != 404 {
			t.Fatalf("applying %s again: %d %s, want 404", id, r.Status, r.Body)
		}
		if p := r.Problem(t); p.Type != "/problems/not-found" || !strings.Contains(p.Detail, "make the dry run again") {
			t.Errorf("applying %s again: problem %+v, want not-found that says to make the dry run again", id, p)
		}
		if after, _ := apitest.World(t, c); after != before {
			t.Errorf("the refused apply changed something:\nbefore %s\nafter  %s", before, after)
		}
	}
}
