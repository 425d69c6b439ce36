package lifecycle

import "time"

// CloseReason says why a session closed.
type CloseReason string

// The reasons a session closes.
const (
	CloseCompleted    CloseReason = "completed"     // the bot, an agent or the end user ended it (CloseSession)
	CloseIdleTimeout  CloseReason = "idle_timeout"  // no message for the bot's IdleTimeout
	CloseGraceExpired CloseReason = "grace_expired" // the bot's grace period ended (R9)
	CloseGraceEnded   CloseReason = "grace_ended"   // a Manager ended the bot's grace period early
	CloseDeactivated  CloseReason = "deactivated"   // the bot was deactivated without grace, or by cascade (R7, R8)
	CloseReplaced     CloseReason = "replaced"      // a newer bot replaced it immediately, or superseded its drain (R5, R6)
	CloseOrphaned     CloseReason = "orphaned"      // the session's bot no longer exists
	// CloseContentChanged ends a test session whose bot's content
	// (definition or senders) or idle timeout changed, or whose bot was
	// deleted (R26).
	CloseContentChanged CloseReason = "content_changed"
)

// SessionID identifies a session. Stores assign them.
type SessionID uint64

// Session is one end user's conversation with one bot through one sender.
type Session struct {
	ID      SessionID `json:"id"`
	Sender  Sender    `json:"sender"`
	EndUser string    `json:"end_user"`
	Bot     BotID     `json:"bot"`
	// Activation is the activation the bot was in on the session's sender
	// when the session opened (SenderState.Activation).
	Activation     uint64      `json:"activation"`
	OpenedAt       time.Time   `json:"opened_at"`
	LastActivityAt time.Time   `json:"last_activity_at"`
	ClosedAt       time.Time   `json:"closed_at,omitzero"`
	CloseReason    CloseReason `json:"close_reason,omitempty"`
	// Messages counts the messages routed to the session.
	Messages uint64 `json:"messages"`
}

// Open reports whether the session is recorded as open. A session recorded
// open may still be over: see [SessionAt].
func (s *Session) Open() bool { return s.ClosedAt.IsZero() }

// sessionEnd decides whether a session recorded as open is over at now, why,
// and since when: the one rule of when a session is over, which every
// Store applies through DecideRoute, DecideClose and SessionAt, so that a
// session's fate never depends on whether a sweep has run (R9):
//
//   - a session of a bot that no longer exists is orphaned; a test
//     session (R26) is then over with content_changed at its last activity
//     (a later bot with its id is another bot: testIncarnation);
//   - a session on a sender its bot has left, or of an earlier activation
//     of its bot on that sender, ended when its own activation ended there,
//     and why (Bot.Ends, which keeps that end while the session is
//     recorded open): the record is the same whether a sweep ran in
//     between or not, however often the bot went live since (R9, R22);
//   - a session on a sender its bot drains on ends at that sender's grace
//     deadline with grace_expired;
//   - any session ends after the bot's IdleTimeout without a message
//     (for an activation that is over, the one it ran with).
//
// Whichever of these came first wins; idle wins a tie. A session recorded
// as closed keeps its recorded reason and time. It does not allocate.
func sessionEnd(s *Session, b *Bot, now time.Time) (reason CloseReason, at time.Time, over bool) {
	if !s.Open() {
		return s.CloseReason, s.ClosedAt, true
	}
	if b != nil && s.Sender.IsTest() && !b.incarnationOf(s.Sender) {
		b = nil // a later bot with the deleted one's id (R26)
	}
	if b == nil {
		if s.Sender.IsTest() { // R26: the deletion time is not kept; its last activity is
			return CloseContentChanged, s.LastActivityAt, true
		}
		return CloseOrphaned, now, true
	}
	// The end of the bot's service to this session, if any.
	var end time.Time
	var why CloseReason
	idle := b.IdleTimeout // as the session's activation ran with it (R9)
	on, live := b.serving(s.Sender)
	switch {
	case !live || on.Activation != s.Activation:
		var ranWith time.Duration
		if why, end, ranWith = b.endOf(s.Activation, s.Sender); ranWith != 0 {
			idle = ranWith
		}
		if why == "" || s.Sender.IsTest() && !b.hasEnd(s.Activation) {
			why = endedDefault(s.Sender)
			if s.Sender.IsTest() {
				end = now // no record: over now
			}
		}
		if end.IsZero() || end.After(now) {
			end = now
		}
	case on.State == Deactivated:
		why, end = CloseGraceExpired, on.GraceDeadline
	}
	if idle > 0 {
		idleAt := s.LastActivityAt.Add(idle)
		// A tie goes to idle: a sweep at that instant records it so.
		if !idleAt.After(now) && (end.IsZero() || !idleAt.After(end)) {
			return CloseIdleTimeout, idleAt, true
		}
	}
	if !end.IsZero() && !end.After(now) {
		return why, end, true
	}
	return "", time.Time{}, false
}

// SessionStats counts sessions of one bot on one sender.
type SessionStats struct {
	Bot    BotID  `json:"bot"`
	Sender Sender `json:"sender"`
	// Opened counts sessions ever opened; Open those still open.
	Opened uint64 `json:"opened"`
	Open   uint64 `json:"open"`
	// Closed counts closed sessions by reason.
	Closed map[CloseReason]uint64 `json:"closed"`
	// Messages counts messages routed.
	Messages uint64 `json:"messages"`
}

// endedDefault is why a session whose activation ended without a record
// ended: deactivated, or for a test session (R26) content_changed.
func endedDefault(s Sender) CloseReason {
	if s.IsTest() {
		return CloseContentChanged
	}
	return CloseDeactivated
}

// hasEnd reports whether b records how activation k ended.
func (b *Bot) hasEnd(k uint64) bool {
	for i := range b.Ends {
		if b.Ends[i].Activation == k {
			return true
		}
	}
	return false
}
