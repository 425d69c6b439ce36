package demo_test

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/demo"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
)

// gate is a memory store whose commits of a bot's creation wait until it
// is opened: a request held in flight.
type gate struct {
	lifecycle.Store
	entered chan struct{}
	open    chan struct{}
}

func (g *gate) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	if p.Op == lifecycle.OpCreate {
		close(g.entered)
		<-g.open
	}
	return g.Store.Commit(ctx, p)
}

// Serve shuts down gracefully: when its context ends it returns only once
// the requests in flight have had their answers (http.Server.Serve returns
// as soon as Shutdown begins, and a main that returns then cuts them off).
func TestServeWaitsForRequestsInFlight(t *testing.T) {
	g := &gate{Store: store.NewMemory(), entered: make(chan struct{}), open: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- demo.Serve(ctx, "127.0.0.1:0", g, lifecycle.Config{}, slog.New(slog.DiscardHandler), func(a string) { addr <- a })
	}()
	base := "http://" + <-addr
	answered := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/bots", strings.NewReader(`{"name":"x","channel":"sms"}`))
		req.Header.Set("Authorization", "Bearer dan-token")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-g.entered
	cancel()
	var err error
	returned := false
	select {
	case err = <-done:
		returned = true
		t.Error("Serve returned while a request was in flight")
	case <-time.After(2 * time.Second): // Serve waits, as it should: let the request finish
	}
	close(g.open)
	if status := <-answered; status != 201 {
		t.Errorf("the request in flight at shutdown: %d", status)
	}
	if !returned {
		err = <-done
	}
	if err != nil {
		t.Errorf("Serve: %v", err)
	}
}
