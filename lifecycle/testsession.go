package lifecycle

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Test sessions (R26). A user holding "Test chatbots" may open a test
// session on a bot in any state to try its current content. A test session
// is a session like any other - routed by Store.Route, swept, idled out and
// ended by the one rule (SessionAt) - on a virtual sender of its bot, so
// that no store learns a new rule:
//
//   - an open test session holds a lease in its bot (Bot.Tests): a slot
//     1..Policy.MaxTestSessions, a number drawn from the bot's activation
//     counter (so it never meets a real activation's), the tester and the
//     content fingerprint it was opened on;
//   - each lease gives the bot one more row (Change.Rows): the active slot
//     of the virtual sender testSender(bot, slot), whose channel "(test)"
//     NewSender refuses, so no real sender is ever one. Bot.Senders, Live
//     and On never show it, and R1/R2 never meet it;
//   - a content change (definition or senders, R20's sense; a rename is
//     not one) or closing the test session ends its lease like an
//     activation: an ActivationEnd kept while its session is recorded open,
//     so the session's end is the same with or without a sweep (R9). A test
//     session of a deleted bot is over with content_changed at its last
//     activity, the last instant it is known to have served;
//   - opening is a Commit (audited, capped under the bot's revision, so the
//     cap holds exactly under concurrency in every store) followed by a
//     Route at the lease's OpenedAt: DecideRoute opens a session on a test
//     sender only then, only for the lease's key, and never reopens one.

// TestChannel is the channel of the virtual senders test sessions run on
// (R26), and of the departure rows that keep when a bot left Active on a
// sender it no longer names (R20). NewSender refuses it: no real sender is
// ever on it, so a store's row on it claims no sender (R27) and no end
// user's message reaches it.
const TestChannel = "(test)"

// DefaultMaxTestSessions is the default of Policy.MaxTestSessions.
const DefaultMaxTestSessions = 20

// testOpenWindow is how long a lease may wait for its session: a lease with
// no session recorded open that is older goes at the next opening on its
// bot. The Manager routes the opening message right after committing it.
const testOpenWindow = time.Minute

// IsTest reports whether s is a virtual sender, on TestChannel: a test
// session's (R26), or a departure row's (R20). No end user writes to one;
// it is left out of R1/R2, sender claims (R27), live figures and
// analytics.
func (s Sender) IsTest() bool { return s.Channel == TestChannel }

// testSender returns the virtual sender of test-session slot slot of b
// (R26): address "<slot>~<length of the bot id>~<bot id>~<incarnation>".
// The incarnation (testIncarnation) tells a bot from an earlier one that was
// deleted and had the same id, so that no session of the earlier one is
// ever served by the later one's leases.
func testSender(b *Bot, slot int) Sender {
	return Sender{Channel: TestChannel, Address: strconv.Itoa(slot) + "~" + strconv.Itoa(len(b.ID)) + "~" + string(b.ID) +
		"~" + strconv.FormatUint(testIncarnation(b), 10)}
}

// testIncarnation is b's Incarnation or, where it has none, when b was
// created in nanoseconds: at most 19 digits.
func testIncarnation(b *Bot) uint64 {
	if b.Incarnation != 0 {
		return b.Incarnation & (1<<63 - 1)
	}
	return uint64(b.CreatedAt.UnixNano()) & (1<<63 - 1)
}

// splitTestAddress reads a test sender's address at the start of s and
// returns its parts and what follows it. It does not allocate.
func splitTestAddress(s string) (slot int, bot BotID, inc uint64, rest string, ok bool) {
	sl, r, ok1 := leadingUint(s, '~')
	n, r, ok2 := leadingUint(r, '~')
	if !ok1 || !ok2 || sl == 0 || sl > 999 || n == 0 || n > MaxIDBytes || uint64(len(r)) <= n || r[n] != '~' {
		return 0, "", 0, "", false
	}
	bot, r = BotID(r[:n]), r[n+1:]
	i := 0
	for ; i < len(r) && i < 19 && r[i]-'0' <= 9; i++ {
		inc = inc*10 + uint64(r[i]-'0')
	}
	return int(sl), bot, inc, r[i:], i > 0
}

// incarnationOf reports whether test sender s is one of b's own, not one of
// an earlier bot with b's id that was deleted (testSender).
func (b *Bot) incarnationOf(s Sender) bool {
	_, bot, inc, _, ok := splitTestAddress(s.Address)
	return ok && bot == b.ID && inc == testIncarnation(b)
}

// TestLease is an open test session's place in its bot (R26), kept in the
// bot's document while the test session may be open.
type TestLease struct {
	// Slot numbers the lease's virtual sender (testSender), 1 to
	// Policy.MaxTestSessions.
	Slot int `json:"slot"`
	// Activation is the test session's number, drawn from the bot's
	// activation counter (Bot.Activations): its sessions join it, and its
	// end is kept in Bot.Ends like an activation's.
	Activation uint64 `json:"activation"`
	// Tester is the user who opened it: the only one who may use it.
	Tester string `json:"tester"`
	// Content is the fingerprint of the bot's content (definition and
	// senders) it was opened on.
	Content  string    `json:"content"`
	OpenedAt time.Time `json:"opened_at"`
}

// testEndUser is the end user a test session is routed for,
// "<number>~<tester>": so that a slot used again, or another tester, never
// finds it.
func testEndUser(tester string, activation uint64) string {
	return strconv.FormatUint(activation, 10) + "~" + tester
}

// splitKey reads a test end user "<number>~<tester>".
func splitKey(endUser string) (activation uint64, tester string, ok bool) {
	return leadingUint(endUser, '~')
}

// leadingUint reads the decimal number s starts with, up to the byte sep,
// and returns it with what follows sep; ok is false unless s starts with 1
// to 19 digits (every such number fits a uint64, and no id the Manager
// makes is longer), then sep. It does not allocate: it is what parsing a
// TestSessionID costs on every message.
func leadingUint(s string, sep byte) (n uint64, rest string, ok bool) {
	for i := 0; i < len(s) && i <= 19; i++ {
		c := s[i]
		if c == sep {
			return n, s[i+1:], i > 0
		}
		if c-'0' > 9 {
			return 0, "", false
		}
		n = n*10 + uint64(c-'0')
	}
	return 0, "", false
}

// keyIs reports whether endUser is l's key (testEndUser), without
// allocating.
func (l *TestLease) keyIs(endUser string) bool {
	n, tester, ok := splitKey(endUser)
	return ok && n == l.Activation && tester == l.Tester
}

// lease returns b's lease on test sender s; nil if it has none.
func (b *Bot) lease(s Sender) *TestLease {
	slot, bot, inc, rest, ok := splitTestAddress(s.Address)
	if !ok || rest != "" || bot != b.ID || inc != testIncarnation(b) {
		return nil
	}
	for i := range b.Tests {
		if b.Tests[i].Slot == slot {
			return &b.Tests[i]
		}
	}
	return nil
}

// serving returns where b stands on sender s for its sessions: its state
// there (On) for a real sender; Active in the lease's number on a test
// sender it holds a lease on.
func (b *Bot) serving(s Sender) (SenderState, bool) {
	if !s.IsTest() {
		return b.On(s)
	}
	if l := b.lease(s); l != nil {
		return SenderState{Sender: s, State: Active, Activation: l.Activation}, true
	}
	return SenderState{}, false
}

// testRows returns the rows of b's leases: the active slot of each lease's
// virtual sender, in its number.
func (b *Bot) testRows(rows []SenderRow) []SenderRow {
	for _, l := range b.Tests {
		rows = append(rows, SenderRow{Sender: testSender(b, l.Slot), Slot: SlotActive, Activation: l.Activation})
	}
	slices.SortFunc(rows, func(x, y SenderRow) int { return x.Sender.compare(y.Sender) })
	return rows
}

// endLease ends b's lease with activation k at at for reason, keeping the
// end for its session (R9), and reports whether b had it. The end names
// the lease's test sender: an end with no senders would read as an end on
// every real sender (servedOn). It records b's idle timeout as the one the
// lease ran with.
func (b *Bot) endLease(k uint64, at time.Time, reason CloseReason) bool {
	return b.endLeaseRan(k, at, reason, b.endIdle())
}

// endLeaseRan is endLease with the idle timeout the lease ran with, as
// an ActivationEnd records it.
func (b *Bot) endLeaseRan(k uint64, at time.Time, reason CloseReason, ranWith time.Duration) bool {
	i := slices.IndexFunc(b.Tests, func(l TestLease) bool { return l.Activation == k })
	if i < 0 {
		return false
	}
	s := testSender(b, b.Tests[i].Slot)
	b.Tests = slices.Delete(b.Tests, i, i+1)
	if len(b.Tests) == 0 {
		b.Tests = nil
	}
	b.Ends = append(b.Ends, ActivationEnd{Activation: k, Senders: []Sender{s}, At: at, Reason: reason, IdleTimeout: ranWith})
	return true
}

// endStaleLeases ends every lease of b pinned to other content than b's now
// (R26): a content change ends its test sessions as content_changed. ran
// is b as the leases ran on it, before the change (nil: b): an idle
// timeout the same edit sets never ends one before the edit (R9). An edit
// of the idle timeout alone ends them too, each by the timeout it ran
// with, so that no edit rewrites when a test session idled out, ends one
// in the past, or revives one that had idled out.
func (b *Bot) endStaleLeases(now time.Time, ran *Bot) {
	if len(b.Tests) == 0 {
		return
	}
	fp := contentFingerprint(b)
	if ran == nil {
		ran = b
	}
	for _, l := range slices.Clone(b.Tests) {
		if l.Content != fp || ran.IdleTimeout != b.IdleTimeout {
			b.endLeaseRan(l.Activation, now, CloseContentChanged, ran.endIdle())
		}
	}
}

// leaseLive reports whether k is the number of one of b's leases.
func (b *Bot) leaseLive(k uint64) bool {
	return slices.ContainsFunc(b.Tests, func(l TestLease) bool { return l.Activation == k })
}

// TestSessionID identifies a test session to its tester (R26): opaque text
// the Manager gives when it opens one, which the HTTP service may put in a
// URL. It is only good to the tester who opened it.
type TestSessionID string

// testSessionID makes the id of the session with id sid in lease l of b:
// "<session>.<sender address>.<end user>", so that routing on it takes
// its sender and end user as they are, without allocating.
func testSessionID(sid SessionID, b *Bot, l TestLease) TestSessionID {
	return TestSessionID(strconv.FormatUint(uint64(sid), 10) + "." + testSender(b, l.Slot).Address + "." + testEndUser(l.Tester, l.Activation))
}

// testRef is what a TestSessionID says, read without I/O.
type testRef struct {
	session    SessionID
	activation uint64
	sender     Sender
	bot        BotID
	endUser    string
	tester     string
}

// parse reads id; ok is false for text no Manager made. It does not
// allocate.
func (id TestSessionID) parse() (r testRef, ok bool) {
	sid, addr, ok1 := leadingUint(string(id), '.')
	_, bot, _, rest, ok2 := splitTestAddress(addr)
	if !ok1 || !ok2 || sid == 0 || rest == "" || rest[0] != '.' {
		return r, false
	}
	r = testRef{session: SessionID(sid), sender: Sender{Channel: TestChannel, Address: addr[:len(addr)-len(rest)]},
		bot: bot, endUser: rest[1:]}
	r.activation, r.tester, ok = splitKey(r.endUser)
	return r, ok && r.activation > 0
}

// TestSession is a test session as its tester sees it (R26).
type TestSession struct {
	ID  TestSessionID `json:"id"`
	Bot BotID         `json:"bot"`
	// Tester is the user who opened it, the only one who may use it.
	Tester string `json:"tester"`
	// Content is the fingerprint of the content (definition and senders)
	// the test session is pinned to; empty where the Manager did not read
	// the bot (SendTest).
	Content        string      `json:"content,omitempty"`
	OpenedAt       time.Time   `json:"opened_at"`
	LastActivityAt time.Time   `json:"last_activity_at"`
	ClosedAt       time.Time   `json:"closed_at,omitzero"`
	CloseReason    CloseReason `json:"close_reason,omitempty"`
	// Messages counts the tester's messages (SendTest).
	Messages uint64 `json:"messages"`
}

// Open reports whether the test session is open.
func (t *TestSession) Open() bool { return t.ClosedAt.IsZero() }

func testView(id TestSessionID, tester string, s Session) TestSession {
	return TestSession{ID: id, Bot: s.Bot, Tester: tester, OpenedAt: s.OpenedAt, LastActivityAt: s.LastActivityAt,
		ClosedAt: s.ClosedAt, CloseReason: s.CloseReason, Messages: s.Messages}
}

// TestSessionAudit is what an audit entry says of the test session it
// opened or closed (R26): which bot, which test session, which content.
type TestSessionAudit struct {
	Bot        BotID  `json:"bot"`
	Activation uint64 `json:"activation"`
	Content    string `json:"content"`
}

// TestSessionLimitError refuses a test session past the bot's cap
// (Policy.MaxTestSessions). It wraps ErrTestSessionLimit.
type TestSessionLimitError struct {
	Bot BotID
	Max int
}

// Error implements the error interface.
func (e *TestSessionLimitError) Error() string {
	return fmt.Sprintf("bot %s already has %d open test sessions, the most allowed; close one (or wait for one to idle out) and try again", e.Bot, e.Max)
}

// Unwrap returns ErrTestSessionLimit.
func (e *TestSessionLimitError) Unwrap() error { return ErrTestSessionLimit }

// SessionOverError refuses a message or a close on a test session that is
// over: why and since when (content_changed, idle_timeout, completed). It
// wraps ErrSessionOver.
type SessionOverError struct {
	ID     TestSessionID
	Reason CloseReason
	At     time.Time
}

// Error implements the error interface.
func (e *SessionOverError) Error() string {
	why := string(e.Reason)
	switch e.Reason {
	case CloseContentChanged:
		why = "the bot's content (definition or senders) changed or the bot was deleted"
	case CloseIdleTimeout:
		why = "it was idle for the bot's idle timeout"
	case CloseCompleted:
		why = "it was closed"
	}
	what := "test session " + string(e.ID)
	if e.ID == "" {
		what = "the test session being opened" // no session, so no id
	}
	return fmt.Sprintf("%s is over since %s (%s: %s); open a new one", what, e.At.Format(time.RFC3339), e.Reason, why)
}

// Unwrap returns ErrSessionOver.
func (e *SessionOverError) Unwrap() error { return ErrSessionOver }
