package client_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/botlife/botlife/examples/httpserver/client"
)

// answer is one call's outcome as the generated client decoded it.
type answer struct {
	resp    *http.Response
	typed   any             // the decoded success body (JSON200 or JSON201), nil if none
	problem *client.Problem // the decoded problem, nil if none
}

// story runs README lines through the generated client, mapping the bot ids
// the README shows to the ids the service gave (from Location).
type story struct {
	t       *testing.T
	c       *client.ClientWithResponses
	created []string          // ids from Location, in creation order
	ids     map[string]string // README id -> id the service gave
	keys    map[string]bool   // Idempotency-Keys sent
}

// id returns the service's id for a bot id of the README: the README's
// bots, in the order they first appear in a path, are the bots created, in
// order.
func (s *story) id(readme string) string {
	if id, ok := s.ids[readme]; ok {
		return id
	}
	if len(s.ids) >= len(s.created) {
		s.t.Fatalf("the README uses %s before a bot is created for it", readme)
	}
	s.ids[readme] = s.created[len(s.ids)]
	return s.ids[readme]
}

// decodeBody reads a README body into the generated request type; a field
// the type lacks is an error, so the client can say everything the README
// says.
func decodeBody(t *testing.T, body string, v any) {
	t.Helper()
	if body == "" {
		return
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("the README's body %s does not fit the client's %T: %v", body, v, err)
	}
}

func ptr[T any](v T) *T { return &v }

// optional returns the header's value, or nil when the README sends none.
func optional(h http.Header, name string) *string {
	if v := h.Get(name); v != "" {
		return &v
	}
	return nil
}

// call sends one README line with the generated client: its operation
// picked by method and path, its body decoded into the operation's request
// type, its headers and query into the operation's parameters.
func (s *story) call(ctx context.Context, l apitest.CurlLine) answer {
	t := s.t
	u, err := url.Parse(l.Target)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	var dryRun *bool
	if q.Get("dry_run") == "true" {
		dryRun = ptr(true)
	}
	var limit *int
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		limit = &n
	}
	for name := range l.Headers {
		switch name {
		case "Authorization", "If-Match", "Idempotency-Key", "Last-Event-Id", "Content-Type", "Accept":
		default:
			t.Fatalf("%s: header %s has no parameter here", l.Text, name)
		}
	}
	auth := func(ctx context.Context, req *http.Request) error {
		if v := l.Headers.Get("Authorization"); v != "" {
			req.Header.Set("Authorization", v)
		}
		return nil
	}
	ifMatch, key := optional(l.Headers, "If-Match"), optional(l.Headers, "Idempotency-Key")
	seg := strings.Split(strings.Trim(u.Path, "/"), "/")
	op := l.Method + " /" + seg[0]
	if len(seg) == 3 && seg[0] == "bots" {
		op = l.Method + " /bots/{id}/" + seg[2]
	} else if len(seg) != 1 {
		op = l.Method + " " + u.Path
	}

	var a answer
	switch op {
	case "POST /bots":
		var body client.CreateBot
		decodeBody(t, l.Body, &body)
		r, e := s.c.CreateBotWithResponse(ctx, &client.CreateBotParams{DryRun: dryRun, IdempotencyKey: key}, body, auth)
		if err = e; e == nil {
			a = answer{r.HTTPResponse, first(r.JSON201, r.JSON200), r.ApplicationproblemJSONDefault}
		}
	case "POST /bots/{id}/activate":
		var body client.Activate
		decodeBody(t, l.Body, &body)
		r, e := s.c.ActivateBotWithResponse(ctx, s.id(seg[1]), &client.ActivateBotParams{DryRun: dryRun, IfMatch: ifMatch, IdempotencyKey: key}, body, auth)
		if err = e; e == nil {
			a = answer{r.HTTPResponse, first(r.JSON200), r.ApplicationproblemJSONDefault}
		}
	case "POST /bots/{id}/duplicate":
		var body client.Duplicate
		decodeBody(t, l.Body, &body)
		r, e := s.c.DuplicateBotWithResponse(ctx, s.id(seg[1]), &client.DuplicateBotParams{DryRun: dryRun, IdempotencyKey: key}, body, auth)
		if err = e; e == nil {
			a = answer{r.HTTPResponse, first(r.JSON201, r.JSON200), r.ApplicationproblemJSONDefault}
		}
	case "POST /bots/{id}/rollback":
		var body client.Rollback
		decodeBody(t, l.Body, &body)
		r, e := s.c.RollbackBotWithResponse(ctx, s.id(seg[1]), &client.RollbackBotParams{DryRun: dryRun, IfMatch: ifMatch, IdempotencyKey: key}, body, auth)
		if err = e; e == nil {
			a = answer{r.HTTPResponse, first(r.JSON200), r.ApplicationproblemJSONDefault}
		}
	case "POST /bots/{id}/deactivate":
		var body client.Deactivate
		decodeBody(t, l.Body, &body)
		r, e := s.c.DeactivateBotWithResponse(ctx, s.id(seg[1]), &client.DeactivateBotParams{DryRun: dryRun, IfMatch: ifMatch, IdempotencyKey: key}, body, auth)
		if err = e; e == nil {
			a = answer{r.HTTPResponse, first(r.JSON200), r.ApplicationproblemJSONDefault}
		}
	case "POST /route":
		var body client.RouteRequest
		decodeBody(t, l.Body, &body)
		r, e := s.c.RouteWithResponse(ctx, &client.RouteParams{IdempotencyKey: key}, body, auth)
		if err = e; e == nil {
			a = answer{r.HTTPResponse, first(r.JSON200), r.ApplicationproblemJSONDefault}
		}
	case "GET /bots":
		r, e := s.c.ListBotsWithResponse(ctx, &client.ListBotsParams{Limit: limit}, auth)
		if err = e; e == nil {
			a = answer{r.HTTPResponse, first(r.JSON200), r.ApplicationproblemJSONDefault}
		}
	case "GET /audit":
		r, e := s.c.ListAuditWithResponse(ctx, &client.ListAuditParams{Limit: limit}, auth)
		if err = e; e == nil {
			a = answer{r.HTTPResponse, first(r.JSON200), r.ApplicationproblemJSONDefault}
		}
	case "GET /events":
		// A stream: the plain client's *http.Response, read here.
		resp, e := s.c.StreamEvents(ctx, &client.StreamEventsParams{LastEventID: optional(l.Headers, "Last-Event-ID")}, auth)
		if err = e; e == nil {
			a = answer{resp: resp}
			if resp.StatusCode == http.StatusOK {
				a.typed = firstEvent(t, resp.Body)
			} else {
				a.problem = problemOf(t, resp)
			}
		}
	default:
		t.Fatalf("%s: no operation of the client is called for %s here; add it", l.Text, op)
	}
	if err != nil {
		t.Fatalf("%s: %v", l.Text, err)
	}
	return a
}

// first returns the first non-nil pointer of vs (the generated response's
// JSON200, JSON201, ...), or nil.
func first(vs ...any) any {
	for _, v := range vs {
		if !reflect.ValueOf(v).IsNil() {
			return v
		}
	}
	return nil
}

// firstEvent reads the stream's first event and decodes its data as the
// generated AuditEntry.
func firstEvent(t *testing.T, body io.Reader) *event {
	t.Helper()
	e := &event{}
	sc := bufio.NewScanner(body)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" && e.entry.Seq != 0:
			return e
		case line == "": // a block without data (the opening one's id) is no event
			e = &event{}
		case strings.HasPrefix(line, "id: "):
			e.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "data: "):
			dec := json.NewDecoder(strings.NewReader(strings.TrimPrefix(line, "data: ")))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&e.entry); err != nil {
				t.Fatalf("an event's data is not the client's AuditEntry: %v\n%s", err, line)
			}
		}
	}
	t.Fatalf("the stream ended with no complete event: %v", sc.Err())
	return nil
}

// event is one Server-Sent Event of GET /events.
type event struct {
	id    string
	entry client.AuditEntry
}

// problemOf decodes a problem answer of an operation whose success the
// client does not decode (the event stream).
func problemOf(t *testing.T, resp *http.Response) *client.Problem {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var p client.Problem
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("not a problem: %v\n%s", err, b)
	}
	return &p
}

// The README's curl session (the "HTTP service" section), every line sent
// with the client generated from openapi.yaml to the demo service on an
// httptest server: each answers the status the README states, as a value
// the client decodes (a success body or a Problem whose type is the one
// the README names), and bots are addressed by the ids the service gave in
// Location. A change of the document that breaks what the README shows
// fails here, through the generated code a team would use.
func TestREADMEThroughClient(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := apitest.CurlLines(readme)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 10 {
		t.Fatalf("the README has %d curl lines; expected the HTTP service's session", len(lines))
	}
	srv := httptest.NewServer(apitest.NewFixture(t).Server)
	defer srv.Close()
	c, err := client.NewClientWithResponses(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	s := &story{t: t, c: c, ids: map[string]string{}, keys: map[string]bool{}}
	for _, l := range lines {
		ctx, cancel := context.WithCancel(context.Background())
		if l.MaxTime > 0 {
			ctx, cancel = context.WithTimeout(ctx, l.MaxTime) // a bound, as curl's --max-time; the first event ends the read
		}
		a := s.call(ctx, l)
		s.check(l, a)
		a.resp.Body.Close()
		cancel()
	}
	if len(s.created) < 2 {
		t.Errorf("the README's session created %d bots; expected at least Pizza and its copy", len(s.created))
	}
}

// check compares one answer with what the README line says.
func (s *story) check(l apitest.CurlLine, a answer) {
	t := s.t
	t.Helper()
	status := a.resp.StatusCode
	if status != l.Status {
		detail := ""
		if a.problem != nil {
			detail = string(a.problem.Type)
			if a.problem.Detail != nil {
				detail += ": " + *a.problem.Detail
			}
		}
		t.Errorf("%s\n  answered %d, the README says %d %s", l.Text, status, l.Status, detail)
		return
	}
	if status >= 400 {
		if a.problem == nil {
			t.Errorf("%s: the client decoded no Problem from the %d answer", l.Text, status)
			return
		}
		// "# 409 sender-occupied: ..." names the problem type.
		_, comment, _ := strings.Cut(l.Text, "#")
		words := strings.Fields(comment)
		if len(words) > 1 {
			want := client.ProblemTypeURI("/problems/" + strings.TrimRight(words[1], ":,."))
			if want.Valid() && a.problem.Type != want {
				t.Errorf("%s: problem type %s, the README says %s", l.Text, a.problem.Type, want)
			}
		}
		if a.problem.Status != status {
			t.Errorf("%s: the problem says status %d, the answer is %d", l.Text, a.problem.Status, status)
		}
		return
	}
	if a.typed == nil {
		t.Errorf("%s: the client decoded nothing from the %d answer", l.Text, status)
		return
	}
	key := l.Headers.Get("Idempotency-Key")
	replay := key != "" && s.keys[key]
	if key != "" {
		s.keys[key] = true
		if got := a.resp.Header.Get("Idempotent-Replayed") == "true"; got != replay {
			t.Errorf("%s: Idempotent-Replayed %v, want %v", l.Text, got, replay)
		}
	}
	switch v := a.typed.(type) {
	case *client.Bot:
		loc := a.resp.Header.Get("Location")
		if status != http.StatusCreated || loc != "/bots/"+url.PathEscape(v.Id) {
			t.Errorf("%s: %d with Location %q for bot %q", l.Text, status, loc, v.Id)
			return
		}
		if id := path.Base(loc); !replay {
			s.created = append(s.created, id)
		} else if id != s.created[len(s.created)-1] {
			t.Errorf("%s: the replay created %s; the first answer was %s", l.Text, id, s.created[len(s.created)-1])
		}
	case *client.Plan:
		if dry := strings.Contains(l.Target, "dry_run=true"); v.DryRun != dry || dry && (v.Id == nil || *v.Id == "") {
			t.Errorf("%s: plan dry_run %v, id %v", l.Text, v.DryRun, v.Id)
		}
	case *client.Session:
		if v.Bot != s.created[0] {
			t.Errorf("%s: routed to %s; the README's first bot is %s", l.Text, v.Bot, s.created[0])
		}
	case *client.SummaryPage:
		if limit := l.Target; strings.Contains(limit, "limit=1") && (len(v.Items) != 1 || v.Next == nil || a.resp.Header.Get("Link") == "") {
			t.Errorf("%s: %d items, next %v, Link %q; the README says one bot and a next link", l.Text, len(v.Items), v.Next, a.resp.Header.Get("Link"))
		}
	case *client.AuditPage:
		if len(v.Items) == 0 {
			t.Errorf("%s: an empty audit page", l.Text)
		}
	case *event:
		if after, err := strconv.Atoi(l.Headers.Get("Last-Event-ID")); err == nil && v.id != strconv.Itoa(after+1) {
			t.Errorf("%s: the first event is %s, want %d (the one after Last-Event-ID)", l.Text, v.id, after+1)
		}
	default:
		t.Errorf("%s: the client decoded a %T", l.Text, v)
	}
}
