package api_test

import (
	"sync"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// Concurrent POSTs with one Idempotency-Key and one body create one bot:
// each gets the first answer, replayed, or 409 idempotency-key-in-use while
// the first runs.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	const n = 16
	out := make([]apitest.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = c.Do("POST", "/bots", "dan", apitest.BotJSON, "Idempotency-Key: once")
		}()
	}
	wg.Wait()
	var first []byte
	for _, r := range out {
		switch r.Status {
		case 201:
			if first == nil {
				first = r.Body
			} else if string(first) != string(r.Body) {
				t.Errorf("two different answers under one key:\n%s\n%s", first, r.Body)
			}
		case 409:
			if p := r.Problem(t); p.Type != "/problems/idempotency-key-in-use" {
				t.Errorf("409 %+v", p)
			}
		default:
			t.Errorf("status %d: %s", r.Status, r.Body)
		}
	}
	var list api.Page[api.Summary]
	c.Do("GET", "/bots", "al", "").JSON(t, &list)
	if len(list.Items) != 1 {
		t.Errorf("%d POSTs with one Idempotency-Key made %d bots", n, len(list.Items))
	}
	// The key is the user's: another user's request under it is new.
	r := c.Do("POST", "/bots", "mia", apitest.BotJSON, "Idempotency-Key: once")
	if r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "" || string(r.Body) == string(first) {
		t.Errorf("mia under dan's key: %d %v", r.Status, r.Header)
	}
}
