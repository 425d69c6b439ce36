package telemetry_test

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/telemetry"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/validate"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// secret is in every end-user id, bot name and message of the scenario:
// telemetry must never show it (issue 28).
const secret = "secret"

var (
	start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	mia   = lifecycle.User(secret + "-mia")
	line  = lifecycle.Sender{Channel: "sms", Address: "+15550100"}
)

// fakeClock is a Clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func def(t testing.TB) lifecycle.Definition {
	d, err := lifecycle.ReferenceDefinition(validate.Definition{EntryDialog: "hi", FallbackDialog: "hi", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: secret + " hello"}, {Type: validate.Close}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// outcome is what the scenario did, to check the telemetry against.
type scenario struct {
	deliveries int     // audit entries Backlog delivered
	watchLag   float64 // their lags, summed, in seconds
	settled    int     // items ExpireDue settled
}

// run drives a Manager of ws in a memory store through every kind of
// operation the issue names: create, activate, three messages routed, one
// to a sender with no bot, a forbidden read, an ExpireDue that ends a
// drain 30 minutes late, and a Backlog that delivers the log 5 s late.
func run(t *testing.T, tr lifecycle.Tracer, ws lifecycle.Workspace) scenario {
	t.Helper()
	ctx := context.Background()
	clk := &fakeClock{now: start}
	base, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Clock: clk, Tracer: tr})
	if err != nil {
		t.Fatal(err)
	}
	m := base
	if ws != "" {
		if m, err = base.Workspace(ws); err != nil {
			t.Fatal(err)
		}
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(m.GrantRole(ctx, lifecycle.System("setup"), secret+"-mia", roles.Manager))
	must(m.GrantRole(ctx, lifecycle.System("setup"), secret+"-ada", roles.Admin))
	bot, err := m.Create(ctx, mia, lifecycle.Create{Name: secret + " bot", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: def(t)})
	must(bot, err)
	must(m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{}))
	for range 3 {
		must(m.Route(ctx, line, "+1555"+secret))
	}
	if _, err := m.Route(ctx, lifecycle.Sender{Channel: "sms", Address: "+15550199"}, secret+"-carol"); !errors.Is(err, lifecycle.ErrNoBot) {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, lifecycle.User(secret+"-eve"), bot.ID); !errors.Is(err, lifecycle.ErrForbidden) {
		t.Fatal(err)
	}
	must(m.Deactivate(ctx, mia, bot.ID, time.Hour))
	clk.add(90 * time.Minute)
	x, err := m.ExpireDue(ctx)
	must(x, err)
	if len(x.DrainsEnded) != 1 {
		t.Fatalf("ExpireDue settled %+v, want the drain", x)
	}
	clk.add(5 * time.Second)
	var s scenario
	s.settled = len(x.DrainsEnded) + len(x.Schedules) + x.SessionsClosed
	for e, err := range m.Backlog(ctx, lifecycle.User(secret+"-ada"), 0) {
		must(e, err)
		s.deliveries++
		s.watchLag += clk.Now().Sub(e.Time).Seconds()
	}
	return s
}

// scrape reads tel's /metrics and parses the Prometheus text.
func scrape(t *testing.T, tel *telemetry.Telemetry) (map[string]*dto.MetricFamily, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	tel.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain") {
		t.Fatalf("/metrics: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
	body, _ := io.ReadAll(rec.Body)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	if err != nil {
		t.Fatalf("parse /metrics: %v\n%s", err, body)
	}
	return fams, string(body)
}

// sample is the metric of fam whose labels are exactly want (the label
// workspace aside unless named), or nil.
func sample(fam *dto.MetricFamily, want map[string]string) *dto.Metric {
	if fam == nil {
		return nil
	}
next:
	for _, m := range fam.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if _, ok := want["workspace"]; !ok {
			delete(got, "workspace")
		}
		if len(got) != len(want) {
			continue
		}
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		return m
	}
	return nil
}

func counter(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	t.Helper()
	m := sample(fams[name], labels)
	if m == nil {
		t.Fatalf("%s%v: missing", name, labels)
	}
	return m.GetCounter().GetValue()
}

func histogram(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels map[string]string) (count uint64, sum float64) {
	t.Helper()
	m := sample(fams[name], labels)
	if m == nil {
		t.Fatalf("%s%v: missing", name, labels)
	}
	return m.GetHistogram().GetSampleCount(), m.GetHistogram().GetSampleSum()
}

func op(op, outcome string) map[string]string { return map[string]string{"op": op, "outcome": outcome} }

// Issue 28: /metrics, in the Prometheus text format through
// OpenTelemetry's exporter, counts operations by op and outcome ("ok" or
// the refusal's kind), times them, counts messages routed, and has the
// ExpireDue lag and batch size and the Watch delivery lag.
func TestMetrics(t *testing.T) {
	tel, err := telemetry.New(telemetry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	s := run(t, tel, "")
	fams, body := scrape(t, tel)

	for _, c := range []struct {
		op, outcome string
		n           float64
	}{
		{"grant_role", "ok", 2}, {"create", "ok", 1}, {"activate", "ok", 1},
		{"route", "ok", 3}, {"route", "no_bot", 1}, {"get", "forbidden", 1},
		{"deactivate", "ok", 1}, {"expire_due", "ok", 1}, {"watch", "ok", float64(s.deliveries)},
	} {
		if got := counter(t, fams, "botlife_operations_total", op(c.op, c.outcome)); got != c.n {
			t.Errorf("botlife_operations_total{op=%q,outcome=%q} = %v, want %v", c.op, c.outcome, got, c.n)
		}
		if n, _ := histogram(t, fams, "botlife_operation_duration_seconds", op(c.op, c.outcome)); float64(n) != c.n {
			t.Errorf("botlife_operation_duration_seconds{op=%q,outcome=%q} count %d, want %v", c.op, c.outcome, n, c.n)
		}
	}
	if got := counter(t, fams, "botlife_messages_routed_total", nil); got != 3 {
		t.Errorf("botlife_messages_routed_total = %v, want 3", got)
	}
	if n, sum := histogram(t, fams, "botlife_expire_due_settled", nil); n != 1 || sum != float64(s.settled) || s.settled < 1 {
		t.Errorf("botlife_expire_due_settled count %d sum %v, want 1 and %d", n, sum, s.settled)
	}
	if n, sum := histogram(t, fams, "botlife_expire_due_lag_seconds", nil); n != 1 || sum != 1800 {
		t.Errorf("botlife_expire_due_lag_seconds count %d sum %v, want 1 and 1800 (30 minutes late)", n, sum)
	}
	if n, sum := histogram(t, fams, "botlife_watch_lag_seconds", nil); int(n) != s.deliveries || s.deliveries < 5 || math.Abs(sum-s.watchLag) > 1e-6 {
		t.Errorf("botlife_watch_lag_seconds count %d sum %v, want %d and %v", n, sum, s.deliveries, s.watchLag)
	}
	if strings.Contains(body, `workspace="`) {
		t.Error("workspace label without Options.Workspace")
	}
	if !strings.Contains(body, "# TYPE botlife_operation_duration_seconds histogram") {
		t.Error("no histogram TYPE line")
	}
}

// Issue 28, R27: with Options.Workspace the workspace is a label; the
// series of two workspaces are apart.
func TestMetricsWorkspace(t *testing.T) {
	tel, err := telemetry.New(telemetry.Options{Workspace: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	run(t, tel, "acme")
	run(t, tel, "globex")
	fams, _ := scrape(t, tel)
	for _, ws := range []string{"acme", "globex"} {
		if got := counter(t, fams, "botlife_operations_total", map[string]string{"op": "route", "outcome": "ok", "workspace": ws}); got != 3 {
			t.Errorf("%s: routes %v, want 3", ws, got)
		}
		if got := counter(t, fams, "botlife_messages_routed_total", map[string]string{"workspace": ws}); got != 3 {
			t.Errorf("%s: messages routed %v, want 3", ws, got)
		}
		if n, _ := histogram(t, fams, "botlife_expire_due_lag_seconds", map[string]string{"workspace": ws}); n != 1 {
			t.Errorf("%s: expire lag count %d, want 1", ws, n)
		}
	}
}

// failing is a store whose Bot reads fail, and that notes the span the
// store runs in.
type failing struct {
	lifecycle.Store
	mu    sync.Mutex
	spans []string
}

func (f *failing) Bot(ctx context.Context, ws lifecycle.Workspace, id lifecycle.BotID) (lifecycle.Bot, error) {
	if s, ok := trace.SpanFromContext(ctx).(sdktrace.ReadOnlySpan); ok {
		f.mu.Lock()
		f.spans = append(f.spans, s.Name())
		f.mu.Unlock()
	}
	return lifecycle.Bot{}, errors.New("disk on fire under " + secret)
}

// Issue 28: one span per operation, named "botlife <op>", a child of the
// caller's, with the attributes op and outcome; refusals are not error
// spans, a failure of the store is - with the outcome as its description,
// never the error's text. The store runs inside the operation's span.
func TestSpans(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	tel, err := telemetry.New(telemetry.Options{TracerProvider: tp})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	run(t, tel, "")

	// A store failure, under a parent span of the caller's.
	st := &failing{Store: store.NewMemory()}
	m, err := lifecycle.New(lifecycle.Config{Store: st, Tracer: tel})
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := tp.Tracer("caller").Start(context.Background(), "request")
	if _, err := m.GrantRole(ctx, lifecycle.System("setup"), secret+"-mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, mia, "bot_1"); !errors.Is(err, lifecycle.ErrStore) {
		t.Fatalf("Get: %v, want a store failure", err)
	}
	parent.End()
	if len(st.spans) != 1 || st.spans[0] != "botlife get" {
		t.Errorf("the store ran in spans %q, want [botlife get]", st.spans)
	}

	type key struct{ name, outcome string }
	got := map[key][]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		if s.Name() == "request" {
			continue
		}
		a := map[string]string{}
		for _, kv := range s.Attributes() {
			a[string(kv.Key)] = kv.Value.Emit()
		}
		if s.Name() != "botlife "+a["op"] || a["outcome"] == "" || len(a) != 2 {
			t.Errorf("span %q has attributes %v, want op and outcome", s.Name(), a)
		}
		got[key{s.Name(), a["outcome"]}] = append(got[key{s.Name(), a["outcome"]}], s)
	}
	for _, c := range []struct {
		key
		n       int
		failure bool
	}{
		{key{"botlife create", "ok"}, 1, false},
		{key{"botlife activate", "ok"}, 1, false},
		{key{"botlife route", "ok"}, 3, false},
		{key{"botlife route", "no_bot"}, 1, false},
		{key{"botlife get", "forbidden"}, 1, false},
		{key{"botlife expire_due", "ok"}, 1, false},
		{key{"botlife get", "store"}, 1, true},
	} {
		spans := got[c.key]
		if len(spans) != c.n {
			t.Errorf("%v: %d spans, want %d", c.key, len(spans), c.n)
			continue
		}
		for _, s := range spans {
			want := codes.Unset
			if c.failure {
				want = codes.Error
			}
			if s.Status().Code != want {
				t.Errorf("%v: status %v, want %v (refusals are not errors)", c.key, s.Status(), want)
			}
			if c.failure && s.Status().Description != c.outcome {
				t.Errorf("%v: status description %q, want the outcome", c.key, s.Status().Description)
			}
		}
	}
	if s := got[key{"botlife get", "store"}][0]; s.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Error("the operation's span is not a child of the caller's")
	}
	if len(got[key{"botlife watch", "ok"}]) < 5 {
		t.Errorf("%d watch delivery spans, want one per entry", len(got[key{"botlife watch", "ok"}]))
	}
}

// Issue 28: no end-user id, bot name, message text or error text reaches
// a label value, span name, attribute, status or event - in a scenario
// whose every such value holds the word "secret", with the workspace
// recorded.
func TestNoIdentifiers(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tel, err := telemetry.New(telemetry.Options{Workspace: true, TracerProvider: sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	run(t, tel, "acme")
	m, _ := lifecycle.New(lifecycle.Config{Store: &failing{Store: store.NewMemory()}, Tracer: tel})
	_, _ = m.GrantRole(context.Background(), lifecycle.System("setup"), secret+"-mia", roles.Manager)
	_, _ = m.Get(context.Background(), mia, "bot_"+secret)

	_, body := scrape(t, tel)
	if strings.Contains(body, secret) || strings.Contains(body, "5550") {
		t.Errorf("/metrics names a user, end user, sender or bot:\n%s", body)
	}
	values := regexp.MustCompile(`(\w+)="([^"]*)"`).FindAllStringSubmatch(body, -1)
	allowed := map[string]bool{"op": true, "outcome": true, "workspace": true, "le": true}
	for _, v := range values {
		if !allowed[v[1]] && !strings.HasPrefix(v[1], "otel_") && !strings.HasPrefix(v[1], "service_") && !strings.HasPrefix(v[1], "telemetry_") {
			t.Errorf("unexpected label %s=%q", v[1], v[2])
		}
		if v[1] == "workspace" && v[2] != "acme" && v[2] != "" {
			t.Errorf("workspace=%q", v[2])
		}
	}
	spans := rec.Ended()
	if len(spans) < 10 {
		t.Fatalf("%d spans", len(spans))
	}
	for _, s := range spans {
		all := s.Name() + " " + s.Status().Description
		for _, kv := range s.Attributes() {
			all += " " + string(kv.Key) + "=" + kv.Value.Emit()
		}
		for _, e := range s.Events() {
			all += " " + e.Name
		}
		if strings.Contains(all, secret) || strings.Contains(all, "5550") || strings.Contains(all, "fire") {
			t.Errorf("span tells too much: %s", all)
		}
	}
}

// Issue 28: a Telemetry is safe for concurrent use: Managers of several
// workspaces share one while /metrics is scraped (run with -race).
func TestConcurrent(t *testing.T) {
	tel, err := telemetry.New(telemetry.Options{Workspace: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Shutdown(context.Background())
	t.Run("group", func(t *testing.T) {
		for _, ws := range []lifecycle.Workspace{"", "acme", "globex"} {
			t.Run("run "+string(ws), func(t *testing.T) { t.Parallel(); run(t, tel, ws) })
			t.Run("scrape "+string(ws), func(t *testing.T) { t.Parallel(); scrape(t, tel) })
		}
	})
	fams, _ := scrape(t, tel)
	var routed float64
	for _, m := range fams["botlife_messages_routed_total"].GetMetric() {
		routed += m.GetCounter().GetValue()
	}
	if routed != 9 {
		t.Errorf("messages routed %v, want 9", routed)
	}
}

// Issue 28: after Shutdown, the hook still works (a Manager may outlive
// it) and /metrics answers with no botlife series.
func TestShutdown(t *testing.T) {
	tel, err := telemetry.New(telemetry.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := tel.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	run(t, tel, "")
	if _, body := scrape(t, tel); strings.Contains(body, "botlife_") {
		t.Errorf("metrics after Shutdown:\n%s", body)
	}
}

// BenchmarkRoute is the cost of telemetry on the hot path: Route on a
// memory store without a tracer, with metrics only (spans to a no-op
// provider), and with a recording TracerProvider too.
func BenchmarkRoute(b *testing.B) {
	for _, c := range []struct {
		name string
		opts *telemetry.Options
	}{
		{"none", nil},
		{"metrics", &telemetry.Options{TracerProvider: noop.NewTracerProvider()}},
		{"metrics+spans", &telemetry.Options{TracerProvider: sdktrace.NewTracerProvider()}},
	} {
		b.Run(c.name, func(b *testing.B) {
			ctx := context.Background()
			cfg := lifecycle.Config{Store: store.NewMemory()}
			if c.opts != nil {
				tel, err := telemetry.New(*c.opts)
				if err != nil {
					b.Fatal(err)
				}
				defer tel.Shutdown(ctx)
				cfg.Tracer = tel
			}
			m, _ := lifecycle.New(cfg)
			_, _ = m.GrantRole(ctx, lifecycle.System("setup"), string(mia.ID), roles.Manager)
			bot, err := m.Create(ctx, mia, lifecycle.Create{Name: "bench", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: def(b)})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Route(ctx, line, "+15551234567"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
