package lifecycle

import "strconv"

// CloseTestSession closes the actor's test session number Activation on a
// bot (R26): its lease ends now as completed, audited. Another tester's
// test session, or one already over, is not found. Manager's
// CloseTestSession commits it and records the session closed.
type CloseTestSession struct {
	Bot BotID
	// Activation is the test session's number (TestLease.Activation).
	Activation uint64
}

// op returns OpCloseTestSession.
func (CloseTestSession) op() Op { return OpCloseTestSession }

func (c CloseTestSession) reads() reads { return reads{bots: []BotID{c.Bot}} }

func (c CloseTestSession) decide(d *decider) error {
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	var l *TestLease
	for i := range b.Tests {
		if b.Tests[i].Activation == c.Activation && b.Tests[i].Tester == d.s.Actor.ID {
			l = &b.Tests[i]
		}
	}
	if l == nil { // another tester's is not found, never forbidden
		return &NotFoundError{Kind: "test session", ID: string(c.Bot) + "/" + strconv.FormatUint(c.Activation, 10)}
	}
	d.entry.Test = &TestSessionAudit{Bot: b.ID, Activation: l.Activation, Content: l.Content}
	b.endLease(c.Activation, d.now, CloseCompleted)
	d.touch(b.ID)
	return nil
}
