package lifecycle_test

import (
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/google/go-cmp/cmp"
)

// R22 through the Manager's own methods: Activate and Deactivate name
// senders without building a command by hand.
func TestR22ManagerMethodsNameSenders(t *testing.T) {
	e := newEnv(t)
	b := e.draft("b", "100", "200")
	e.must(e.m.Activate(e.ctx, manager, b.ID, lifecycle.Decision{}, lifecycle.Ack{}, sms("100")))
	got := e.get(b.ID)
	if lifecycle.StateOn(got, sms("100")) != lifecycle.Active || lifecycle.StateOn(got, sms("200")) != lifecycle.Inactive {
		t.Fatalf("R22: activated on 100 only, live %+v", got.Live)
	}
	e.must(e.m.Activate(e.ctx, manager, b.ID, lifecycle.Decision{}, lifecycle.Ack{}, sms("200")))
	e.must(e.m.Deactivate(e.ctx, manager, b.ID, time.Minute, sms("200")))
	got = e.get(b.ID)
	if got.State != lifecycle.Active || lifecycle.StateOn(got, sms("100")) != lifecycle.Active || lifecycle.StateOn(got, sms("200")) != lifecycle.Deactivated {
		t.Fatalf("R22: left 200 with grace, stays Active on 100: %v %+v", got.State, got.Live)
	}
}

// R1/R2/R9: Get sees a bot as it is at an instant - a drain past its
// deadline is over there even before a sweep - where the stored bot's
// StateOn reads it as stored. The cases run in time order on the clock.
func TestR9GetSeesDeadlines(t *testing.T) {
	e := newEnv(t)
	b := e.live("b", "100", "200")
	e.must(e.m.Deactivate(e.ctx, manager, b.ID, time.Minute, sms("200")))
	stored := e.storedBot(b.ID)
	at := e.clk.Now()
	for _, tc := range []struct {
		name   string
		sender lifecycle.Sender
		now    time.Time
		want   lifecycle.State
	}{
		{"R22/off", sms("300"), at, lifecycle.Inactive},
		{"R9/draining-before-the-deadline", sms("200"), at.Add(time.Minute - 1), lifecycle.Deactivated},
		{"R9/over-at-the-deadline", sms("200"), at.Add(time.Minute), lifecycle.Inactive},
		{"R22/active", sms("100"), at.Add(time.Hour), lifecycle.Active},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.clk.Set(tc.now)
			got, err := e.m.Get(e.ctx, manager, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			if st := lifecycle.StateOn(got, tc.sender); st != tc.want {
				t.Errorf("Get at +%v: StateOn(%v) = %v, want %v", tc.now.Sub(at), tc.sender, st, tc.want)
			}
		})
	}
	if lifecycle.StateOn(stored, sms("200")) != lifecycle.Deactivated {
		t.Errorf("StateOn reads the bot as stored: %v", lifecycle.StateOn(stored, sms("200")))
	}
}

// R24: Backlog reads what the log holds after a sequence number, in order,
// and ends once caught up instead of waiting as Watch does.
func TestR24BacklogEndsWhenCaughtUp(t *testing.T) {
	e := newEnv(t)
	e.live("b", "100")
	want := e.audit()
	var got []lifecycle.AuditEntry
	for entry, err := range e.m.Backlog(e.ctx, admin, 2) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, entry)
	}
	if diff := cmp.Diff(want[2:], got); diff != "" {
		t.Errorf("R24: Backlog after 2 (-log +got):\n%s", diff)
	}
	denied := false
	for _, err := range e.m.Backlog(e.ctx, stranger, 0) {
		if err == nil {
			t.Fatal("P1: Backlog yields entries to a stranger")
		}
		denied = true
	}
	if !denied {
		t.Fatal("P1: Backlog refused a stranger without saying so")
	}
}
