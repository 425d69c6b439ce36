package lifecycle

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Route routes one inbound message from endUser on sender (R10): to the end
// user's open session on that sender if its bot still serves it (Active, or
// Deactivated before its grace deadline, and not idle), else to a new session
// on the sender's Active bot, else it returns an error wrapping ErrNoBot.
// Senders are compared as given: build them with NewSender; a message on a
// sender NewSender would write otherwise, which no bot has, finds no bot,
// and its *NoBotError gives the sender's normal form. A test
// session's virtual sender (Sender.IsTest) takes no end user's message
// (R26): a tester sends with SendTest. Routing to an existing session does
// not allocate in the Manager; see the Store for its share.
//
// Route, Session and CloseSession take no actor: they are the calls of the
// service's messaging runtime (its gateway), check no permission and write
// no audit entry. Let only that runtime reach them; people read sessions
// with Sessions and Analytics, which check theirs.
//
// A refusal (ErrNoBot, ErrInvalidInput) routed nothing. Any other error -
// the end of ctx, ErrUnavailable - may have come after the store counted
// the message: a database across a network can lose its answer. The
// memory and SQLite stores count nothing when they return one; with
// PostgreSQL, a retry may count the message twice.
func (m *Manager) Route(ctx context.Context, sender Sender, endUser string) (Session, error) {
	if m.tracer != nil {
		return m.routeTraced(ctx, sender, endUser)
	}
	if sender.IsTest() {
		return Session{}, opError(OpRoute, testSenderError(sender))
	}
	s, err := m.store.Route(ctx, m.ws, sender, endUser, m.clock.Now())
	if err != nil {
		return Session{}, opError(OpRoute, err)
	}
	return s, nil
}

// testSenderError refuses an end user's message on sender, a test
// session's virtual sender (R26).
func testSenderError(sender Sender) error {
	return &InputError{Field: "sender channel", Value: shown(sender.Channel),
		Problem: "belongs to test sessions, which take only their tester's messages; route end users' messages on a real sender, and send a test message with SendTest"}
}

// routeTraced is Route with a tracer. It repeats Route's body so that
// Route without one stays as it was: a deferred end, or a call to a shared
// body, costs every message 8-14ns there.
func (m *Manager) routeTraced(ctx context.Context, sender Sender, endUser string) (_ Session, err error) {
	ctx, sp := m.start(ctx, OpRoute)
	defer sp.end(&err)
	if sender.IsTest() {
		return Session{}, opError(OpRoute, testSenderError(sender))
	}
	s, err := m.store.Route(ctx, m.ws, sender, endUser, m.clock.Now())
	if err != nil {
		return Session{}, opError(OpRoute, err)
	}
	return s, nil
}

// checkRoute checks the text of a message's sender and end user (R21).
// DecideRoute calls it before it opens a session: a message that finds
// an open session needs no check, since it names the sender and end user
// that were checked when the session opened. It allocates nothing for
// valid input, and checks printable ASCII, what ids mostly are, in one
// pass.
func checkRoute(sender Sender, endUser string) error {
	if plainID(endUser) && plainID(sender.Address) && plainID(sender.Channel) {
		return nil
	}
	if sender.IsTest() {
		// A test sender's address and end user are the Manager's own
		// (testSender, the lease's key), made of checked ids and longer
		// than one may be: only a lease's exact ones open a session (R26).
		return cmp.Or(checkText("end user", endUser), checkText("sender address", sender.Address))
	}
	if err := checkID("end user", endUser); err != nil {
		return err
	}
	if err := checkID("sender address", sender.Address); err != nil {
		return err
	}
	return checkID("sender channel", sender.Channel)
}

// plainID reports whether s is 1 to MaxIDBytes bytes of printable ASCII,
// not all spaces: an id checkID accepts. It reads eight bytes at a time:
// a byte is outside ' '..'~' when it has its high bit set, or gains it by
// adding 1 (0x7f), or by subtracting 0x20 from it (below ' ').
func plainID(s string) bool {
	const ones, highs, spaces = 0x0101010101010101, 0x8080808080808080, 0x2020202020202020
	if len(s) == 0 || len(s) > MaxIDBytes {
		return false
	}
	var bad, seen uint64 // seen: some bit set once a byte other than a space is seen
	for ; len(s) >= 8; s = s[8:] {
		w := uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
		bad |= (w | (w + ones) | ((w - spaces) &^ w)) & highs
		seen |= w ^ spaces
	}
	for i := 0; i < len(s); i++ {
		if s[i]-' ' > '~'-' ' {
			return false
		}
		seen |= uint64(s[i] ^ ' ')
	}
	return bad == 0 && seen != 0
}

// Session returns a session as seen now: a session whose bot no longer
// serves it reads as closed, with the reason and time SessionAt gives, even
// before a sweep has recorded that (R9). Like Route, it takes no actor and
// checks no permission: it is the messaging runtime's.
func (m *Manager) Session(ctx context.Context, id SessionID) (_ Session, err error) {
	ctx, sp := m.trace(ctx, OpSession)
	defer sp.end(&err)
	s, err := m.endUserSession(ctx, id)
	if err != nil || !s.Open() {
		return s, opError(OpSession, err)
	}
	b, err := m.botOrNil(ctx, s.Bot)
	if err != nil {
		return Session{}, opError(OpSession, err)
	}
	return SessionAt(s, b, m.clock.Now()), nil
}

// endUserSession reads an end user's session with id as recorded; a test
// session (R26) is its tester's alone, and not found here.
func (m *Manager) endUserSession(ctx context.Context, id SessionID) (Session, error) {
	s, err := m.session(ctx, id)
	if err == nil && s.Sender.IsTest() {
		return Session{}, &NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
	}
	return s, err
}

// session reads the session with id as recorded: the first one after id-1.
func (m *Manager) session(ctx context.Context, id SessionID) (Session, error) {
	if id > 0 {
		out, err := m.store.Sessions(ctx, m.ws, id-1, 1)
		if err != nil {
			return Session{}, err
		}
		if len(out) == 1 && out[0].ID == id {
			return out[0], nil
		}
	}
	return Session{}, &NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
}

// botOrNil reads a bot; nil, without error, if it no longer exists.
func (m *Manager) botOrNil(ctx context.Context, id BotID) (*Bot, error) {
	b, err := m.store.Bot(ctx, m.ws, id)
	switch {
	case err == nil:
		return &b, nil
	case errors.Is(err, ErrNotFound):
		return nil, nil
	}
	return nil, err
}

// CloseSession ends a conversation now, for the bot, an agent or the end
// user (reason completed). A session already over keeps its own reason. A
// test session (R26) is not found here: see CloseTestSession. Like Route,
// it takes no actor, checks no permission and writes no audit entry: it is
// the messaging runtime's.
func (m *Manager) CloseSession(ctx context.Context, id SessionID) (_ Session, err error) {
	ctx, sp := m.trace(ctx, OpCloseSession)
	defer sp.end(&err)
	if _, err := m.endUserSession(ctx, id); err != nil {
		return Session{}, opError(OpCloseSession, err)
	}
	s, err := m.store.CloseSession(ctx, m.ws, id, CloseCompleted, m.clock.Now())
	return s, opError(OpCloseSession, err)
}

// Batch sizes of ExpireDue.
const (
	expireBatch = 100
	sweepBatch  = 1000
)

// Expiry says what ExpireDue settled.
type Expiry struct {
	// DrainsEnded are the bots with a drain whose grace deadline had
	// passed, now ended there: Inactive, unless the bot is still Active on
	// another sender or drains there until later (R22).
	DrainsEnded []BotID
	// SessionsClosed counts sessions recorded closed: of drains that ended,
	// of bots offline, and idle ones.
	SessionsClosed int
	// Failed are due drains that could not be ended, or that the store
	// listed as due still after they were found ended meanwhile (logged);
	// the next ExpireDue tries them again. Reads treat them as ended all
	// the same.
	Failed []BotID
	// Schedules are the due schedules that ran, in order: done or refused.
	// SchedulesRefused are those of them whose run was refused, in order
	// (the schedule's Outcome says why, R23). FailedSchedules could not be
	// run, or the store listed them as due still after they were found run
	// meanwhile (logged); the next ExpireDue tries them again.
	Schedules        []ScheduleID
	SchedulesRefused []ScheduleID
	FailedSchedules  []ScheduleID
}

// ExpireDue settles everything due at the clock's now (R9, R23): drains
// whose grace deadline has passed end, audited as the system; schedules
// due run, in order, each as the user who made it; and sessions that are
// over are recorded closed, in bounded batches. It never
// relies on timers: run it as often as you like, from as many processes as
// you like. Reads and routing already treat what is due as settled, so
// ExpireDue only brings the records in line. It settles m's workspace
// (R27); a service of many workspaces runs it for each.
func (m *Manager) ExpireDue(ctx context.Context) (_ Expiry, err error) {
	ctx, sp := m.trace(ctx, OpExpireDue)
	defer sp.end(&err)
	now := m.clock.Now()
	oldest := now
	out, err := m.expireDue(ctx, now, &oldest)
	sp.settled, sp.lag = len(out.DrainsEnded)+len(out.Schedules)+out.SessionsClosed, now.Sub(oldest)
	return out, err
}

// expireDue is ExpireDue at now; it lowers *oldest to the earliest due
// time of the drains and schedules it finds.
func (m *Manager) expireDue(ctx context.Context, now time.Time, oldest *time.Time) (Expiry, error) {
	var out Expiry
	err := settleAll(ctx, m, "drain", func(limit int) ([]Bot, error) {
		due, err := m.store.Due(ctx, m.ws, now, limit)
		if len(due.Drains) > 0 && due.Drains[0].GraceDeadline.Before(*oldest) {
			*oldest = due.Drains[0].GraceDeadline // earliest first
		}
		return due.Drains, err
	},
		func(b Bot) BotID { return b.ID },
		func(b Bot) error {
			_, err := m.apply(ctx, System("grace period ended"), expireGrace{Bot: b.ID})
			if errors.Is(err, ErrNotFound) {
				return ErrInvalidTransition // deleted meanwhile: settled
			}
			return err
		}, &out.DrainsEnded, &out.Failed)
	if err != nil {
		return out, opError(OpExpireGrace, err)
	}
	err = settleAll(ctx, m, "schedule", func(limit int) ([]Schedule, error) {
		due, err := m.store.Due(ctx, m.ws, now, limit)
		if len(due.Schedules) > 0 && due.Schedules[0].At.Before(*oldest) {
			*oldest = due.Schedules[0].At
		}
		return due.Schedules, err
	},
		func(sc Schedule) ScheduleID { return sc.ID },
		func(sc Schedule) error {
			p, err := m.apply(ctx, System("schedule due"), runSchedule{ID: sc.ID})
			if err == nil && len(p.Schedules) == 1 && p.Schedules[0].After.Status == ScheduleRefused {
				out.SchedulesRefused = append(out.SchedulesRefused, sc.ID)
			}
			return err
		}, &out.Schedules, &out.FailedSchedules)
	if err != nil {
		return out, opError(OpRunSchedule, err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return out, opError(OpExpireGrace, err)
		}
		n, err := m.store.SweepSessions(ctx, m.ws, now, sweepBatch)
		out.SessionsClosed += n
		if err != nil {
			return out, opError(OpExpireGrace, err)
		}
		if n < sweepBatch {
			return out, nil
		}
	}
}

// settleAll settles what fetch says is due, a batch at a time, in its
// order, until a batch brings no progress: nothing in it that this call
// has not run yet. A refusal wrapping ErrInvalidTransition means another
// operation or process settled it meanwhile; any other failure is logged
// and the item skipped, so that one item that cannot be settled never
// keeps the others from being settled (the next ExpireDue tries it again).
// An item listed as due again after it ran - settled, or settled
// meanwhile - is one the store did not record as settled: it is not run
// again in this call but logged and left for the next ExpireDue, and
// reported in failed unless it is in done already (its commit succeeded),
// so that a store that keeps listing what was settled cannot keep
// ExpireDue running forever.
func settleAll[T any, K comparable](ctx context.Context, m *Manager, what string, fetch func(limit int) ([]T, error),
	key func(T) K, run func(T) error, done, failed *[]K) error {
	skip := map[K]bool{} // not to run again in this call, and maybe listed still
	type ranIn struct {
		batch int  // the batch it ran in
		done  bool // it is in done
	}
	ran := map[K]ranIn{} // every item run in this call
	for batch := 1; ; batch++ {
		limit := expireBatch + len(skip) // skip may grow below: a full batch is one of this limit
		due, err := fetch(limit)
		if err != nil {
			return err
		}
		progress := false
		for _, x := range due {
			k := key(x)
			if skip[k] {
				continue
			}
			if r, seen := ran[k]; seen {
				if r.batch == batch {
					continue // listed twice in one batch: it ran
				}
				skip[k] = true
				if !r.done {
					*failed = append(*failed, k)
				}
				m.logger().ErrorContext(ctx, "botlife: a due "+what+" settled in this run is listed as due still; the store did not record it, leaving it for the next run", what, k)
				continue
			}
			ran[k], progress = ranIn{batch: batch}, true
			switch err := run(x); {
			case err == nil:
				ran[k] = ranIn{batch: batch, done: true}
				*done = append(*done, k)
			case errors.Is(err, ErrInvalidTransition):
			case ctx.Err() != nil:
				return ctx.Err()
			default:
				skip[k] = true
				*failed = append(*failed, k)
				m.logger().ErrorContext(ctx, "botlife: could not settle a due "+what+"; skipping it", what, k, "err", err)
			}
		}
		if !progress || len(due) < limit {
			return nil
		}
	}
}

// Run calls ExpireDue every interval (paced by real time) until ctx is done,
// logging errors. It is a convenience for services; nothing in botlife
// starts it, and correctness never depends on it running.
func (m *Manager) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		return opError(OpExpireDue, &InputError{Field: "interval", Value: interval.String(), Problem: "must be positive"})
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := m.ExpireDue(ctx); err != nil && ctx.Err() == nil {
			m.logger().ErrorContext(ctx, "botlife: ExpireDue failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Analytics are session counts per bot and per sender, and who is live on
// each sender (R22).
type Analytics struct {
	ByBot    []SessionStats `json:"by_bot"`    // Sender is empty
	BySender []SessionStats `json:"by_sender"` // Bot is empty
	// Live says, for each sender in BySender, which bot is Active there
	// and which drains there, as seen now.
	Live []SenderLive `json:"live"`
}

// SenderLive is who is live on one sender (R22): the bot Active there and
// the bot draining there until GraceDeadline, if any.
type SenderLive struct {
	Sender        Sender    `json:"sender"`
	Active        BotID     `json:"active,omitempty"`
	Draining      BotID     `json:"draining,omitempty"`
	GraceDeadline time.Time `json:"grace_deadline,omitzero"`
}

// Analytics returns session counts per bot and per sender, as seen now:
// sessions of a bot that no longer serves them count as closed with the
// end of the activation they are in even before a sweep records that
// (R9). A store counts per bot and sender, not per activation or last
// activity, so until ExpireDue records them: idle sessions count as open,
// or, once their activation has ended, as closed with its reason even if
// they idled out first; and a bot's sessions on a sender count as open
// while they may be in activations that end them differently (one over,
// one live, or two over for different reasons). Test sessions (R26) are
// left out. Needs "View analytics".
func (m *Manager) Analytics(ctx context.Context, actor Actor) (_ Analytics, err error) {
	ctx, sp := m.trace(ctx, OpAnalytics)
	defer sp.end(&err)
	if err := m.authorize(ctx, actor, OpAnalytics); err != nil {
		return Analytics{}, err
	}
	rows, err := m.store.SessionStats(ctx, m.ws)
	if err != nil {
		return Analytics{}, opError(OpAnalytics, err)
	}
	now := m.clock.Now()
	bots := map[BotID]*Bot{}
	byBot := map[BotID]*SessionStats{}
	bySender := map[Sender]*SessionStats{}
	for _, r := range rows {
		if r.Sender.IsTest() {
			continue // R26: test sessions are no end users' figures
		}
		b, ok := bots[r.Bot]
		if !ok {
			if b, err = m.botOrNil(ctx, r.Bot); err != nil {
				return Analytics{}, opError(OpAnalytics, err)
			}
			bots[r.Bot] = b
		}
		r.Closed = copyCounts(r.Closed)
		if r.Open > 0 {
			if reason, over := openEnd(b, r.Sender, now); over {
				r.Closed[reason] += r.Open
				r.Open = 0
			}
		}
		addStats(byBot, r.Bot, SessionStats{Bot: r.Bot}, r)
		addStats(bySender, r.Sender, SessionStats{Sender: r.Sender}, r)
	}
	var out Analytics
	for _, s := range byBot {
		out.ByBot = append(out.ByBot, *s)
	}
	for _, s := range bySender {
		out.BySender = append(out.BySender, *s)
	}
	slices.SortFunc(out.ByBot, func(a, b SessionStats) int { return strings.Compare(string(a.Bot), string(b.Bot)) })
	sort.Slice(out.BySender, func(i, j int) bool { return out.BySender[i].Sender.less(out.BySender[j].Sender) })
	if out.Live, err = m.liveOn(ctx, out.BySender, now); err != nil {
		return Analytics{}, opError(OpAnalytics, err)
	}
	return out, nil
}

// openEnd says how the sessions a store counts open for b on sender s read
// at now (Analytics): over, with reason, when every activation they may be
// in ends them so. Those are the activations with a session recorded open
// (Bot.OpenActivations) that served s - the one there now or one whose
// recorded end names s - test leases aside (R26); which of them holds
// which session a store does not count, so if they disagree the sessions
// count as open, as they do while the store lists none (a read racing a
// sweep). Idle is not judged, as it needs each session's last activity.
func openEnd(b *Bot, s Sender, now time.Time) (CloseReason, bool) {
	if b == nil { // no longer stored (only a Draft is deleted, which serves no sender)
		return CloseOrphaned, true
	}
	var reason CloseReason
	over := false
	for _, k := range b.OpenActivations {
		if !b.servedOn(k, s) {
			continue
		}
		why, _, ended := sessionEnd(&Session{Sender: s, Activation: k, LastActivityAt: now}, b, now)
		if !ended || over && why != reason {
			return "", false
		}
		reason, over = why, true
	}
	return reason, over
}

// servedOn reports whether activation k of b may have served sender s: it
// is live there, or an end of k names s or every sender k still held. A
// test lease (R26) serves only its own virtual sender, which an end
// names. (A bot stored when Ends kept only its last 16 may hold sessions
// of an activation with no end left: they count as open until a sweep.)
func (b *Bot) servedOn(k uint64, s Sender) bool {
	if on, ok := b.On(s); ok && on.Activation == k {
		return true
	}
	return slices.ContainsFunc(b.Ends, func(e ActivationEnd) bool {
		return e.Activation == k && (e.Senders == nil || slices.Contains(e.Senders, s))
	})
}

// liveOn says who is live on each sender of rows, as seen at now: one read
// of at most two bots per sender (R1, R2).
func (m *Manager) liveOn(ctx context.Context, rows []SessionStats, now time.Time) ([]SenderLive, error) {
	out := make([]SenderLive, len(rows))
	at := make(map[Sender]int, len(rows))
	senders := make([]Sender, len(rows))
	for i, r := range rows {
		out[i].Sender, senders[i], at[r.Sender] = r.Sender, r.Sender, i
	}
	bots, _, err := m.store.SenderBots(ctx, m.ws, senders, "")
	if err != nil {
		return nil, err
	}
	for _, b := range bots {
		b = b.asOf(now)
		for _, e := range b.Live {
			i, ok := at[e.Sender]
			switch {
			case !ok:
			case e.State == Active:
				out[i].Active = b.ID
			default:
				out[i].Draining, out[i].GraceDeadline = b.ID, e.GraceDeadline
			}
		}
	}
	return out, nil
}

func copyCounts(m map[CloseReason]uint64) map[CloseReason]uint64 {
	out := make(map[CloseReason]uint64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func addStats[K comparable](into map[K]*SessionStats, k K, zero SessionStats, r SessionStats) {
	s, ok := into[k]
	if !ok {
		zero.Closed = map[CloseReason]uint64{}
		s = &zero
		into[k] = s
	}
	s.Opened += r.Opened
	s.Open += r.Open
	s.Messages += r.Messages
	for reason, n := range r.Closed {
		s.Closed[reason] += n
	}
}
