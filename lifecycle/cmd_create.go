package lifecycle

import (
	"time"
)

// Create makes a new Draft bot.
type Create struct {
	ID          BotID // chosen by the Manager when empty
	Name        string
	Description string
	Channel     string
	Senders     []Sender
	// Definition is the service's document (R25); its Format is one the
	// policy's checker reads, or empty for the checker's first.
	Definition Definition
	// IdleTimeout closes sessions after this long without a message; zero
	// means the policy's default.
	IdleTimeout time.Duration

	// Incarnation is the new bot's Bot.Incarnation; drawn by the Manager
	// when 0.
	Incarnation uint64
}

// op returns OpCreate.
func (Create) op() Op { return OpCreate }

func (c Create) reads() reads { return reads{bots: []BotID{c.ID}} }

func (c Create) withID(n newIDs) Command {
	if c.ID == "" {
		c.ID = n.bot()
	}
	if c.Incarnation == 0 {
		c.Incarnation = n.incarnation()
	}
	return c
}

func (c Create) decide(d *decider) error { return d.newDraft(c.ID, c) }

// newDraft checks the settings of a new bot (R18, R21) and adds it to the
// plan. Create, Duplicate and Import make their bots through it.
func (d *decider) newDraft(id BotID, c Create) error {
	if id == "" {
		return &InputError{Field: "bot id", Value: "", Problem: "is empty; the Manager chooses one when you leave it empty"}
	}
	if err := checkID("bot id", string(id)); err != nil {
		return err
	}
	if _, exists := d.bots[id]; exists {
		return &InputError{Field: "bot id", Value: string(id), Problem: "is already taken; choose another or leave it empty"}
	}
	name, err := checkName(c.Name)
	if err != nil {
		return err
	}
	if err := checkDescription(c.Description); err != nil {
		return err
	}
	channel, err := normalizeChannel(c.Channel)
	if err != nil {
		return err
	}
	senders, err := normalizeSenders(channel, c.Senders)
	if err != nil {
		return err
	}
	if err := checkIdle(c.IdleTimeout); err != nil {
		return err
	}
	idle := c.IdleTimeout
	if idle == 0 {
		idle = d.s.Policy.IdleTimeout
	}
	def, err := checkDefinition(c.Definition, d.s.Policy)
	if err != nil {
		return err
	}
	b := &Bot{ID: id, Name: name, Description: c.Description, Channel: channel, Senders: senders,
		Definition: def, IdleTimeout: idle, State: Draft, Incarnation: c.Incarnation, CreatedAt: d.now, UpdatedAt: d.now}
	d.bots[id] = b
	d.touch(id)
	return nil
}
