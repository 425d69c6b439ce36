package lifecycle_test

import (
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// R9, R10: NextSessionEnd, the key a store orders open sessions by for its
// sweep, is the earliest instant a session can be over - at once when its
// bot is gone or no longer serves its activation on the sender, else the
// sooner of the sender's grace deadline and the idle deadline - and "never"
// only for an Active bot without an idle timeout.
func TestR9NextSessionEnd(t *testing.T) {
	t0 := time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)
	s100 := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	s200 := lifecycle.Sender{Channel: "sms", Address: "+15550200"}
	bot := func(idle time.Duration, live ...lifecycle.SenderState) *lifecycle.Bot {
		return &lifecycle.Bot{ID: "b", Senders: []lifecycle.Sender{s100, s200}, IdleTimeout: idle, Live: live}
	}
	active := lifecycle.SenderState{Sender: s100, State: lifecycle.Active, Activation: 3}
	draining := func(deadline time.Time) lifecycle.SenderState {
		return lifecycle.SenderState{Sender: s100, State: lifecycle.Deactivated, Activation: 3, GraceDeadline: deadline}
	}
	last := t0.Add(time.Minute)
	for _, tc := range []struct {
		name   string
		b      *lifecycle.Bot
		act    uint64
		want   time.Time
		wantOK bool
	}{
		{"bot deleted: at once", nil, 3, time.Time{}, true},
		{"bot off the sender: at once", bot(time.Hour, lifecycle.SenderState{Sender: s200, State: lifecycle.Active, Activation: 3}), 3, time.Time{}, true},
		{"an earlier activation: at once", bot(time.Hour, active), 2, time.Time{}, true},
		{"Active, no idle timeout: never", bot(0, active), 3, time.Time{}, false},
		{"Active: the idle deadline", bot(time.Hour, active), 3, last.Add(time.Hour), true},
		{"draining, no idle timeout: the grace deadline", bot(0, draining(t0.Add(2*time.Hour))), 3, t0.Add(2 * time.Hour), true},
		{"draining, grace first", bot(time.Hour, draining(t0.Add(30*time.Minute))), 3, t0.Add(30 * time.Minute), true},
		{"draining, idle first", bot(time.Hour, draining(t0.Add(3*time.Hour))), 3, last.Add(time.Hour), true},
		{"draining, both at once", bot(time.Hour, draining(last.Add(time.Hour))), 3, last.Add(time.Hour), true},
	} {
		at, ok := lifecycle.NextSessionEnd(tc.b, s100, tc.act, last)
		if ok != tc.wantOK || !at.Equal(tc.want) {
			t.Errorf("%s: NextSessionEnd = %v, %v; want %v, %v", tc.name, at, ok, tc.want, tc.wantOK)
		}
	}
}
