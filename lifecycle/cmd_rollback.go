package lifecycle

import "time"

// Rollback undoes the activation of Bot, an Active bot (R20, R22): on the
// senders Bot is Active on now, it activates again the bot most recently
// Active there, on those senders only, replacing Bot as Decision says. It
// takes no other bot offline: a bot that now holds another of the
// target's senders keeps it. The target must be unchanged since it was
// last Active. It goes back only where it was the bot Active last before
// Bot: a sender of Bot's where another bot was Active after it, or where
// it never was, goes dark with Bot, as the plan's DarkSenders say (R14).
//
// Drains on those senders follow R6, as for any replacement: with Grace
// Bot drains there and, the newest drain winning, an earlier drain of
// another bot there ends now; with Immediate no drain starts and an
// earlier one keeps its deadline. A target that only drains ends its
// drains everywhere first (its open sessions close as replaced): the table
// has no Deactivated -> Active (S1), and a bot drains until its last drain
// ends (R22). A target still Active on other senders (R22) is the bot most
// recently Active on these if it left them last; it stays Active where it
// is, and a drain of its own on the senders it goes back to ends first,
// whatever the decision (the sender table has no drain -> Active).
//
// A bot edited since to drop the senders is still the bot most recently
// Active there (its departure rows keep when it left), and the rollback is
// refused naming it - as changed, or, when it was Active elsewhere since
// with that content, as no longer naming the senders: it never passes
// over it to an older bot.
type Rollback struct {
	Bot      BotID
	Decision Decision
	Ack      Ack
}

// op returns OpRollback.
func (Rollback) op() Op { return OpRollback }

func (c Rollback) reads() reads {
	return reads{bots: []BotID{c.Bot}, group: true, lastActive: true}
}

func (c Rollback) decide(d *decider) error {
	cur, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	if _, err := d.can(cur, c.Decision.replaceEvent()); err != nil {
		return err
	}
	if d.s.LastActive == "" {
		return &RollbackError{Bot: cur.ID}
	}
	t, err := d.bot(d.s.LastActive)
	if err != nil {
		return err
	}
	if changed := t.ChangedSinceActive(); len(changed) > 0 { // R20: content, not edits
		return &RollbackError{Bot: cur.ID, Target: t.ID, Changed: changed}
	}
	// Where it replaces cur (R22): the senders cur is Active on that t
	// names and was the bot Active last on before cur.
	on := d.lastOn(t, cur, intersect(cur.sendersIn(Active), t.Senders))
	// None: t left them, was edited since to drop them, and went Active
	// elsewhere, unchanged since then.
	if len(on) == 0 {
		return &RollbackError{Bot: cur.ID, Target: t.ID}
	}
	switch {
	case t.State == Deactivated: // S1: no Deactivated -> Active; it drains until its last drain ends
		if err := d.off(t, CloseReplaced); err != nil {
			return err
		}
	case t.State == Active: // R22: Active elsewhere; the sender table has no drain -> Active
		if here := intersect(t.sendersIn(Deactivated), on); len(here) > 0 {
			if err := d.shiftOp(t, here, EventEndDrain, CloseReplaced, time.Time{}); err != nil {
				return err
			}
		}
	}
	return d.activate(t, c.Decision, c.Ack, on)
}

// lastOn returns the senders of on where t is the bot Active last before
// cur (R20): t left Active there - a bot whose departures are recorded
// (Bot.Left) and has none there was never Active there - and no other
// bot of the snapshot left later (ties: the smaller id, as
// Store.SenderBots). The snapshot holds the bot Active last on each
// sender (ReadSnapshot). Elsewhere a rollback to t would put it where it
// never was, or over the bot that was there before cur; cur stays there.
func (d *decider) lastOn(t, cur *Bot, on []Sender) []Sender {
	var out []Sender
	for _, s := range on {
		at := leftOn(t, s)
		if at.IsZero() && t.Left != nil {
			continue
		}
		later := false
		for _, id := range d.order {
			x := d.bots[id]
			if id == t.ID || id == cur.ID || d.deleted[id] {
				continue
			}
			if xa := leftOn(x, s); !xa.IsZero() && (xa.After(at) || (xa.Equal(at) && id < t.ID)) {
				later = true
				break
			}
		}
		if !later {
			out = append(out, s)
		}
	}
	return out
}

// leftOn is when b last left Active on s as its store rows say
// (SenderRow.LeftActive, and the departure row of a sender it no longer
// names): zero if it never did, or is Active there.
func leftOn(b *Bot, s Sender) time.Time {
	if b.Left == nil && !b.hasSender(s) {
		return time.Time{} // stored before Left was kept: no departure row
	}
	return b.leftAt(s)
}
