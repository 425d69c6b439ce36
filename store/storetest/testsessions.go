package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// testManager returns a Manager on the harness's store with a cap of max
// test sessions per bot, its mock clock at 09:00, and a Designer.
func testManager(t *testing.T, h *harness, max int) (*lifecycle.Manager, *clock.Mock, lifecycle.Actor) {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	m := h.manager(lifecycle.Config{Clock: clk, Policy: lifecycle.Policy{MaxTestSessions: max}})
	for _, u := range []string{"dan", "dora"} {
		if _, err := m.GrantRole(h.ctx, lifecycle.System("storetest"), u, roles.Designer); err != nil {
			t.Fatal(err)
		}
	}
	return m, clk, lifecycle.User("dan")
}

// testTestSessions is R26 on a store: a test session on a Draft routes,
// reads, survives a rename, and is over with content_changed at the edit
// of its definition - read before a sweep and recorded by one alike - and
// an idle one ends at its idle deadline; no store rule changes for it.
func testTestSessions(t *testing.T, h *harness) {
	m, clk, dan := testManager(t, h, 0)
	b, err := m.Create(h.ctx, dan, lifecycle.Create{Name: "d", Channel: "sms", Senders: []lifecycle.Sender{h.sender("100")}, Definition: definition(), IdleTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	pinned, err := m.OpenTestSession(h.ctx, dan, b.ID)
	must(t, err)
	idle, err := m.OpenTestSession(h.ctx, dan, b.ID)
	must(t, err)
	clk.Add(time.Minute)
	_, err = m.SendTest(h.ctx, dan, pinned.ID)
	must(t, err)
	name := "renamed"
	_, err = m.Update(h.ctx, dan, lifecycle.Update{Bot: b.ID, Name: &name})
	must(t, err)
	clk.Add(59 * time.Minute) // idle's deadline: 10:00
	_, err = m.SendTest(h.ctx, dan, pinned.ID)
	must(t, err)
	clk.Add(time.Minute)
	edit := clk.Now()
	def := reference(referenceDef())
	def.Text += " "
	_, err = m.Update(h.ctx, dan, lifecycle.Update{Bot: b.ID, Definition: &def})
	must(t, err)
	clk.Add(time.Minute)
	for _, sweep := range []bool{false, true} {
		if sweep {
			if _, err := m.ExpireDue(h.ctx); err != nil {
				t.Fatal(err)
			}
		}
		for _, c := range []struct {
			id     lifecycle.TestSessionID
			reason lifecycle.CloseReason
			at     time.Time
		}{{pinned.ID, lifecycle.CloseContentChanged, edit}, {idle.ID, lifecycle.CloseIdleTimeout, idle.OpenedAt.Add(time.Hour)}} {
			got, err := m.TestSession(h.ctx, dan, c.id)
			if err != nil || got.CloseReason != c.reason || !got.ClosedAt.Equal(c.at) {
				t.Errorf("R26 (sweep %v): %s reads %+v, %v; want %s at %v", sweep, c.id, got, err, c.reason, c.at)
			}
		}
	}
	if _, err := m.SendTest(h.ctx, dan, pinned.ID); !errors.Is(err, lifecycle.ErrSessionOver) {
		t.Errorf("R26: a message on a test session over: %v, want ErrSessionOver", err)
	}
	if _, err := m.SendTest(h.ctx, lifecycle.User("dora"), pinned.ID); !errors.Is(err, lifecycle.ErrNotFound) {
		t.Errorf("R26: another tester's message: %v, want ErrNotFound", err)
	}
}

// testTestSessionCap is R26's cap under concurrency: 12 testers open at
// once on a bot with a cap of 5; the store never holds more than 5 open,
// and once the dust settles exactly 5 are open.
func testTestSessionCap(t *testing.T, h *harness) {
	m, _, dan := testManager(t, h, 5)
	b, err := m.Create(h.ctx, dan, lifecycle.Create{Name: "d", Channel: "sms", Definition: definition()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	opened := 0
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.OpenTestSession(h.ctx, dan, b.ID)
			switch {
			case err == nil:
				mu.Lock()
				opened++
				mu.Unlock()
			case !errors.Is(err, lifecycle.ErrTestSessionLimit) && !errors.Is(err, lifecycle.ErrConflict):
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	for opened < 6 {
		if _, err := m.OpenTestSession(h.ctx, dan, b.ID); errors.Is(err, lifecycle.ErrTestSessionLimit) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		opened++
	}
	open := 0
	ss, err := h.st.Sessions(h.ctx, h.ws, 0, 100)
	must(t, err)
	for _, s := range ss {
		if s.Sender.IsTest() && s.Open() {
			open++
		}
	}
	if opened != 5 || open != 5 {
		t.Fatalf("R26: %d test sessions opened, %d recorded open; want exactly the cap, 5", opened, open)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// testTestSessionOfRecreatedBot: a Draft with an open test session is
// deleted and a bot with the same id is created, a minute later or at the
// same instant; its first test session has the same slot and number as the
// old one's, yet the old session is over (content_changed, R26) - never
// continued on the new bot's content - and the new one opens fresh, in
// every store: each keeps the Bot.Incarnation that tells the two apart.
func testTestSessionOfRecreatedBot(t *testing.T, h *harness) {
	m, clk, dan := testManager(t, h, 0)
	for _, wait := range []time.Duration{time.Minute, 0} {
		id := lifecycle.BotID(fmt.Sprintf("same-%d", wait))
		create := lifecycle.Create{ID: id, Name: "d", Channel: "sms", Senders: []lifecycle.Sender{h.sender("100")}, Definition: definition(), IdleTimeout: time.Hour}
		_, err := m.Create(h.ctx, dan, create)
		must(t, err)
		old, err := m.OpenTestSession(h.ctx, dan, id)
		must(t, err)
		clk.Add(wait)
		must(t, m.Delete(h.ctx, dan, id))
		clk.Add(wait)
		_, err = m.Create(h.ctx, dan, create)
		must(t, err)
		fresh, err := m.OpenTestSession(h.ctx, dan, id)
		if err != nil || fresh.ID == old.ID || fresh.Messages != 0 || !fresh.OpenedAt.Equal(clk.Now()) {
			t.Fatalf("R26: a test session on the bot recreated after %v: %+v, %v; want a new one opened now", wait, fresh, err)
		}
		clk.Add(time.Minute)
		if _, err := m.SendTest(h.ctx, dan, old.ID); !errors.Is(err, lifecycle.ErrSessionOver) {
			t.Fatalf("R26: a message on the deleted bot's test session (recreated after %v): %v; want ErrSessionOver", wait, err)
		}
		if got, err := m.SendTest(h.ctx, dan, fresh.ID); err != nil || got.Messages != 1 {
			t.Fatalf("R26: a message on the new test session (recreated after %v): %+v, %v", wait, got, err)
		}
	}
}
