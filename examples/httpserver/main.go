// Command httpserver runs botlife's reference HTTP service (package api) on
// an in-memory store with demo users and tokens (package demo):
//
//	go run ./examples/httpserver -addr 127.0.0.1:8080
//
// The API is described by /openapi.yaml; the README's "HTTP service"
// section walks through it with curl. To run it as a team deploys it - on
// a SQLite file or PostgreSQL, with a users file, health endpoints and
// graceful shutdown - use examples/httpserver/service (a module of its own,
// so the root module carries no database driver):
//
//	cd examples/httpserver/service && go run . -store sqlite:botlife.db -users demo-users.txt
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // schedules name IANA time zones (R23); the host may lack the tz database

	"github.com/botlife/botlife/examples/httpserver/demo"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, *addr, log, nil); err != nil {
		log.Error("httpserver stopped", "err", err)
		os.Exit(1)
	}
}

// serve runs the service on an in-memory store (see demo.Serve).
func serve(ctx context.Context, addr string, log *slog.Logger, ready func(string)) error {
	return demo.Serve(ctx, addr, store.NewMemory(), lifecycle.Config{}, log, ready)
}
