package lifecycle_test

import (
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// R9, R10: SessionEnd, the one rule for when a session is over, branch by
// branch.
func TestSessionEnd(t *testing.T) {
	at := func(d time.Duration) time.Time { return start.Add(d) }
	a, b := sms("100"), sms("200")
	open := lifecycle.Session{Sender: a, Activation: 3, OpenedAt: at(0), LastActivityAt: at(0)}
	active := lifecycle.Bot{State: lifecycle.Active, Activations: 3, IdleTimeout: 30 * time.Minute,
		Live: []lifecycle.SenderState{{Sender: a, State: lifecycle.Active, Activation: 3}}}
	draining := active
	draining.State, draining.GraceDeadline = lifecycle.Deactivated, at(10*time.Minute)
	draining.Live = []lifecycle.SenderState{{Sender: a, State: lifecycle.Deactivated, Activation: 3, GraceDeadline: at(10 * time.Minute)}}
	// R22: Active on another sender, draining on the session's.
	drainingHere := active
	drainingHere.GraceDeadline = at(10 * time.Minute)
	drainingHere.Live = []lifecycle.SenderState{draining.Live[0], {Sender: b, State: lifecycle.Active, Activation: 3}}
	// R22: Active on another sender only; it left the session's at +4m.
	leftHere := active
	leftHere.Live = []lifecycle.SenderState{{Sender: b, State: lifecycle.Active, Activation: 3}}
	leftHere.Ends = []lifecycle.ActivationEnd{{Activation: 3, Senders: []lifecycle.Sender{a}, At: at(4 * time.Minute), Reason: lifecycle.CloseDeactivated}}
	// R22: left the session's sender at +4m, came back there at +5m in
	// activation 4: the session does not come back with it.
	backHere := leftHere
	backHere.Activations = 4
	backHere.Live = []lifecycle.SenderState{{Sender: a, State: lifecycle.Active, Activation: 4}, leftHere.Live[0]}
	// R22: left the session's sender at +4m, and every other at +6m.
	leftAll := leftHere
	leftAll.State, leftAll.Live = lifecycle.Inactive, nil
	leftAll.Ends = append(leftHere.Ends, lifecycle.ActivationEnd{Activation: 3, At: at(6 * time.Minute), Reason: lifecycle.CloseReplaced})
	inactive := active
	inactive.State, inactive.EndedAt, inactive.EndReason = lifecycle.Inactive, at(5*time.Minute), lifecycle.CloseReplaced
	inactive.Live = nil
	inactive.Ends = []lifecycle.ActivationEnd{{Activation: 3, At: at(5 * time.Minute), Reason: lifecycle.CloseReplaced}}
	again := active // activated twice more since the session's activation
	again.Activations = 5
	again.Live = []lifecycle.SenderState{{Sender: a, State: lifecycle.Active, Activation: 5}}
	again.Ends = []lifecycle.ActivationEnd{
		{Activation: 2, At: at(-time.Minute), Reason: lifecycle.CloseDeactivated},
		{Activation: 3, At: at(2 * time.Minute), Reason: lifecycle.CloseGraceExpired},
		{Activation: 4, At: at(3 * time.Minute), Reason: lifecycle.CloseReplaced},
	}
	pruned := again
	pruned.Ends = again.Ends[2:] // activation 3's end is no longer kept
	legacy := inactive           // stored before bots kept their activations' ends
	legacy.Ends = nil
	noIdle := active
	noIdle.IdleTimeout = 0
	closed := open
	closed.ClosedAt, closed.CloseReason = at(time.Minute), lifecycle.CloseCompleted
	tests := []struct {
		name   string
		s      lifecycle.Session
		b      *lifecycle.Bot
		now    time.Duration
		reason lifecycle.CloseReason
		end    time.Duration
		over   bool
	}{
		{"R10/a-closed-session-keeps-its-record", closed, &active, time.Hour, lifecycle.CloseCompleted, time.Minute, true},
		{"R10/no-bot-orphans-it-now", open, nil, time.Minute, lifecycle.CloseOrphaned, time.Minute, true},
		{"R10/an-active-bot-serves-it", open, &active, 29 * time.Minute, "", 0, false},
		{"R10/idle-at-the-timeout-exactly", open, &active, 30 * time.Minute, lifecycle.CloseIdleTimeout, 30 * time.Minute, true},
		{"R10/no-idle-timeout-means-none", open, &noIdle, 48 * time.Hour, "", 0, false},
		{"R9/draining-serves-it-before-the-deadline", open, &draining, 10*time.Minute - 1, "", 0, false},
		{"R9/draining-ends-it-at-the-deadline", open, &draining, 10 * time.Minute, lifecycle.CloseGraceExpired, 10 * time.Minute, true},
		{"R22/draining-on-its-sender-ends-it-at-that-deadline", open, &drainingHere, 10 * time.Minute, lifecycle.CloseGraceExpired, 10 * time.Minute, true},
		{"R22/draining-on-its-sender-serves-it-before", open, &drainingHere, 10*time.Minute - 1, "", 0, false},
		{"R22/a-bot-that-left-its-sender-ended-it-then", open, &leftHere, 7 * time.Minute, lifecycle.CloseDeactivated, 4 * time.Minute, true},
		{"R22/a-bot-back-on-its-sender-does-not-revive-it", open, &backHere, 7 * time.Minute, lifecycle.CloseDeactivated, 4 * time.Minute, true},
		{"R22/the-sender's-own-end-wins-over-the-activation's", open, &leftAll, 7 * time.Minute, lifecycle.CloseDeactivated, 4 * time.Minute, true},
		{"R9/an-inactive-bot-ended-it-when-it-went-inactive", open, &inactive, 6 * time.Minute, lifecycle.CloseReplaced, 5 * time.Minute, true},
		{"R9/a-bot-without-recorded-ends-ended-it-when-it-went-inactive", open, &legacy, 6 * time.Minute, lifecycle.CloseReplaced, 5 * time.Minute, true},
		{"R9/an-earlier-activation's-own-end", open, &again, 4 * time.Minute, lifecycle.CloseGraceExpired, 2 * time.Minute, true},
		{"R9/an-activation-older-than-the-kept-ends-ended-by-the-oldest", open, &pruned, 4 * time.Minute, lifecycle.CloseReplaced, 3 * time.Minute, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reason, end, over := lifecycle.SessionEnd(&tt.s, tt.b, at(tt.now))
			if over != tt.over || reason != tt.reason || (over && !end.Equal(at(tt.end))) {
				t.Fatalf("SessionEnd = %s at %v, over %v; want %s at %v, over %v", reason, end.Sub(start), over, tt.reason, tt.end, tt.over)
			}
		})
	}
}
