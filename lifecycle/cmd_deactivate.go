package lifecycle

import "time"

// Deactivate takes an Active bot off its senders, at once or after a grace
// period (R7), and every other bot live on those senders with it (R8). With
// Senders it leaves only those and stays Active on the rest (R22).
type Deactivate struct {
	Bot BotID
	// Grace lets open sessions finish; zero closes them now.
	Grace time.Duration
	// Senders, if not empty, are the senders to leave, some of the bot's
	// own (R22); empty means every sender it is Active on.
	Senders []Sender
}

// op returns OpDeactivate.
func (Deactivate) op() Op { return OpDeactivate }

func (c Deactivate) reads() reads { return reads{bots: []BotID{c.Bot}, group: true} }

func (c Deactivate) decide(d *decider) error {
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	ev, deadline := EventDeactivate, time.Time{}
	if c.Grace != 0 {
		if err := checkDrainGrace(c.Grace, d.s.Policy.MaxGrace); err != nil {
			return err
		}
		ev, deadline = EventDrain, d.now.Add(c.Grace)
	}
	if _, err := d.can(b, ev); err != nil { // R7: the table allows it from Active only
		return err
	}
	targets, err := d.subset(b, c.Senders, func(s Sender) bool { return b.stateOn(s) == Active })
	if err != nil {
		return err
	}
	// R8: every other live bot on those senders goes Inactive now. (Another
	// Active one exists only in a broken store: R1 forbids it.)
	others := append(d.neighbours(b, targets, Deactivated), d.neighbours(b, targets, Active)...)
	if err := d.offAll(others, CloseDeactivated); err != nil {
		return err
	}
	if !deadline.IsZero() {
		d.entry.GraceDeadline = deadline
	}
	return d.shiftOp(b, targets, ev, CloseDeactivated, deadline)
}
