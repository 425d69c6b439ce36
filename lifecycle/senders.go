package lifecycle

import (
	"slices"
	"time"

	"github.com/looplab/fsm"
)

// SenderState is where a bot is on one of its senders (R22): Active, or
// Deactivated - draining its open sessions there until GraceDeadline. On a
// sender the bot is off it has no SenderState: Bot.Live lists only the
// senders it is live on, and Bot.On reports ok false there.
type SenderState struct {
	Sender Sender `json:"sender"`
	State  State  `json:"state"`
	// Activation is the bot's Activations count when it went Active on the
	// sender; the sessions opened there belong to that activation.
	Activation uint64 `json:"activation"`
	// GraceDeadline is set while the bot drains on the sender (R9).
	GraceDeadline time.Time `json:"grace_deadline,omitzero"`
}

// senderTable is the transition table of a bot on one sender (R22): the bot
// is off there (Inactive), Active, or draining (Deactivated). It uses the
// events of the bot's table; the bot's own state follows from its senders'
// (see Bot.On) and still moves only by table. Plain data handed to
// looplab/fsm, which draws it.
var senderTable = fsm.Events{
	{Name: string(EventActivate), Src: []string{Inactive.String()}, Dst: Active.String()},
	{Name: string(EventDeactivate), Src: []string{Active.String()}, Dst: Inactive.String()},
	{Name: string(EventDrain), Src: []string{Active.String()}, Dst: Deactivated.String()},
	{Name: string(EventEndDrain), Src: []string{Deactivated.String()}, Dst: Inactive.String()},
}

var senderEdges = edgesOf(senderTable)

// nextOnSender returns the state a bot in state s on one sender reaches
// there by event e, and whether the sender table allows it (R22). s is
// Inactive for a sender the bot is off.
func nextOnSender(s State, e Event) (State, bool) { return next(senderEdges, s, e) }

// senderDiagram returns the per-sender transition table as a Mermaid state
// diagram, drawn by looplab/fsm from the table nextOnSender reads (S2, R22):
// the README's per-sender diagram, which a test keeps equal to it.
func senderDiagram() string { return diagram(Inactive, senderTable) }

// On returns the bot's state on sender s: Active, Deactivated (with its
// deadline) or, where it is off, ok false.
func (b *Bot) On(s Sender) (SenderState, bool) {
	i, ok := slices.BinarySearchFunc(b.Live, s, func(e SenderState, s Sender) int { return e.Sender.compare(s) })
	if !ok {
		return SenderState{}, false
	}
	return b.Live[i], true
}

// stateOn returns the bot's state on sender s as the bot value says:
// Active, Deactivated, or Inactive where it is off (R22). A bot from
// [Manager.Get] is as it is at the clock's now, a drain past its deadline
// already over (R9); a bot read from a Store as stored, where such a drain
// still reads Deactivated until ExpireDue settles it.
func (b *Bot) stateOn(s Sender) State {
	if e, ok := b.On(s); ok {
		return e.State
	}
	return Inactive
}

// sendersIn returns the senders the bot is in state st on, in order.
func (b *Bot) sendersIn(st State) []Sender {
	var out []Sender
	for _, e := range b.Live {
		if e.State == st {
			out = append(out, e.Sender)
		}
	}
	return out
}

// liveState is the bot's own state as R22 derives it from its senders':
// Active while Active on any, Deactivated while it only drains, and
// otherwise what it was off-line (Draft or Inactive).
func (b *Bot) liveState() State {
	st := b.State
	if st.Live() {
		st = Inactive
	}
	for _, e := range b.Live {
		if e.State == Active {
			return Active
		}
		st = Deactivated
	}
	return st
}

// earliestDeadline is the first grace deadline among the bot's drains.
func (b *Bot) earliestDeadline() time.Time {
	var at time.Time
	for _, e := range b.Live {
		if e.State == Deactivated && (at.IsZero() || e.GraceDeadline.Before(at)) {
			at = e.GraceDeadline
		}
	}
	return at
}

// dueDrains returns the senders whose drain is over at now, grouped by
// deadline, earliest first: each group ends at once, at its deadline.
func (b *Bot) dueDrains(now time.Time) [][]Sender {
	var due []SenderState
	for _, e := range b.Live {
		if e.State == Deactivated && !now.Before(e.GraceDeadline) {
			due = append(due, e)
		}
	}
	slices.SortStableFunc(due, func(x, y SenderState) int { return x.GraceDeadline.Compare(y.GraceDeadline) })
	var out [][]Sender
	for i, e := range due {
		if i == 0 || !e.GraceDeadline.Equal(due[i-1].GraceDeadline) {
			out = append(out, nil)
		}
		out[len(out)-1] = append(out[len(out)-1], e.Sender)
	}
	return out
}

// leave takes the bot off the senders at at for reason, recording the end
// of each activation they belonged to (R9): with Senders nil when no sender
// of that activation stays live, else naming them.
func (b *Bot) leave(senders []Sender, at time.Time, reason CloseReason) {
	var gone []SenderState
	b.Live = slices.DeleteFunc(b.Live, func(e SenderState) bool {
		if slices.Contains(senders, e.Sender) {
			gone = append(gone, e)
			return true
		}
		return false
	})
	for len(gone) > 0 {
		k := gone[0].Activation
		var named []Sender
		gone = slices.DeleteFunc(gone, func(e SenderState) bool {
			if e.Activation == k {
				named = append(named, e.Sender)
				return true
			}
			return false
		})
		if !slices.ContainsFunc(b.Live, func(e SenderState) bool { return e.Activation == k }) {
			named = nil // the activation's last senders: it is over
		}
		b.Ends = append(b.Ends, ActivationEnd{Activation: k, Senders: named, At: at, Reason: reason, IdleTimeout: b.endIdle()})
	}
	b.GraceDeadline = b.earliestDeadline()
}

// dropEnds drops from b.Ends the ends no session can need again (R9): those
// of activations that were over when the bot was read (read; no session
// can join them since) and had no session recorded open then
// (read.OpenActivations; sessions only close since). What stays is what
// the sessions recorded open need, however often the bot went live.
//
// A bot stored while Ends kept only its last 16 may have sessions of an
// activation whose end is gone; they read as ended at the oldest record
// (endOf), so that record stays while any of them is open.
func (b *Bot) dropEnds(read *Bot) {
	if len(b.Ends) == 0 {
		return
	}
	open := read.OpenActivations
	need := func(k uint64) bool {
		_, found := slices.BinarySearch(open, k)
		return found || slices.ContainsFunc(read.Live, func(e SenderState) bool { return e.Activation == k }) || read.leaseLive(k)
	}
	keepFirst := false
	for _, k := range open {
		if len(read.Ends) == 0 || k >= read.Ends[0].Activation {
			break
		}
		if read.leaseLive(k) {
			continue // a test session's lease, not ended (R26)
		}
		if !slices.ContainsFunc(read.Ends, func(e ActivationEnd) bool { return e.Activation == k }) {
			keepFirst = true // k's end is gone: its sessions read the oldest record
			break
		}
	}
	var kept []ActivationEnd
	for i, e := range b.Ends {
		if need(e.Activation) || (i == 0 && keepFirst) {
			kept = append(kept, e)
		}
	}
	b.Ends = kept
}

// SenderTransition is one bot's move on one sender in an audit entry (R22).
// From and To are Inactive where the bot is off.
type SenderTransition struct {
	Bot    BotID  `json:"bot"`
	Sender Sender `json:"sender"`
	From   State  `json:"from"`
	To     State  `json:"to"`
}

// liveConsistent reports whether the bot's per-sender states fit the rest
// of it: sorted, distinct, its own senders, Active or draining with a
// deadline, its state the one they imply (R22), GraceDeadline their
// earliest.
func (b *Bot) liveConsistent() bool {
	for i, e := range b.Live {
		if (i > 0 && b.Live[i-1].Sender.compare(e.Sender) >= 0) || !b.hasSender(e.Sender) {
			return false
		}
		if (e.State != Active && e.State != Deactivated) || (e.State == Deactivated) == e.GraceDeadline.IsZero() {
			return false
		}
	}
	return b.liveState() == b.State && b.GraceDeadline.Equal(b.earliestDeadline())
}

// SenderLeft is when a bot last left Active on one sender (R20, R22).
type SenderLeft struct {
	Sender Sender    `json:"sender"`
	At     time.Time `json:"at"`
}

// noteLeft records, for each move, when the bot left Active on a sender
// (to a drain or off it), and forgets it where the bot goes Active again.
func (b *Bot) noteLeft(moves []SenderTransition, at time.Time) {
	for _, m := range moves {
		i, found := slices.BinarySearchFunc(b.Left, m.Sender, func(e SenderLeft, s Sender) int { return e.Sender.compare(s) })
		switch {
		case m.To == Active && found:
			b.Left = slices.Delete(b.Left, i, i+1)
		case m.From == Active && m.To != Active && found:
			b.Left[i].At = at
		case m.From == Active && m.To != Active:
			b.Left = slices.Insert(b.Left, i, SenderLeft{Sender: m.Sender, At: at})
		}
	}
}

// departureSender is the virtual sender (TestChannel) that keeps, for a
// bot that no longer names s, when it last left Active on s: the address
// "left~<channel>~<address>", which no test session's starts with (theirs
// start with a digit, testSender) and a channel never holds.
func departureSender(s Sender) Sender {
	return Sender{Channel: TestChannel, Address: "left~" + s.Channel + "~" + s.Address}
}

// departureSenders returns ss and the departure senders of the real ones.
func departureSenders(ss []Sender) []Sender {
	out := slices.Clip(ss)
	for _, s := range ss {
		if !s.IsTest() {
			out = append(out, departureSender(s))
		}
	}
	return out
}

// departureRows appends to rows a departure row for each sender b left
// Active on and no longer names (an edit dropped it): its departure
// sender's, with no slot, carrying when it left (R20). Rows are what a
// store keeps, and a store keeps rows only for the senders a bot names -
// a rollback then passed over a bot edited to drop the senders to an older
// one. A virtual sender claims nothing (R27) and takes no end user's
// message, so a store keeps the departure as it keeps any row, and
// SenderBots finds it when asked for the departure senders too.
func (b *Bot) departureRows(rows []SenderRow) []SenderRow {
	for _, l := range b.Left {
		if !l.Sender.IsTest() && !slices.Contains(b.Senders, l.Sender) {
			rows = append(rows, SenderRow{Sender: departureSender(l.Sender), LeftActive: l.At})
		}
	}
	return rows
}

// leftAt returns when the bot last left Active on s, as SenderRow.LeftActive
// says it: zero while the bot is Active there, or where it never left. A
// bot still Active on other senders counts: it is the bot most recently
// Active on s if none was since (R20, R22).
func (b *Bot) leftAt(s Sender) time.Time {
	if b.Left == nil {
		if b.State == Active || b.DeactivatedAt.IsZero() {
			return time.Time{}
		}
		// Stored before Left was kept (a bot Active nowhere that left
		// Active has a departure here now): its last departure.
		return b.DeactivatedAt
	}
	if i, ok := slices.BinarySearchFunc(b.Left, s, func(e SenderLeft, s Sender) int { return e.Sender.compare(s) }); ok {
		return b.Left[i].At
	}
	return time.Time{}
}
