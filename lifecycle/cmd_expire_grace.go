package lifecycle

import "time"

// expireGrace records that a Deactivated bot's grace deadline has passed
// (R9). ExpireDue issues it as the system; Decide settles every due drain
// in a snapshot anyway, so this command only insists that Bot is one.
type expireGrace struct{ Bot BotID }

// op returns OpExpireGrace.
func (expireGrace) op() Op { return OpExpireGrace }

func (c expireGrace) reads() reads { return reads{bots: []BotID{c.Bot}} }

func (c expireGrace) decide(d *decider) error {
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	if d.settled[b.ID] {
		return nil // settled on the way, with its own audit entry
	}
	if len(b.sendersIn(Deactivated)) == 0 {
		if _, err := d.can(b, EventEndDrain); err != nil {
			return err
		}
	}
	return &InputError{Field: "grace deadline", Value: b.GraceDeadline.Format(time.RFC3339Nano), Problem: "has not passed yet; end the grace early with EndGrace"}
}
