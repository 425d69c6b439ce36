package telemetry

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// HTTPOptions configures Telemetry.HTTP.
type HTTPOptions struct {
	// Routes are the ServeMux patterns of the handler, such as
	// "POST /bots/{id}/activate": a request whose http.Request.Pattern is
	// one of them is counted and named by it; any other (no route
	// matched, or a catch-all "/" forwarding to a mux that did not match)
	// is "unmatched". A pattern never holds an id, so neither does a label
	// or a span name.
	Routes []string
	// Untraced are request paths served without a span, such as the
	// probes "/healthz" and "/readyz" that load balancers send every few
	// seconds; they are still counted.
	Untraced []string
}

// HTTP returns next with telemetry around each request: the W3C trace
// context of its traceparent and tracestate headers becomes the parent
// of a server span named by the route pattern ("POST /bots/{id}/activate"),
// in which next - and so the Manager's operation spans - run; and the
// metrics
//
//   - botlife_http_requests_total{route, method, status_class}
//   - botlife_http_request_duration_seconds{route, method, status_class}
//
// where route is the pattern's path ("/bots/{id}/activate") or
// "unmatched", method the request's ("_OTHER" for one HTTP does not
// define), and status_class "2xx" to "5xx" (1xx is never final). An event
// stream's duration is how long it stayed open. Never the raw path, a
// query, a header other than the trace context's, or who sent it.
//
// next must let its ServeMuxes set Pattern on the request HTTP passes it
// (a ServeMux does, and so does one that passes the same *http.Request on
// to another); a request whose Pattern is not among o.Routes is
// "unmatched".
func (t *Telemetry) HTTP(next http.Handler, o HTTPOptions) http.Handler {
	h := &httpTelemetry{t: t, next: next, routes: map[string]route{}, untraced: map[string]bool{}}
	for _, p := range o.Routes {
		_, path, ok := strings.Cut(p, " ")
		if !ok {
			path = p
		}
		if i := strings.IndexByte(path, '/'); i > 0 { // a host in the pattern is not a label
			path = path[i:]
		}
		h.routes[p] = route{path: path, hasMethod: ok}
	}
	for _, p := range o.Untraced {
		h.untraced[p] = true
	}
	return h
}

type httpTelemetry struct {
	t        *Telemetry
	next     http.Handler
	routes   map[string]route // by pattern
	untraced map[string]bool  // by path
	sets     sync.Map         // httpKey -> *httpAttrs; bounded: routes x methods x classes
}

// route is a known pattern's path and whether the pattern names a method.
type route struct {
	path      string
	hasMethod bool
}

var propagator = propagation.TraceContext{}

func (h *httpTelemetry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	method := methodOf(r.Method)
	ctx := propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
	span := trace.SpanFromContext(ctx) // the caller's, not recording
	traced := !h.untraced[r.URL.Path]
	if traced {
		ctx, span = h.t.tracer.Start(ctx, spanName(method), trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", method)))
	}
	sw := &statusWriter{ResponseWriter: w}
	r = r.WithContext(ctx)
	returned := false
	defer func() {
		status := sw.status
		switch {
		case status != 0:
		case returned:
			status = http.StatusOK
		default: // next panicked: net/http answers 500, or aborts the connection
			status = http.StatusInternalServerError
		}
		h.finish(r, span, traced, method, status, start)
	}()
	h.next.ServeHTTP(sw, r)
	returned = true
}

// finish names and ends the span and records the metrics of r, served.
func (h *httpTelemetry) finish(r *http.Request, span trace.Span, traced bool, method string, status int, start time.Time) {
	rt, matched := h.routes[r.Pattern]
	path := "unmatched"
	if matched {
		path = rt.path
	}
	if traced {
		if matched {
			name := r.Pattern
			if !rt.hasMethod {
				name = method + " " + rt.path
			}
			span.SetName(name)
			span.SetAttributes(attribute.String("http.route", rt.path))
		}
		span.SetAttributes(attribute.Int("http.response.status_code", status))
		if status >= 500 {
			span.SetStatus(codes.Error, "")
		}
		span.End()
	}
	a := h.attrs(path, method, classOf(status))
	h.t.httpRequests.Add(r.Context(), 1, a.add...)
	h.t.httpDuration.Record(r.Context(), time.Since(start).Seconds(), a.record...)
}

type httpKey struct{ route, method, class string }

type httpAttrs struct {
	add    []metric.AddOption
	record []metric.RecordOption
}

// attrs returns the measurement options of the labels, built once.
func (h *httpTelemetry) attrs(route, method, class string) *httpAttrs {
	k := httpKey{route, method, class}
	if v, ok := h.sets.Load(k); ok {
		return v.(*httpAttrs)
	}
	set := metric.WithAttributeSet(attribute.NewSet(attribute.String("route", route),
		attribute.String("method", method), attribute.String("status_class", class)))
	v, _ := h.sets.LoadOrStore(k, &httpAttrs{add: []metric.AddOption{set}, record: []metric.RecordOption{set}})
	return v.(*httpAttrs)
}

// methodOf is m when HTTP defines it, else "_OTHER": a client may send
// any token as the method, and a label must stay bounded.
func methodOf(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// spanName is the name of a request's span before a route matched: its
// method, or "HTTP" for one HTTP does not define (as OpenTelemetry's HTTP
// conventions say).
func spanName(method string) string {
	if method == "_OTHER" {
		return "HTTP"
	}
	return method
}

// classOf is a final status code's class: "2xx" to "5xx", or "other".
func classOf(status int) string {
	switch status / 100 {
	case 2:
		return "2xx"
	case 3:
		return "3xx"
	case 4:
		return "4xx"
	case 5:
		return "5xx"
	}
	return "other"
}

// statusWriter records the final status a handler sent. It passes
// flushes on and unwraps for http.ResponseController (an event stream
// clears its write deadline and flushes through one).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 { // 1xx are informational, not the answer
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// FlushError flushes, as http.ResponseController.Flush asks first.
func (w *statusWriter) FlushError() error {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Flush implements http.Flusher.
func (w *statusWriter) Flush() { _ = w.FlushError() }

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
