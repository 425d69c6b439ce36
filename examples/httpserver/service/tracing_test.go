package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// Traces are off unless an OTLP endpoint is set in the environment, and
// off again with OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none; an
// exporter other than OTLP over HTTP is refused by name.
func TestTracingSwitch(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	envOf := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	const endpoint = "http://127.0.0.1:4318"
	for _, env := range []func(string) string{
		noEnv,
		envOf("OTEL_SERVICE_NAME", "botlife-eu"),
		envOf("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "OTEL_SDK_DISABLED", "true"),
		envOf("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint, "OTEL_TRACES_EXPORTER", "none"),
	} {
		if tp, err := tracing(t.Context(), env, log); tp != nil || err != nil {
			t.Errorf("tracing installed %v, %v", tp, err)
		}
	}
	for _, env := range []func(string) string{
		envOf("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
		envOf("OTEL_EXPORTER_OTLP_ENDPOINT", "https://user:secret@collector.example"),
		envOf("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "OTEL_TRACES_SAMPLER", " TraceIDRatio ", "OTEL_TRACES_SAMPLER_ARG", "0.01"),
		envOf("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "OTEL_TRACES_SAMPLER", "parentbased_always_off"),
		// The traces' own endpoint is the one in effect.
		envOf("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint+"/v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
		envOf("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint+"/v1/traces", "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
	} {
		tp, err := tracing(t.Context(), env, log)
		if tp == nil || err != nil {
			t.Fatalf("tracing did not install: %v", err)
		}
		tp.Shutdown(t.Context()) // exported nothing: no request
	}
	for _, c := range []struct{ env func(string) string }{
		{envOf("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")},
		{envOf("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "OTEL_TRACES_EXPORTER", "zipkin")},
	} {
		var usage *usageError
		if _, err := tracing(t.Context(), c.env, log); !errors.As(err, &usage) {
			t.Errorf("tracing: %v, want a usage error", err)
		}
	}
	// An endpoint the exporter would take, and then send every span to no
	// host or to localhost, said only in a log line per batch: refused,
	// naming the variable in effect (not its value, which may hold a
	// password).
	for _, c := range []struct {
		env  func(string) string
		name string
	}{
		{envOf("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"), "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{envOf("OTEL_EXPORTER_OTLP_ENDPOINT", "http://[::1"), "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{envOf("OTEL_EXPORTER_OTLP_ENDPOINT", "ftp://collector:4318"), "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{envOf("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"), "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{envOf("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "collector:4318/v1/traces", "OTEL_EXPORTER_OTLP_ENDPOINT", endpoint), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		// A sampler the SDK would not take: it logs a line and samples
		// every trace, the opposite of what the operator asked for.
		{envOf("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "OTEL_TRACES_SAMPLER", "ratio"), "OTEL_TRACES_SAMPLER"},
		{envOf("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "1%"), "OTEL_TRACES_SAMPLER_ARG"},
		{envOf("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "OTEL_TRACES_SAMPLER", "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG", "5"), "OTEL_TRACES_SAMPLER_ARG"},
		{envOf("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint, "OTEL_TRACES_SAMPLER", "traceidratio", "OTEL_TRACES_SAMPLER_ARG", "NaN"), "OTEL_TRACES_SAMPLER_ARG"},
	} {
		var usage *usageError
		_, err := tracing(t.Context(), c.env, log)
		if !errors.As(err, &usage) || !strings.HasPrefix(err.Error(), c.name+" ") {
			t.Errorf("tracing: %v, want a usage error naming %s", err, c.name)
		}
	}
}

// With OTEL_EXPORTER_OTLP_ENDPOINT set, the service exports its spans with
// OTLP over HTTP, named by OTEL_SERVICE_NAME, and flushes them when it
// shuts down (the batch would otherwise wait seconds): here to a receiver
// that counts the POSTs to /v1/traces.
func TestTracingExports(t *testing.T) {
	var (
		mu     sync.Mutex
		posts  int
		bodies [][]byte
	)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Method == "POST" && r.URL.Path == "/v1/traces" {
			mu.Lock()
			posts++
			bodies = append(bodies, body)
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
	}))
	defer receiver.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.URL) // the exporter reads the process's environment
	t.Setenv("OTEL_SERVICE_NAME", "botlife-eu")
	base, stop := startHooks(t, os.Getenv, &hooks{}, "memory")
	call(t, "POST", base+"/bots", "dan-token", pizza, 201)
	call(t, "GET", base+"/bots/bot-1", "dan-token", "", 200)
	stop()

	mu.Lock()
	defer mu.Unlock()
	if posts == 0 {
		t.Fatal("no spans exported by the shutdown")
	}
	all := bytes.Join(bodies, nil)
	for _, want := range []string{"botlife-eu", "GET /bots/{id}", "botlife create"} {
		if !bytes.Contains(all, []byte(want)) {
			t.Errorf("the exported spans lack %q", want)
		}
	}
	if bytes.Contains(all, []byte("/bots/bot-1")) {
		t.Error("an exported span holds the raw path")
	}
}

// When the collector does not take the spans, the service says so in its
// own log - not in a line of OpenTelemetry's own on the standard logger,
// in another format - and goes on serving.
func TestTracingFailuresAreLogged(t *testing.T) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusBadRequest) // not retried: the batch is dropped at once
	}))
	defer receiver.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.URL) // the exporter reads the process's environment
	var stderr lockedBuffer
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-store", "memory", "-users", "demo-users.txt", "-addr", "127.0.0.1:0"},
			os.Getenv, nil, io.Discard, &stderr, &hooks{ready: func(a string) { addr <- a }})
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatal(err)
	}
	call(t, "POST", base+"/bots", "dan-token", pizza, 201)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if log := stderr.String(); !strings.Contains(log, `level=WARN msg="opentelemetry: an error, such as spans the collector did not take" err="traces export:`) {
		t.Errorf("the service's log does not say the spans were not exported:\n%s", log)
	}
}
