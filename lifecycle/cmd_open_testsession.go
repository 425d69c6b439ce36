package lifecycle

import "slices"

// OpenTestSession opens a test session on a bot in any state, Draft
// included, for the actor (R26): a lease pinned to the bot's content now,
// audited, refused past Policy.MaxTestSessions open on the bot. Manager's
// OpenTestSession commits it and opens the session; Manager.Plan gives its
// dry run (R17).
type OpenTestSession struct{ Bot BotID }

// op returns OpOpenTestSession.
func (OpenTestSession) op() Op { return OpOpenTestSession }

func (c OpenTestSession) reads() reads { return reads{bots: []BotID{c.Bot}} }

func (c OpenTestSession) decide(d *decider) error {
	b, err := d.bot(c.Bot)
	if err != nil {
		return err
	}
	stored := d.stored[b.ID]
	// Leases with no session recorded open, older than the window, are over.
	b.Tests = slices.DeleteFunc(b.Tests, func(l TestLease) bool {
		_, open := slices.BinarySearch(stored.OpenActivations, l.Activation)
		return !open && d.now.Sub(l.OpenedAt) > testOpenWindow
	})
	if len(b.Tests) >= d.s.Policy.MaxTestSessions {
		return &TestSessionLimitError{Bot: b.ID, Max: d.s.Policy.MaxTestSessions}
	}
	slot := 1
	for _, l := range b.Tests { // sorted by slot: the first gap
		if l.Slot != slot {
			break
		}
		slot++
	}
	b.Activations++
	l := TestLease{Slot: slot, Activation: b.Activations, Tester: d.s.Actor.ID, Content: contentFingerprint(b), OpenedAt: d.now}
	b.Tests = append(b.Tests, l)
	slices.SortFunc(b.Tests, func(x, y TestLease) int { return x.Slot - y.Slot })
	d.touch(b.ID)
	d.entry.Test = &TestSessionAudit{Bot: b.ID, Activation: l.Activation, Content: l.Content}
	return nil
}
