package api_test

import (
	"fmt"
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
