package lifecycle

import "time"

// Deactivate takes an Active bot offline, at once or after a grace period
// (R7), and every other bot on its senders with it (R8).
type Deactivate struct {
	Bot BotID
	// Grace lets open sessions finish; zero closes them now.
	Grace time.Duration
}

// Op returns OpDeactivate.
func (Deactivate) Op() Op { return OpDeactivate }

func (c Deactivate) reads() reads { return reads{bots: []BotID{c.Bot}, group: true} }

func (c Deactivate) decide(d *decider) error {
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	ev := EventDeactivate
	if c.Grace != 0 {
		if err := checkGrace(c.Grace, d.s.Policy.MaxGrace); err != nil {
			return err
		}
		ev = EventDrain
	}
	s, err := d.can(b, ev) // R7: the table allows it from Active only
	if err != nil {
		return err
	}
	// R8: every other live bot on its senders goes Inactive now. (Another
	// Active one exists only in a broken store: R1 forbids it.)
	if err := d.moveAll(d.neighbours(b, Deactivated), EventEndDrain, CloseDeactivated); err != nil {
		return err
	}
	if err := d.moveAll(d.neighbours(b, Active), EventDeactivate, CloseDeactivated); err != nil {
		return err
	}
	if c.Grace == 0 {
		d.move(s, CloseDeactivated, d.now)
		return nil
	}
	d.move(s, "", d.now)
	b.GraceDeadline = d.now.Add(c.Grace)
	d.entry.GraceDeadline = b.GraceDeadline
	return nil
}
