package lifecycle_test

import (
	"errors"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// R22: Plan.Check, which every store runs before applying a plan, refuses
// a bot whose per-sender states do not fit the rest of it, so that no store
// ever holds one - however the plan was built.
func TestR22PlanCheckRefusesInconsistentBots(t *testing.T) {
	deadline := start.Add(time.Hour)
	good := func() lifecycle.Bot {
		return lifecycle.Bot{ID: "b", Name: "b", Channel: "sms", Senders: []lifecycle.Sender{sms("100"), sms("200")},
			State: lifecycle.Active, Revision: 2, Activations: 1, GraceDeadline: deadline,
			Live: []lifecycle.SenderState{{Sender: sms("100"), State: lifecycle.Active, Activation: 1},
				{Sender: sms("200"), State: lifecycle.Deactivated, Activation: 1, GraceDeadline: deadline}}}
	}
	tests := []struct {
		name   string
		mutate func(b *lifecycle.Bot)
	}{
		{"R22/consistent", nil},
		{"R22/a-sender-twice", func(b *lifecycle.Bot) { b.Live[1].Sender = b.Live[0].Sender }},
		{"R22/senders-out-of-order", func(b *lifecycle.Bot) { b.Live[0], b.Live[1] = b.Live[1], b.Live[0] }},
		{"R22/a-sender-not-its-own", func(b *lifecycle.Bot) { b.Live[1].Sender = sms("999") }},
		{"R22/a-drain-without-a-deadline", func(b *lifecycle.Bot) { b.Live[1].GraceDeadline = time.Time{} }},
		{"R22/active-with-a-deadline", func(b *lifecycle.Bot) { b.Live[0].GraceDeadline = deadline }},
		{"R22/off-is-not-a-sender-state", func(b *lifecycle.Bot) { b.Live[0].State = lifecycle.Inactive }},
		{"R22/its-state-is-not-the-one-its-senders-imply", func(b *lifecycle.Bot) { b.State = lifecycle.Deactivated }},
		{"R22/live-without-senders", func(b *lifecycle.Bot) { b.Live, b.GraceDeadline = nil, time.Time{} }},
		{"R22/a-grace-deadline-that-is-not-the-earliest-drain", func(b *lifecycle.Bot) { b.GraceDeadline = deadline.Add(time.Minute) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := good()
			if tt.mutate != nil {
				tt.mutate(&b)
			}
			p := lifecycle.Plan{Changes: []lifecycle.Change{{Bot: b.ID, From: lifecycle.Active, To: b.State, Revision: 1, After: &b}}}
			err := p.Check()
			if ok := tt.mutate == nil; ok != (err == nil) || (err != nil && !errors.Is(err, lifecycle.ErrInvalidInput)) {
				t.Fatalf("Check() = %v", err)
			}
		})
	}
}
