package main

import (
	"io"
	"net/http"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A request that carries a W3C traceparent is served in the caller's
// trace: its server span, named by the route pattern, is the caller's
// span's child, and the Manager's operation span is the server span's.
func TestTraceContext(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	base, stop := startHooks(t, noEnv, &hooks{tracerProvider: tp}, sqliteStore(t))
	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		spanID  = "00f067aa0ba902b7"
	)
	for _, r := range []struct {
		method, path, body string
		want               int
	}{{"POST", "/bots", pizza, 201}, {"POST", "/bots/bot-1/activate", "{}", 0}, {"GET", "/bots/bot-9", "", 404}} {
		req, _ := http.NewRequest(r.method, base+r.path, strings.NewReader(r.body))
		req.Header.Set("Authorization", "Bearer mia-token")
		if r.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("traceparent", "00-"+traceID+"-"+spanID+"-01")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if r.want != 0 && resp.StatusCode != r.want {
			t.Fatalf("%s %s: %d, want %d", r.method, r.path, resp.StatusCode, r.want)
		}
	}
	stop()

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		if s.SpanContext().TraceID().String() != traceID {
			continue // ExpireDue's own
		}
		if strings.Contains(s.Name(), "bot-") {
			t.Errorf("a span is named by the raw path: %q", s.Name())
		}
		byName[s.Name()] = s
	}
	for _, c := range []struct{ server, op string }{
		{"POST /bots", "botlife create"},
		{"POST /bots/{id}/activate", "botlife activate"},
		{"GET /bots/{id}", "botlife get"},
	} {
		srv, op := byName[c.server], byName[c.op]
		if srv == nil || op == nil {
			t.Fatalf("no span %q or %q in the caller's trace; it has %v", c.server, c.op, keys(byName))
		}
		if srv.SpanKind() != trace.SpanKindServer || srv.Parent().SpanID().String() != spanID || !srv.Parent().IsRemote() {
			t.Errorf("%s: kind %v, parent %v: not a server span under the caller's", c.server, srv.SpanKind(), srv.Parent())
		}
		if op.Parent().SpanID() != srv.SpanContext().SpanID() {
			t.Errorf("%s is not a child of %s", c.op, c.server)
		}
	}
}

func keys(m map[string]sdktrace.ReadOnlySpan) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}
