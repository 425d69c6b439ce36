package lifecycle

import "time"

// EndGrace ends a bot's drains now, on every sender it drains on: their
// open sessions close as grace_ended, and a bot that only drained goes
// Inactive.
type EndGrace struct{ Bot BotID }

// op returns OpEndGrace.
func (EndGrace) op() Op { return OpEndGrace }

func (c EndGrace) reads() reads { return reads{bots: []BotID{c.Bot}} }

func (c EndGrace) decide(d *decider) error {
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	draining := b.sendersIn(Deactivated)
	if len(draining) == 0 {
		if _, err := d.can(b, EventEndDrain); err != nil {
			return err
		}
	}
	d.entry.GraceDeadline = b.GraceDeadline
	return d.shiftOp(b, draining, EventEndDrain, CloseGraceEnded, time.Time{})
}
