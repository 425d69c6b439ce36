package lifecycle_test

import (
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// R9: Analytics counts a session its bot no longer serves as closed, with
// its end reason, before any sweep records it - as Session reads it - also
// when the bot has since gone live again on the sender (R22: a newer
// activation there).
func TestR9AnalyticsCountsAnEarlierActivationsSessionsClosed(t *testing.T) {
	e := newEnv(t)
	b := e.live("b", "100")
	e.must(e.m.Route(e.ctx, sms("100"), "u1")) // activation 1
	e.clk.Add(time.Minute)
	e.must(e.m.Deactivate(e.ctx, manager, b.ID, 0))
	e.clk.Add(time.Minute)
	e.activate(b.ID, lifecycle.Immediate())
	e.must(e.m.Route(e.ctx, sms("100"), "u2")) // activation 2
	s1, err := e.m.Session(e.ctx, 1)
	if err != nil || s1.Open() || s1.CloseReason != lifecycle.CloseDeactivated {
		t.Fatalf("session 1 reads %+v, %v; want closed, deactivated", s1, err)
	}
	a, err := e.m.Analytics(e.ctx, manager)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.BySender) != 1 || a.BySender[0].Open != 1 || a.BySender[0].Closed[lifecycle.CloseDeactivated] != 1 {
		t.Errorf("R9: Analytics by sender = %+v; want 1 open (u2) and 1 closed as deactivated (u1), as Session reads them", a.BySender)
	}
}
