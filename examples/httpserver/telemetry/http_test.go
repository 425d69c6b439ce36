package telemetry_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/telemetry"
	"github.com/botlife/botlife/lifecycle"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// A caller's W3C trace context is the parent of the request's server span,
// named by the route pattern, in which the Manager's operation spans run;
// the HTTP metrics count requests by route pattern, method and status
// class; no span name, attribute or label holds the raw path.
func TestHTTP(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tel, err := telemetry.New(telemetry.Options{TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(t.Context())

	inner := http.NewServeMux() // an API behind a catch-all, as the service's
	inner.HandleFunc("POST /things/{id}/poke", func(w http.ResponseWriter, r *http.Request) {
		ctx := tel.Start(r.Context(), lifecycle.OpActivate) // as the Manager does
		tel.End(ctx, lifecycle.OpEnd{Op: lifecycle.OpActivate})
		w.WriteHeader(http.StatusAccepted)
	})
	inner.HandleFunc("GET /things/{id}", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no such thing", http.StatusNotFound)
	})
	inner.HandleFunc("GET /stream", func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if err := rc.Flush(); err != nil {
			t.Errorf("flush through the telemetry: %v", err)
		}
		io.WriteString(w, "data\n")
	})
	inner.HandleFunc("GET /boom", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) })
	outer := http.NewServeMux()
	outer.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
	outer.Handle("/", inner)
	srv := httptest.NewServer(tel.HTTP(outer, telemetry.HTTPOptions{
		Routes:   []string{"GET /healthz", "POST /things/{id}/poke", "GET /things/{id}", "GET /stream", "GET /boom"},
		Untraced: []string{"/healthz"},
	}))
	defer srv.Close()

	const (
		traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
		spanID  = "00f067aa0ba902b7"
	)
	send := func(method, path string, traced bool) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		if traced {
			req.Header.Set("traceparent", "00-"+traceID+"-"+spanID+"-01")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	send("POST", "/things/thing-secret/poke", true)
	send("POST", "/things/thing-secret/poke", false)
	send("GET", "/things/thing-secret", false)
	send("GET", "/no/such/secret", false)
	send("BREW", "/things/thing-secret", false)
	send("GET", "/stream", false)
	send("GET", "/boom", false)
	send("GET", "/healthz", false)

	spans := rec.Ended()
	var server, op []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if strings.Contains(s.Name(), "secret") {
			t.Errorf("a span is named by the raw path: %q", s.Name())
		}
		for _, a := range s.Attributes() {
			if strings.Contains(a.Value.Emit(), "secret") {
				t.Errorf("span %q: attribute %s = %q holds the raw path", s.Name(), a.Key, a.Value.Emit())
			}
		}
		switch s.SpanKind() {
		case trace.SpanKindServer:
			server = append(server, s)
		default:
			op = append(op, s)
		}
	}
	var names []string
	for _, s := range server {
		names = append(names, s.Name())
	}
	if got, want := strings.Join(names, ", "), "POST /things/{id}/poke, POST /things/{id}/poke, GET /things/{id}, GET, HTTP, GET /stream, GET /boom"; got != want {
		t.Fatalf("server spans: %s, want %s (none for /healthz)", got, want)
	}
	if len(op) != 2 {
		t.Fatalf("%d operation spans, want 2", len(op))
	}
	joined, fresh := server[0], server[1]
	if joined.SpanContext().TraceID().String() != traceID || joined.Parent().SpanID().String() != spanID || !joined.Parent().IsRemote() {
		t.Errorf("the server span %v is not the caller's child (parent %v)", joined.SpanContext(), joined.Parent())
	}
	if op[0].SpanContext().TraceID().String() != traceID || op[0].Parent().SpanID() != joined.SpanContext().SpanID() {
		t.Errorf("the operation span %v is not the server span's child (parent %v)", op[0].SpanContext(), op[0].Parent())
	}
	if fresh.SpanContext().TraceID().String() == traceID || fresh.Parent().IsValid() {
		t.Errorf("a request without traceparent joined a trace: %v", fresh.Parent())
	}
	if op[1].SpanContext().TraceID() != fresh.SpanContext().TraceID() {
		t.Error("the second operation span is not in its request's trace")
	}
	attrs := attribute.NewSet(joined.Attributes()...)
	for k, want := range map[attribute.Key]string{"http.request.method": "POST", "http.route": "/things/{id}/poke", "http.response.status_code": "202"} {
		if v, _ := attrs.Value(k); v.Emit() != want {
			t.Errorf("server span %s = %q, want %q", k, v.Emit(), want)
		}
	}
	if server[6].Status().Code != codes.Error || server[2].Status().Code == codes.Error {
		t.Errorf("statuses: 502 %v, 404 %v; want an error for a 5xx only", server[6].Status(), server[2].Status())
	}

	fams, body := scrape(t, tel)
	if strings.Contains(body, "secret") {
		t.Errorf("/metrics holds the raw path:\n%s", body)
	}
	for _, c := range []struct {
		route, method, class string
		n                    float64
	}{
		{"/things/{id}/poke", "POST", "2xx", 2},
		{"/things/{id}", "GET", "4xx", 1},
		{"unmatched", "GET", "4xx", 1},
		{"unmatched", "_OTHER", "4xx", 1}, // 405: a route matches the path, not the method
		{"/stream", "GET", "2xx", 1},
		{"/boom", "GET", "5xx", 1},
		{"/healthz", "GET", "2xx", 1},
	} {
		labels := map[string]string{"route": c.route, "method": c.method, "status_class": c.class}
		if n := counter(t, fams, "botlife_http_requests_total", labels); n != c.n {
			t.Errorf("botlife_http_requests_total%v = %v, want %v", labels, n, c.n)
		}
		if n, _ := histogram(t, fams, "botlife_http_request_duration_seconds", labels); n != uint64(c.n) {
			t.Errorf("botlife_http_request_duration_seconds_count%v = %v, want %v", labels, n, c.n)
		}
	}
}
