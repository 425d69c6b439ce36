package api_test

import (
	"context"
	"log/slog"
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
	clk := clock.NewMock()
	clk.Set(apitest.Start)
	m, err := demo.NewManager(context.Background(), lifecycle.Config{Store: st, Clock: clk, MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := demo.NewServer(m, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	c := &apitest.Client{T: t, Handler: srv}
	var b api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
	st.mu.Lock()
	st.fail = 1
	st.mu.Unlock()
	first := c.Do("POST", "/bots/"+b.ID+"/test-sessions", "dan", "", "Idempotency-Key: open-1")
	retry := c.Do("POST", "/bots/"+b.ID+"/test-sessions", "dan", "", "Idempotency-Key: open-1")
	entries, err := m.AuditLog(context.Background(), lifecycle.User("ada"), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, e := range entries {
		if e.Action == lifecycle.OpOpenTestSession && !e.Denied {
			opened++
		}
	}
	if opened > 1 {
		t.Errorf("R26, R15: one Idempotency-Key opened %d test sessions (first answer %d, Retry-After %q: %s; retry %d %s)",
			opened, first.Status, first.Header.Get("Retry-After"), strings.TrimSpace(string(first.Body)), retry.Status, strings.TrimSpace(string(retry.Body)))
	}
	if first.Status == 409 && (first.Header.Get("Retry-After") != "" || retry.Header.Get("Idempotent-Replayed") != "true") {
		t.Errorf("R15: the conflict after the lease was committed says Retry-After %q and its retry under the key is replayed %q; want final and replayed",
			first.Header.Get("Retry-After"), retry.Header.Get("Idempotent-Replayed"))
	}
}
