package lifecycle

// Import makes a new Draft from a document written by Export (R13).
type Import struct {
	ID   BotID // chosen by the Manager when empty
	Data []byte

	// Incarnation is the new bot's Bot.Incarnation; drawn by the Manager
	// when 0.
	Incarnation uint64
}

// op returns OpImport.
func (Import) op() Op { return OpImport }

func (c Import) reads() reads { return reads{bots: []BotID{c.ID}} }

func (c Import) withID(n newIDs) Command {
	if c.ID == "" {
		c.ID = n.bot()
	}
	if c.Incarnation == 0 {
		c.Incarnation = n.incarnation()
	}
	return c
}

func (c Import) decide(d *decider) error {
	cr, err := decodeExport(c.Data, d.s.Policy.MaxImport)
	if err != nil {
		return err
	}
	cr.Incarnation = c.Incarnation
	return d.newDraft(c.ID, cr)
}
