// Command httpserver runs botlife's reference HTTP service (package api) on
// an in-memory store with demo users and tokens (package demo):
//
//	go run ./examples/httpserver -addr 127.0.0.1:8080
//
// The API is described by /openapi.yaml; the README's "HTTP service"
// section walks through it with curl.
package main

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

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

// serve runs the service on addr until ctx ends; ready, if not nil, gets the
// address actually listened on.
func serve(ctx context.Context, addr string, log *slog.Logger, ready func(string)) error {
	// The store: memory for the demo. A persistent store (e.g. a -db flag
	// for SQLite) plugs in here.
	m, err := demo.NewManager(ctx, lifecycle.Config{Store: store.NewMemory(), Logger: log})
	if err != nil {
		return err
	}
	h, err := demo.NewServer(m, log)
	if err != nil {
		return err
	}
	go func() { _ = m.Run(ctx, 10*time.Second) }() // settle grace deadlines and idle sessions

	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute,
		MaxHeaderBytes: 64 << 10}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("botlife API listening", "addr", ln.Addr().String(), "openapi", "/openapi.yaml")
	if ready != nil {
		ready(ln.Addr().String())
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
