package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/google/go-cmp/cmp"
)

// senders lists sms senders.
func (h *harness) senders(addrs ...string) []lifecycle.Sender {
	out := make([]lifecycle.Sender, len(addrs))
	for i, a := range addrs {
		out[i] = h.sender(a)
	}
	return out
}

// ids lists the ids of bots.
func ids(bots []lifecycle.Bot) []lifecycle.BotID {
	out := []lifecycle.BotID{}
	for _, b := range bots {
		out = append(out, b.ID)
	}
	return out
}

// R22: R1 and R2 hold per sender. A bot that left one sender is not live
// there: another bot may go Active on it, and a plan putting the first
// back beside it is refused.
func testPerSenderInvariants(t *testing.T, h *harness) {
	a := h.active("100", "200")
	h.do(lifecycle.Deactivate{Bot: a.ID, Senders: h.senders("200")})
	got := h.bot(a.ID)
	if got.State != lifecycle.Active || len(got.Live) != 1 || got.Live[0].Sender != h.sender("100") {
		t.Fatalf("R22: after leaving 200, a is %v on %+v", got.State, got.Live)
	}
	for _, c := range []struct {
		on   string
		want []lifecycle.BotID
	}{{"100", []lifecycle.BotID{a.ID}}, {"200", nil}} {
		live, err := liveBots(h.ctx, h.st, h.ws, h.senders(c.on))
		if err != nil || !cmp.Equal(ids(live), append([]lifecycle.BotID{}, c.want...)) {
			t.Fatalf("R22: LiveBots(%s) = %v, %v; want %v", c.on, ids(live), err, c.want)
		}
	}
	b := h.active("200") // no decision needed: nobody is Active on 200
	if _, err := h.st.Route(h.ctx, h.ws, h.sender("200"), "u", h.now); err != nil {
		t.Fatal(err)
	}
	s, _ := h.st.Route(h.ctx, h.ws, h.sender("200"), "u", h.now)
	if s.Bot != b.ID {
		t.Fatalf("R10/R22: a message on 200 went to %s, want %s", s.Bot, b.ID)
	}
	// A plan putting a back on 200 beside b - a broken Decide.
	back := h.bot(a.ID)
	back.Activations++
	back.Live = append(back.Live, lifecycle.SenderState{Sender: h.sender("200"), State: lifecycle.Active, Activation: back.Activations})
	back.Revision++
	h.refused(lifecycle.Plan{Changes: []lifecycle.Change{{Bot: a.ID, From: lifecycle.Active, To: lifecycle.Active, Revision: back.Revision - 1, After: &back}}},
		"R1 per sender: a back on 200 beside b")
	// R2 per sender: a drains on 100 and b's drain on 200 does not collide.
	h.do(lifecycle.Deactivate{Bot: a.ID, Grace: time.Hour})
	h.do(lifecycle.Deactivate{Bot: b.ID, Grace: time.Hour})
	c := h.active("100", "200")
	d := h.create("100")
	// A plan draining d on 100 beside a - a broken Decide again.
	h.do(lifecycle.Activate{Bot: d.ID, Decision: lifecycle.Immediate()})
	if got := h.bot(c.ID); got.State != lifecycle.Inactive {
		t.Fatalf("R5: c replaced whole is %v", got.State)
	}
	drain := h.bot(d.ID)
	drain.State, drain.Revision, drain.GraceDeadline = lifecycle.Deactivated, drain.Revision+1, h.now.Add(time.Hour)
	drain.Live[0].State, drain.Live[0].GraceDeadline = lifecycle.Deactivated, drain.GraceDeadline
	h.refused(lifecycle.Plan{Changes: []lifecycle.Change{{Bot: d.ID, From: lifecycle.Active, To: lifecycle.Deactivated, Revision: drain.Revision - 1, After: &drain}}},
		"R2 per sender: d draining on 100 beside a")
}

// R22, R9: a session on a sender its bot drains on ends at that sender's
// deadline; sessions on its other senders go on; a sender the bot comes
// back to does not revive the sessions it had there.
func testSessionsPerSender(t *testing.T, h *harness) {
	a := h.active("100", "200")
	on100, _ := h.st.Route(h.ctx, h.ws, h.sender("100"), "u", h.now)
	on200, _ := h.st.Route(h.ctx, h.ws, h.sender("200"), "u", h.now)
	h.do(lifecycle.Deactivate{Bot: a.ID, Senders: h.senders("200"), Grace: 10 * time.Minute})
	if s, _ := h.st.Route(h.ctx, h.ws, h.sender("200"), "u", h.now.Add(5*time.Minute)); s.ID != on200.ID {
		t.Fatalf("R22: before the deadline the draining sender keeps its session: %+v", s)
	}
	deadline := h.now.Add(10 * time.Minute)
	if _, err := h.st.Route(h.ctx, h.ws, h.sender("200"), "u", deadline); !errors.Is(err, lifecycle.ErrNoBot) {
		t.Fatalf("R22: at the deadline, nobody is Active on 200: %v", err)
	}
	if s, _ := session(h.ctx, h.st, h.ws, on200.ID); s.CloseReason != lifecycle.CloseGraceExpired || !s.ClosedAt.Equal(deadline) {
		t.Fatalf("R9/R22: the session on 200 = %v at %v, want grace_expired at the deadline", s.CloseReason, s.ClosedAt)
	}
	if s, _ := h.st.Route(h.ctx, h.ws, h.sender("100"), "u", deadline); s.ID != on100.ID {
		t.Fatalf("R22: the session on 100 goes on: %+v", s)
	}
	due, _ := dueDrains(h.ctx, h.st, h.ws, deadline, 10)
	if len(due) != 1 || due[0].ID != a.ID || due[0].State != lifecycle.Active {
		t.Fatalf("R22: DueDrains at the deadline = %+v, want the Active bot a with its due drain", due)
	}
	h.now = deadline
	if x := h.expireDue(); len(x.DrainsEnded) != 1 || x.DrainsEnded[0] != a.ID {
		t.Fatalf("R9/R22: ExpireDue at the deadline ended %v, want a's drain", x.DrainsEnded)
	}
	if due, _ := dueDrains(h.ctx, h.st, h.ws, deadline, 10); len(due) != 0 {
		t.Fatalf("DueDrains after the drain ended: %+v", due)
	}
	// Off 100 without grace, then back on it: a new activation there.
	h.do(lifecycle.Deactivate{Bot: a.ID})
	h.do(lifecycle.Activate{Bot: a.ID, Senders: h.senders("100")})
	s, err := h.st.Route(h.ctx, h.ws, h.sender("100"), "u", h.now)
	if err != nil || s.ID == on100.ID || s.Activation != h.bot(a.ID).Activations {
		t.Fatalf("R22: back on 100, the old session came back: %+v, %v", s, err)
	}
	if old, _ := session(h.ctx, h.st, h.ws, on100.ID); old.CloseReason != lifecycle.CloseDeactivated {
		t.Fatalf("R9: the session of the earlier activation = %+v", old)
	}
}
