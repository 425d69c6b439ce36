package lifecycle

// Duplicate makes a new Draft with the same settings and definition (R13).
type Duplicate struct {
	Bot  BotID
	ID   BotID  // the copy's id; chosen by the Manager when empty
	Name string // the copy's name; "<name> (copy)" when empty

	// Incarnation is the new bot's Bot.Incarnation; drawn by the Manager
	// when 0.
	Incarnation uint64
}

// op returns OpDuplicate.
func (Duplicate) op() Op { return OpDuplicate }

func (c Duplicate) reads() reads { return reads{bots: []BotID{c.Bot, c.ID}} }

func (c Duplicate) withID(n newIDs) Command {
	if c.ID == "" {
		c.ID = n.bot()
	}
	if c.Incarnation == 0 {
		c.Incarnation = n.incarnation()
	}
	return c
}

func (c Duplicate) decide(d *decider) error {
	src, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	name := c.Name
	if name == "" {
		name = copyName(src.Name)
	}
	return d.newDraft(c.ID, Create{Name: name, Description: src.Description, Channel: src.Channel,
		Senders: src.Senders, Definition: src.Definition, IdleTimeout: src.IdleTimeout, Incarnation: c.Incarnation})
}

// copyName is "<name> (copy)", the name shortened to fit MaxNameLength.
func copyName(name string) string {
	const suffix = " (copy)"
	r := []rune(name)
	if max := MaxNameLength - len(suffix); len(r) > max {
		r = r[:max]
	}
	return string(r) + suffix
}
