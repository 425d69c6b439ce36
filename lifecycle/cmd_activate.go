package lifecycle

import (
	"slices"
	"time"
)

// Activate makes a bot Active (R4, R5, R6, R14): a Draft or Inactive bot on
// its senders, or an Active bot on senders it is off (R22).
type Activate struct {
	Bot BotID
	// Decision says what happens to bots already Active on the senders.
	Decision Decision
	// Ack acknowledges validation warnings.
	Ack Ack
	// Senders, if not empty, are the senders to activate the bot on, some
	// of its own (R22); empty means every sender it is not live on.
	Senders []Sender
}

// op returns OpActivate.
func (Activate) op() Op { return OpActivate }

func (c Activate) reads() reads { return reads{bots: []BotID{c.Bot}, group: true} }

func (c Activate) decide(d *decider) error {
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	return d.activate(b, c.Decision, c.Ack, c.Senders)
}

// activate makes b Active on senders (all it is off on, if none are
// named): the tables allow it (S1, R22), it has senders (R18), its
// definition validates (R4), and the bots Active on those senders are
// replaced as dec says (R5, R6), the senders they leave dark reported
// (R14). Activate and Rollback both go live through it.
func (d *decider) activate(b *Bot, dec Decision, ack Ack, senders []Sender) error {
	targets, err := d.subset(b, senders, func(s Sender) bool { return b.stateOn(s) == Inactive })
	if err != nil {
		return err
	}
	if b.State != Active || len(targets) == 0 { // an Active bot may go live where it is off (R22)
		if _, err := d.can(b, EventActivate); err != nil {
			return err
		}
	}
	if len(b.Senders) == 0 {
		return &InputError{Field: "senders", Value: "[]", Problem: "are empty: bot " + string(b.ID) + " has none; add at least one sender before activating it (R18)"}
	}
	if dec.isGrace() {
		if err := checkGrace(dec.grace, d.s.Policy.MaxGrace); err != nil {
			return err
		}
	}
	if err := d.validate(b, ack); err != nil {
		return err
	}
	occupants := d.neighbours(b, targets, Active)
	if len(occupants) > 0 && dec.IsZero() {
		return d.occupied(b, targets, occupants)
	}
	for _, o := range occupants {
		for _, sn := range o.sendersIn(Active) { // R14
			if !slices.Contains(targets, sn) {
				d.plan.DarkSenders = append(d.plan.DarkSenders, sn)
			}
		}
		if err := d.replace(o, dec); err != nil {
			return err
		}
	}
	return d.shiftOp(b, targets, EventActivate, "", d.now)
}

// subset returns the senders an operation on b names, checked to be b's
// own (R22), or when none are named the senders of b that pass dflt.
func (d *decider) subset(b *Bot, named []Sender, dflt func(Sender) bool) ([]Sender, error) {
	if len(named) == 0 {
		var out []Sender
		for _, s := range b.Senders {
			if dflt(s) {
				out = append(out, s)
			}
		}
		return out, nil
	}
	out, err := normalizeSenders(b.Channel, named)
	if err != nil {
		return nil, err
	}
	for _, s := range out {
		if !b.hasSender(s) {
			return nil, &InputError{Field: "sender", Value: shown(s.String()), Problem: "is not one of the bot's senders; name senders from its settings, or leave them out for all"}
		}
	}
	return out, nil
}

// replace takes the Active bot o off its senders as dec says (R5):
// Immediate ends it now everywhere; Grace drains it where it is Active,
// first ending any other bot's drain on those senders (R6, per sender: the
// newest drain wins there; that bot's drains and service elsewhere go on).
func (d *decider) replace(o *Bot, dec Decision) error {
	if _, err := d.can(o, dec.replaceEvent()); err != nil {
		return err
	}
	if !dec.isGrace() {
		return d.off(o, CloseReplaced)
	}
	active := o.sendersIn(Active)
	for _, x := range d.neighbours(o, active, Deactivated) {
		if err := d.shiftOp(x, intersect(x.sendersIn(Deactivated), active), EventEndDrain, CloseReplaced, time.Time{}); err != nil {
			return err
		}
	}
	deadline := d.now.Add(dec.grace)
	d.entry.GraceDeadline = deadline
	return d.shiftOp(o, active, EventDrain, "", deadline)
}

// intersect returns the senders of a that are in b, in a's order.
func intersect(a, b []Sender) []Sender {
	var out []Sender
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

// occupied is the refusal of R5: each occupant on each wanted sender.
func (d *decider) occupied(b *Bot, targets []Sender, occupants []*Bot) error {
	e := &OccupiedError{Op: d.op, Bot: b.ID}
	for _, o := range occupants {
		for _, sn := range targets {
			if o.stateOn(sn) == Active {
				e.Occupants = append(e.Occupants, Occupant{Sender: sn, Bot: o.ID, Name: o.Name})
			}
		}
	}
	return e
}
