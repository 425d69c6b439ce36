package lifecycle

import (
	"context"
	"errors"
	"time"
)

// Tracer observes the Manager's operations, in the manner of pgx's
// tracers: Start is called when an operation starts and End once when it
// ends. Set it in Config.Tracer; a nil Tracer costs a nil check and no
// allocation, on Route's hot path too.
//
// Each call of a Manager method that does work is one operation, traced
// once with the Op its errors carry: Create is OpCreate, Apply and
// ApplyPlan the op of the command, Get and Validate OpGet, Route OpRoute,
// and so on. Three ops are the tracer's own: Plan is OpPlan (a dry run,
// not the command it plans); ExpireDue is OpExpireDue; and Watch and
// Backlog trace each entry they deliver as an OpWatch, and a failure that
// ends them - instants, Start and End at once before the entry or error is
// yielded, with the watcher's reads of the store outside them (calling
// Watch traces nothing, and neither does the end of its context). Now,
// Policy and Workspace do no work; Run traces the ExpireDue calls it
// makes. What an operation does inside - its reads, the drains and
// schedules ExpireDue settles - is part of it, not traced apart.
//
// A Tracer receives the operation, the workspace, the kind of failure,
// times and counts: never a user, end user, bot, sender, schedule or
// session id, nor a name, definition or message text (error texts may
// echo them, so End gets the kind, never the error). What it records needs
// no more care than the service's own counters.
//
// A Tracer must be safe for concurrent use, and quick: it runs inline.
type Tracer interface {
	// Start is called when an operation starts. The context it returns
	// is the one the operation runs with - the Store sees it - and End
	// receives: a tracer may start a span in it.
	Start(ctx context.Context, op Op) context.Context
	// End is called once when the operation ends, with the context Start
	// returned.
	End(ctx context.Context, e OpEnd)
}

// OpEnd is what a Tracer learns when an operation ends.
type OpEnd struct {
	Op        Op
	Workspace Workspace // the Manager's (R27); "" is the default
	// Kind is nil when the operation succeeded, else the kind of its
	// failure: the sentinel its *Error's Kind holds, such as ErrForbidden,
	// ErrNotFound, ErrNoBot or context.Canceled.
	Kind error
	// Start is the Manager's clock when the operation started; Duration
	// how long it took on that clock (zero on a clock that does not
	// move).
	Start    time.Time
	Duration time.Duration
	// Settled is, for ExpireDue, how many items it settled: drains ended,
	// schedules run and sessions recorded closed.
	Settled int
	// Lag is, for ExpireDue, how long past due the most overdue drain or
	// schedule it found was; for an OpWatch delivery, how long after the
	// entry's Time it was delivered.
	Lag time.Duration
}

// span is one traced operation; the zero span, of a Manager without a
// tracer, traces nothing.
type span struct {
	m       *Manager
	ctx     context.Context
	op      Op
	start   time.Time
	settled int
	lag     time.Duration
}

// trace starts op: it calls the tracer's Start and returns the context to
// run op with and the span to end. Without a tracer it returns ctx and the
// zero span; it and end inline to a few instructions then.
func (m *Manager) trace(ctx context.Context, op Op) (context.Context, span) {
	if m.tracer == nil {
		return ctx, span{}
	}
	return m.start(ctx, op)
}

func (m *Manager) start(ctx context.Context, op Op) (context.Context, span) {
	start := m.clock.Now()
	ctx = m.tracer.Start(ctx, op)
	return ctx, span{m: m, ctx: ctx, op: op, start: start}
}

// end ends s with *err, the outcome of its operation: a pointer, so that
// `defer sp.end(&err)` sees the final result.
func (s *span) end(err *error) {
	if s.m != nil {
		s.finish(*err)
	}
}

// finish reports the end of s, with err by its kind only.
func (s *span) finish(err error) {
	var kind error
	if err != nil {
		var e *Error
		errors.As(opError(s.op, err), &e) // always an *Error
		kind = e.Kind
	}
	s.m.tracer.End(s.ctx, OpEnd{Op: s.op, Workspace: s.m.ws, Kind: kind, Start: s.start,
		Duration: s.m.clock.Now().Sub(s.start), Settled: s.settled, Lag: s.lag})
}

// event traces an operation that is one instant, such as a delivery of
// Watch: its Start and End at once, with the lag since since (if set).
func (m *Manager) event(ctx context.Context, op Op, err error, since time.Time) {
	if m.tracer == nil {
		return
	}
	ctx, sp := m.start(ctx, op)
	if !since.IsZero() {
		sp.lag = sp.start.Sub(since)
	}
	sp.finish(err)
}

// opOf is the op of cmd; "" for none, as its error says.
func opOf(cmd Command) Op {
	if cmd = commandOf(cmd); cmd == nil {
		return ""
	}
	return cmd.op()
}

// planOp is the op of the command p was made for, as ApplyPlan's errors
// say.
func planOp(p Plan) Op {
	cmd := commandOf(p.Command)
	if cmd == nil {
		return OpApplyPlan
	}
	return cmd.op()
}
