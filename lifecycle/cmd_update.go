package lifecycle

import "time"

// Update edits a Draft or Inactive bot (R11). Nil fields stay as they are;
// an Update with every field nil is refused with ErrInvalidInput, since it
// would store a new revision and an audit entry that changed nothing.
type Update struct {
	Bot         BotID
	Name        *string
	Description *string
	Senders     *[]Sender
	Definition  *Definition
	IdleTimeout *time.Duration
}

// op returns OpUpdate.
func (Update) op() Op { return OpUpdate }

func (c Update) reads() reads { return reads{bots: []BotID{c.Bot}} }

func (c Update) decide(d *decider) error {
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	s, err := d.can(b, EventEdit) // R11: the table says which states edit
	if err != nil {
		return err
	}
	if c == (Update{Bot: c.Bot}) {
		// An update of nothing would still be a stored change: a new
		// revision and an audit entry that edited nothing.
		return &InputError{Field: "update", Value: "{}", Problem: "names nothing to change; set at least one of the name, description, senders, definition or idle timeout"}
	}
	next := b.Clone()
	next.pinActiveContent() // R20: of a bot stored before content fingerprints, before the edit
	if c.Name != nil {
		if next.Name, err = checkName(*c.Name); err != nil {
			return err
		}
	}
	if c.Description != nil {
		if err := checkDescription(*c.Description); err != nil {
			return err
		}
		next.Description = *c.Description
	}
	if c.Senders != nil {
		if next.Senders, err = normalizeSenders(b.Channel, *c.Senders); err != nil {
			return err
		}
	}
	if c.Definition != nil {
		if next.Definition, err = checkDefinition(*c.Definition, d.s.Policy); err != nil {
			return err
		}
	}
	if c.IdleTimeout != nil {
		if err := checkIdle(*c.IdleTimeout); err != nil {
			return err
		}
		next.IdleTimeout = *c.IdleTimeout
		if next.IdleTimeout == 0 {
			next.IdleTimeout = d.s.Policy.IdleTimeout
		}
	}
	*b = next
	d.move(s, "", d.now)
	return nil
}
