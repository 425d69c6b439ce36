package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// GET /events with ?after=N or Last-Event-ID past the workspace's last
// event (a restored store, an id of another workspace) is refused before
// the stream starts - 400 invalid-input naming the last event - instead of
// waiting silently for events that are not this stream's. N equal to the
// last is a stream that waits for the next.
func TestEventsAfterThePastLastEventIsRefused(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	c.Do("POST", "/bots", "dan", apitest.BotJSON)
	lastOf := func(who string) uint64 {
		var audit api.Page[api.AuditEntry]
		c.Do("GET", "/audit?limit=500", who, "").JSON(t, &audit)
		return audit.Items[len(audit.Items)-1].Seq
	}
	last, acmeLast := lastOf("ada"), lastOf("acme/ida")
	if acmeLast >= last {
		t.Fatalf("the test needs acme's log shorter than the default's: %d, %d", acmeLast, last)
	}
	for _, tc := range []struct {
		name, who, query, header string
		wantLast                 uint64
	}{
		{"after one past the last", "ada", fmt.Sprint("?after=", last+1), "", last},
		{"Last-Event-ID one past the last", "ada", "", fmt.Sprint(last + 1), last},
		{"the largest id", "ada", "?after=18446744073709551615", "", last},
		{"an id of another workspace", "acme/ida", "", fmt.Sprint(last), acmeLast},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// A stream that waits would hold the request open: the
			// deadline ends it, and the test fails on its 200.
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			req := httptest.NewRequestWithContext(ctx, "GET", "/events"+tc.query, nil)
			req.Header.Set("Authorization", "Bearer "+apitest.Token(tc.who))
			if tc.header != "" {
				req.Header.Set("Last-Event-ID", tc.header)
			}
			r := c.With(t).Send(req, nil)
			if r.Status != 400 {
				t.Fatalf("GET /events%s (Last-Event-ID %q): %d %s, want 400", tc.query, tc.header, r.Status, r.Body)
			}
			if p := r.Problem(t); !strings.HasSuffix(p.Type, "/invalid-input") || !strings.Contains(p.Detail, "past the last event, "+strconv.FormatUint(tc.wantLast, 10)) {
				t.Errorf("problem %+v: want invalid-input naming the last event, %d", p, tc.wantLast)
			}
		})
	}
	if now := lastOf("ada"); now != last {
		t.Errorf("the refused streams changed the log: last event %d, was %d", now, last)
	}

	// ?after and Last-Event-ID equal to the last: a stream that waits for
	// the next event.
	for _, tc := range []struct{ name, query, header string }{
		{"after the last", fmt.Sprint("?after=", last), ""},
		{"Last-Event-ID the last", "", fmt.Sprint(last)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("HEAD", "/events"+tc.query, nil)
			req.Header.Set("Authorization", "Bearer "+apitest.Token("ada"))
			if tc.header != "" {
				req.Header.Set("Last-Event-ID", tc.header)
			}
			w := httptest.NewRecorder()
			f.Server.ServeHTTP(w, req)
			if w.Code != 200 || w.Header().Get("Content-Type") != "text/event-stream" {
				t.Errorf("HEAD /events%s (Last-Event-ID %q): %d %s, want the stream's 200", tc.query, tc.header, w.Code, w.Body)
			}
		})
	}
	srv := httptest.NewServer(f.Server)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events := stream(t, ctx, srv.URL, fmt.Sprint(last))
	c.Do("POST", "/bots", "dan", apitest.BotJSON)
	if ev := <-events; ev.id != last+1 || ev.entry.Action != "create" {
		t.Errorf("a stream after the last event, %d, began with %d (%s), want the next create", last, ev.id, ev.entry.Action)
	}
}
