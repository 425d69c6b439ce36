package storetest

import (
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// endsManager returns a Manager on the harness's store, its mock clock at
// 09:00, and a Manager user to act as.
func endsManager(t *testing.T, h *harness) (*lifecycle.Manager, *clock.Mock, lifecycle.Actor) {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	n := 0
	m := h.manager(lifecycle.Config{Clock: clk, NewID: func(lifecycle.Workspace) lifecycle.BotID {
		n++
		return lifecycle.BotID("ends-" + string(rune('a'+n-1)))
	}})
	if _, err := m.GrantRole(h.ctx, lifecycle.System("storetest"), "mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
	return m, clk, lifecycle.User("mia")
}

// testEndAfterManyActivations is issue 23's third defect (R9): a session
// opened at 09:00 on a bot deactivated at 09:01, then activated and
// deactivated 20 more times, two minutes apart, with no sweep in between.
// Its end is that of its own activation - 09:01, deactivated - read before
// a sweep and recorded by one, and the same as when a sweep ran right after
// 09:01. Before, Bot.Ends kept the last 16 ends only, and the session read
// closed at 09:11.
func testEndAfterManyActivations(sweepEarly bool) func(t *testing.T, h *harness) {
	return func(t *testing.T, h *harness) {
		m, clk, mia := endsManager(t, h)
		b, err := m.Create(h.ctx, mia, lifecycle.Create{Name: "support", Channel: "sms", Senders: []lifecycle.Sender{h.sender("100")}, Definition: definition(), IdleTimeout: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Activate(h.ctx, mia, b.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
			t.Fatal(err)
		}
		s, err := m.Route(h.ctx, h.sender("100"), "u1")
		if err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Minute)
		ended := clk.Now() // 09:01
		if _, err := m.Deactivate(h.ctx, mia, b.ID, 0); err != nil {
			t.Fatal(err)
		}
		if sweepEarly {
			if _, err := m.ExpireDue(h.ctx); err != nil {
				t.Fatal(err)
			}
		}
		for i := 0; i < 20; i++ {
			clk.Add(time.Minute)
			if _, err := m.Activate(h.ctx, mia, b.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Minute)
			if _, err := m.Deactivate(h.ctx, mia, b.ID, 0); err != nil {
				t.Fatal(err)
			}
		}
		check := func(when string) {
			t.Helper()
			got, err := m.Session(h.ctx, s.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.CloseReason != lifecycle.CloseDeactivated || !got.ClosedAt.Equal(ended) {
				t.Errorf("R9: %s, the session reads closed %s at %s; want deactivated at %s, its own activation's end",
					when, got.CloseReason, got.ClosedAt.Format("15:04"), ended.Format("15:04"))
			}
		}
		check("after 21 deactivations")
		if _, err := m.ExpireDue(h.ctx); err != nil {
			t.Fatal(err)
		}
		if got, err := session(h.ctx, h.st, h.ws, s.ID); err != nil || got.Open() {
			t.Fatalf("R9: the sweep left the session %+v, %v", got, err)
		}
		check("recorded by the sweep")
	}
}

// testEndsBounded: R9 keeps an activation's end only while a session
// recorded open may need it, so Bot.Ends follows the open sessions, not the
// bot's history. 250 activate and deactivate cycles (the old cap was 16
// ends), each with a session that is closed before the bot leaves, leave a
// small constant number of ends - even with one session of the first
// activation left open all along (no sweep), whose end stays exact.
func testEndsBounded(t *testing.T, h *harness) {
	const endsCycles = 250
	m, clk, mia := endsManager(t, h)
	b, err := m.Create(h.ctx, mia, lifecycle.Create{Name: "support", Channel: "sms", Senders: []lifecycle.Sender{h.sender("100")}, Definition: definition(), IdleTimeout: 7 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Activate(h.ctx, mia, b.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		t.Fatal(err)
	}
	stuck, err := m.Route(h.ctx, h.sender("100"), "stuck")
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Second)
	ended := clk.Now()
	if _, err := m.Deactivate(h.ctx, mia, b.ID, 0); err != nil {
		t.Fatal(err)
	}
	most := endsCycle(t, h, m, clk, mia, b.ID, endsCycles)
	// The stuck session's activation, and the one that just ended.
	if most > 2 {
		t.Errorf("R9: Bot.Ends held up to %d ends over %d cycles with one session left open; want at most 2", most, endsCycles)
	}
	got, err := m.Session(h.ctx, stuck.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.CloseReason != lifecycle.CloseDeactivated || !got.ClosedAt.Equal(ended) {
		t.Errorf("R9: the session left open reads closed %s at %v; want deactivated at %v", got.CloseReason, got.ClosedAt, ended)
	}
	// Once it is recorded closed, nothing needs the ends any more.
	if _, err := m.ExpireDue(h.ctx); err != nil {
		t.Fatal(err)
	}
	endsCycle(t, h, m, clk, mia, b.ID, 2)
	if n := len(h.bot(b.ID).Ends); n > 1 {
		t.Errorf("R9: with no session open, Bot.Ends holds %d ends; want at most 1 (the last)", n)
	}
}

// endsCycle activates bot, routes a session to it and closes it, and
// deactivates it, cycles times, and returns the most ends the bot held
// after a cycle.
func endsCycle(t *testing.T, h *harness, m *lifecycle.Manager, clk *clock.Mock, actor lifecycle.Actor, bot lifecycle.BotID, cycles int) int {
	most := 0
	for i := 0; i < cycles; i++ {
		clk.Add(time.Second)
		if _, err := m.Activate(h.ctx, actor, bot, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
			t.Fatal(err)
		}
		s, err := m.Route(h.ctx, h.sender("100"), "u1")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.CloseSession(h.ctx, s.ID); err != nil {
			t.Fatal(err)
		}
		clk.Add(time.Second)
		if _, err := m.Deactivate(h.ctx, actor, bot, 0); err != nil {
			t.Fatal(err)
		}
		most = max(most, len(h.bot(bot).Ends))
	}
	return most
}
