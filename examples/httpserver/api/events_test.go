package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/google/go-cmp/cmp"
)

type event struct {
	id    uint64
	entry api.AuditEntry
}

// stream opens GET /events as ada over a real connection and sends each
// event it reads to the returned channel until ctx ends.
func stream(t *testing.T, ctx context.Context, url string, lastID string) <-chan event {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apitest.Token("ada"))
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /events: %d %s", resp.StatusCode, b)
	}
	out := make(chan event)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		var ev event
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				ev.id, _ = strconv.ParseUint(strings.TrimPrefix(line, "id: "), 10, 64)
			case strings.HasPrefix(line, "data: "):
				if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.entry); err != nil {
					t.Errorf("event data %q: %v", line, err)
					return
				}
			case line == "" && ev.entry.Seq == 0: // no data: no event (the opening block's id)
				ev = event{}
			case line == "":
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				}
				ev = event{}
			}
		}
	}()
	return out
}

// R24: a client reading GET /events over a real connection sees every
// committed change exactly in Seq order, with id = Seq, while another client
// activates and replaces bots; a second stream resumes with Last-Event-ID.
func TestR24EventsStream(t *testing.T) {
	f := apitest.NewFixture(t)
	srv := httptest.NewServer(f.Server)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events := stream(t, ctx, srv.URL, "0") // from the start

	// Another client redeploys three times over HTTP.
	c := &apitest.Client{T: t, Handler: httpClientHandler{srv.URL}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var prev api.Bot
		for i, decision := range []string{"", "grace:15m", "immediate"} {
			var b api.Bot
			r := c.Do("POST", "/bots", "dan", apitest.BotJSON)
			if r.Status != 201 {
				t.Errorf("create: %d %s", r.Status, r.Body)
				return
			}
			r.JSON(t, &b)
			body := ""
			if decision != "" {
				body = `{"decision":"` + decision + `"}`
			}
			if r := c.Do("POST", "/bots/"+b.ID+"/activate", "mia", body); r.Status != 200 {
				t.Errorf("activate %d (%s after %s): %d %s", i, b.ID, prev.ID, r.Status, r.Body)
				return
			}
			prev = b
		}
	}()
	<-done
	var audit api.Page[api.AuditEntry]
	c.Do("GET", "/audit?limit=500", "ada", "").JSON(t, &audit)
	if len(audit.Items) != 4+6 {
		t.Fatalf("audit has %d entries", len(audit.Items))
	}
	var got []api.AuditEntry
	for len(got) < len(audit.Items) {
		select {
		case ev, ok := <-events:
			if !ok {
				t.Fatalf("stream ended after %d events", len(got))
			}
			if ev.id != ev.entry.Seq || ev.id != uint64(len(got)+1) {
				t.Fatalf("event id %d, seq %d after %d events", ev.id, ev.entry.Seq, len(got))
			}
			got = append(got, ev.entry)
		case <-ctx.Done():
			t.Fatalf("timed out after %d events", len(got))
		}
	}
	if diff := cmp.Diff(audit.Items, got); diff != "" {
		t.Errorf("events differ from GET /audit (-audit +events):\n%s", diff)
	}

	// Resume after event 7.
	resumed := stream(t, ctx, srv.URL, "7")
	for want := uint64(8); want <= uint64(len(audit.Items)); want++ {
		if ev := <-resumed; ev.id != want {
			t.Fatalf("resumed stream gave %d, want %d", ev.id, want)
		}
	}
	// A change made now reaches the open stream.
	c.Do("POST", "/bots", "dan", apitest.BotJSON)
	if ev := <-resumed; ev.id != uint64(len(audit.Items)+1) || ev.entry.Action != "create" {
		t.Errorf("live event %+v", ev)
	}
}

// httpClientHandler sends requests over a real connection to url, so the
// scripted client can drive a running server.
type httpClientHandler struct{ url string }

func (h httpClientHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, err := http.NewRequestWithContext(r.Context(), r.Method, h.url+r.URL.RequestURI(), r.Body)
	if err != nil {
		http.Error(w, err.Error(), 599)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), 599)
		return
	}
	defer resp.Body.Close()
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// A stream with nothing to send keeps the connection open with comments.
func TestEventsHeartbeat(t *testing.T) {
	f := apitest.NewFixture(t)
	s, err := api.New(api.Config{Manager: f.Manager, Users: api.NewBearerTokens(map[string]api.Principal{"t": {ID: "ada"}}), Heartbeat: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events?after=4", nil)
	req.Header.Set("Authorization", "Bearer t")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if sc.Text() == ": keep-alive" {
			return
		}
		if strings.HasPrefix(sc.Text(), "data:") {
			t.Fatalf("after=4 sent an old event: %s", sc.Text())
		}
	}
	t.Fatalf("no keep-alive: %v", sc.Err())
}

// Issue 28: GET /events without Last-Event-ID or ?after starts at now -
// its first event is the first change committed after it opened, however
// long the log - and ?after=0 replays the log from its start.
func TestIssue28EventsStartAtNow(t *testing.T) {
	f := apitest.NewFixture(t)
	srv := httptest.NewServer(f.Server)
	defer srv.Close()
	c := &apitest.Client{T: t, Handler: f.Server}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 20 { // logs of 4 to 42 entries
		var audit api.Page[api.AuditEntry]
		c.Do("GET", "/audit?limit=500", "ada", "").JSON(t, &audit)
		last := audit.Items[len(audit.Items)-1].Seq
		sctx, stop := context.WithCancel(ctx)
		events := stream(t, sctx, srv.URL, "")
		c.Do("POST", "/bots", "dan", apitest.BotJSON)
		if i%2 == 0 {
			c.Do("POST", "/bots", "dan", apitest.BotJSON) // a log of odd length too
		}
		if ev := <-events; ev.id != last+1 || ev.entry.Action != "create" {
			t.Fatalf("a stream opened after event %d began with %d (%s)", last, ev.id, ev.entry.Action)
		}
		stop()
	}
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events?after=0", nil)
	req.Header.Set("Authorization", "Bearer "+apitest.Token("ada"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && sc.Text() != "" { // the opening block
	}
	for sc.Scan() && !strings.HasPrefix(sc.Text(), "id: ") {
	}
	if sc.Text() != "id: 1" {
		t.Errorf("?after=0 began with %q, want id: 1", sc.Text())
	}
}

// HEAD /events answers the headers a GET gets and ends: no stream is held
// open for a request that can carry no body. (The deadline only bounds the
// test if it does not.)
func TestEventsHead(t *testing.T) {
	f := apitest.NewFixture(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := httptest.NewRequestWithContext(ctx, "HEAD", "/events", nil)
	req.Header.Set("Authorization", "Bearer "+apitest.Token("ada"))
	w := httptest.NewRecorder()
	f.Server.ServeHTTP(w, req)
	if w.Code != 200 || w.Header().Get("Content-Type") != "text/event-stream" || w.Body.Len() != 0 || ctx.Err() != nil {
		t.Errorf("HEAD /events: %d %q, body %q, held open until the deadline: %v", w.Code, w.Header().Get("Content-Type"), w.Body, ctx.Err() != nil)
	}
}
