package lifecycle

import (
	"context"
	"errors"
	"time"
)

// OpenTestSession opens a test session on bot for actor (R26): on a bot in
// any state, Draft included, pinned to the bot's content (definition and
// senders) now. It is audited (who, which bot, which content) and refused
// with an error wrapping ErrTestSessionLimit when the bot already has
// Policy.MaxTestSessions open; a test session counts until it is recorded
// closed (CloseTestSession, a message that finds it over, or ExpireDue). It
// uses no sender and counts for no R1/R2, live figure or analytics. Needs
// "Test chatbots". Manager.Plan(ctx, actor, OpenTestSession{Bot: bot}) is
// its dry run (R17), and ApplyTestPlan applies that plan.
//
// The returned ID is the tester's handle: SendTest, TestSession and
// CloseTestSession take it, for this actor only.
func (m *Manager) OpenTestSession(ctx context.Context, actor Actor, bot BotID) (_ TestSession, err error) {
	ctx, sp := m.trace(ctx, OpOpenTestSession)
	defer sp.end(&err)
	p, err := m.apply(ctx, actor, OpenTestSession{Bot: bot})
	if err != nil {
		return TestSession{}, err
	}
	return m.openCommitted(ctx, p)
}

// ApplyTestPlan applies a plan Manager.Plan made for an OpenTestSession, as
// ApplyPlan does (R17), and opens its test session.
func (m *Manager) ApplyTestPlan(ctx context.Context, p Plan) (_ TestSession, err error) {
	op := OpApplyPlan
	if _, ok := commandOf(p.Command).(OpenTestSession); ok {
		op = OpOpenTestSession
	}
	ctx, sp := m.trace(ctx, op)
	defer sp.end(&err)
	if op == OpApplyPlan {
		return TestSession{}, opError(OpApplyPlan, &InputError{Field: "plan", Value: shown(string(p.Op)), Problem: "is not a plan to open a test session; apply it with ApplyPlan"})
	}
	fresh, err := m.applyPlan(ctx, p)
	if err != nil {
		return TestSession{}, err
	}
	return m.openCommitted(ctx, fresh)
}

// openCommitted opens the session of the lease the committed plan p made:
// a Route at the lease's OpenedAt, the one instant DecideRoute opens a
// session on its test sender.
func (m *Manager) openCommitted(ctx context.Context, p Plan) (TestSession, error) {
	var e *TestSessionAudit
	for _, a := range p.Audit {
		if a.Test != nil && a.Action == OpOpenTestSession {
			e = a.Test
		}
	}
	b, ok := p.Bot(e.Bot)
	var l *TestLease
	for i := range b.Tests {
		if ok && b.Tests[i].Activation == e.Activation {
			l = &b.Tests[i]
		}
	}
	if l == nil { // unreachable: Decide made the lease
		return TestSession{}, opError(OpOpenTestSession, &NotFoundError{Kind: "test session", ID: string(e.Bot)})
	}
	// The lease is committed: open its session, trying again while the
	// store's compare-and-swap loses to other commits of the bot (each
	// lease opened beside it changes the bot's revision), with the same
	// bounded backoff as Apply. Retrying is safe: DecideRoute opens the
	// lease's session at its OpenedAt once, and never a second one.
	var s Session
	var err error
	for attempt := 0; ; attempt++ {
		s, err = m.store.Route(ctx, m.ws, testSender(&b, l.Slot), testEndUser(l.Tester, l.Activation), l.OpenedAt)
		if err == nil || !errors.Is(err, ErrConflict) || attempt+1 >= m.attempts {
			break
		}
		if werr := backoff(ctx, attempt); werr != nil {
			err = werr
			break
		}
	}
	if errors.Is(err, ErrNoBot) {
		err = m.leaseGone(ctx, b.ID, l.OpenedAt)
	}
	if err != nil {
		return TestSession{}, opError(OpOpenTestSession, err)
	}
	ts := testView(testSessionID(s.ID, &b, *l), l.Tester, s)
	ts.Content = l.Content
	return ts, nil
}

// leaseGone is the error of a test session whose lease went between its
// commit at openedAt and its opening: another commit changed the bot's
// content or deleted it, so the test session is over before it opened
// (R26) - since the bot's last change, or now if it is gone.
func (m *Manager) leaseGone(ctx context.Context, bot BotID, openedAt time.Time) error {
	over := &SessionOverError{Reason: CloseContentChanged, At: m.clock.Now()}
	if cur, err := m.store.Bot(ctx, m.ws, bot); err == nil && !cur.UpdatedAt.Before(openedAt) {
		over.At = cur.UpdatedAt
	}
	return over
}

// SendTest routes one message of actor on their test session id (R26),
// the same way Route routes an end user's on an open session: one
// Store.Route on the test session's virtual sender. A test session that is
// over - its bot's content changed or the bot was deleted, it idled out,
// or it was closed - takes no message: the error wraps ErrSessionOver and
// a *SessionOverError says why and since when; it never opens a new one.
// An id that is not actor's own test session is ErrNotFound. Needs "Test
// chatbots", checked first as for every operation (P1): a tester who lost
// it since the test session opened sends no more (P2), and the refusal is
// audited (R16).
func (m *Manager) SendTest(ctx context.Context, actor Actor, id TestSessionID) (_ TestSession, err error) {
	ctx, sp := m.trace(ctx, OpSendTest)
	defer sp.end(&err)
	r, ok := id.parse() // pure: the permission still comes first (P1)
	if err := m.authorizeRead(ctx, actor, readOp{What: OpSendTest, Bot: r.botIf(ok)}); err != nil {
		return TestSession{}, err
	}
	if !ok || r.tester != actor.ID || actor.System {
		return TestSession{}, opError(OpSendTest, testNotFound(id))
	}
	// The session the id names must be the one its sender and key route
	// to: a refused message is counted nowhere.
	switch cur, err := m.session(ctx, r.session); {
	case errors.Is(err, ErrNotFound), err == nil && (cur.Sender != r.sender || cur.EndUser != r.endUser):
		return TestSession{}, opError(OpSendTest, testNotFound(id))
	case err != nil:
		return TestSession{}, opError(OpSendTest, err)
	}
	s, err := m.store.Route(ctx, m.ws, r.sender, r.endUser, m.clock.Now())
	switch {
	case err == nil && s.ID == r.session:
		return testView(id, actor.ID, s), nil
	case err == nil, errors.Is(err, ErrNotFound), errors.Is(err, ErrSessionOver), errors.Is(err, ErrNoBot):
		return TestSession{}, opError(OpSendTest, m.whyNot(ctx, actor, id, r))
	}
	return TestSession{}, opError(OpSendTest, err)
}

// whyNot explains a message refused on test session id: over since when
// and why, if it is actor's; else not found.
func (m *Manager) whyNot(ctx context.Context, actor Actor, id TestSessionID, r testRef) error {
	ts, err := m.readTest(ctx, actor, id, r)
	if err != nil {
		return err
	}
	if ts.Open() { // unreachable unless the store failed to route it
		return testNotFound(id)
	}
	return &SessionOverError{ID: id, Reason: ts.CloseReason, At: ts.ClosedAt}
}

// TestSession returns actor's test session id as seen now (R26): over,
// with why and since when, even before a sweep recorded it (R9). Another
// user's test session is ErrNotFound. Needs "Test chatbots".
func (m *Manager) TestSession(ctx context.Context, actor Actor, id TestSessionID) (_ TestSession, err error) {
	ctx, sp := m.trace(ctx, OpTestSession)
	defer sp.end(&err)
	r, ok := id.parse() // pure: the permission still comes first (P1)
	if err := m.authorizeRead(ctx, actor, readOp{What: OpTestSession, Bot: r.botIf(ok)}); err != nil {
		return TestSession{}, err
	}
	if !ok {
		return TestSession{}, opError(OpTestSession, testNotFound(id))
	}
	ts, err := m.readTest(ctx, actor, id, r)
	return ts, opError(OpTestSession, err)
}

// readTest reads test session id of actor as seen now.
func (m *Manager) readTest(ctx context.Context, actor Actor, id TestSessionID, r testRef) (TestSession, error) {
	s, err := m.session(ctx, r.session)
	switch {
	case errors.Is(err, ErrNotFound):
		return TestSession{}, testNotFound(id)
	case err != nil:
		return TestSession{}, err
	case r.tester != actor.ID || s.Sender != r.sender || s.Activation != r.activation || s.EndUser != r.endUser:
		return TestSession{}, testNotFound(id) // another tester's: not found, never forbidden
	}
	b, err := m.botOrNil(ctx, s.Bot)
	if err != nil {
		return TestSession{}, err
	}
	ts := testView(id, actor.ID, SessionAt(s, b, m.clock.Now()))
	if b != nil {
		if l := b.lease(s.Sender); l != nil && l.Activation == s.Activation {
			ts.Content = l.Content
		}
	}
	return ts, nil
}

// CloseTestSession closes actor's test session id now (R26), audited; it
// returns the test session as recorded closed. One already over is refused
// with an error wrapping ErrSessionOver (and recorded closed as it ended,
// with no audit entry: a refusal commits nothing);
// another user's is ErrNotFound. Needs "Test chatbots".
func (m *Manager) CloseTestSession(ctx context.Context, actor Actor, id TestSessionID) (_ TestSession, err error) {
	ctx, sp := m.trace(ctx, OpCloseTestSession)
	defer sp.end(&err)
	r, ok := id.parse()
	if ok && checkID("bot id", string(r.bot)) != nil {
		ok = false // it names no bot that can exist: no Manager made it (not an input error, R21)
	}
	if !ok { // no id a Manager made: permission first (P1), then not found
		plan, err := m.decide(ctx, actor, CloseTestSession{}, m.clock.Now())
		if errors.Is(err, ErrForbidden) || checkActor(actor) != nil {
			return TestSession{}, m.refused(ctx, plan, err)
		}
		return TestSession{}, opError(OpCloseTestSession, testNotFound(id))
	}
	cmd := CloseTestSession{Bot: r.bot, Activation: r.activation}
	if _, derr := m.decide(ctx, actor, cmd, m.clock.Now()); derr == nil {
		// Permitted and the lease is actor's: an id whose session is not
		// the lease's, and one already over, are refused before anything
		// is committed or audited.
		ts, err := m.readTest(ctx, actor, id, r)
		if err != nil {
			return TestSession{}, opError(OpCloseTestSession, err)
		}
		if !ts.Open() {
			return TestSession{}, m.recordOver(ctx, id, r, ts)
		}
	}
	p, err := m.apply(ctx, actor, cmd)
	if errors.Is(err, ErrNotFound) {
		if err := m.closeOver(ctx, actor, id, r); err != nil {
			return TestSession{}, err
		}
		return TestSession{}, opError(OpCloseTestSession, testNotFound(id))
	}
	if err != nil {
		return TestSession{}, err
	}
	if _, err := m.readTest(ctx, actor, id, r); err != nil { // the lease was actor's; the session id must be its too
		return TestSession{}, opError(OpCloseTestSession, err)
	}
	s, err := m.store.CloseSession(ctx, m.ws, r.session, CloseCompleted, p.Time)
	if err != nil {
		return TestSession{}, opError(OpCloseTestSession, err)
	}
	if s.CloseReason != CloseCompleted || !s.ClosedAt.Equal(p.Time) { // it idled out under its lease: over before the close
		return TestSession{}, opError(OpCloseTestSession, &SessionOverError{ID: id, Reason: s.CloseReason, At: s.ClosedAt})
	}
	return testView(id, actor.ID, s), nil
}

// closeOver records actor's test session id closed as it ended and returns
// a *SessionOverError if it is over; nil if it is open or not actor's.
func (m *Manager) closeOver(ctx context.Context, actor Actor, id TestSessionID, r testRef) error {
	ts, err := m.readTest(ctx, actor, id, r)
	if err != nil || ts.Open() {
		return nil
	}
	return m.recordOver(ctx, id, r, ts)
}

// recordOver records test session id, over as ts says, closed as it ended
// and returns the *SessionOverError that refuses closing it.
func (m *Manager) recordOver(ctx context.Context, id TestSessionID, r testRef, ts TestSession) error {
	_, _ = m.store.CloseSession(ctx, m.ws, r.session, CloseCompleted, m.clock.Now()) // record it as it ended
	return opError(OpCloseTestSession, &SessionOverError{ID: id, Reason: ts.CloseReason, At: ts.ClosedAt})
}

// botIf is the bot r names if ok, the id parsed, else "": what a denial's
// audit entry names (R16).
func (r testRef) botIf(ok bool) BotID {
	if !ok {
		return ""
	}
	return r.bot
}

func testNotFound(id TestSessionID) error {
	return &NotFoundError{Kind: "test session", ID: shown(string(id))}
}
