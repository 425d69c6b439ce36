package lifecycle

// Delete removes a bot that was never activated (R12).
type Delete struct{ Bot BotID }

// op returns OpDelete.
func (Delete) op() Op { return OpDelete }

func (c Delete) reads() reads { return reads{bots: []BotID{c.Bot}} }

func (c Delete) decide(d *decider) error {
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	s, err := d.can(b, EventDelete) // R12: only a Draft, never activated, is deletable
	if err != nil {
		return err
	}
	d.move(s, "", d.now)
	return nil
}
