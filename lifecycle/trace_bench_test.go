package lifecycle_test

import (
	"context"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// routeStub is a store whose Route answers at once: what is left to
// measure is the Manager's own share of routing.
type routeStub struct{ lifecycle.Store }

func (routeStub) Route(_ context.Context, _ lifecycle.Workspace, s lifecycle.Sender, u string, now time.Time) (lifecycle.Session, error) {
	return lifecycle.Session{ID: 1, Sender: s, EndUser: u, Messages: 2, LastActivityAt: now}, nil
}

// noopTracer is a Tracer that does nothing: what is left is the Manager's
// share of tracing.
type noopTracer struct{}

func (noopTracer) Start(ctx context.Context, _ lifecycle.Op) context.Context { return ctx }
func (noopTracer) End(context.Context, lifecycle.OpEnd)                      {}

// BenchmarkRouteManager routes a message through the Manager alone, on a
// store that answers at once: the cost of the Manager on the hot path,
// without a tracer (issue 28: the same as before there was one, no
// allocation) and with one that does nothing.
func BenchmarkRouteManager(b *testing.B) {
	for _, tc := range []struct {
		name   string
		tracer lifecycle.Tracer
	}{{"tracer=none", nil}, {"tracer=noop", noopTracer{}}} {
		b.Run(tc.name, func(b *testing.B) {
			m, err := lifecycle.New(lifecycle.Config{Store: routeStub{}, Clock: &fixedClock{t: start}, Tracer: tc.tracer})
			if err != nil {
				b.Fatal(err)
			}
			ctx, line := context.Background(), sms("+15550100")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Route(ctx, line, "+15550123"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
