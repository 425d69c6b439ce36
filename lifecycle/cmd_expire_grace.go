package lifecycle

import "time"

// ExpireGrace records that a Deactivated bot's grace deadline has passed
// (R9). ExpireDue issues it as the system; Decide settles every due drain
// in a snapshot anyway, so this command only insists that Bot is one.
type ExpireGrace struct{ Bot BotID }

// Op returns OpExpireGrace.
func (ExpireGrace) Op() Op { return OpExpireGrace }

func (c ExpireGrace) reads() reads { return reads{bots: []BotID{c.Bot}} }

func (c ExpireGrace) decide(d *decider) error {
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
