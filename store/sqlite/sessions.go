package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// routeSQL is Route's fast path: one statement that takes the message
// when the end user's open session is still served. Its WHERE clause
// compares the columns the core wrote for the bot's row on the session's
// sender (lifecycle.SenderRow): the bot holds a slot there in the
// session's activation, active or draining while now is before
// serves_until, and the session is not idle. When it matches no row, Route
// takes the slow path, which applies lifecycle.DecideRoute.
const routeSQL = `UPDATE sessions SET last_activity_at = ?1, messages = sessions.messages + 1
	FROM bots AS b, bot_senders AS bs
	WHERE sessions.channel = ?2 AND sessions.address = ?3 AND sessions.end_user = ?4 AND sessions.closed_at IS NULL
	  AND b.id = sessions.bot_id
	  AND bs.bot_id = sessions.bot_id AND bs.channel = sessions.channel AND bs.address = sessions.address
	  AND bs.activation = sessions.activation
	  AND (bs.slot = 'active' OR (bs.slot = 'draining' AND ?1 < bs.serves_until))
	  AND (b.idle_timeout <= 0 OR ?1 < sessions.last_activity_at + b.idle_timeout)
	RETURNING sessions.id, sessions.bot_id, sessions.activation, sessions.opened_at, sessions.messages`

const sessionColumns = `id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, closed_at, close_reason, messages`

type scanner interface{ Scan(dest ...any) error }

func scanSession(r scanner) (lifecycle.Session, error) {
	var s lifecycle.Session
	var id, activation, opened, last, messages int64
	var closed sql.NullInt64
	var bot, reason string
	err := r.Scan(&id, &s.Sender.Channel, &s.Sender.Address, &s.EndUser, &bot, &activation, &opened, &last, &closed, &reason, &messages)
	s.ID, s.Bot, s.Activation, s.Messages = lifecycle.SessionID(id), lifecycle.BotID(bot), uint64(activation), uint64(messages)
	s.OpenedAt, s.LastActivityAt, s.ClosedAt = time.Unix(0, opened).UTC(), time.Unix(0, last).UTC(), fromNanos(closed)
	s.CloseReason = lifecycle.CloseReason(reason)
	return s, err
}

// recordClosed records s closed as a session step decided it, if it is
// still recorded open.
func recordClosed(ctx context.Context, tx conn, s lifecycle.Session) error {
	n, err := nanos("close time", s.ClosedAt)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE sessions SET closed_at = ?, close_reason = ? WHERE id = ? AND closed_at IS NULL`, n, string(s.CloseReason), int64(s.ID))
	return err
}

// Route implements lifecycle.Store. A message to a session still served
// costs one statement (routeSQL), or with write-behind
// (Options.ActivityFlush) none once the session is cached; otherwise one
// write transaction reads the lifecycle.RouteView and applies what
// lifecycle.DecideRoute decides.
func (s *Store) Route(ctx context.Context, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	n := now.UnixNano()
	if s.act != nil && !now.IsZero() && !now.Before(minNanos) && !now.After(maxNanos) {
		if out, ok := s.act.route(sender, endUser, now, n); ok {
			return out, nil
		}
	}
	nv, err := nanos("now", now)
	if err != nil {
		return lifecycle.Session{}, err
	}
	s.wstmts.warm(ctx)
	release, err := s.write(ctx, false)
	if err != nil {
		return lifecycle.Session{}, s.fail("routing", err)
	}
	defer release()
	out, err := s.routeWriter(ctx, sender, endUser, now, nv, n)
	if err != nil {
		return lifecycle.Session{}, s.fail("routing", err)
	}
	return *out, nil
}

// routeWriter is Route holding the writer. Write-through: the fast
// statement, else the slow path in a write transaction. With write-behind
// see routeBehind.
func (s *Store) routeWriter(ctx context.Context, sender lifecycle.Sender, endUser string, now time.Time, nv any, n int64) (*lifecycle.Session, error) {
	if s.act == nil {
		var id, activation, opened, messages int64
		var bot string
		err := s.route.QueryRowContext(ctx, nv, sender.Channel, sender.Address, endUser).Scan(&id, &bot, &activation, &opened, &messages)
		if err == nil {
			return &lifecycle.Session{ID: lifecycle.SessionID(id), Sender: sender, EndUser: endUser, Bot: lifecycle.BotID(bot),
				Activation: uint64(activation), OpenedAt: time.Unix(0, opened).UTC(), LastActivityAt: now, Messages: uint64(messages)}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return s.routeSlowTx(ctx, nil, nil, sender, endUser, now)
	}
	if nv == nil { // the zero time: decided on the file, not cached
		claimed, ps := s.act.claim(keyOf(sender, endUser))
		return s.routeSlowTx(ctx, claimed, ps, sender, endUser, now)
	}
	return s.routeBehind(ctx, sender, endUser, now, n)
}

// routeBehind is Route with write-behind, holding the writer, when the
// message could not be taken in memory at once: the session may have been
// cached meanwhile, or its bot's copy dropped by a commit (read again);
// a session not cached is read from the file and cached if still served
// (a read, no write: its activity is written with the next flush); a
// session that is over, or none, takes the slow path, which writes the
// cached activity in the transaction that closes it.
func (s *Store) routeBehind(ctx context.Context, sender lifecycle.Sender, endUser string, now time.Time, n int64) (*lifecycle.Session, error) {
	a := s.act
	key := keyOf(sender, endUser)
	if id, ok := a.missingBot(key); ok {
		b, err := botOrNil(ctx, s.reader(ctx), id)
		if err != nil {
			return nil, err
		}
		if b != nil {
			a.setBot(b)
		}
	}
	if out, ok := a.route(sender, endUser, now, n); ok {
		return &out, nil
	}
	claimed, ps := a.claim(key)
	if claimed == nil {
		if err := s.loadSession(ctx, sender, endUser, now); err != nil {
			return nil, err
		}
		if out, ok := a.route(sender, endUser, now, n); ok {
			return &out, nil
		}
		claimed, ps = a.claim(key)
	}
	return s.routeSlowTx(ctx, claimed, ps, sender, endUser, now)
}

// loadSession caches the end user's open session from the file, with its
// bot, if it is still open at now (lifecycle.SessionAt). Caller holds the
// writer, so that the file has every write of this process.
func (s *Store) loadSession(ctx context.Context, sender lifecycle.Sender, endUser string, now time.Time) error {
	q := s.reader(ctx)
	sess, err := scanSession(q.QueryRowContext(ctx, sqlOpenSession, sender.Channel, sender.Address, endUser))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	b := s.act.bot(sess.Bot)
	if b == nil {
		if b, err = botOrNil(ctx, q, sess.Bot); err != nil || b == nil {
			return err
		}
	}
	if at := lifecycle.SessionAt(sess, b, now); at.Open() {
		s.act.put(sess, b)
	}
	return nil
}

// routeSlowTx runs routeSlow in a write transaction that first writes the
// activity taken from a claimed cached session; with write-behind the
// session that took the message is cached. A refusal of DecideRoute (no
// bot) comes back as the error, after the step is committed.
func (s *Store) routeSlowTx(ctx context.Context, claimed *cached, ps []pending, sender lifecycle.Sender, endUser string, now time.Time) (*lifecycle.Session, error) {
	var out lifecycle.Session
	var refused error
	err := s.txLocked(ctx, func(tx conn) (err error) {
		if err := writeActivity(ctx, tx, ps); err != nil {
			return err
		}
		out, refused, err = routeSlow(ctx, tx, sender, endUser, now)
		return err
	})
	if s.act != nil {
		s.act.settle(claimed, ps, err)
		if err == nil && refused == nil && !now.IsZero() {
			s.cacheSession(ctx, out)
		}
	}
	if err == nil {
		err = refused
	}
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// cacheSession caches a session the writer just wrote, with its bot, for
// write-behind. Caller holds the writer. A bot that cannot be read leaves
// the session uncached: its next Route goes to the file.
func (s *Store) cacheSession(ctx context.Context, sess lifecycle.Session) {
	a := s.act
	b := a.bot(sess.Bot)
	if b == nil {
		var err error
		if b, err = botOrNil(ctx, s.reader(ctx), sess.Bot); err != nil || b == nil {
			return
		}
	}
	a.put(sess, b)
}

const sqlOpenSession = `SELECT ` + sessionColumns + ` FROM sessions WHERE channel = ? AND address = ? AND end_user = ? AND closed_at IS NULL`

// routeSlow is Route when its fast path took nothing, in a write
// transaction, which keeps what it reads unchanged until it commits: it
// reads the lifecycle.RouteView - the bot in the sender's active slot only
// when the open session cannot take the message - and records the step
// lifecycle.DecideRoute decides. refused is DecideRoute's error.
func routeSlow(ctx context.Context, tx conn, sender lifecycle.Sender, endUser string, now time.Time) (_ lifecycle.Session, refused, err error) {
	var v lifecycle.RouteView
	cur, err := scanSession(tx.QueryRowContext(ctx, sqlOpenSession, sender.Channel, sender.Address, endUser))
	switch {
	case err == nil:
		v.Open = &cur
		if v.OpenBot, err = botOrNil(ctx, tx, cur.Bot); err != nil {
			return lifecycle.Session{}, nil, err
		}
	case !errors.Is(err, sql.ErrNoRows):
		return lifecycle.Session{}, nil, err
	}
	step, refused := lifecycle.DecideRoute(v, sender, endUser, now)
	if errors.Is(refused, lifecycle.ErrNoBot) {
		var doc []byte
		err := tx.QueryRowContext(ctx, `SELECT doc FROM bots WHERE id = (SELECT bot_id FROM bot_senders
			WHERE channel = ? AND address = ? AND slot = 'active')`, sender.Channel, sender.Address).Scan(&doc)
		if err == nil {
			var b lifecycle.Bot
			b, err = decodeBot(doc)
			v.Active = &b
		}
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return lifecycle.Session{}, nil, err
		}
		step, refused = lifecycle.DecideRoute(v, sender, endUser, now)
	}
	if step.Closed.ID != 0 {
		if err := recordClosed(ctx, tx, step.Closed); err != nil {
			return lifecycle.Session{}, nil, err
		}
	}
	if refused != nil {
		return lifecycle.Session{}, refused, nil
	}
	out := step.Session
	n := now.UnixNano() // Route checked its range
	if !step.New {
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET last_activity_at = ?, messages = ? WHERE id = ? AND closed_at IS NULL`, n, int64(out.Messages), int64(out.ID))
		return out, nil, err
	}
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO sessions (channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, sender.Channel, sender.Address, endUser, string(out.Bot), int64(out.Activation), n, n, int64(out.Messages)).Scan(&id)
	out.ID = lifecycle.SessionID(id)
	return out, nil, err
}

func sessionNotFound(id lifecycle.SessionID) error {
	return &lifecycle.NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
}

func getSession(ctx context.Context, q querier, id lifecycle.SessionID) (lifecycle.Session, error) {
	if uint64(id) > 1<<63-1 {
		return lifecycle.Session{}, sessionNotFound(id)
	}
	sess, err := scanSession(q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, int64(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return lifecycle.Session{}, sessionNotFound(id)
	}
	return sess, err
}

// CloseSession implements lifecycle.Store: it records the session as
// lifecycle.DecideClose returns it.
func (s *Store) CloseSession(ctx context.Context, id lifecycle.SessionID, reason lifecycle.CloseReason, now time.Time) (lifecycle.Session, error) {
	if _, err := nanos("now", now); err != nil {
		return lifecycle.Session{}, err
	}
	s.wstmts.warm(ctx)
	release, err := s.write(ctx, false)
	if err != nil {
		return lifecycle.Session{}, s.fail("closing a session", err)
	}
	defer release()
	var claimed *cached
	var ps []pending
	if s.act != nil {
		claimed, ps = s.act.claimID(id)
	}
	var out lifecycle.Session
	err = s.txLocked(ctx, func(tx conn) error {
		if err := writeActivity(ctx, tx, ps); err != nil {
			return err
		}
		cur, err := getSession(ctx, tx, id)
		if err != nil || !cur.Open() {
			out = cur
			return err
		}
		b, err := botOrNil(ctx, tx, cur.Bot)
		if err != nil {
			return err
		}
		out = lifecycle.DecideClose(cur, b, reason, now)
		return recordClosed(ctx, tx, out)
	})
	if s.act != nil {
		s.act.settle(claimed, ps, err)
	}
	return out, s.fail("closing a session", err)
}

// sweepPage is how many candidates of a group SweepSessions reads at once.
const sweepPage = 128

// groupKey names a group of open sessions: one activation of one bot on
// one sender.
type groupKey struct {
	bot        string
	sender     lifecycle.Sender
	activation int64
}

// SweepSessions implements lifecycle.Store. Open sessions fall in groups -
// one activation of one bot on one sender - found through the session
// counts and by seeking in an index, not by reading their sessions. For
// each group it compares columns: while the bot's row on the sender still
// serves the group's activation (its slot, serves_until) the candidates
// are the sessions idle by last_activity_at and the bot's idle timeout,
// else every session of the group; it reads them from the least recently
// active and records each as lifecycle.SessionAt returns it, stopping at
// the first still open. The cost is the sessions it closes plus the
// groups with open sessions.
func (s *Store) SweepSessions(ctx context.Context, now time.Time, limit int) (int, error) {
	if _, err := nanos("now", now); err != nil {
		return 0, err
	}
	s.wstmts.warm(ctx)
	release, err := s.write(ctx, false)
	if err != nil {
		return 0, s.fail("sweeping sessions", err)
	}
	defer release()
	// With write-behind the sweep decides on the activity written first in
	// its own transaction, and Routes wait for it rather than take
	// messages in memory meanwhile.
	var ps []pending
	var ids *[]lifecycle.SessionID
	if s.act != nil {
		ps = s.act.holdRoutes()
		defer s.act.releaseRoutes()
		ids = new([]lifecycle.SessionID)
	}
	closed := 0
	err = s.txLocked(ctx, func(tx conn) error {
		if err := writeActivity(ctx, tx, ps); err != nil {
			return err
		}
		pairs, err := openPairs(ctx, tx)
		if err != nil {
			return err
		}
		w := sweeper{ctx: ctx, tx: tx, now: now, n: clampNanos(now), left: limit, ids: ids, bots: map[string]*lifecycle.Bot{}}
		err = w.pairs(pairs)
		closed = limit - w.left
		return err
	})
	if s.act != nil {
		if err != nil {
			s.act.mu.Lock()
			s.act.restore(ps)
			s.act.mu.Unlock()
		} else {
			s.act.dropIDs(*ids)
		}
	}
	if err != nil {
		return 0, s.fail("sweeping sessions", err)
	}
	return closed, nil
}

// openPairs returns the (bot, sender) pairs with open sessions, from the
// counts the triggers keep.
func openPairs(ctx context.Context, tx conn) ([]groupKey, error) {
	return collect(func(r scanner) (k groupKey, err error) {
		return k, r.Scan(&k.bot, &k.sender.Channel, &k.sender.Address)
	})(tx.QueryContext(ctx, `SELECT bot_id, channel, address FROM session_stats WHERE open > 0`))
}

// sweeper is one SweepSessions in its transaction.
type sweeper struct {
	ctx  context.Context
	tx   conn
	now  time.Time
	n    int64
	left int // how many more it may close
	ids  *[]lifecycle.SessionID
	bots map[string]*lifecycle.Bot
}

// pairs sweeps the groups of each pair - each activation with open
// sessions, found by seeking past the previous one in the index - until
// it may close no more.
func (w *sweeper) pairs(pairs []groupKey) error {
	for _, k := range pairs {
		for k.activation = -1; w.left > 0; {
			err := w.tx.QueryRowContext(w.ctx, `SELECT activation FROM sessions
				WHERE bot_id = ? AND channel = ? AND address = ? AND closed_at IS NULL AND activation > ?
				ORDER BY activation LIMIT 1`, k.bot, k.sender.Channel, k.sender.Address, k.activation).Scan(&k.activation)
			if errors.Is(err, sql.ErrNoRows) {
				break
			}
			if err != nil {
				return err
			}
			if err := w.group(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// cutoff returns the latest last_activity_at of a candidate of group k:
// every session while the bot's row on the sender no longer serves the
// activation, else those idle; ok is false when none can be over.
func (w *sweeper) cutoff(k groupKey) (last int64, ok bool, err error) {
	var served bool
	var idle sql.NullInt64
	err = w.tx.QueryRowContext(w.ctx, `SELECT EXISTS (SELECT 1 FROM bot_senders
		WHERE bot_id = ?1 AND channel = ?2 AND address = ?3 AND activation = ?4
		  AND (slot = 'active' OR (slot = 'draining' AND ?5 < serves_until))),
		(SELECT idle_timeout FROM bots WHERE id = ?1)`, k.bot, k.sender.Channel, k.sender.Address, k.activation, w.n).Scan(&served, &idle)
	switch {
	case err != nil:
		return 0, false, err
	case !served || !idle.Valid:
		return math.MaxInt64, true, nil
	case idle.Int64 <= 0:
		return 0, false, nil
	case w.n < math.MinInt64+idle.Int64:
		return math.MinInt64, true, nil
	}
	return w.n - idle.Int64, true, nil
}

// group records closed the candidates of group k that are over, least
// recently active first.
func (w *sweeper) group(k groupKey) error {
	last, ok, err := w.cutoff(k)
	if !ok || err != nil {
		return err
	}
	b, cached := w.bots[k.bot]
	if !cached {
		if b, err = botOrNil(w.ctx, w.tx, lifecycle.BotID(k.bot)); err != nil {
			return err
		}
		w.bots[k.bot] = b
	}
	for w.left > 0 {
		want := min(sweepPage, w.left)
		page, err := collect(scanSession)(w.tx.QueryContext(w.ctx, `SELECT `+sessionColumns+` FROM sessions
			WHERE bot_id = ? AND channel = ? AND address = ? AND activation = ? AND closed_at IS NULL AND last_activity_at <= ?
			ORDER BY last_activity_at, id LIMIT ?`, k.bot, k.sender.Channel, k.sender.Address, k.activation, last, want))
		if err != nil {
			return err
		}
		for _, sess := range page {
			if sess = lifecycle.SessionAt(sess, b, w.now); sess.Open() {
				return nil
			}
			if err := recordClosed(w.ctx, w.tx, sess); err != nil {
				return err
			}
			if w.ids != nil {
				*w.ids = append(*w.ids, sess.ID)
			}
			w.left--
		}
		if len(page) < want {
			return nil
		}
	}
	return nil
}

// Sessions implements lifecycle.Store. With write-behind it first writes
// the activity held in memory, except for a page of one session (what
// Manager.Session reads): that session is answered from memory if it is
// cached, and otherwise the file has all its activity.
func (s *Store) Sessions(ctx context.Context, after lifecycle.SessionID, limit int) ([]lifecycle.Session, error) {
	if uint64(after) >= 1<<63-1 || limit <= 0 {
		return nil, nil
	}
	if s.act != nil && limit == 1 {
		if sess, ok := s.cachedSession(after + 1); ok {
			return []lifecycle.Session{sess}, nil
		}
	} else if err := s.FlushActivity(ctx); err != nil {
		return nil, err
	}
	out, err := collect(scanSession)(s.reader(ctx).QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id > ? ORDER BY id LIMIT ?`, int64(after), sqlLimit(limit)))
	if len(out) == 0 {
		out = nil
	}
	return out, s.fail("reading sessions", err)
}

// cachedSession returns the session with id if write-behind holds it.
func (s *Store) cachedSession(id lifecycle.SessionID) (lifecycle.Session, bool) {
	for {
		sess, ok, wait := s.act.session(id)
		if !wait {
			return sess, ok
		}
		// A write is closing or replacing it: it is settled when the
		// writer is free.
		s.wmu.Lock()
		s.wmu.Unlock() //nolint:staticcheck // waiting for the writer
	}
}

// SessionStats implements lifecycle.Store. The counts are kept by
// triggers as sessions open, take messages and close, so this reads one row
// per bot, sender and close reason, in the order of the memory store.
func (s *Store) SessionStats(ctx context.Context) ([]lifecycle.SessionStats, error) {
	if err := s.FlushActivity(ctx); err != nil {
		return nil, err
	}
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT bot_id, channel, address, opened, open, messages, reason, n
		FROM session_stats LEFT JOIN session_closed USING (bot_id, channel, address)
		ORDER BY bot_id, channel || ':' || address, channel, address`)
	if err != nil {
		return nil, s.fail("reading session counts", err)
	}
	defer rows.Close()
	out := []lifecycle.SessionStats{}
	for rows.Next() {
		var st lifecycle.SessionStats
		var opened, open, messages int64
		var reason sql.NullString
		var n sql.NullInt64
		if err := rows.Scan(&st.Bot, &st.Sender.Channel, &st.Sender.Address, &opened, &open, &messages, &reason, &n); err != nil {
			return nil, s.fail("reading session counts", err)
		}
		if k := len(out) - 1; k < 0 || out[k].Bot != st.Bot || out[k].Sender != st.Sender {
			st.Opened, st.Open, st.Messages, st.Closed = uint64(opened), uint64(open), uint64(messages), map[lifecycle.CloseReason]uint64{}
			out = append(out, st)
		}
		if reason.Valid {
			out[len(out)-1].Closed[lifecycle.CloseReason(reason.String)] += uint64(n.Int64)
		}
	}
	return out, s.fail("reading session counts", rows.Err())
}
