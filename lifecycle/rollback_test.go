package lifecycle_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/google/go-cmp/cmp"
)

// R20, R22 (issue 23, defect 4): t is Active on 100 and 200; c takes 100,
// w takes 200. Rolling c back makes t Active again on 100 only: w keeps
// 200 and its open session there, and a message on 200 still goes to it.
func TestR20RollbackActsOnlyWhereTheCurrentBotIsActive(t *testing.T) {
	e := newEnv(t)
	tb := e.live("t", "100", "200")
	e.clk.Add(time.Minute)
	c := e.draft("c", "100")
	e.activate(c.ID, lifecycle.Immediate())
	w := e.draft("w", "200")
	e.activate(w.ID, lifecycle.Immediate())
	s, err := e.m.Route(e.ctx, sms("200"), "u1")
	if err != nil || s.Bot != w.ID {
		t.Fatalf("route on 200: %v, %v", s.Bot, err)
	}
	e.clk.Add(time.Minute)

	if _, err := e.m.Rollback(e.ctx, manager, c.ID, lifecycle.Immediate(), lifecycle.Ack{}); err != nil {
		t.Fatal(err)
	}
	on := func(id lifecycle.BotID) []lifecycle.Sender { return activeOn(e.get(id)) }
	if got := on(tb.ID); !cmp.Equal(got, []lifecycle.Sender{sms("100")}) {
		t.Errorf("R20: the target is Active on %v, want only 100, where the bot rolled back was", got)
	}
	if got := on(w.ID); !cmp.Equal(got, []lifecycle.Sender{sms("200")}) {
		t.Errorf("R20: w, which holds another of the target's senders, is Active on %v; it must keep 200", got)
	}
	if got := e.state(c.ID); got != lifecycle.Inactive {
		t.Errorf("R20: the bot rolled back is %v, want Inactive (Immediate)", got)
	}
	got, err := e.m.Session(e.ctx, s.ID)
	if err != nil || !got.Open() {
		t.Errorf("R20: w's session was closed by the rollback: %+v, %v", got, err)
	}
	if s2, err := e.m.Route(e.ctx, sms("200"), "u1"); err != nil || s2.ID != s.ID || s2.Bot != w.ID {
		t.Errorf("R20: the next message on 200 went to %v (session %v), %v; want w's open session", s2.Bot, s2.ID, err)
	}
}

// activeOn lists the senders b is Active on (R22).
func activeOn(b lifecycle.Bot) []lifecycle.Sender {
	var out []lifecycle.Sender
	for _, e := range b.Live {
		if e.State == lifecycle.Active {
			out = append(out, e.Sender)
		}
	}
	return out
}

// R20 (issue 23, defect 5): content is the definition, byte for byte, and
// the senders. The Inactive predecessor is renamed, its description and
// idle timeout changed, and its definition and senders edited and edited
// back: it is unchanged, and the rollback returns to it.
func TestR20ContentEditedBackIsUnchanged(t *testing.T) {
	e := newEnv(t)
	old := e.live("old", "100")
	e.clk.Add(time.Minute)
	cur := e.draft("cur", "100")
	e.activate(cur.ID, lifecycle.Immediate())
	edits := []lifecycle.Update{
		{Bot: old.ID, Name: ptr("old, renamed"), Description: ptr("a new description"), IdleTimeout: ptr(5 * time.Minute)},
		{Bot: old.ID, Definition: ptr(warnDef())},
		{Bot: old.ID, Senders: &[]lifecycle.Sender{sms("100"), sms("900")}},
		{Bot: old.ID, Definition: ptr(cleanDef())},
		{Bot: old.ID, Senders: &[]lifecycle.Sender{sms("100")}},
	}
	for _, u := range edits {
		e.must(e.m.Update(e.ctx, designer, u))
	}
	if _, err := e.m.Rollback(e.ctx, manager, cur.ID, lifecycle.Immediate(), lifecycle.Ack{}); err != nil {
		t.Fatalf("R20: edited back byte for byte, the predecessor is unchanged: %v", err)
	}
	if got := e.states(old.ID, cur.ID); !cmp.Equal(got, []lifecycle.State{lifecycle.Active, lifecycle.Inactive}) {
		t.Fatalf("R20: after the rollback old, cur are %v", got)
	}
}

// R20: a definition that differs by one byte is a change; the rollback is
// refused, names it, says to activate the bot explicitly, and changes
// nothing.
func TestR20ContentChangeRefusesTheRollback(t *testing.T) {
	e := newEnv(t)
	old := e.live("old", "100")
	e.clk.Add(time.Minute)
	cur := e.draft("cur", "100")
	e.activate(cur.ID, lifecycle.Immediate())
	def := cleanDef()
	def.Text += " "
	e.must(e.m.Update(e.ctx, designer, lifecycle.Update{Bot: old.ID, Definition: &def, Name: ptr("renamed")}))
	err := e.refused(lifecycle.ErrNoRollback, false, func() error {
		_, err := e.m.Rollback(e.ctx, manager, cur.ID, lifecycle.Immediate(), lifecycle.Ack{})
		return err
	})
	var re *lifecycle.RollbackError
	if !errors.As(err, &re) || re.Target != old.ID || !cmp.Equal(re.Changed, []string{"definition"}) || !errors.Is(err, lifecycle.ErrContentChanged) {
		t.Fatalf("R20: %v", err)
	}
	if got := e.get(old.ID).ChangedSinceActive(); !cmp.Equal(got, []string{"definition"}) {
		t.Fatalf("R20: ChangedSinceActive = %v", got)
	}
	if msg := err.Error(); !strings.Contains(msg, "definition of "+string(old.ID)+" changed") || !strings.Contains(msg, "activate it explicitly") {
		t.Fatalf("R20: the refusal must name the change and say to activate explicitly: %s", msg)
	}
}

// R20 with R22 (found by review): a rollback on a sender goes back to the
// bot most recently Active on that sender, not to the one that left Active
// last anywhere. A leaves 100 but stays Active on 200; C is Active on 100
// after it; A leaves 200 last. Rolling back D on 100 reactivates C.
func TestR20RollbackTargetIsMostRecentlyActiveOnTheSender(t *testing.T) {
	e := newEnv(t)
	a := e.live("a", "100", "200")
	e.clk.Add(time.Minute)
	e.must(e.m.Deactivate(e.ctx, manager, a.ID, 0, sms("100"))) // A leaves 100 only
	e.clk.Add(time.Minute)
	c := e.live("c", "100")
	e.clk.Add(time.Minute)
	e.must(e.m.Deactivate(e.ctx, manager, c.ID, 0)) // C was Active on 100 until now
	e.clk.Add(time.Minute)
	e.must(e.m.Deactivate(e.ctx, manager, a.ID, 0)) // A leaves 200
	e.clk.Add(time.Minute)
	d := e.live("d", "100")
	e.clk.Add(time.Minute)
	if _, err := e.m.Rollback(e.ctx, manager, d.ID, lifecycle.Immediate(), lifecycle.Ack{}); err != nil {
		t.Fatal(err)
	}
	if got := e.get(c.ID); lifecycle.StateOn(got, sms("100")) != lifecycle.Active {
		t.Errorf("R20: the rollback did not go back to c, the bot most recently Active on 100 (a is %v)", e.get(a.ID).State)
	}
	if got := e.get(a.ID); got.State != lifecycle.Inactive {
		t.Errorf("R20: a, which left 100 before c was Active there, is %v", got.State)
	}
}

// R20: a refused rollback is ErrContentChanged only when the target's
// content changed; a rollback with no target, or refused for another
// reason, is not.
func TestR20RollbackErrorIsContentChangedOnlyWhenChanged(t *testing.T) {
	for _, tc := range []struct {
		err  *lifecycle.RollbackError
		want bool
	}{
		{&lifecycle.RollbackError{Bot: "b2"}, false},
		{&lifecycle.RollbackError{Bot: "b2", Target: "b1"}, false},
		{&lifecycle.RollbackError{Bot: "b2", Target: "b1", Changed: []string{"definition"}}, true},
	} {
		if got := errors.Is(tc.err, lifecycle.ErrContentChanged); got != tc.want {
			t.Errorf("errors.Is(%v, ErrContentChanged) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// R20 with R22: the bot most recently Active on a sender may still be
// Active on another. u held 100; t replaced it there, then left 100 (with
// a grace period, so it still drains there) and stayed Active on 200; c
// took 100. Rolling c back goes back to t, the bot Active on 100 just
// before c - not to u, which left it earlier - with Immediate as with
// Grace: t's drain on 100 ends, it is Active there again and stays Active
// on 200.
func TestR20RollbackToABotStillActiveElsewhere(t *testing.T) {
	for _, dec := range []lifecycle.Decision{lifecycle.Immediate(), lifecycle.Grace(5 * time.Minute)} {
		t.Run(dec.String(), func(t *testing.T) {
			e := newEnv(t)
			u := e.live("u", "100")
			e.clk.Add(time.Minute)
			tb := e.live("t", "100", "200") // replaces u on 100
			e.clk.Add(time.Minute)
			e.must(e.m.Deactivate(e.ctx, manager, tb.ID, 10*time.Minute, sms("100")))
			e.clk.Add(time.Minute)
			c := e.live("c", "100")
			e.clk.Add(time.Minute)

			if _, err := e.m.Rollback(e.ctx, manager, c.ID, dec, lifecycle.Ack{}); err != nil {
				t.Fatalf("R20: rollback of c: %v", err)
			}
			got := e.get(tb.ID)
			if lifecycle.StateOn(got, sms("100")) != lifecycle.Active || lifecycle.StateOn(got, sms("200")) != lifecycle.Active {
				t.Errorf("R20: t, the bot Active on 100 before c, is %v there and %v on 200; want Active on both (live %v)",
					lifecycle.StateOn(got, sms("100")), lifecycle.StateOn(got, sms("200")), got.Live)
			}
			if st := e.state(u.ID); st != lifecycle.Inactive {
				t.Errorf("R20: u, which left 100 before t was Active there, is %v; want Inactive", st)
			}
			s, err := e.m.Route(e.ctx, sms("100"), "new-user")
			if err != nil || s.Bot != tb.ID {
				t.Errorf("a new session on 100 goes to %v (%v); want t", s.Bot, err)
			}
		})
	}
}
