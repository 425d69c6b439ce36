package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
)

// hungStore is a store whose reads of bots do not answer until the
// request gives up: a database behind a lock or a lost network.
type hungStore struct{ lifecycle.Store }

func (hungStore) Bots(ctx context.Context, _ lifecycle.Workspace, _ lifecycle.BotID, _ int) ([]lifecycle.Bot, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// An operation the store does not finish within the request deadline (a
// little under -write-timeout) ends with a 503 timeout problem that says
// when to retry - an answer the client still receives. Without a
// deadline it ran on past -write-timeout, whose answer the server can no
// longer send: the client waited, then read EOF, while a change such a
// request made could still commit.
func TestRequestDeadlineAnswers503BeforeWriteTimeout(t *testing.T) {
	ctx := context.Background()
	mem := store.NewMemory()
	m, err := lifecycle.New(lifecycle.Config{Store: hungStore{mem}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.System("bootstrap"), "ada", roles.Admin); err != nil {
		t.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.User("ada"), "al", roles.Analyzer); err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Manager: m, Users: api.NewBearerTokens(map[string]api.Principal{"t": {ID: "al"}})})
	if err != nil {
		t.Fatal(err)
	}
	// The deadline falls a tenth before it: 300 ms of margin for the
	// answer, however loaded the machine running the test.
	const writeTimeout = 3 * time.Second
	hd, _ := handler(h, func(context.Context) error { return nil }, http.NotFoundHandler(), t.Context(), nil, requestDeadline(writeTimeout))
	srv := httptest.NewUnstartedServer(hd)
	srv.Config.WriteTimeout = writeTimeout
	srv.Start()
	defer srv.Close()

	req, _ := http.NewRequest("GET", srv.URL+"/bots", nil)
	req.Header.Set("Authorization", "Bearer t")
	start := time.Now()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("after %v: %v (the answer was lost)", time.Since(start), err)
	}
	defer resp.Body.Close()
	var p api.Problem
	_ = json.NewDecoder(resp.Body).Decode(&p)
	if resp.StatusCode != 503 || p.Type != "/problems/timeout" || resp.Header.Get("Retry-After") == "" {
		t.Errorf("GET /bots on a hung store: %d %+v Retry-After %q, want 503 timeout with Retry-After", resp.StatusCode, p, resp.Header.Get("Retry-After"))
	}
}
