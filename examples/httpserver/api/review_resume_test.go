package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// eventSource reads GET /events as a browser's EventSource does (the SSE
// processing model): an "id" field sets the last event ID buffer, and each
// blank line dispatches, setting the last event ID to the buffer whether
// or not the block had data. It returns the last event ID after the
// stream's opening block and a channel of the data of the audit events
// that follow.
func eventSource(t *testing.T, ctx context.Context, url, lastEventID string) (string, <-chan api.AuditEntry) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "GET", url+"/events", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apitest.Token("ada"))
	if lastEventID != "" { // EventSource sends it only once it has one
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET /events: %d", resp.StatusCode)
	}
	sc := bufio.NewScanner(resp.Body)
	last, buf := lastEventID, lastEventID
	for sc.Scan() && sc.Text() != "" { // the opening block
		if v, ok := strings.CutPrefix(sc.Text(), "id:"); ok {
			buf = strings.TrimPrefix(v, " ")
		}
	}
	last = buf
	out := make(chan api.AuditEntry)
	go func() {
		defer close(out)
		defer resp.Body.Close()
		var data string
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				data = v
			}
			if line == "" && data != "" {
				var e api.AuditEntry
				if json.Unmarshal([]byte(data), &e) != nil {
					return
				}
				select {
				case out <- e:
				case <-ctx.Done():
					return
				}
				data = ""
			}
		}
	}()
	return last, out
}

// R24: a stream opened "at now" that is cut before it sent an event (a
// replica shut down, a proxy closed an idle connection) resumes, when the
// client reconnects as EventSource does, with the first change committed
// while it was away: the stream's opening block names where it starts as
// its event id, so the reconnect carries Last-Event-ID. It used to carry
// none - the opening was a comment - and the reconnect started at the new
// now, skipping what was committed in between.
func TestR24StreamFromNowResumesAfterACutWithNoEvent(t *testing.T) {
	f := apitest.NewFixture(t)
	srv := httptest.NewServer(f.Server)
	defer srv.Close()
	c := &apitest.Client{T: t, Handler: f.Server}

	first, cut := context.WithCancel(context.Background())
	last, _ := eventSource(t, first, srv.URL, "") // at now
	cut()                                         // cut before any event

	missed := c.Do("POST", "/bots", "dan", apitest.BotJSON) // committed while away
	if missed.Status != 201 {
		t.Fatalf("create: %d %s", missed.Status, missed.Body)
	}
	var b api.Bot
	missed.JSON(t, &b)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, events := eventSource(t, ctx, srv.URL, last) // EventSource's reconnect
	if r := c.Do("POST", "/bots", "dan", apitest.BotJSON); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	select {
	case e := <-events:
		if e.Action != "create" || len(e.Transitions) == 0 || e.Transitions[0].Bot != b.ID {
			t.Errorf("the resumed stream's first event is %+v, want the create of %s committed while the client was away", e, b.ID)
		}
	case <-ctx.Done():
		t.Fatal("no event")
	}
}
