package lifecycle

// EndGrace ends a Deactivated bot's grace period now: it goes Inactive and
// its open sessions close as grace_ended.
type EndGrace struct{ Bot BotID }

// Op returns OpEndGrace.
func (EndGrace) Op() Op { return OpEndGrace }

func (c EndGrace) reads() reads { return reads{bots: []BotID{c.Bot}} }

func (c EndGrace) decide(d *decider) error {
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	s, err := d.can(b, EventEndDrain)
	if err != nil {
		return err
	}
	d.entry.GraceDeadline = b.GraceDeadline
	d.move(s, CloseGraceEnded, d.now)
	return nil
}
