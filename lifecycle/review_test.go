package lifecycle_test

import (
	"errors"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// R9: a session idle at the very instant its bot is deactivated ends idle,
// whether a sweep ran at that instant or not.
func TestR9IdleWinsATieWithTheBotsEnd(t *testing.T) {
	run := func(sweep bool) lifecycle.Session {
		e := newEnv(t)
		b, err := e.m.Create(e.ctx, designer, lifecycle.Create{Name: "b", Channel: "sms", Senders: []lifecycle.Sender{sms("101")},
			Definition: cleanDef(), IdleTimeout: 20 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		e.activate(b.ID, lifecycle.Immediate())
		s, err := e.m.Route(e.ctx, sms("101"), "u1")
		if err != nil {
			t.Fatal(err)
		}
		e.clk.Add(20 * time.Minute)
		if sweep {
			e.must(e.m.ExpireDue(e.ctx))
		}
		e.must(e.m.Deactivate(e.ctx, manager, b.ID, 0))
		e.must(e.m.ExpireDue(e.ctx))
		got, _ := storedSession(e.ctx, e.st, s.ID)
		return got
	}
	swept, unswept := run(true), run(false)
	if swept.CloseReason != lifecycle.CloseIdleTimeout || unswept.CloseReason != swept.CloseReason || !unswept.ClosedAt.Equal(swept.ClosedAt) {
		t.Fatalf("R9: swept %s at %v, unswept %s at %v; want idle_timeout both", swept.CloseReason, swept.ClosedAt, unswept.CloseReason, unswept.ClosedAt)
	}
}

// R9, R22: before a sweep, Analytics counts a session of a bot off its
// sender as closed with the end of the activation it was in there - not an
// older one - and the sweep changes nothing.
func TestR22AnalyticsReasonBeforeTheSweep(t *testing.T) {
	e := newEnv(t)
	x, y := e.draft("x", "101"), e.draft("y", "101")
	e.activate(x.ID, lifecycle.Immediate())
	e.activate(y.ID, lifecycle.Immediate()) // x's activation 1 ends replaced
	e.activate(x.ID, lifecycle.Immediate()) // x's activation 2
	e.must(e.m.Route(e.ctx, sms("101"), "u1"))
	e.must(e.m.Deactivate(e.ctx, manager, x.ID, 0)) // activation 2 ends deactivated
	e.sweepKeepsAnalytics()
}

// R20, R22: a rollback replaces the bot rolled back, on the senders it is
// Active on; a bot that was Active before only on a sender where it is off
// is not a target, and nothing changes.
func TestR22RollbackOnlyWhereTheBotIsActive(t *testing.T) {
	e := newEnv(t)
	z, x, y := e.draft("z", "101"), e.draft("x", "101"), e.draft("y", "101", "102")
	e.activate(z.ID, lifecycle.Immediate())
	e.clk.Add(time.Second)
	e.activate(x.ID, lifecycle.Immediate()) // z left 101
	e.clk.Add(time.Second)
	e.must(e.m.Apply(e.ctx, manager, lifecycle.Activate{Bot: y.ID, Senders: []lifecycle.Sender{sms("102")}}))
	err := e.refused(lifecycle.ErrNoRollback, false, func() error {
		_, err := e.m.Rollback(e.ctx, manager, y.ID, lifecycle.Immediate(), lifecycle.Ack{})
		return err
	})
	var re *lifecycle.RollbackError
	if !errors.As(err, &re) || re.Bot != y.ID {
		t.Fatalf("R20: %v", err)
	}
}
