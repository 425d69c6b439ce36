// Command httpserver serves a JSON API over botlife, backed by the in-memory
// store:
//
//	go run ./examples/httpserver -addr 127.0.0.1:8080
//
// The caller names itself in the X-Botlife-User header. That is demo-only
// authentication: take the user from your own authentication instead. The
// demo starts with four users: ada (Admin), mia (Manager), dan (Designer)
// and al (Analyzer).
//
//	curl -s -H 'X-Botlife-User: dan' -d '{"name":"hi","channel":"sms","senders":[{"address":"+15550100"}],
//	  "definition":{"entry_dialog":"a","fallback_dialog":"a","dialogs":[{"id":"a","name":"A","elements":[{"type":"close"}]}]}}' \
//	  localhost:8080/bots
//	curl -s -H 'X-Botlife-User: mia' -d '{}' localhost:8080/bots/<id>/activate
//	curl -s -d '{"channel":"sms","address":"+15550100","end_user":"+15557654321"}' localhost:8080/route
//
// Routes: POST /bots, GET /bots, GET|PATCH|DELETE /bots/{id},
// POST /bots/{id}/activate {"decision":"grace:15m","ack":{"codes":[...]}, "dry_run":false},
// POST /bots/{id}/deactivate {"grace":"10m"}, POST /bots/{id}/duplicate {"name":...},
// GET /bots/{id}/export, POST /bots/import, POST /route, GET /audit?after=N.
// Errors are JSON {"error","code",...} with 400, 401, 403, 404, 409 or 422.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := serve(*addr, log); err != nil {
		log.Error("httpserver stopped", "err", err)
		os.Exit(1)
	}
}

// newManager returns a Manager on a fresh memory store with the demo users.
func newManager(log *slog.Logger, clk lifecycle.Clock) (*lifecycle.Manager, error) {
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Logger: log, Clock: clk})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	for _, u := range []struct {
		user string
		role roles.Role
	}{{"ada", roles.Admin}, {"mia", roles.Manager}, {"dan", roles.Designer}, {"al", roles.Analyzer}} {
		if _, err := m.GrantRole(ctx, lifecycle.System("demo users"), u.user, u.role); err != nil {
			return nil, fmt.Errorf("creating demo user %s: %w", u.user, err)
		}
	}
	return m, nil
}

func serve(addr string, log *slog.Logger) error {
	m, err := newManager(log, nil)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	go func() { _ = m.Run(ctx, 10*time.Second) }() // settle grace deadlines and idle sessions

	srv := &http.Server{Addr: addr, Handler: newServer(m, log), ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("botlife demo API listening", "addr", addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
