package api_test

import (
	"context"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
)

// R17, R26: a plan to open a test session that the library refuses before
// committing anything - the bot changed since the dry run, or another
// commit won the race - opened no lease, so its answer is not the final
// "its lease may be committed; open one again" of a conflict after the
// lease's commit. A kept plan's apply answers the library's conflict, which
// says what moved and to plan again (final, no Retry-After) and changes
// nothing; a request with If-Match decides the opening again, as every
// other change does, and opens the test session.
func TestR26TestPlanRefusedBeforeItsCommitOpenedNoLease(t *testing.T) {
	for _, tc := range []struct {
		name   string
		kept   bool // apply a kept dry run's plan after the bot changed; else open with If-Match while a commit conflicts once
		status int
		detail string // a part of the problem's detail; "" for a success
		opened int    // the test sessions audited as opened
	}{
		{name: "a kept plan the bot moved past", kept: true, status: 409, detail: "plan again", opened: 0},
		{name: "with If-Match, a commit that lost a race", status: 201, opened: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &flakyStore{Store: store.NewMemory()}
			c, m := demoService(t, lifecycle.Config{Store: st, Clock: mockAtStart(), MaxAttempts: 1})
			var b api.Bot
			created := c.Do("POST", "/bots", "dan", apitest.BotJSON)
			created.JSON(t, &b)
			path, headers := "/bots/"+b.ID+"/test-sessions", []string{"If-Match: " + created.Header.Get("ETag")}
			if tc.kept {
				dry := c.Do("POST", path+"?dry_run=true", "dan", "")
				if dry.Status != 200 || dry.Header.Get("Location") == "" {
					t.Fatalf("dry run: %d %s", dry.Status, dry.Body)
				}
				if r := c.Do("PATCH", "/bots/"+b.ID, "dan", `{"name":"renamed"}`); r.Status != 200 {
					t.Fatalf("rename: %d %s", r.Status, r.Body)
				}
				path, headers = dry.Header.Get("Location")+"/apply", nil
			} else {
				st.failNext(1, &lifecycle.ConflictError{Reason: "another commit came first"})
			}
			before, _ := apitest.World(t, c, b.ID)
			r := c.Do("POST", path, "dan", "", headers...)
			if r.Status != tc.status {
				t.Fatalf("POST %s = %d %s, want %d", path, r.Status, r.Body, tc.status)
			}
			if tc.detail != "" {
				p := r.Problem(t)
				if p.Type != "/problems/conflict" || !strings.Contains(p.Detail, tc.detail) || strings.Contains(p.Detail, "lease") ||
					r.Header.Get("Retry-After") != "" {
					t.Errorf("problem %+v (Retry-After %q), want a final conflict that says %q and nothing of a lease", p, r.Header.Get("Retry-After"), tc.detail)
				}
				if after, _ := apitest.World(t, c, b.ID); after != before {
					t.Errorf("the refused apply changed something:\nbefore %s\nafter  %s", before, after)
				}
			}
			if opened := testSessionsOpened(t, m); opened != tc.opened {
				t.Errorf("test sessions audited as opened: %d, want %d", opened, tc.opened)
			}
		})
	}
}

// testSessionsOpened counts the test sessions m's audit log records as
// opened (R26), denials aside; "ada" is an Admin, who reads the log.
func testSessionsOpened(t *testing.T, m *lifecycle.Manager) int {
	t.Helper()
	entries, err := m.AuditLog(context.Background(), lifecycle.User("ada"), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, e := range entries {
		if e.Action == lifecycle.OpOpenTestSession && !e.Denied {
			opened++
		}
	}
	return opened
}
