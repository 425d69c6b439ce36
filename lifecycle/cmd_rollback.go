package lifecycle

import "slices"

// Rollback activates again the bot most recently Active on the senders of
// Bot (an Active bot), replacing Bot as Decision says (R20). The target must
// be unchanged since it was last Active. A target still draining ends its
// drain first (its open sessions close as replaced), since the table has no
// Deactivated -> Active.
type Rollback struct {
	Bot      BotID
	Decision Decision
	Ack      Ack
}

// Op returns OpRollback.
func (Rollback) Op() Op { return OpRollback }

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
	if !slices.ContainsFunc(cur.sendersIn(Active), t.HasSender) { // it must replace cur (R22)
		return &RollbackError{Bot: cur.ID}
	}
	if len(t.Edited) > 0 { // R20
		return &RollbackError{Bot: cur.ID, Target: t.ID, Changed: t.Edited}
	}
	if t.State == Deactivated {
		if err := d.off(t, CloseReplaced); err != nil {
			return err
		}
	}
	return d.activate(t, c.Decision, c.Ack, nil)
}
