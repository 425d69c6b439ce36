package lifecycle

// Activate makes a Draft or Inactive bot Active (R4, R5, R6, R14).
type Activate struct {
	Bot BotID
	// Decision says what happens to bots already Active on the senders.
	Decision Decision
	// Ack acknowledges validation warnings.
	Ack Ack
}

// Op returns OpActivate.
func (Activate) Op() Op { return OpActivate }

func (c Activate) reads() reads { return reads{bots: []BotID{c.Bot}, group: true} }

func (c Activate) decide(d *decider) error {
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	return d.activate(b, c.Decision, c.Ack)
}

// activate makes b Active: the table allows it (S1), it has senders (R18),
// its definition validates (R4), and the bots Active on its senders are
// replaced as dec says (R5, R6), the senders they leave dark reported
// (R14). Activate and Rollback both go live through it.
func (d *decider) activate(b *Bot, dec Decision, ack Ack) error {
	s, err := d.can(b, EventActivate)
	if err != nil {
		return err
	}
	if len(b.Senders) == 0 {
		return &InputError{Field: "senders", Value: string(b.ID), Problem: "are empty; add at least one sender before activating the bot (R18)"}
	}
	if dec.IsGrace() {
		if err := checkGrace(dec.grace, d.s.Policy.MaxGrace); err != nil {
			return err
		}
	}
	if err := d.validate(b, ack); err != nil {
		return err
	}
	occupants := d.neighbours(b, Active)
	if len(occupants) > 0 && dec.IsZero() {
		return d.occupied(b, occupants)
	}
	for _, o := range occupants {
		if err := d.replace(o, dec); err != nil {
			return err
		}
		for _, sn := range o.Senders { // R14
			if !b.HasSender(sn) {
				d.plan.DarkSenders = append(d.plan.DarkSenders, sn)
			}
		}
	}
	d.move(s, "", d.now)
	return nil
}

// replace takes the Active bot o off its senders as dec says: Immediate
// ends it now; Grace drains it, first ending any bot already draining on
// its senders (R6: the newest drain wins).
func (d *decider) replace(o *Bot, dec Decision) error {
	s, err := d.can(o, dec.replaceEvent())
	if err != nil {
		return err
	}
	if !dec.IsGrace() {
		d.move(s, CloseReplaced, d.now)
		return nil
	}
	if err := d.moveAll(d.neighbours(o, Deactivated), EventEndDrain, CloseReplaced); err != nil {
		return err
	}
	d.move(s, "", d.now)
	o.GraceDeadline = d.now.Add(dec.grace)
	d.entry.GraceDeadline = o.GraceDeadline
	return nil
}

// occupied is the refusal of R5: each occupant on each shared sender.
func (d *decider) occupied(b *Bot, occupants []*Bot) error {
	e := &OccupiedError{Op: d.op, Bot: b.ID}
	for _, o := range occupants {
		for _, sn := range b.Senders {
			if o.HasSender(sn) {
				e.Occupants = append(e.Occupants, Occupant{Sender: sn, Bot: o.ID, Name: o.Name})
			}
		}
	}
	return e
}
