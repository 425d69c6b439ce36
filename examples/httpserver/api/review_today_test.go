package api_test

import (
	"context"
	"crypto/sha256"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/botlife/botlife/examples/httpserver/demo"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
)

// routeRacingStore is a memory store whose next Routes on a test
// session's virtual sender conflict, as a store's do when other commits of
// the bot keep winning the race (each lease opened beside it changes the
// bot): the lease is committed, its session not opened yet.
type routeRacingStore struct {
	lifecycle.Store
	mu   sync.Mutex
	fail int
}

func (s *routeRacingStore) Route(ctx context.Context, ws lifecycle.Workspace, snd lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	s.mu.Lock()
	if snd.IsTest() && s.fail > 0 {
		s.fail--
		s.mu.Unlock()
		return lifecycle.Session{}, &lifecycle.ConflictError{Reason: "the bot changed under the route"}
	}
	s.mu.Unlock()
	return s.Store.Route(ctx, ws, snd, endUser, now)
}

// R26, R15: a POST that opens a test session under an Idempotency-Key is
// done once per key. When the lease is committed (and audited) but its
// session does not open - the route kept conflicting - the answer must not
// send the client back with the same key to open a second one: a retry
// under the key opens no second test session, so no lease is left holding
// a slot for nothing beside an opening audited twice.
func TestR26IdempotentOpenOfATestSessionOpensOne(t *testing.T) {
	st := &routeRacingStore{Store: store.NewMemory()}
	c, m := demoService(t, lifecycle.Config{Store: st, Clock: mockAtStart(), MaxAttempts: 1})
	var b api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
	st.mu.Lock()
	st.fail = 1
	st.mu.Unlock()
	first := c.Do("POST", "/bots/"+b.ID+"/test-sessions", "dan", "", "Idempotency-Key: open-1")
	retry := c.Do("POST", "/bots/"+b.ID+"/test-sessions", "dan", "", "Idempotency-Key: open-1")
	if opened := testSessionsOpened(t, m); opened > 1 {
		t.Errorf("R26, R15: one Idempotency-Key opened %d test sessions (first answer %d, Retry-After %q: %s; retry %d %s)",
			opened, first.Status, first.Header.Get("Retry-After"), strings.TrimSpace(string(first.Body)), retry.Status, strings.TrimSpace(string(retry.Body)))
	}
	if first.Status == 409 && (first.Header.Get("Retry-After") != "" || retry.Header.Get("Idempotent-Replayed") != "true") {
		t.Errorf("R15: the conflict after the lease was committed says Retry-After %q and its retry under the key is replayed %q; want final and replayed",
			first.Header.Get("Retry-After"), retry.Header.Get("Idempotent-Replayed"))
	}
}

// R15: a response kept under an Idempotency-Key by the previous version -
// whose request digest left If-Match out - is still replayed to the retry
// of the same request after an upgrade: a client whose answer was lost in
// transit gets it, not a 422 saying it used the key for another request
// (which tells it the request was never done). A retry with another
// If-Match than a key kept by this version is still another request.
func TestR15IdempotencyKeyKeptByThePreviousVersionReplays(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(apitest.Start)
	m, err := demo.NewManager(ctx, lifecycle.Config{Store: store.NewMemory(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	k := api.NewMemoryKeeper(api.KeepLimits{})
	srv, err := api.New(api.Config{Manager: m, Users: api.NewBearerTokens(demo.Tokens()), Keeper: k})
	if err != nil {
		t.Fatal(err)
	}
	c := &apitest.Client{T: t, Handler: srv}
	var b api.Bot
	r := c.Do("POST", "/bots", "dan", apitest.BotJSON)
	r.JSON(t, &b)
	etag := r.Header.Get("ETag")
	path := "/bots/" + b.ID + "/activate"
	// The previous version's digest: method, path, query and body.
	old := sha256.Sum256([]byte("POST\x00" + path + "\x00\x00"))
	scope, now := api.Scope{User: "mia"}, m.Now()
	if prev, err := k.Claim(ctx, scope, "k1", old[:], now, now.Add(time.Minute)); prev != nil || err != nil {
		t.Fatal(prev, err)
	}
	if err := k.Finish(ctx, scope, "k1", old[:], []byte(`{"status":200}`+"\n"+`{"kept":"before the upgrade"}`), now, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	r = c.Do("POST", path, "mia", "", "Idempotency-Key: k1", "If-Match: "+etag)
	if r.Status != 200 || r.Header.Get("Idempotent-Replayed") != "true" || !strings.Contains(string(r.Body), "before the upgrade") {
		t.Errorf("R15: the retry of a request kept by the previous version: %d, replayed %q: %s", r.Status, r.Header.Get("Idempotent-Replayed"), r.Body)
	}
	// This version's key, retried with another If-Match: another request.
	if r := c.Do("POST", path, "mia", "", "Idempotency-Key: k2", "If-Match: "+etag); r.Status != 200 {
		t.Fatalf("activate: %d %s", r.Status, r.Body)
	}
	if r := c.Do("POST", path, "mia", "", "Idempotency-Key: k2", `If-Match: "other"`); r.Status != 422 {
		t.Errorf("a key retried with another If-Match: %d, want 422: %s", r.Status, r.Body)
	}
}

// R26, R15: opening a test session whose lease is committed (and audited
// as opened) but whose session does not open - the route kept conflicting
// - answers the same final 409 conflict with If-Match as without it, and
// says to open again as a new request: with If-Match it was a 412
// precondition-failed saying the bot had changed and to read it again,
// which tells a client nothing was done.
func TestR26TestSessionOpenedThenConflictIsNoPreconditionFailure(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []string
	}{
		{"without If-Match", nil},
		{"with If-Match", []string{`If-Match: "1"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &routeRacingStore{Store: store.NewMemory()}
			c, _ := demoService(t, lifecycle.Config{Store: st, Clock: mockAtStart(), MaxAttempts: 1})
			var b api.Bot
			c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
			st.mu.Lock()
			st.fail = 1
			st.mu.Unlock()
			r := c.Do("POST", "/bots/"+b.ID+"/test-sessions", "dan", "", tc.headers...)
			if r.Status != 409 || r.Header.Get("Retry-After") != "" {
				t.Fatalf("open: %d (Retry-After %q) %s, want a final 409", r.Status, r.Header.Get("Retry-After"), r.Body)
			}
			if p := r.Problem(t); p.Type != "/problems/conflict" || !strings.Contains(p.Detail, "open one again as a new request") ||
				strings.Contains(p.Detail, "retry the operation") {
				t.Errorf("problem %+v, want a conflict that says to open one again as a new request", p)
			}
		})
	}
}
