package apitest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
)

// World is what a refused request must leave as it was: the bots named,
// every schedule, and the audit log but for denials (a refusal on
// permission grounds is audited, P1/R16).
func World(t testing.TB, c *Client, bots ...string) (state string, denials int) {
	t.Helper()
	var b strings.Builder
	for _, id := range bots {
		r := c.Do("GET", "/bots/"+id, "mia", "")
		want(t, "read bot "+id, r, 200)
		b.Write(r.Body)
	}
	r := c.Do("GET", "/schedules?limit=500", "mia", "")
	want(t, "read schedules", r, 200)
	b.Write(r.Body)
	var pg api.Page[api.AuditEntry]
	c.Do("GET", "/audit?limit=500", "ada", "").JSON(t, &pg)
	for _, e := range pg.Items {
		if e.Denied {
			denials++
			continue
		}
		fmt.Fprintf(&b, "%d %s %s\n", e.Seq, e.Action, e.Actor)
	}
	return b.String(), denials
}

// Refuse sends each row and checks its status and problem type, and that
// it changed nothing (see World): only a 403 adds one audited denial.
func Refuse(t *testing.T, c *Client, rows []Status, bots ...string) {
	t.Helper()
	for _, row := range rows {
		t.Run(row.Name, func(t *testing.T) {
			c := c.With(t)
			before, denials := World(t, c, bots...)
			r := c.Do(row.Method, row.Path, row.Who, row.Body, row.Headers...)
			if r.Status != row.Status || r.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("%s %s = %d %s, want %d", row.Method, row.Path, r.Status, r.Body, row.Status)
			}
			if p := r.Problem(t); p.Type != "/problems/"+row.Type || p.Detail == "" {
				t.Errorf("problem %+v, want type %s", p, row.Type)
			}
			after, denialsAfter := World(t, c, bots...)
			if after != before {
				t.Errorf("the refused request changed something:\nbefore %s\nafter  %s", before, after)
			}
			if wantDenials := denials + btoi(row.Status == 403); denialsAfter != wantDenials {
				t.Errorf("P1: %d audited denials after the refusal, want %d", denialsAfter, wantDenials)
			}
		})
	}
}

// DryRun sends a dry run and checks that it answers a plan and changes
// nothing (R17; see World).
func DryRun(t testing.TB, c *Client, method, path, who, body string, bots ...string) (api.Plan, Response) {
	t.Helper()
	before, _ := World(t, c, bots...)
	r := c.Do(method, path, who, body)
	want(t, "dry run "+path, r, 200)
	var p api.Plan
	r.JSON(t, &p)
	if !p.DryRun || p.ID == "" {
		t.Errorf("R17 %s %s is not a dry run's plan: %s", method, path, r.Body)
	}
	if after, _ := World(t, c, bots...); after != before {
		t.Errorf("R17 the dry run %s %s changed something:\nbefore %s\nafter  %s", method, path, before, after)
	}
	return p, r
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// create makes a bot as dan and returns it.
func create(t testing.TB, c *Client, body string) api.Bot {
	t.Helper()
	r := c.Do("POST", "/bots", "dan", body)
	want(t, "create", r, 201)
	var b api.Bot
	r.JSON(t, &b)
	return b
}

// onSenders returns BotJSON on the given SMS senders.
func onSenders(addresses ...string) string {
	var list []string
	for _, a := range addresses {
		list = append(list, fmt.Sprintf(`{"address":%q}`, a))
	}
	return strings.Replace(BotJSON, `"senders":[{"address":"+1 555 0100"}]`, `"senders":[`+strings.Join(list, ",")+`]`, 1)
}
