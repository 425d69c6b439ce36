package apitest

import (
	"bufio"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
)

// cast is who acts in one workspace of the demo (as Token names them), and
// an SMS sender only that workspace names.
type cast struct {
	ws                                 string // "" or "acme"
	admin, manager, gateway, scheduler string
	sender, wire                       string // as a bot names it, and as the service writes it
}

var (
	defaultCast = cast{"", "ada", "mia", "gateway", "scheduler", "+1 555 0177", "+15550177"}
	acmeCast    = cast{"acme", "acme/ida", "acme/mia", "acme/gateway", "acme/scheduler", "+1 555 0188", "+15550188"}
)

// attack is one request of another workspace's principal, and the statuses
// it may answer.
type attack struct {
	method, path, who, body string
	headers                 []string
	status                  []int
}

// victim is a workspace with something of every kind in it: the ids its
// actors made, and the words that must never reach another workspace.
type victim struct {
	cast
	live, draft, schedule, testSession, plan, user string
	export                                         string
	create, duplicate                              attack // its requests with an Idempotency-Key
	created                                        Response
	secrets                                        []string
}

// populate fills workspace b through its own principals: a live bot with a
// session that idled out and an open one, a Draft copy with an open test
// session and a kept dry-run plan, a schedule that has fallen due but has
// not run, a user with a role, and two requests with an Idempotency-Key.
func populate(t *testing.T, f *Fixture, c *Client, b cast) victim {
	t.Helper()
	v := victim{cast: b, user: "secret-user-of-" + b.ws + "-workspace"}
	name := "Secret Pizza of " + b.manager
	v.create = attack{"POST", "/bots", b.manager, strings.Replace(onSenders(b.sender), `"name":"Pizza"`, `"name":"`+name+`"`, 1),
		[]string{"Idempotency-Key: b-create"}, nil}
	v.created = c.Do(v.create.method, v.create.path, v.create.who, v.create.body, v.create.headers...)
	want(t, "create", v.created, 201)
	var bot api.Bot
	v.created.JSON(t, &bot)
	v.live = bot.ID
	want(t, "activate", c.Do("POST", "/bots/"+v.live+"/activate", b.manager, ""), 200)
	route := `{"channel":"sms","address":"` + b.wire + `","end_user":"secret-end-user-1"}`
	want(t, "route", c.Do("POST", "/route", b.gateway, route), 200)
	sc := schedule(t, c.Do("POST", "/schedules", b.manager, scheduleBody(`"at":"2026-06-01T08:30:00Z"`, v.live, `"deactivate":{}`)), 201)
	v.schedule = sc.ID
	v.duplicate = attack{"POST", "/bots/" + v.live + "/duplicate", b.manager, `{"name":"` + name + ` v2"}`, []string{"Idempotency-Key: b-dup"}, nil}
	r := c.Do(v.duplicate.method, v.duplicate.path, v.duplicate.who, v.duplicate.body, v.duplicate.headers...)
	want(t, "duplicate", r, 201)
	r.JSON(t, &bot)
	v.draft = bot.ID
	want(t, "grant", c.Do("POST", "/users/"+v.user+"/roles", b.admin, `{"role":"analyzer"}`), 200)
	r = c.Do("GET", "/bots/"+v.live+"/export", b.manager, "")
	want(t, "export", r, 200)
	v.export = string(r.Body)

	f.Clock.Add(time.Hour) // the schedule is due, session 1 idled out
	want(t, "route", c.Do("POST", "/route", b.gateway, strings.Replace(route, "-1", "-2", 1)), 200)
	v.testSession = testSession(t, c.Do("POST", "/bots/"+v.draft+"/test-sessions", b.manager, ""), 201).ID
	want(t, "test message", c.Do("POST", tsPath(v.testSession)+"/messages", b.manager, ""), 200)
	r = c.Do("POST", "/bots/"+v.draft+"/activate?dry_run=true", b.manager, `{"decision":"immediate"}`)
	want(t, "dry run", r, 200)
	var p api.Plan
	r.JSON(t, &p)
	v.plan = p.ID

	v.secrets = []string{v.live, v.draft, name, b.wire, b.sender, v.schedule, v.testSession, v.plan, v.user, "secret-end-user"}
	if b.ws != "" {
		v.secrets = append(v.secrets, b.ws)
	}
	return v
}

// dump is everything workspace v holds, read through its own principals.
func (v victim) dump(t *testing.T, c *Client) string {
	t.Helper()
	var b strings.Builder
	read := func(path, who string) {
		r := c.Do("GET", path, who, "")
		want(t, "dump "+path, r, 200)
		b.WriteString(path + "\n")
		b.Write(r.Body)
	}
	for _, id := range []string{v.live, v.draft} {
		read("/bots/"+id, v.manager)
		read("/bots/"+id+"/export", v.manager)
		read("/bots/"+id+"/validation", v.manager)
	}
	for _, path := range []string{"/bots?limit=500", "/schedules?limit=500", "/schedules/" + v.schedule, "/sessions?limit=500",
		"/sessions/1", "/sessions/2", "/analytics", tsPath(v.testSession)} {
		read(path, v.manager)
	}
	for _, u := range []string{v.user, strings.TrimPrefix(v.manager, v.ws+"/"), strings.TrimPrefix(v.admin, v.ws+"/")} {
		read("/users/"+u+"/roles", v.admin)
	}
	read("/audit?limit=500", v.admin)
	return b.String()
}

// attacks are, for every route of the server, requests of workspace a's
// principals that name what v holds. Each must answer one of its
// statuses.
func attacks(a cast, v victim) map[string][]attack {
	nf := []int{404}
	at := func(method, path, who, body string, status []int, headers ...string) attack {
		return attack{method, path, who, body, headers, status}
	}
	replay := func(x attack, who string, status []int) attack {
		x.who, x.status = who, status
		return x
	}
	m, ad := a.manager, a.admin
	cursor := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	reason := `{"reason":"support ticket 9"}`
	return map[string][]attack{
		"GET /openapi.yaml":    {at("GET", "/openapi.yaml", "", "", []int{200})},
		"GET /problems/{name}": {at("GET", "/problems/sender-claimed", "", "", []int{200})},
		"GET /bots":            {at("GET", "/bots?limit=500", m, "", []int{200}), at("GET", "/bots?cursor="+cursor("bot-0"), m, "", []int{200})},
		// v's keyed request, sent again by a: a fresh request, refused because the sender is v's.
		"POST /bots":                        {replay(v.create, m, []int{409})},
		"POST /bots/import":                 {at("POST", "/bots/import", m, v.export, []int{409})},
		"GET /bots/{id}":                    {at("GET", "/bots/"+v.live, m, "", nf), at("GET", "/bots/"+v.draft, m, "", nf)},
		"PATCH /bots/{id}":                  {at("PATCH", "/bots/"+v.draft, m, `{"name":"mine"}`, nf), at("PATCH", "/bots/"+v.draft, m, `{"name":"mine"}`, nf, `If-Match: "1"`)},
		"DELETE /bots/{id}":                 {at("DELETE", "/bots/"+v.draft, m, "", nf), at("DELETE", "/bots/"+v.draft+"?dry_run=true", m, "", nf)},
		"GET /bots/{id}/export":             {at("GET", "/bots/"+v.live+"/export", m, "", nf)},
		"GET /bots/{id}/validation":         {at("GET", "/bots/"+v.draft+"/validation", m, "", nf)},
		"POST /bots/{id}/duplicate":         {replay(v.duplicate, m, nf)},
		"POST /bots/{id}/activate":          {at("POST", "/bots/"+v.draft+"/activate", m, "", nf), at("POST", "/bots/"+v.draft+"/activate?dry_run=true", m, "", nf)},
		"POST /bots/{id}/deactivate":        {at("POST", "/bots/"+v.live+"/deactivate", m, "", nf)},
		"POST /bots/{id}/end-grace":         {at("POST", "/bots/"+v.live+"/end-grace", m, "", nf)},
		"POST /bots/{id}/rollback":          {at("POST", "/bots/"+v.draft+"/rollback", m, "", nf)},
		"POST /plans/{id}/apply":            {at("POST", "/plans/"+v.plan+"/apply", m, "", nf), at("POST", "/plans/"+v.plan+"/apply", ad, "", nf)},
		"POST /bots/{id}/test-sessions":     {at("POST", "/bots/"+v.draft+"/test-sessions", m, "", nf)},
		"GET /test-sessions/{id}":           {at("GET", tsPath(v.testSession), m, "", nf)},
		"POST /test-sessions/{id}/messages": {at("POST", tsPath(v.testSession)+"/messages", m, "", nf)},
		"POST /test-sessions/{id}/close":    {at("POST", tsPath(v.testSession)+"/close", m, "", nf)},
		"GET /schedules":                    {at("GET", "/schedules?limit=500", m, "", []int{200}), at("GET", "/schedules?cursor="+cursor("0"), m, "", []int{200})},
		"POST /schedules":                   {at("POST", "/schedules", m, scheduleBody(`"at":"2026-06-01T10:00:00Z"`, v.live, `"deactivate":{}`), nf)},
		"GET /schedules/{id}":               {at("GET", "/schedules/"+v.schedule, m, "", nf)},
		"POST /schedules/{id}/cancel":       {at("POST", "/schedules/"+v.schedule+"/cancel", m, "", nf)},
		// A user is known per workspace (P3, R27): v's user holds no role in a.
		"GET /users/{user}/roles":           {at("GET", "/users/"+v.user+"/roles", ad, "", []int{200})},
		"POST /users/{user}/roles":          {at("POST", "/users/"+v.user+"/roles?dry_run=true", ad, `{"role":"designer"}`, []int{200})},
		"DELETE /users/{user}/roles/{role}": {at("DELETE", "/users/"+v.user+"/roles/analyzer", ad, "", []int{409})},
		"GET /audit":                        {at("GET", "/audit?limit=500", ad, "", []int{200}), at("GET", "/audit?cursor="+cursor("1"), ad, "", []int{200})},
		"GET /events":                       nil, // a stream: see streamIsolated
		"GET /analytics":                    {at("GET", "/analytics", m, "", []int{200})},
		"GET /sessions":                     {at("GET", "/sessions?limit=500", m, "", []int{200})},
		"GET /sessions/{id}":                {at("GET", "/sessions/1", m, "", nf), at("GET", "/sessions/2", m, "", nf)},
		"POST /route":                       {at("POST", "/route", a.gateway, `{"channel":"sms","address":"`+v.wire+`","end_user":"secret-end-user-2"}`, nf)},
		"POST /sessions/{id}/close":         {at("POST", "/sessions/1/close", a.gateway, "", nf), at("POST", "/sessions/2/close", a.gateway, "", nf)},
		"POST /system/expire-due":           {at("POST", "/system/expire-due", a.scheduler, "", []int{200})},
		"POST /system/bots/{id}/deactivate": {at("POST", "/system/bots/"+v.live+"/deactivate", a.scheduler, reason, nf)},
		"POST /system/bots/{id}/end-grace":  {at("POST", "/system/bots/"+v.live+"/end-grace", a.scheduler, reason, nf)},
	}
}

// Isolation (R27): in both directions, a principal of one workspace names
// the ids of another's bots, schedules, sessions, test sessions, plans,
// users, audit entries and idempotency keys on every route the server
// has. Each request answers 404 (or, on a list or a route of its own
// workspace, what that workspace holds), no answer holds anything of the
// other workspace, and the other workspace is byte for byte as it was:
// its plan still applies and its keyed requests still replay.
func Isolation(t *testing.T, _ *Fixture, c *Client) {
	for _, dir := range []struct {
		name         string
		victim, from cast
	}{{"acme attacks default", defaultCast, acmeCast}, {"default attacks acme", acmeCast, defaultCast}} {
		t.Run(dir.name, func(t *testing.T) {
			f := NewFixture(t)
			c := &Client{T: t, Handler: f.Server, Check: c.Check}
			v := populate(t, f, c, dir.victim)
			before := v.dump(t, c)
			byRoute := attacks(dir.from, v)
			for _, route := range f.Server.Routes() {
				list, ok := byRoute[route]
				if !ok {
					t.Errorf("R27: the route %s has no isolation case; add it to attacks", route)
				}
				delete(byRoute, route)
				for _, x := range list {
					r := c.Do(x.method, x.path, x.who, x.body, x.headers...)
					if !containsInt(x.status, r.Status) {
						t.Errorf("R27: %s %s as %s = %d, want %v: %s", x.method, x.path, x.who, r.Status, x.status, r.Body)
					}
					if r.Header.Get("Idempotent-Replayed") != "" {
						t.Errorf("R27: %s %s as %s replayed the other workspace's answer", x.method, x.path, x.who)
					}
					leaked(t, x.method+" "+x.path+" as "+x.who, x.method+x.path+x.body+strings.Join(x.headers, ""), r, v.secrets)
				}
			}
			for route := range byRoute {
				t.Errorf("R27: attacks names %s, which the server does not serve", route)
			}
			if after := v.dump(t, c); after != before {
				t.Errorf("R27: the other workspace changed:\nbefore %s\nafter  %s", before, after)
			}
			// What the attacks named is still there for its owners.
			r := c.Do(v.create.method, v.create.path, v.create.who, v.create.body, v.create.headers...)
			if r.Status != 201 || string(r.Body) != string(v.created.Body) || r.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("R27: the owner's keyed request no longer replays: %d %s", r.Status, r.Body)
			}
			want(t, "the owner applies its plan", c.Do("POST", "/plans/"+v.plan+"/apply", v.manager, ""), 200)
			want(t, "the owner's test session", c.Do("GET", tsPath(v.testSession), v.manager, ""), 200)
			streamIsolated(t, f, dir.from, v)
		})
	}
}

// streamIsolated (R24, R27): workspace a's event stream sends a's entries
// only, those written before it opened and those written while it is open,
// while v changes too.
func streamIsolated(t *testing.T, f *Fixture, a cast, v victim) {
	srv := httptest.NewServer(f.Server)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second) // only against a hang
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events?after=0", nil)
	req.Header.Set("Authorization", "Bearer "+Token(a.admin))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("R27: events: %d", resp.StatusCode)
	}
	c := &Client{T: t, Handler: f.Server}
	want(t, "the other workspace changes", c.Do("POST", "/users/secret-user-late/roles", v.admin, `{"role":"analyzer"}`), 200)
	want(t, "a marker in the stream's workspace", c.Do("POST", "/users/marker/roles", a.admin, `{"role":"analyzer"}`), 200)
	secrets := append([]string{"secret-user-late"}, v.secrets...)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		for _, s := range secrets {
			if strings.Contains(line, s) {
				t.Errorf("R27: the event stream of another workspace sent %q: %s", s, line)
			}
		}
		if strings.HasPrefix(line, "data:") && strings.Contains(line, `"marker"`) {
			return
		}
	}
	t.Fatalf("R27: the stream ended before the marker: %v", sc.Err())
}

// leaked fails the test if the answer r to request (its method, path, body
// and headers) holds a secret the request did not itself send.
func leaked(t *testing.T, what, request string, r Response, secrets []string) {
	t.Helper()
	request += strings.ReplaceAll(request, " ", "") // the service writes "+1 555 0177" as "+15550177"
	answer := string(r.Body)
	for k, vs := range r.Header {
		answer += k + ": " + strings.Join(vs, ",") + "\n"
	}
	for _, s := range secrets {
		if strings.Contains(answer, s) && !strings.Contains(request, s) {
			t.Errorf("R27: %s answers %q, which is another workspace's: %s", what, s, answer)
		}
	}
}

func containsInt(list []int, n int) bool {
	for _, x := range list {
		if x == n {
			return true
		}
	}
	return false
}

// SenderClaims (R27): a real sender belongs to one workspace at a time. A
// bot of another workspace that names it, made or edited, is refused with
// 409 sender-claimed, whose detail names nothing of the workspace that
// holds it, and changes nothing; once no bot of that workspace names it,
// it is free.
func SenderClaims(t *testing.T, f *Fixture, c *Client) {
	mine := create(t, c, BotJSON) // dan, in the default workspace, on +1 555 0100
	r := c.Do("POST", "/bots", "acme/mia", BotJSON)
	claimed(t, "create in acme", r, mine.ID)
	var pg api.Page[api.Summary]
	c.Do("GET", "/bots", "acme/mia", "").JSON(t, &pg)
	if len(pg.Items) != 0 {
		t.Errorf("R27: the refused create stored %+v", pg.Items)
	}

	// The other way round: a sender acme holds is refused to the default
	// workspace, at creation and by an edit, and the detail never says acme.
	r = c.Do("POST", "/bots", "acme/mia", onSenders("+1 555 0111"))
	want(t, "create in acme", r, 201)
	var theirs api.Bot
	r.JSON(t, &theirs)
	claimed(t, "create in default", c.Do("POST", "/bots", "dan", onSenders("+1 555 0111")), theirs.ID, "acme")
	before := c.Do("GET", "/bots/"+mine.ID, "dan", "")
	claimed(t, "edit in default", c.Do("PATCH", "/bots/"+mine.ID, "dan", `{"senders":[{"address":"+1 555 0100"},{"address":"+1 555 0111"}]}`), theirs.ID, "acme")
	if after := c.Do("GET", "/bots/"+mine.ID, "dan", ""); string(after.Body) != string(before.Body) {
		t.Errorf("R27: the refused edit changed the bot:\n%s\n%s", before.Body, after.Body)
	}

	// Released once no bot of the holder names it.
	want(t, "delete", c.Do("DELETE", "/bots/"+mine.ID, "dan", ""), 204)
	want(t, "create in acme once released", c.Do("POST", "/bots", "acme/mia", BotJSON), 201)
}

// claimed checks a 409 sender-claimed refusal that names none of hidden.
func claimed(t *testing.T, what string, r Response, hidden ...string) {
	t.Helper()
	want(t, what, r, 409)
	p := r.Problem(t)
	if p.Type != "/problems/sender-claimed" || p.Detail == "" {
		t.Errorf("R27 %s: problem %+v, want sender-claimed", what, p)
	}
	for _, h := range hidden {
		if strings.Contains(string(r.Body), h) {
			t.Errorf("R27 %s: the refusal names %q of the other workspace: %s", what, h, r.Body)
		}
	}
}
