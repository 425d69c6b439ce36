// Package telemetry is a lifecycle.Tracer backed by OpenTelemetry (issue
// 28): metrics of every Manager operation, served at /metrics in the
// Prometheus text format through OpenTelemetry's Prometheus exporter, and
// one span per operation through a trace.TracerProvider; and HTTP
// middleware that adds a span and metrics per request.
//
//	tel, err := telemetry.New(telemetry.Options{TracerProvider: tp})
//	m, err := lifecycle.New(lifecycle.Config{Store: st, Tracer: tel})
//	mux.Handle("GET /metrics", tel.Handler())
//	srv := &http.Server{Handler: tel.HTTP(mux, telemetry.HTTPOptions{Routes: patterns})}
//	defer tel.Shutdown(ctx)
//
// The metrics, by their Prometheus names:
//
//   - botlife_operations_total{op, outcome}: operations ended, by op
//     ("create", "route", ...) and outcome: "ok" or the kind of failure in
//     snake_case ("forbidden", "not_found", "no_bot", "store", ...).
//   - botlife_operation_duration_seconds{op, outcome}: a histogram of how
//     long they took, on the Manager's clock.
//   - botlife_messages_routed_total: Route operations that found a bot.
//   - botlife_expire_due_settled: a histogram of how many items each
//     ExpireDue settled (drains ended, schedules run, sessions closed).
//   - botlife_expire_due_lag_seconds: a histogram of how long past due the
//     most overdue drain or schedule an ExpireDue found was, for each one
//     that found something.
//   - botlife_watch_lag_seconds: a histogram of how long after its time
//     each audit entry was delivered by Watch or Backlog.
//
// Telemetry.HTTP wraps a service's handler: it reads the caller's W3C trace
// context (traceparent, tracestate), makes one server span per request
// named by its route pattern, and adds botlife_http_requests_total and
// botlife_http_request_duration_seconds by route pattern, method and
// status class - never the raw path.
//
// With Options.Workspace every metric and span of an operation also
// carries the workspace (R27; the HTTP ones never do). Nothing else
// identifies anyone: the Tracer hook never gives user, end user, bot,
// sender, schedule or session ids, names or message text, and this
// package records only the op, the outcome, the workspace when asked,
// a request's route pattern, method and status, times and counts.
package telemetry

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/botlife/botlife/lifecycle"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"
)

// scope names the instrumentation: the meter and tracer.
const scope = "github.com/botlife/botlife/examples/httpserver/telemetry"

// Options configures New. The zero Options is usable: metrics on
// Handler, spans to the global TracerProvider, no workspace attribute.
type Options struct {
	// TracerProvider makes the spans, one per operation; nil uses
	// otel.GetTracerProvider(), which records nothing until the program
	// sets one.
	TracerProvider trace.TracerProvider
	// Workspace adds the attribute "workspace" (R27; "" for the default
	// workspace) to every metric and span. Off by default: workspaces are
	// customer accounts, and a service with many of them multiplies every
	// time series by their number - turn it on only where that number is
	// small, or where the metrics backend is built for it. A workspace
	// name is the operator's, never an end user's.
	Workspace bool
}

// Telemetry records the Manager's operations as OpenTelemetry metrics and
// spans. It implements lifecycle.Tracer: set it as Config.Tracer of every
// Manager it should observe (Managers of several workspaces may share it).
// It is safe for concurrent use.
type Telemetry struct {
	tracer    trace.Tracer
	workspace bool
	mp        *sdkmetric.MeterProvider
	handler   http.Handler

	ops       metric.Int64Counter
	duration  metric.Float64Histogram
	routed    metric.Int64Counter
	settled   metric.Int64Histogram
	expireLag metric.Float64Histogram
	watchLag  metric.Float64Histogram

	httpRequests metric.Int64Counter
	httpDuration metric.Float64Histogram

	sets  sync.Map // attrKey -> *attrs
	nsets atomic.Int64
}

var _ lifecycle.Tracer = (*Telemetry)(nil)

// maxSets bounds the cache of attribute sets; past it (many workspaces),
// sets are built per measurement instead.
const maxSets = 1024

// Bucket boundaries: operations take microseconds (memory) to seconds
// (a slow database); lags run from a tick to hours behind.
var (
	durationBuckets = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}
	lagBuckets      = []float64{0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14400}
	httpBuckets     = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
	settledBuckets  = []float64{0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000}
)

// New makes a Telemetry with its own MeterProvider and Prometheus
// registry (not the global ones), whose metrics Handler serves.
func New(o Options) (*Telemetry, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, err
	}
	tp := o.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	t := &Telemetry{
		tracer:    tp.Tracer(scope),
		workspace: o.Workspace,
		mp:        sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)),
		handler:   promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
	}
	mt := t.mp.Meter(scope)
	t.ops, err = mt.Int64Counter("botlife.operations", metric.WithUnit("{operation}"),
		metric.WithDescription("Manager operations ended, by op and outcome."))
	errs := []error{err}
	t.duration, err = mt.Float64Histogram("botlife.operation.duration", metric.WithUnit("s"),
		metric.WithDescription("How long Manager operations took, by op and outcome."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	errs = append(errs, err)
	t.routed, err = mt.Int64Counter("botlife.messages.routed", metric.WithUnit("{message}"),
		metric.WithDescription("Messages routed to a bot's session."))
	errs = append(errs, err)
	t.settled, err = mt.Int64Histogram("botlife.expire_due.settled", metric.WithUnit("{item}"),
		metric.WithDescription("Items each ExpireDue settled: drains ended, schedules run, sessions closed."),
		metric.WithExplicitBucketBoundaries(settledBuckets...))
	errs = append(errs, err)
	t.expireLag, err = mt.Float64Histogram("botlife.expire_due.lag", metric.WithUnit("s"),
		metric.WithDescription("How long past due the most overdue drain or schedule an ExpireDue found was."),
		metric.WithExplicitBucketBoundaries(lagBuckets...))
	errs = append(errs, err)
	t.watchLag, err = mt.Float64Histogram("botlife.watch.lag", metric.WithUnit("s"),
		metric.WithDescription("How long after its time an audit entry was delivered by Watch or Backlog."),
		metric.WithExplicitBucketBoundaries(lagBuckets...))
	errs = append(errs, err)
	t.httpRequests, err = mt.Int64Counter("botlife.http.requests", metric.WithUnit("{request}"),
		metric.WithDescription("HTTP requests served, by route pattern, method and status class."))
	errs = append(errs, err)
	t.httpDuration, err = mt.Float64Histogram("botlife.http.request.duration", metric.WithUnit("s"),
		metric.WithDescription("How long HTTP requests took, by route pattern, method and status class."),
		metric.WithExplicitBucketBoundaries(httpBuckets...))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		_ = t.mp.Shutdown(context.Background())
		return nil, err
	}
	return t, nil
}

// Handler serves the metrics in the Prometheus text format; mount it at
// /metrics.
func (t *Telemetry) Handler() http.Handler { return t.handler }

// Shutdown stops the metrics: Handler serves none after it. The
// TracerProvider is the caller's to shut down.
func (t *Telemetry) Shutdown(ctx context.Context) error { return t.mp.Shutdown(ctx) }

// Start implements lifecycle.Tracer: it starts the span "botlife <op>",
// a child of ctx's, that the operation - and the store - run in.
func (t *Telemetry) Start(ctx context.Context, op lifecycle.Op) context.Context {
	a := t.attrs(op, "", "")
	ctx, _ = t.tracer.Start(ctx, a.span, a.start...)
	return ctx
}

// End implements lifecycle.Tracer: it ends the span Start began, with the
// attribute outcome - and an error status for a server failure, never for
// a refusal - and records the operation's metrics.
func (t *Telemetry) End(ctx context.Context, e lifecycle.OpEnd) {
	o := outcomeOf(e.Kind)
	sp := trace.SpanFromContext(ctx)
	if sp.IsRecording() {
		sp.SetAttributes(attribute.String("outcome", o.name))
		if t.workspace {
			sp.SetAttributes(attribute.String("workspace", string(e.Workspace)))
		}
		// Never the error's text: it may echo ids and names.
		if o.failure {
			sp.SetStatus(codes.Error, o.name)
		}
	}
	sp.End()

	a := t.attrs(e.Op, o.name, e.Workspace)
	t.ops.Add(ctx, 1, a.add...)
	t.duration.Record(ctx, e.Duration.Seconds(), a.record...)
	switch {
	case e.Op == lifecycle.OpRoute && e.Kind == nil:
		t.routed.Add(ctx, 1, t.attrs("", "", e.Workspace).add...)
	case e.Op == lifecycle.OpExpireDue:
		ws := t.attrs("", "", e.Workspace).record
		t.settled.Record(ctx, int64(e.Settled), ws...)
		if e.Settled > 0 || e.Lag > 0 {
			t.expireLag.Record(ctx, max(e.Lag.Seconds(), 0), ws...)
		}
	case e.Op == lifecycle.OpWatch && e.Kind == nil:
		t.watchLag.Record(ctx, max(e.Lag.Seconds(), 0), t.attrs("", "", e.Workspace).record...)
	}
}

// attrKey names a set of attributes: op and outcome, each left out when
// "", and the workspace, recorded (even "") only with Options.Workspace.
type attrKey struct {
	op, outcome string
	ws          lifecycle.Workspace
}

// attrs are the options of an attrKey's attributes, built once: the
// measurement options, and for a key of an op alone its span's name and
// start options.
type attrs struct {
	add    []metric.AddOption
	record []metric.RecordOption
	span   string
	start  []trace.SpanStartOption
}

// attrs returns the options of the attributes op and outcome (when not
// "") and the workspace (when Options.Workspace), cached so that Start
// and End allocate nothing for them.
func (t *Telemetry) attrs(op lifecycle.Op, outcome string, ws lifecycle.Workspace) *attrs {
	if !t.workspace {
		ws = ""
	}
	k := attrKey{string(op), outcome, ws}
	if v, ok := t.sets.Load(k); ok {
		return v.(*attrs)
	}
	var kv []attribute.KeyValue
	if op != "" {
		kv = append(kv, attribute.String("op", string(op)))
	}
	if outcome != "" {
		kv = append(kv, attribute.String("outcome", outcome))
	}
	if t.workspace && (outcome != "" || op == "") {
		kv = append(kv, attribute.String("workspace", string(ws)))
	}
	set := metric.WithAttributeSet(attribute.NewSet(kv...))
	a := &attrs{add: []metric.AddOption{set}, record: []metric.RecordOption{set},
		span: "botlife " + string(op), start: []trace.SpanStartOption{trace.WithAttributes(kv...)}}
	if t.nsets.Load() < maxSets {
		if _, loaded := t.sets.LoadOrStore(k, a); !loaded {
			t.nsets.Add(1)
		}
	}
	return a
}

// outcome is how an operation ended: its label, and whether it is a
// failure of the service (an error span) rather than a refusal.
type outcome struct {
	name    string
	failure bool
}

// outcomes names the kinds of lifecycle errors. Refusals - the caller's
// request was not allowed or did not fit the state - are not failures;
// a store that failed or is unavailable, a conflict that outlasted the
// retries and a deadline that ran out are. A caller that gave up
// (context.Canceled) is not the service's failure either.
var outcomes = []struct {
	kind error
	outcome
}{
	{lifecycle.ErrForbidden, outcome{"forbidden", false}},
	{lifecycle.ErrNotFound, outcome{"not_found", false}},
	{lifecycle.ErrNotEditable, outcome{"not_editable", false}},
	{lifecycle.ErrNotDeletable, outcome{"not_deletable", false}},
	{lifecycle.ErrInvalidTransition, outcome{"invalid_transition", false}},
	{lifecycle.ErrSenderOccupied, outcome{"sender_occupied", false}},
	{lifecycle.ErrValidation, outcome{"validation", false}},
	{lifecycle.ErrWarningsNotAcknowledged, outcome{"warnings_not_acknowledged", false}},
	{lifecycle.ErrNoRollback, outcome{"no_rollback", false}},
	{lifecycle.ErrContentChanged, outcome{"content_changed", false}},
	{lifecycle.ErrLastAdmin, outcome{"last_admin", false}},
	{lifecycle.ErrRoleHeld, outcome{"role_held", false}},
	{lifecycle.ErrRoleNotHeld, outcome{"role_not_held", false}},
	{lifecycle.ErrUnknownRole, outcome{"unknown_role", false}},
	{lifecycle.ErrInvalidInput, outcome{"invalid_input", false}},
	{lifecycle.ErrNoBot, outcome{"no_bot", false}},
	{lifecycle.ErrSenderClaimed, outcome{"sender_claimed", false}},
	{lifecycle.ErrTestSessionLimit, outcome{"test_session_limit", false}},
	{lifecycle.ErrSessionOver, outcome{"session_over", false}},
	{context.Canceled, outcome{"canceled", false}},
	{lifecycle.ErrConflict, outcome{"conflict", true}},
	{lifecycle.ErrUnavailable, outcome{"unavailable", true}},
	{lifecycle.ErrStore, outcome{"store", true}},
	{context.DeadlineExceeded, outcome{"deadline_exceeded", true}},
}

// outcomeOf is the outcome of an operation that ended with kind: "ok" for
// nil, "other" (a failure) for a kind this package does not know. It
// compares with errors.Is, which never panics on an uncomparable kind.
func outcomeOf(kind error) outcome {
	if kind == nil {
		return outcome{"ok", false}
	}
	for _, o := range outcomes {
		if errors.Is(kind, o.kind) {
			return o.outcome
		}
	}
	return outcome{"other", true}
}
