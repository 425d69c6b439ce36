package lifecycle

import "time"

// RouteView is what a store reads to route one message from an end user on
// a sender, in one lock or one statement: the end user's session recorded
// open there with its bot, and the bot holding the sender's active slot.
type RouteView struct {
	// Open is the end user's session recorded open on the sender; nil if
	// there is none. OpenBot is its bot as stored; nil if the bot no
	// longer exists.
	Open    *Session
	OpenBot *Bot
	// Active is the bot holding the sender's active slot (SenderRow); nil
	// if no bot does.
	Active *Bot
}

// RouteStep is what [DecideRoute] decided. A store applies it atomically,
// provided what it read has not changed (compare-and-swap).
type RouteStep struct {
	// Session is the session that takes the message, as the store records
	// it: the open one with one message more, or, when New, a new session
	// on the Active bot in its activation on the sender, for the store to
	// number.
	Session Session
	New     bool
	// Closed is the open session as recorded closed, when it was over;
	// its ID is 0 when there was none to close.
	Closed Session
}

// DecideRoute decides where a message from endUser on sender goes at now
// (R10): to the end user's open session if its bot still serves it
// (see SessionAt), else - recording that session closed as it ended - to a
// new session on the sender's Active bot. With no Active bot it returns a
// *NoBotError wrapping ErrNoBot - which gives the normal form when sender
// is not as NewSender writes it, which no bot's sender is (R18) - and a
// step whose Closed the store must still record. It refuses a sender or end user that is not an id (R21)
// with an *InputError and an empty step, whatever the view (on a test
// sender, whose address and key the Manager makes longer than an id,
// text that is not UTF-8 without NUL): no session is recorded under them,
// and a store that opens sessions in its own statement asks it with an
// empty view first. It does not allocate, but for an error.
//
// On a test sender (Sender.IsTest, R26) it never reopens: a test session
// that is over is recorded closed and the message refused; a new one opens
// only at its lease's OpenedAt, for the lease's tester, as the Manager's
// OpenTestSession routes it.
func DecideRoute(v RouteView, sender Sender, endUser string, now time.Time) (RouteStep, error) {
	var step RouteStep
	if err := checkRoute(sender, endUser); err != nil {
		return step, err
	}
	if v.Open != nil {
		s := *v.Open
		reason, at, over := sessionEnd(&s, v.OpenBot, now)
		if !over {
			s.LastActivityAt = now
			s.Messages++
			step.Session = s
			return step, nil
		}
		s.ClosedAt, s.CloseReason = at, reason
		step.Closed = s
	}
	if sender.IsTest() {
		return decideTestOpen(v, sender, endUser, now, step)
	}
	var on SenderState
	if v.Active != nil {
		on, _ = v.Active.On(sender)
	}
	if on.State != Active {
		return step, noBot(sender)
	}
	step.New = true
	step.Session = Session{Sender: sender, EndUser: endUser, Bot: v.Active.ID, Activation: on.Activation,
		OpenedAt: now, LastActivityAt: now, Messages: 1}
	return step, nil
}

// DecideClose returns session s of bot b (nil if the bot no longer exists)
// as recorded once closed at now for reason: a session already over keeps
// the reason and time it ended with (see SessionAt), and one recorded closed
// stays as it is.
func DecideClose(s Session, b *Bot, reason CloseReason, now time.Time) Session {
	if !s.Open() {
		return s
	}
	if r, at, over := sessionEnd(&s, b, now); over {
		reason, now = r, at
	}
	s.ClosedAt, s.CloseReason = now, reason
	return s
}

// SessionAt returns session s of bot b (nil if the bot no longer exists)
// as it stands at now: closed, with the reason and time it ended, if it is
// over - even before any store recorded that (R9). A sweep records a
// session whose SessionAt is closed; a read shows it. The one rule:
//
//   - a session of a bot that no longer exists is orphaned;
//   - a session on a sender its bot has left, or of an earlier activation
//     of its bot on that sender, ended when its own activation ended
//     there, and why (Bot.Ends): the same whether a sweep ran in between
//     or not, however often the bot went live since (R9, R22);
//   - a session on a sender its bot drains on ends at that sender's grace
//     deadline with grace_expired;
//   - any session ends after the bot's IdleTimeout without a message
//     (for an activation that is over, the one it ran with).
//
// Whichever came first wins; idle wins a tie. A session recorded closed
// keeps its recorded reason and time.
func SessionAt(s Session, b *Bot, now time.Time) Session {
	if reason, at, over := sessionEnd(&s, b, now); over {
		s.ClosedAt, s.CloseReason = at, reason
	}
	return s
}

// NextSessionEnd returns the earliest instant a session of bot b (nil if
// the bot no longer exists) on sender, opened in activation, last active at
// lastActivity, can be over: its sender's grace deadline, its idle
// deadline, or - when b no longer serves that activation there - the zero
// time (at once). ok is false when nothing would end it: b is Active there
// and has no idle timeout. A store keeps its open sessions ordered by it,
// so that a sweep costs what is due.
func NextSessionEnd(b *Bot, sender Sender, activation uint64, lastActivity time.Time) (at time.Time, ok bool) {
	if b == nil {
		return time.Time{}, true
	}
	on, live := b.serving(sender)
	if !live || on.Activation != activation {
		return time.Time{}, true
	}
	if on.State == Deactivated {
		at, ok = on.GraceDeadline, true
	}
	if b.IdleTimeout > 0 {
		if idle := lastActivity.Add(b.IdleTimeout); !ok || idle.Before(at) {
			at, ok = idle, true
		}
	}
	return at, ok
}

// decideTestOpen decides a message on test sender with no test session
// open there (R26): a new session of the lease of v.Active on the sender
// when endUser is its key and now is its OpenedAt - the Manager opening
// it - else a refusal: the message never opens one silently. With no bot
// holding the sender's active slot it returns a *NoBotError, as on any
// sender.
func decideTestOpen(v RouteView, sender Sender, endUser string, now time.Time, step RouteStep) (RouteStep, error) {
	if step.Closed.ID != 0 {
		return step, &SessionOverError{Reason: step.Closed.CloseReason, At: step.Closed.ClosedAt}
	}
	if v.Active == nil { // no lease there: as on a sender with no bot, for stores that read Active only then
		return step, &NoBotError{Sender: sender}
	}
	l := v.Active.lease(sender)
	if l == nil || !l.OpenedAt.Equal(now) || !l.keyIs(endUser) {
		return step, &NotFoundError{Kind: "test session", ID: sender.Address}
	}
	step.New = true
	step.Session = Session{Sender: sender, EndUser: endUser, Bot: v.Active.ID, Activation: l.Activation,
		OpenedAt: now, LastActivityAt: now}
	return step, nil
}

// noBot refuses a message on sender, where no bot holds the active slot,
// with a *NoBotError (R10). When sender is not in its normal form
// (NewSender), which no bot's sender is (R18), the error says so and gives
// it: routing compares senders exactly, so the message would find no bot
// however many were live.
func noBot(sender Sender) error {
	e := &NoBotError{Sender: sender}
	if n, err := NewSender(sender.Channel, sender.Address); err == nil && n != sender {
		e.Normal = n
	}
	return e
}
