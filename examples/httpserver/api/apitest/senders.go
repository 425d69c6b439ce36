package apitest

import (
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/google/go-cmp/cmp"
)

// Senders runs a bot on some of its senders (R22): activated on one
// sender, then the other; taken off the first with a grace period while it
// stays Active on the second; its live senders and the audit's sender moves
// at each step; the refusals, each changing nothing.
func Senders(t *testing.T, f *Fixture, c *Client) {
	b := create(t, c, onSenders("+1 555 0100", "+1 555 0101"))
	one, two := api.Sender{Channel: "sms", Address: "+15550100"}, api.Sender{Channel: "sms", Address: "+15550101"}

	p := plan(t, c.Do("POST", "/bots/"+b.ID+"/activate", "mia", `{"senders":[{"address":"+1 555 0100"}]}`), "activate on one sender")
	after := p.Changes[0].After
	if diff := cmp.Diff([]api.SenderState{{Sender: one, State: "active", Activation: 1}}, after.Live); diff != "" || after.State != "active" {
		t.Errorf("R22 activate on one sender: %s (-want +live):\n%s", after.State, diff)
	}
	if diff := cmp.Diff([]api.SenderMove{{Bot: b.ID, Sender: one, From: "inactive", To: "active"}}, p.Audit[0].Senders); diff != "" {
		t.Errorf("R22 audit sender moves (-want +got):\n%s", diff)
	}

	p = plan(t, c.Do("POST", "/bots/"+b.ID+"/activate", "mia", `{"senders":[{"channel":"sms","address":"+15550101"}]}`), "activate on the other")
	if diff := cmp.Diff([]api.SenderState{{Sender: one, State: "active", Activation: 1}, {Sender: two, State: "active", Activation: 2}},
		p.Changes[0].After.Live); diff != "" || len(p.Audit[0].Transitions) != 0 {
		t.Errorf("R22 an Active bot joins its other sender; transitions %v (-want +live):\n%s", p.Audit[0].Transitions, diff)
	}
	want(t, "open a session on the first sender", c.Do("POST", "/route", "gateway", `{"channel":"sms","address":"+15550100","end_user":"u1"}`), 200)

	f.Clock.Add(time.Minute)
	p = plan(t, c.Do("POST", "/bots/"+b.ID+"/deactivate", "mia", `{"grace":"10m","senders":[{"address":"+15550100"}]}`), "deactivate on one sender")
	after = p.Changes[0].After
	wantLive := []api.SenderState{{Sender: one, State: "deactivated", Activation: 1, GraceDeadline: "2026-06-01T08:11:00Z"},
		{Sender: two, State: "active", Activation: 2}}
	if diff := cmp.Diff(wantLive, after.Live); diff != "" || after.State != "active" || after.GraceDeadline != "2026-06-01T08:11:00Z" {
		t.Errorf("R22 off one sender with grace: %s until %q (-want +live):\n%s", after.State, after.GraceDeadline, diff)
	}
	if diff := cmp.Diff([]api.SenderMove{{Bot: b.ID, Sender: one, From: "active", To: "deactivated"}}, p.Audit[0].Senders); diff != "" {
		t.Errorf("R22 audit sender moves (-want +got):\n%s", diff)
	}
	got := getBot(t, c, b.ID)
	if diff := cmp.Diff(wantLive, got.Live); diff != "" {
		t.Errorf("R22 GET /bots/{id} live (-want +got):\n%s", diff)
	}

	// R2, R10: on the draining sender only open sessions go on.
	want(t, "an open session on the draining sender", c.Do("POST", "/route", "gateway", `{"channel":"sms","address":"+15550100","end_user":"u1"}`), 200)
	want(t, "a new one there", c.Do("POST", "/route", "gateway", `{"channel":"sms","address":"+15550100","end_user":"u2"}`), 404)
	want(t, "a new one on the other sender", c.Do("POST", "/route", "gateway", `{"channel":"sms","address":"+15550101","end_user":"u2"}`), 200)

	if pd, _ := DryRun(t, c, "POST", "/bots/"+b.ID+"/deactivate?dry_run=true", "mia", `{"senders":[{"address":"+15550101"}]}`, b.ID); pd.Changes[0].After.State != "deactivated" {
		t.Errorf("R17, R22 dry run off the last Active sender (the bot then only drains): %+v", pd.Changes[0].After)
	}
	refuseSenders(t, c, b.ID)

	// The drain ends at its deadline; the bot stays Active on the other sender.
	f.Clock.Add(10 * time.Minute)
	want(t, "expire due", c.Do("POST", "/system/expire-due", "scheduler", ""), 200)
	got = getBot(t, c, b.ID)
	if diff := cmp.Diff([]api.SenderState{{Sender: two, State: "active", Activation: 2}}, got.Live); diff != "" || got.State != "active" || got.GraceDeadline != "" {
		t.Errorf("R22 after the drain: %s until %q (-want +live):\n%s", got.State, got.GraceDeadline, diff)
	}
}

// refuseSenders sends the requests on some senders of the bot id that the
// API refuses while the bot drains on +15550100 and is Active on
// +15550101; none changes anything.
func refuseSenders(t *testing.T, c *Client, id string) {
	path := "/bots/" + id
	Refuse(t, c, []Status{
		{Name: "R22 deactivate where it drains", Method: "POST", Path: path + "/deactivate", Who: "mia", Body: `{"senders":[{"address":"+15550100"}]}`, Status: 409, Type: "invalid-transition"},
		{Name: "R22 activate where it is Active", Method: "POST", Path: path + "/activate", Who: "mia", Body: `{"senders":[{"address":"+15550101"}]}`, Status: 409, Type: "invalid-transition"},
		{Name: "R22 a sender not the bot's", Method: "POST", Path: path + "/deactivate", Who: "mia", Body: `{"senders":[{"address":"+15550199"}]}`, Status: 400, Type: "invalid-input"},
		{Name: "R22 a sender on another channel", Method: "POST", Path: path + "/activate", Who: "mia", Body: `{"senders":[{"channel":"whatsapp","address":"+15550101"}]}`, Status: 400, Type: "invalid-input"},
		{Name: "R22 not a phone number", Method: "POST", Path: path + "/deactivate", Who: "mia", Body: `{"senders":[{"address":"pizza"}]}`, Status: 400, Type: "invalid-input"},
		{Name: "P1 forbidden", Method: "POST", Path: path + "/deactivate", Who: "dan", Body: `{"senders":[{"address":"+15550101"}]}`, Status: 403, Type: "forbidden"},
		{Name: "senders not a list", Method: "POST", Path: path + "/deactivate", Who: "mia", Body: `{"senders":{"address":"+15550101"}}`, Status: 400, Type: "malformed-body"},
		{Name: "rollback takes no senders", Method: "POST", Path: path + "/rollback", Who: "mia", Body: `{"senders":[]}`, Status: 400, Type: "malformed-body"},
	}, id)
	r := c.Do("POST", path+"/deactivate", "mia", `{"senders":[{"address":"+15550100"}]}`)
	if p := r.Problem(t); !strings.Contains(p.Detail, "on sender sms:+15550100") {
		t.Errorf("R22 the refusal names the sender: %q", p.Detail)
	}
}

// getBot reads a bot as mia.
func getBot(t testing.TB, c *Client, id string) api.Bot {
	t.Helper()
	r := c.Do("GET", "/bots/"+id, "mia", "")
	want(t, "read bot "+id, r, 200)
	var b api.Bot
	r.JSON(t, &b)
	return b
}

// plan reads a 200 plan.
func plan(t testing.TB, r Response, what string) api.Plan {
	t.Helper()
	want(t, what, r, 200)
	var p api.Plan
	r.JSON(t, &p)
	if len(p.Changes) == 0 || p.Changes[0].After == nil || len(p.Audit) == 0 {
		t.Fatalf("%s: plan %s", what, r.Body)
	}
	return p
}
