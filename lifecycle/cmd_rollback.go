package lifecycle

import "time"

// Rollback undoes the activation of Bot, an Active bot (R20, R22): on the
// senders Bot is Active on now, it activates again the bot most recently
// Active there, on those senders only, replacing Bot as Decision says. It
// takes no other bot offline: a bot that now holds another of the
// target's senders keeps it. The target must be unchanged since it was
// last Active.
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
	on := intersect(cur.sendersIn(Active), t.Senders) // where it replaces cur (R22)
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
