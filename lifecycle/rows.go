package lifecycle

import (
	"slices"
	"time"
)

// Rows, not rules. A store keeps what the core computed: the rows a plan's
// changes carry ([Change.Rows], [Change.Due]) and the steps the session
// decisions return ([DecideRoute], [DecideClose], [SessionAt],
// [NextSessionEnd]). It answers reads by key or by comparing those
// columns, enforces uniqueness and compare-and-swap - and never works a
// fact out of a Bot's meaning itself.

// Slot is where a bot stands on one of its senders, as a store keeps it:
// SlotActive or SlotDraining while it is live there, "" while it is off.
// A store enforces that at most one bot holds each slot of a sender (R1,
// R2), as a unique index does.
type Slot string

// The slots a bot holds on a sender.
const (
	SlotActive   Slot = "active"
	SlotDraining Slot = "draining"
)

// SenderRow is a store's row for one bot on one of its senders, computed by
// the core from the bot a plan leaves (R22). A store keeps it as it is.
type SenderRow struct {
	Sender Sender `json:"sender"`
	// Slot is the bot's slot on the sender; "" while it is off there.
	Slot Slot `json:"slot,omitempty"`
	// Activation is the activation the bot serves the sender in while it
	// holds a slot: a session opened there joins it (R9). 0 while off.
	Activation uint64 `json:"activation,omitempty"`
	// ServesUntil is, while the bot drains on the sender, its grace
	// deadline there (R9); zero otherwise. A session of this activation
	// is served while now is before it.
	ServesUntil time.Time `json:"serves_until,omitzero"`
	// LeftActive is when the bot last left Active on this sender, while
	// it is not Active there (it may be Active on others, R22): the bot
	// with the latest LeftActive on a sender is the one a rollback goes
	// back to there (R20). Zero otherwise.
	LeftActive time.Time `json:"left_active,omitzero"`
}

// senderRows computes the rows of b, one per sender, in sender order.
func (b *Bot) senderRows() []SenderRow {
	if len(b.Senders) == 0 && len(b.Tests) == 0 && len(b.Left) == 0 {
		return nil
	}
	rows := make([]SenderRow, len(b.Senders), len(b.Senders)+len(b.Tests))
	for i, s := range b.Senders {
		rows[i] = SenderRow{Sender: s, LeftActive: b.leftAt(s)}
		if on, ok := b.On(s); ok {
			rows[i].Activation = on.Activation
			rows[i].Slot = SlotActive
			if on.State == Deactivated {
				rows[i].Slot, rows[i].ServesUntil = SlotDraining, on.GraceDeadline
			}
		}
	}
	n := len(rows)
	rows = b.departureRows(rows)
	if len(b.Tests) > 0 {
		return b.testRows(rows)
	}
	if len(rows) > n {
		slices.SortFunc(rows, func(x, y SenderRow) int { return x.Sender.compare(y.Sender) })
	}
	if len(rows) == 0 {
		return nil
	}
	return rows
}

// Rows returns what a store keeps of the bot the change leaves, one row
// per sender in sender order - its senders, the virtual senders of its
// test sessions (R26), and the virtual senders that keep when it left
// Active on a sender it no longer names (R20) - none when the change
// deletes the bot.
func (c *Change) Rows() []SenderRow {
	if c.After == nil {
		return nil
	}
	return c.After.senderRows()
}

// Due returns when ExpireDue must next look at the bot the change leaves:
// its earliest grace deadline (R9, R22); zero when it drains nowhere or the
// change deletes it. A store indexes bots by it (Store.Due).
func (c *Change) Due() time.Time {
	if c.After == nil {
		return time.Time{}
	}
	return c.After.GraceDeadline
}
