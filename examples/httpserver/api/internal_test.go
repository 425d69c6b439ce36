package api

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Keys are kept at most max at a time and at most ttl each; a replay gets
// the stored response, another request under the key is refused, a key in
// use is busy, and a 5xx response frees the key.
func TestIdempotencyStoreBounded(t *testing.T) {
	now := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	s := newIdemStore(3, time.Hour, func() time.Time { return now })
	req := func(i int) [sha256.Size]byte { return sha256.Sum256([]byte(fmt.Sprint(i))) }
	resp := rendered{status: 201, header: http.Header{}, body: []byte("{}")}

	for i := range 5 {
		if st, _ := s.begin(fmt.Sprint("k", i), req(i)); st != idemNew {
			t.Fatalf("key %d: %v", i, st)
		}
		s.finish(fmt.Sprint("k", i), req(i), resp)
	}
	if n := s.len(); n != 3 {
		t.Fatalf("kept %d keys, want the cap 3", n)
	}
	if st, _ := s.begin("k0", req(0)); st != idemNew {
		t.Errorf("the oldest key was not evicted: %v", st)
	}
	if st, got := s.begin("k4", req(4)); st != idemReplay || got.status != 201 {
		t.Errorf("replay: %v %+v", st, got)
	}
	if st, _ := s.begin("k4", req(5)); st != idemMismatch {
		t.Errorf("another request under k4: %v", st)
	}
	if st, _ := s.begin("busy", req(6)); st != idemNew {
		t.Fatal(st)
	}
	if st, _ := s.begin("busy", req(6)); st != idemBusy {
		t.Errorf("a key in use: %v", st)
	}
	s.finish("busy", req(6), rendered{status: 503})
	if st, _ := s.begin("busy", req(6)); st != idemNew {
		t.Errorf("a 5xx response kept the key: %v", st)
	}
	now = now.Add(time.Hour)
	s.begin("fresh", req(7))
	if n := s.len(); n != 1 {
		t.Errorf("after the ttl %d keys are kept, want 1", n)
	}
}

// problemOf maps each sentinel to its kind through a wrapping error, and
// the types are unique.
func TestProblemTable(t *testing.T) {
	seen := map[string]bool{}
	for _, k := range Problems() {
		if seen[k.Type()] {
			t.Errorf("type %s twice", k.Type())
		}
		seen[k.Type()] = true
		if k.Sentinel == nil {
			continue
		}
		p := problemOf(fmt.Errorf("op: %w", k.Sentinel))
		if p.Type != k.Type() && !errors.Is(k.Sentinel, lifecycle.ErrForbidden) {
			t.Errorf("%v maps to %s, want %s", k.Sentinel, p.Type, k.Type())
		}
	}
	if p := problemOf(errors.New("boom")); p.Status != 500 || strings.Contains(p.Detail, "boom") {
		t.Errorf("an unknown error: %+v", p)
	}
	if p := problemOf(fmt.Errorf("store: %w", lifecycle.ErrUnavailable)); p.Status != 503 || strings.Contains(p.Detail, "store:") {
		t.Errorf("unavailable: %+v", p)
	}
}

// FuzzDecodeBody: the one body decoder never panics, refuses with a 400
// problem, and what it accepts decodes again to the same value; an
// activation it accepts has a sound decision, and senders it names (R22)
// are passed on as given.
func FuzzDecodeBody(f *testing.F) {
	for _, s := range []string{``, `{}`, ` `, `{"decision":"grace:15m","ack":{"codes":["x"]}}`,
		`{"decision":"immediate","ack":{"fingerprint":"ab"}}`, `{"x":1}`, `[]`, `{"decision":"grace:-1s"}`,
		`{} {"decision":"immediate"} ###`, `{"Decision":"immediate"}`, `{"decision":"immediate","decision":""}`,
		`{"ack":{"codes":["a"],"codes":[]}}`, "{\"decision\":\"\xff\"}", `null`, `{"ack":null}`,
		`{"senders":[{"address":"+15550100"}]}`, `{"senders":[{"address":"1","address":"2"}]}`, `{"senders":{}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := decodeActivate(data, "bot-1")
		if err != nil {
			p := problemOf(err)
			if p.Status != 400 {
				t.Fatalf("refusal %+v", p)
			}
			return
		}
		if a.Decision.IsGrace() && a.Decision.GracePeriod() <= 0 {
			t.Fatalf("accepted grace %v", a.Decision.GracePeriod())
		}
		var again activateRequest
		if err := decodeJSON(data, &again, bodyMayBeEmpty); err != nil {
			t.Fatalf("second decode: %v", err)
		}
		if again.Ack.Fingerprint != a.Ack.Fingerprint || len(again.Ack.Codes) != len(a.Ack.Codes) || len(again.Senders) != len(a.Senders) || a.Bot != "bot-1" {
			t.Fatalf("decoded differently: %+v vs %+v", again, a)
		}
	})
}

// R27: a kept plan is taken only by the principal that made it, in the
// workspace it was made in: the same user id in another workspace finds
// nothing, and does not use it up.
func TestR27PlansKeptPerWorkspace(t *testing.T) {
	now := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	s := newPlanStore(time.Hour, func() time.Time { return now })
	mia := Principal{ID: "mia"}
	id := s.keep(mia, lifecycle.Plan{Actor: lifecycle.User("mia")})
	for _, other := range []Principal{{ID: "mia", Workspace: "acme"}, {ID: "ada"}} {
		if _, ok := s.take(other, id); ok {
			t.Errorf("%+v took mia's plan", other)
		}
	}
	if _, ok := s.take(mia, id); !ok {
		t.Error("mia's plan was used up by another principal")
	}
}

// TestOccupiedSpeaksHTTP: a 409 sender-occupied tells an HTTP client what
// to send, not which Go function to call (issue 28).
func TestOccupiedSpeaksHTTP(t *testing.T) {
	err := &lifecycle.OccupiedError{Op: lifecycle.OpActivate, Bot: "bot-2", Occupants: []lifecycle.Occupant{
		{Sender: lifecycle.Sender{Channel: "sms", Address: "+15550100"}, Bot: "bot-1", Name: "Pizza"}}}
	p := problemOf(err)
	if !strings.Contains(p.Detail, `{"decision":"grace:15m"}`) || strings.Contains(p.Detail, "Grace(d)") || strings.Contains(p.Detail, "Immediate()") {
		t.Errorf("the detail speaks Go, not HTTP: %q", p.Detail)
	}
}
