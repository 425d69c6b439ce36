package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/telemetry"
	"github.com/botlife/botlife/lifecycle"
	"go.opentelemetry.io/otel/trace"
)

// serve runs the service until ctx ends, then shuts down gracefully: it
// stops listening, ends the event streams (a client resumes from its
// Last-Event-ID on another replica), lets requests in flight finish for up
// to c.ShutdownTimeout, and stops running ExpireDue; then it flushes the
// traces, if env turned them on (see tracing).
func serve(ctx context.Context, c config, env func(string) string, log *slog.Logger, hooks *hooks) error {
	if hooks == nil {
		hooks = &noHooks
	}
	u, err := readUsers(c.Users)
	if err != nil {
		return err
	}
	b, err := openStore(ctx, c.Store, c.Migrate)
	if err != nil {
		return err
	}
	defer b.close()
	tp := hooks.tracerProvider
	if tp == nil {
		sdk, err := tracing(ctx, env, log)
		if err != nil {
			return err
		}
		if sdk != nil {
			tp = sdk
			log.Info("tracing: exporting spans with OTLP over HTTP")
			// Deferred before the server and the ExpireDue loops start,
			// so run after they have stopped and their spans ended.
			defer func() {
				flush, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
				defer cancel()
				if err := sdk.Shutdown(flush); err != nil {
					log.Warn("tracing: spans not all exported on shutdown", "err", err)
				}
			}()
		}
	}
	tel, err := telemetry.New(telemetry.Options{TracerProvider: tp})
	if err != nil {
		return err
	}
	defer tel.Shutdown(context.Background())
	m, err := lifecycle.New(lifecycle.Config{Store: b, Logger: log, NewID: b.newID(c.IDs, log), Tracer: tel})
	if err != nil {
		return err
	}
	ms, err := u.managers(m)
	if err != nil {
		return err
	}
	provision := untilDone(func(ctx context.Context) error { return u.provision(ctx, b, ms) })
	if err := provision(ctx); err != nil {
		log.Error("the users file's roles are not provisioned: /readyz is 503 until they are (it tries again)", "err", err)
	}
	ready := func(ctx context.Context) error {
		if err := b.ready(ctx); err != nil {
			return err
		}
		if err := provision(ctx); err != nil {
			return fmt.Errorf("%w: %w", errNotProvisioned, err)
		}
		return nil
	}
	system := api.NewBearerTokens(u.system)
	cfg := api.Config{Manager: m, Logger: log, Users: api.NewBearerTokens(u.user),
		Gateway: api.NewBearerTokens(u.gateway), System: system, KeeperTimeout: c.KeeperTimeout}
	k := b.keeper()
	if k != nil { // else the Server keeps in memory
		cfg.Keeper = k
	}
	h, err := api.New(cfg)
	if err != nil {
		return err
	}

	streams, endStreams := context.WithCancel(context.Background())
	defer endStreams()
	mux, routes := handler(h, ready, operatorOnly(system, h, tel.Handler()), streams, hooks.request, requestDeadline(c.WriteTimeout))
	observed := tel.HTTP(mux, telemetry.HTTPOptions{Routes: routes, Untraced: []string{"/healthz", "/readyz", "/metrics"}})
	srv := &http.Server{Handler: observed, ReadHeaderTimeout: c.ReadHeaderTimeout,
		ReadTimeout: c.ReadTimeout, WriteTimeout: c.WriteTimeout, IdleTimeout: c.IdleTimeout, MaxHeaderBytes: 64 << 10,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	srv.RegisterOnShutdown(endStreams)
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}

	expire, stopExpiring := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, in := range ms { // every replica may: ExpireDue is safe to run at once anywhere
		wg.Go(func() { _ = in.Run(expire, c.ExpireEvery) })
	}
	if k != nil {
		wg.Go(func() { k.sweepEvery(expire, c.ExpireEvery, log) })
	}
	defer wg.Wait()
	defer stopExpiring()

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("botlife service listening", "addr", ln.Addr().String(), "store", b.name, "workspaces", len(ms), "openapi", "/openapi.yaml")
	if hooks.ready != nil {
		hooks.ready(ln.Addr().String())
	}
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down: ending event streams, finishing requests in flight", "timeout", c.ShutdownTimeout)
	stop, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(stop); err != nil {
		srv.Close()
		return fmt.Errorf("shutting down: requests still in flight after %v: %w", c.ShutdownTimeout, err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// handler is the API with the service's own routes around it, and the
// pattern of every route it serves (the telemetry's labels): /healthz
// answers 200 while the process serves; /metrics gives the Manager's
// metrics in the Prometheus format (package telemetry: operations by op and
// outcome, latencies, messages routed, ExpireDue and Watch lag; no ids);
// /readyz 200 when ready says so
// (the store is reachable, its schema migrated and the users file's roles
// provisioned), else the API's 503 unavailable problem, which says which:
// load balancers send requests to ready replicas only. An event stream's request ends when
// streams does, so a shutdown need not wait for clients to hang up.
func handler(h *api.Server, ready func(context.Context) error, metrics http.Handler, streams context.Context, request func(*http.Request), deadline time.Duration) (http.Handler, []string) {
	mux := http.NewServeMux()
	routes := h.Routes()
	handle := func(pattern string, f http.HandlerFunc) {
		routes = append(routes, pattern)
		mux.HandleFunc(pattern, f)
		// Another method on the path is the API's 405 problem, not the
		// API's 404 no-such-route that "/" would answer.
		_, path, _ := strings.Cut(pattern, " ")
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { h.MethodNotAllowed(w, r, "GET, HEAD") })
	}
	handle("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	handle("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Cache-Control", "no-store")
		if err := ready(ctx); err != nil {
			h.Unavailable(w, r, notReady(err))
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ready")
	})
	handle("GET /metrics", metrics.ServeHTTP)
	handle("GET /events", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithCancel(r.Context())
		defer context.AfterFunc(streams, cancel)()
		h.ServeHTTP(w, r.WithContext(ctx))
		cancel()
	})
	mux.Handle("/", bounded(h, deadline)) // not a route of its own: the API's patterns are
	if request == nil {
		return mux, routes
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		request(r)
		mux.ServeHTTP(w, r)
	}), routes
}

// bounded is h with each request's context ending after deadline (none
// when 0): an operation the store does not finish in time - a database
// behind a lock or a lost network - ends with the API's 503 timeout
// problem, which the client still receives, instead of running on past
// the server's WriteTimeout, which makes its answer unsendable (the client
// reads EOF) while its change may still commit. The request's route
// pattern, which the API's mux sets on the request it is given, is copied
// back for the telemetry around.
func bounded(h http.Handler, deadline time.Duration) http.Handler {
	if deadline <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), deadline)
		defer cancel()
		in := r.WithContext(ctx)
		h.ServeHTTP(w, in)
		r.Pattern = in.Pattern
	})
}

// requestDeadline is how long an API request's operations may take when
// the server's WriteTimeout is writeTimeout: a tenth less, at most a
// second less, so that the 503 timeout problem of one that runs out is
// still sent; 0 (none) without a WriteTimeout.
func requestDeadline(writeTimeout time.Duration) time.Duration {
	if writeTimeout <= 0 {
		return 0
	}
	return writeTimeout - min(writeTimeout/10, time.Second)
}

// errNotProvisioned is why the service is not ready when the store is:
// the users file's roles are not provisioned yet.
var errNotProvisioned = errors.New("the users file's roles are not provisioned")

// notReady is /readyz's answer for err, by its cause alone: the probe
// takes no token, so the store's own error, which may name hosts and
// tables, goes to the log, not to the caller.
func notReady(err error) string {
	if errors.Is(err, errNotProvisioned) {
		return "not ready: the users file's roles are not provisioned yet (each probe tries again; the log at start says why)"
	}
	return "not ready: the store is unreachable, or its schema not migrated"
}

// operatorOnly serves h to the operator alone: a system credential of the
// default workspace. Metrics count every workspace's operations, so a
// customer's credential - or none - must not read them (R27): it gets the
// API's 401 unauthenticated problem, as api answers.
func operatorOnly(system api.Authenticator, srv *api.Server, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, err := system.Authenticate(r); err != nil || p.Workspace != "" {
			srv.Unauthenticated(w, r, "botlife metrics", "metrics count every workspace: send the operator's system token (a system credential of the default workspace)")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// untilDone returns f, called until it first succeeds and not after.
func untilDone(f func(context.Context) error) func(context.Context) error {
	var mu sync.Mutex
	done := false
	return func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if done {
			return nil
		}
		err := f(ctx)
		done = err == nil
		return err
	}
}

// hooks let tests see into serve.
type hooks struct {
	ready   func(addr string)   // called with the address listened on
	request func(*http.Request) // called as each request's handling begins

	tracerProvider trace.TracerProvider // used instead of the environment's
}

var noHooks hooks
