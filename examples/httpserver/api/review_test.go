package api_test

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/examples/httpserver/demo"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// R17: applying a kept plan answers the ETag of the bot the command acts
// on, as the same change made directly does - not the ETag of whichever
// bot the plan happens to change first (the replaced bot of an
// activation).
func TestR17AppliedPlanETagIsTheTargets(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var old, next api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &old)
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &next)
	if r := c.Do("POST", "/bots/"+old.ID+"/activate", "mia", ""); r.Status != 200 {
		t.Fatalf("activate %s: %d %s", old.ID, r.Status, r.Body)
	}
	var p api.Plan
	r := c.Do("POST", "/bots/"+next.ID+"/activate?dry_run=true", "mia", `{"decision":"immediate"}`)
	r.JSON(t, &p)
	if r.Status != 200 || p.ID == "" {
		t.Fatalf("dry run: %d %s", r.Status, r.Body)
	}
	r = c.Do("POST", "/plans/"+p.ID+"/apply", "mia", "")
	if r.Status != 200 {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	get := c.Do("GET", "/bots/"+next.ID, "mia", "")
	if got, want := r.Header.Get("ETag"), get.Header.Get("ETag"); got != want {
		t.Errorf("the applied activation of %s answers ETag %s; the bot's is %s", next.ID, got, want)
	}
}

// flakyStore is a memory store whose next Commits fail with err, as a
// PostgreSQL store's do on a serialization failure (ErrConflict) or a lost
// connection (ErrUnavailable): nothing is stored.
type flakyStore struct {
	lifecycle.Store
	mu   sync.Mutex
	fail int
	err  error
}

func (s *flakyStore) failNext(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail, s.err = n, err
}

func (s *flakyStore) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	s.mu.Lock()
	if s.fail > 0 {
		s.fail--
		err := s.err
		s.mu.Unlock()
		return nil, err
	}
	s.mu.Unlock()
	return s.Store.Commit(ctx, p)
}

// flakyFixture is the demo service over a flakyStore, deciding each
// operation once (MaxAttempts 1), so a conflicting commit is answered.
func flakyFixture(t *testing.T) (*flakyStore, *apitest.Client) {
	t.Helper()
	st := &flakyStore{Store: store.NewMemory()}
	return st, demoClient(t, lifecycle.Config{Store: st, Clock: mockAtStart(), MaxAttempts: 1})
}

// mockAtStart is a mock clock at apitest.Start.
func mockAtStart() *clock.Mock {
	clk := clock.NewMock()
	clk.Set(apitest.Start)
	return clk
}

// demoClient is a client of the demo service over a Manager made with cfg.
func demoClient(t *testing.T, cfg lifecycle.Config) *apitest.Client {
	t.Helper()
	c, _ := demoService(t, cfg)
	return c
}

// demoService is demoClient with the Manager the service runs on, for a
// test that also acts beside the service.
func demoService(t *testing.T, cfg lifecycle.Config) (*apitest.Client, *lifecycle.Manager) {
	t.Helper()
	m, err := demo.NewManager(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := demo.NewServer(m, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &apitest.Client{T: t, Handler: srv}, m
}

// R15: a request refused with an answer that says to retry it - 409
// conflict or 503, both with Retry-After - succeeds when retried with the
// same Idempotency-Key once the store lets it: such an answer is not kept
// and replayed, or the client's retry could never succeed.
func TestR15RetryableAnswerIsNotReplayed(t *testing.T) {
	for _, tc := range []struct {
		name   string
		err    error
		status int
	}{
		{"conflict", fmt.Errorf("serialization failure: %w", lifecycle.ErrConflict), 409},
		{"unavailable", fmt.Errorf("connection lost: %w", lifecycle.ErrUnavailable), 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, c := flakyFixture(t)
			c = c.With(t)
			st.failNext(1, tc.err)
			r := c.Do("POST", "/bots", "dan", apitest.BotJSON, "Idempotency-Key: k1")
			if r.Status != tc.status || r.Header.Get("Retry-After") == "" {
				t.Fatalf("first try: %d (Retry-After %q) %s", r.Status, r.Header.Get("Retry-After"), r.Body)
			}
			r = c.Do("POST", "/bots", "dan", apitest.BotJSON, "Idempotency-Key: k1")
			if r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "" {
				t.Fatalf("the retry with the same key: %d (replayed %q) %s", r.Status, r.Header.Get("Idempotent-Replayed"), r.Body)
			}
			if r := c.Do("POST", "/bots", "dan", apitest.BotJSON, "Idempotency-Key: k1"); r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("a retry after it succeeded: %d, replayed %q", r.Status, r.Header.Get("Idempotent-Replayed"))
			}
		})
	}
}

// The Idempotency-Key covers the whole request, its If-Match included: a
// request under a used key with another If-Match is another request (422),
// not the replay of an answer to a condition it does not make - a 412
// that reading the bot again and sending its new ETag could never get
// past.
func TestIdempotencyKeyCoversIfMatch(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var b api.Bot
	r := c.Do("POST", "/bots", "dan", apitest.BotJSON)
	r.JSON(t, &b)
	stale := r.Header.Get("ETag")
	r = c.Do("PATCH", "/bots/"+b.ID, "dan", `{"name":"Pizza 2"}`)
	if r.Status != 200 {
		t.Fatalf("patch: %d %s", r.Status, r.Body)
	}
	fresh := r.Header.Get("ETag")
	if r := c.Do("POST", "/bots/"+b.ID+"/activate", "mia", "", "If-Match: "+stale, "Idempotency-Key: k1"); r.Status != 412 {
		t.Fatalf("activate on a stale ETag: %d %s", r.Status, r.Body)
	}
	r = c.Do("POST", "/bots/"+b.ID+"/activate", "mia", "", "If-Match: "+fresh, "Idempotency-Key: k1")
	if r.Status != 422 || r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("the key again with the bot's new ETag: %d (replayed %q), want 422 idempotency-key-reused: %s", r.Status, r.Header.Get("Idempotent-Replayed"), r.Body)
	}
	if r := c.Do("POST", "/bots/"+b.ID+"/activate", "mia", "", "If-Match: "+stale, "Idempotency-Key: k1"); r.Status != 412 || r.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("the same request again: %d (replayed %q), want the 412 replayed", r.Status, r.Header.Get("Idempotent-Replayed"))
	}
}

// gatedStore is a memory store whose commits wait, once armed, until the
// gate opens: a request held in flight.
type gatedStore struct {
	lifecycle.Store
	entered chan struct{}
	open    chan struct{}
}

func (g *gatedStore) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	if p.Op == lifecycle.OpCreate {
		close(g.entered)
		<-g.open
	}
	return g.Store.Commit(ctx, p)
}

// A retry under an Idempotency-Key whose first request still runs is told
// when to retry (Retry-After), as every answer that says "retry later" is.
func TestIdempotencyKeyInUseSaysWhenToRetry(t *testing.T) {
	g := &gatedStore{Store: store.NewMemory(), entered: make(chan struct{}), open: make(chan struct{})}
	c := demoClient(t, lifecycle.Config{Store: g, Clock: mockAtStart()})
	first := make(chan int)
	go func() {
		first <- c.Do("POST", "/bots", "dan", apitest.BotJSON, "Idempotency-Key: k1").Status
	}()
	<-g.entered
	r := c.Do("POST", "/bots", "dan", apitest.BotJSON, "Idempotency-Key: k1")
	close(g.open)
	if r.Status != 409 || r.Header.Get("Retry-After") == "" {
		t.Errorf("the key while its request runs: %d, Retry-After %q: %s", r.Status, r.Header.Get("Retry-After"), r.Body)
	}
	if s := <-first; s != 201 {
		t.Errorf("the first request: %d", s)
	}
}
