package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// send makes a request and returns its status, headers and body.
func send(t *testing.T, method, url, token, body string, header ...string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(out)
}

// sseIDs reads n audit events from an event stream and returns their ids
// (a block without data, such as the opening one, is no event).
func sseIDs(t *testing.T, r *bufio.Reader, n int) []uint64 {
	t.Helper()
	var ids []uint64
	var id uint64
	for len(ids) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("the stream ended after ids %v: %v", ids, err)
		}
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "id: "); ok {
			id, _ = strconv.ParseUint(v, 10, 64)
		}
		if strings.HasPrefix(line, "data: ") {
			ids = append(ids, id)
		}
		if strings.HasPrefix(line, "event: error") {
			t.Fatalf("an error event: %s", line)
		}
	}
	return ids
}

// Issue 28: two service processes on one PostgreSQL database are one
// service. They start at once (migrations and provisioning race safely);
// a bot made on A is B's; a stale If-Match on B after a change on A is
// 412; B's event stream delivers A's changes in order, none skipped; and
// killing A mid-traffic loses nothing it acknowledged.
func TestTwoReplicasPostgres(t *testing.T) {
	db := newDatabase(t)
	var a, b *proc
	var wg sync.WaitGroup
	wg.Go(func() { a = startBinary(t, db) })
	wg.Go(func() { b = startBinary(t, db) })
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for _, p := range []*proc{a, b} {
		call(t, "GET", p.base+"/readyz", "", "", 200)
	}
	if _, _, audit := send(t, "GET", b.base+"/audit?limit=100", "ada-token", ""); strings.Count(audit, `"action": "grant_role"`) != 4 {
		t.Errorf("two replicas provisioned the users file's roles other than once:\n%s", audit)
	}

	// B follows the log from its head; A makes changes.
	_, _, head := send(t, "GET", b.base+"/audit?limit=100", "ada-token", "")
	last := strings.Count(head, `"seq":`)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // bounds a hang, asserts nothing
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", b.base+"/events", nil)
	req.Header.Set("Authorization", "Bearer ada-token")
	req.Header.Set("Last-Event-ID", strconv.Itoa(last))
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("GET /events on B: %v %v", err, stream)
	}
	defer stream.Body.Close()
	events := bufio.NewReader(stream.Body)

	code, h, body := send(t, "POST", a.base+"/bots", "dan-token", `{"name":"Pizza","channel":"sms","senders":[{"address":"+1 555 0100"}],`+
		`"definition":{"channel":"sms","entry_dialog":"hi","fallback_dialog":"hi","dialogs":[{"id":"hi","name":"Hi","elements":[{"type":"text","text":"Hello!"},{"type":"close"}]}]}}`)
	if code != 201 || h.Get("Location") != "/bots/bot-1" {
		t.Fatalf("create on A: %d %v %s", code, h.Get("Location"), body)
	}
	code, h, _ = send(t, "GET", b.base+"/bots/bot-1", "mia-token", "")
	if code != 200 || h.Get("ETag") != `"1"` {
		t.Fatalf("bot-1 on B: %d ETag %s", code, h.Get("ETag"))
	}
	if code, _, body = send(t, "PATCH", a.base+"/bots/bot-1", "dan-token", `{"name":"Pizza A"}`, "If-Match", `"1"`); code != 200 {
		t.Fatalf("change on A: %d %s", code, body)
	}
	if code, _, body = send(t, "PATCH", b.base+"/bots/bot-1", "dan-token", `{"name":"Pizza B"}`, "If-Match", `"1"`); code != 412 {
		t.Errorf("a stale If-Match on B after a change on A: %d %s, want 412", code, body)
	}
	if code, _, body = send(t, "POST", a.base+"/bots/bot-1/activate", "mia-token", ""); code != 200 {
		t.Fatalf("activate on A: %d %s", code, body)
	}
	ids := sseIDs(t, events, 3) // create, update, activate
	for i, id := range ids {
		if id != uint64(last+1+i) {
			t.Errorf("B's stream delivered ids %v of A's changes, want %d, %d, %d", ids, last+1, last+2, last+3)
			break
		}
	}

	// One Idempotency-Key sent to both replicas at once, then again to
	// each: one bot. A request still running on one replica is 409
	// idempotency-key-in-use on the other.
	once := `{"name":"Once","channel":"sms"}`
	var race sync.WaitGroup
	locs := make([]string, 2)
	for i, p := range []*proc{a, b} {
		race.Go(func() {
			code, h, body := send(t, "POST", p.base+"/bots", "dan-token", once, "Idempotency-Key", "once-1")
			if code != 201 && code != 409 {
				t.Errorf("a racing keyed create: %d %s", code, body)
			}
			locs[i] = h.Get("Location")
		})
	}
	race.Wait()
	var loc string
	for _, p := range []*proc{a, b, a} {
		code, h, body := send(t, "POST", p.base+"/bots", "dan-token", once, "Idempotency-Key", "once-1")
		if code != 201 || loc != "" && h.Get("Location") != loc {
			t.Errorf("the key replayed: %d %s %s, want 201 %s", code, h.Get("Location"), body, loc)
		}
		loc = h.Get("Location")
	}
	for _, l := range locs {
		if l != "" && l != loc {
			t.Errorf("the racing creates answered %q, the replays %s", locs, loc)
		}
	}
	if _, _, list := send(t, "GET", b.base+"/bots?limit=100", "dan-token", ""); strings.Count(list, `"name": "Once"`) != 1 {
		t.Errorf("one Idempotency-Key on two replicas made other than one bot:\n%s", list)
	}
	// A dry run on A applies on B, once.
	code, h, body = send(t, "POST", a.base+"/bots/bot-1/deactivate?dry_run=true", "mia-token", "")
	if code != 200 || !strings.HasPrefix(h.Get("Location"), "/plans/") {
		t.Fatalf("a dry run on A: %d %s %s", code, h.Get("Location"), body)
	}
	if code, _, body = send(t, "POST", b.base+h.Get("Location")+"/apply", "mia-token", ""); code != 200 {
		t.Errorf("A's plan applied on B: %d %s", code, body)
	}
	if code, _, _ = send(t, "POST", a.base+h.Get("Location")+"/apply", "mia-token", ""); code != 404 {
		t.Errorf("the plan applied a second time, on A: %d, want 404", code)
	}

	// Kill A while creates stream in; each acknowledged one is on B.
	var mu sync.Mutex
	var acked []string
	var clients sync.WaitGroup
	for c := range 4 {
		clients.Go(func() {
			for i := 0; ; i++ {
				req, _ := http.NewRequest("POST", a.base+"/bots", strings.NewReader(fmt.Sprintf(`{"name":"Load %d-%d","channel":"sms"}`, c, i)))
				req.Header.Set("Authorization", "Bearer dan-token")
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return // A is gone
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					mu.Lock()
					acked = append(acked, resp.Header.Get("Location"))
					n := len(acked)
					mu.Unlock()
					if n == 20 {
						a.kill(t)
					}
				}
			}
		})
	}
	clients.Wait()
	if len(acked) < 20 {
		t.Fatalf("only %d creates acknowledged before A was killed", len(acked))
	}
	for _, loc := range acked {
		if code, _, body := send(t, "GET", b.base+loc, "mia-token", ""); code != 200 {
			t.Errorf("A acknowledged %s before it was killed; B answers %d %s", loc, code, body)
		}
	}
	b.terminate(t)
}
