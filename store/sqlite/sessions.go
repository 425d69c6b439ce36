package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// routeSQL is Route's fast path: one statement that takes the message when
// the end user's open session is still served. Its WHERE clause is the
// negation of lifecycle.SessionEnd, read from the bot's row for the
// session's sender (R22): the bot exists, it is live on the sender in the
// session's activation, Active there or draining before that sender's
// deadline, and the session is not idle. When it matches no row, Route
// takes the slow path, which decides with lifecycle.SessionEnd itself.
const routeSQL = `UPDATE sessions SET last_activity_at = ?1, messages = sessions.messages + 1
	FROM bots AS b, bot_senders AS bs
	WHERE sessions.channel = ?2 AND sessions.address = ?3 AND sessions.end_user = ?4 AND sessions.closed_at IS NULL
	  AND b.id = sessions.bot_id
	  AND bs.bot_id = sessions.bot_id AND bs.channel = sessions.channel AND bs.address = sessions.address
	  AND bs.activation = sessions.activation
	  AND (bs.state = 2 OR (bs.state = 3 AND ?1 < bs.grace_deadline))
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

// botForEnd reads the bot lifecycle.SessionEnd needs: the whole bot, since
// a session ends as its own activation did (Bot.Ends); nil if the bot no
// longer exists.
func botForEnd(ctx context.Context, q querier, id lifecycle.BotID) (*lifecycle.Bot, error) {
	b, err := getBot(ctx, q, id)
	if errors.Is(err, lifecycle.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &b, nil
}

func closeSession(ctx context.Context, tx conn, id lifecycle.SessionID, reason lifecycle.CloseReason, at time.Time) error {
	n, err := nanos("close time", at)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE sessions SET closed_at = ?, close_reason = ? WHERE id = ?`, n, string(reason), int64(id))
	return err
}

// Route implements lifecycle.SessionStore. A message to a session still
// served costs one statement, or with write-behind (Options.ActivityFlush)
// none once the session is cached; otherwise one write transaction closes
// the old session as lifecycle.SessionEnd says and opens a new one.
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
	if out == nil {
		return lifecycle.Session{}, &lifecycle.NoBotError{Sender: sender}
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
		b, err := botForEnd(ctx, s.reader(ctx), id)
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
// bot, if lifecycle.SessionEnd says it is still served at now. Caller
// holds the writer, so that the file has every write of this process.
func (s *Store) loadSession(ctx context.Context, sender lifecycle.Sender, endUser string, now time.Time) error {
	q := s.reader(ctx)
	sess, err := scanSession(q.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE channel = ? AND address = ? AND end_user = ? AND closed_at IS NULL`, sender.Channel, sender.Address, endUser))
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	b := s.act.bot(sess.Bot)
	if b == nil {
		if b, err = botForEnd(ctx, q, sess.Bot); err != nil || b == nil {
			return err
		}
	}
	if _, _, over := lifecycle.SessionEnd(&sess, b, now); !over {
		s.act.put(sess, b)
	}
	return nil
}

// routeSlowTx runs routeSlow in a write transaction that first writes the
// activity taken from a claimed cached session; with write-behind the
// session that took the message is cached.
func (s *Store) routeSlowTx(ctx context.Context, claimed *cached, ps []pending, sender lifecycle.Sender, endUser string, now time.Time) (*lifecycle.Session, error) {
	var out *lifecycle.Session
	err := s.txLocked(ctx, func(tx conn) error {
		if err := writeActivity(ctx, tx, ps); err != nil {
			return err
		}
		var err error
		out, err = routeSlow(ctx, tx, sender, endUser, now)
		return err
	})
	if s.act != nil {
		s.act.settle(claimed, ps, err)
		if err == nil && out != nil && !now.IsZero() {
			s.cacheSession(ctx, *out)
		}
	}
	return out, err
}

// cacheSession caches a session the writer just wrote, with its bot, for
// write-behind. Caller holds the writer. A bot that cannot be read leaves
// the session uncached: its next Route goes to the file.
func (s *Store) cacheSession(ctx context.Context, sess lifecycle.Session) {
	a := s.act
	if a == nil {
		return
	}
	b := a.bot(sess.Bot)
	if b == nil {
		var err error
		if b, err = botForEnd(ctx, s.reader(ctx), sess.Bot); err != nil || b == nil {
			return
		}
	}
	a.put(sess, b)
}

// routeSlow is Route when its fast path took nothing, in a write
// transaction: the end user's open session takes the message if
// lifecycle.SessionEnd says it is not over, else it is closed as
// SessionEnd says and a session opens on the bot Active on the sender. It
// returns nil when no bot is Active there (the close, if any, is still
// committed).
func routeSlow(ctx context.Context, tx conn, sender lifecycle.Sender, endUser string, now time.Time) (*lifecycle.Session, error) {
	n := now.UnixNano() // Route checked its range
	cur, err := scanSession(tx.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE channel = ? AND address = ? AND end_user = ? AND closed_at IS NULL`, sender.Channel, sender.Address, endUser))
	switch {
	case err == nil:
		b, err := botForEnd(ctx, tx, cur.Bot)
		if err != nil {
			return nil, err
		}
		reason, at, over := lifecycle.SessionEnd(&cur, b, now)
		if !over { // served after all: the fast path's clause is stricter only at its edges
			if _, err := tx.ExecContext(ctx, `UPDATE sessions SET last_activity_at = ?, messages = messages + 1 WHERE id = ?`, n, int64(cur.ID)); err != nil {
				return nil, err
			}
			cur.LastActivityAt, cur.Messages = now, cur.Messages+1
			return &cur, nil
		}
		if err := closeSession(ctx, tx, cur.ID, reason, at); err != nil {
			return nil, err
		}
	case !errors.Is(err, sql.ErrNoRows):
		return nil, err
	}
	// The bot Active on the sender, and the activation it joined the sender
	// in (R22).
	var botID string
	var activation int64
	err = tx.QueryRowContext(ctx, `SELECT bot_id, activation FROM bot_senders
		WHERE channel = ? AND address = ? AND state = 2`, sender.Channel, sender.Address).Scan(&botID, &activation)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var sid int64
	if err := tx.QueryRowContext(ctx, `INSERT INTO sessions (channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages)
		VALUES (?, ?, ?, ?, ?, ?, ?, 1) RETURNING id`, sender.Channel, sender.Address, endUser, botID, activation, n, n).Scan(&sid); err != nil {
		return nil, err
	}
	return &lifecycle.Session{ID: lifecycle.SessionID(sid), Sender: sender, EndUser: endUser, Bot: lifecycle.BotID(botID),
		Activation: uint64(activation), OpenedAt: now, LastActivityAt: now, Messages: 1}, nil
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

// Session implements lifecycle.SessionStore. With write-behind a session
// cached in memory is answered from there, as the file will have it once
// written.
func (s *Store) Session(ctx context.Context, id lifecycle.SessionID) (lifecycle.Session, error) {
	for s.act != nil {
		sess, ok, wait := s.act.session(id)
		if ok {
			return sess, nil
		}
		if !wait {
			break
		}
		// A write is closing or replacing it: it is settled when the
		// writer is free.
		s.wmu.Lock()
		s.wmu.Unlock()
	}
	sess, err := getSession(ctx, s.reader(ctx), id)
	return sess, s.fail("reading a session", err)
}

// CloseSession implements lifecycle.SessionStore.
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
		b, err := botForEnd(ctx, tx, cur.Bot)
		if err != nil {
			return err
		}
		at := now
		if r, end, over := lifecycle.SessionEnd(&cur, b, now); over {
			reason, at = r, end
		}
		if err := closeSession(ctx, tx, id, reason, at); err != nil {
			return err
		}
		cur.ClosedAt, cur.CloseReason = at, reason
		out = cur
		return nil
	})
	if s.act != nil {
		s.act.settle(claimed, ps, err)
	}
	return out, s.fail("closing a session", err)
}

// sweepPage is how many open sessions of a group SweepSessions reads at
// once.
const sweepPage = 128

// groupKey names a group of open sessions: one activation of one bot on
// one sender.
type groupKey struct {
	bot        string
	sender     lifecycle.Sender
	activation int64
}

// SweepSessions implements lifecycle.SessionStore. Open sessions fall in
// groups - one activation of one bot on one sender - as in the memory
// store. For each group (found through the session counts and by seeking
// in an index, not by reading its sessions) it reads the sessions from the
// least recently active and stops at the first that is not over: the cost
// is the sessions it closes plus the groups with open sessions.
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
		closed, err = sweepPairs(ctx, tx, pairs, now, limit, ids)
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
	rows, err := tx.QueryContext(ctx, `SELECT bot_id, channel, address FROM session_stats WHERE open > 0`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var pairs []groupKey
	for rows.Next() {
		var k groupKey
		if err := rows.Scan(&k.bot, &k.sender.Channel, &k.sender.Address); err != nil {
			return nil, err
		}
		pairs = append(pairs, k)
	}
	return pairs, rows.Err()
}

// sweepPairs sweeps the groups of each pair - each activation with open
// sessions, found by seeking past the previous one in the index - until
// limit sessions are closed, and returns how many it closed.
func sweepPairs(ctx context.Context, tx conn, pairs []groupKey, now time.Time, limit int, ids *[]lifecycle.SessionID) (int, error) {
	closed := 0
	bots := map[string]*lifecycle.Bot{}
	for _, k := range pairs {
		b, ok := bots[k.bot]
		if !ok {
			var err error
			if b, err = botForEnd(ctx, tx, lifecycle.BotID(k.bot)); err != nil {
				return closed, err
			}
			bots[k.bot] = b
		}
		for k.activation = -1; closed < limit; {
			err := tx.QueryRowContext(ctx, `SELECT activation FROM sessions
				WHERE bot_id = ? AND channel = ? AND address = ? AND closed_at IS NULL AND activation > ?
				ORDER BY activation LIMIT 1`, k.bot, k.sender.Channel, k.sender.Address, k.activation).Scan(&k.activation)
			if errors.Is(err, sql.ErrNoRows) {
				break
			}
			if err != nil {
				return closed, err
			}
			n, err := sweepGroup(ctx, tx, k, b, now, limit-closed, ids)
			closed += n
			if err != nil {
				return closed, err
			}
		}
		if closed >= limit {
			break
		}
	}
	return closed, nil
}

// sweepGroup closes the over prefix of one group's open sessions, at most
// limit, adding their ids to ids when it is not nil.
func sweepGroup(ctx context.Context, tx conn, k groupKey, b *lifecycle.Bot, now time.Time, limit int, ids *[]lifecycle.SessionID) (int, error) {
	closed := 0
	// Pages grow from a few sessions: a group with nothing due costs one
	// short read, however many sessions it has open.
	for page := 4; closed < limit; page = min(2*page, sweepPage) {
		want := min(page, limit-closed)
		rows, err := tx.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
			WHERE bot_id = ? AND channel = ? AND address = ? AND activation = ? AND closed_at IS NULL
			ORDER BY last_activity_at, id LIMIT ?`, k.bot, k.sender.Channel, k.sender.Address, k.activation, want)
		if err != nil {
			return closed, err
		}
		var page []lifecycle.Session
		for rows.Next() {
			sess, err := scanSession(rows)
			if err != nil {
				rows.Close()
				return closed, err
			}
			page = append(page, sess)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return closed, err
		}
		for _, sess := range page {
			reason, at, over := lifecycle.SessionEnd(&sess, b, now)
			if !over {
				return closed, nil
			}
			if err := closeSession(ctx, tx, sess.ID, reason, at); err != nil {
				return closed, err
			}
			if ids != nil {
				*ids = append(*ids, sess.ID)
			}
			closed++
		}
		if len(page) < want {
			return closed, nil
		}
	}
	return closed, nil
}

// Sessions implements lifecycle.SessionStore.
func (s *Store) Sessions(ctx context.Context, after lifecycle.SessionID, limit int) ([]lifecycle.Session, error) {
	if uint64(after) > 1<<63-1 || limit <= 0 {
		return nil, nil
	}
	if err := s.FlushActivity(ctx); err != nil {
		return nil, err
	}
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id > ? ORDER BY id LIMIT ?`, int64(after), sqlLimit(limit))
	if err != nil {
		return nil, s.fail("reading sessions", err)
	}
	defer rows.Close()
	var out []lifecycle.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, s.fail("reading sessions", err)
		}
		out = append(out, sess)
	}
	return out, s.fail("reading sessions", rows.Err())
}

// SessionStats implements lifecycle.SessionStore. The counts are kept by
// triggers as sessions open, take messages and close, so this reads one row
// per bot and sender (and close reason).
func (s *Store) SessionStats(ctx context.Context) ([]lifecycle.SessionStats, error) {
	type key struct {
		bot    string
		sender lifecycle.Sender
	}
	if err := s.FlushActivity(ctx); err != nil {
		return nil, err
	}
	byKey := map[key]*lifecycle.SessionStats{}
	err := s.readTx(ctx, func(tx conn) error {
		rows, err := tx.QueryContext(ctx, `SELECT bot_id, channel, address, opened, open, messages FROM session_stats`)
		if err != nil {
			return err
		}
		for rows.Next() {
			var k key
			var opened, open, messages int64
			if err := rows.Scan(&k.bot, &k.sender.Channel, &k.sender.Address, &opened, &open, &messages); err != nil {
				rows.Close()
				return err
			}
			byKey[k] = &lifecycle.SessionStats{Bot: lifecycle.BotID(k.bot), Sender: k.sender, Opened: uint64(opened), Open: uint64(open),
				Messages: uint64(messages), Closed: map[lifecycle.CloseReason]uint64{}}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = tx.QueryContext(ctx, `SELECT bot_id, channel, address, reason, n FROM session_closed`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k key
			var reason string
			var n int64
			if err := rows.Scan(&k.bot, &k.sender.Channel, &k.sender.Address, &reason, &n); err != nil {
				return err
			}
			if st := byKey[k]; st != nil {
				st.Closed[lifecycle.CloseReason(reason)] += uint64(n)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, s.fail("reading session counts", err)
	}
	out := make([]lifecycle.SessionStats, 0, len(byKey))
	for _, st := range byKey {
		out = append(out, *st)
	}
	lifecycle.SortSessionStats(out)
	return out, nil
}
