package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/internal/sqlrows"
)

// routeSQL is Route's fast path: it takes the message when the bot's row
// on the session's sender (lifecycle.SenderRow) holds a slot in the
// session's activation - active, or draining before serves_until - and
// the session is not idle. Every key starts with the workspace, ?5. A
// message before the session's last activity (the clock stepped back) is
// left to routeSlow, which makes the session's group due sooner.
const routeSQL = `UPDATE sessions SET last_activity_at = ?1, messages = sessions.messages + 1
	FROM bots AS b, bot_senders AS bs
	WHERE sessions.workspace = ?5 AND sessions.channel = ?2 AND sessions.address = ?3 AND sessions.end_user = ?4 AND sessions.closed_at IS NULL
	  AND b.workspace = ?5 AND b.id = sessions.bot_id
	  AND bs.workspace = ?5 AND bs.bot_id = sessions.bot_id AND bs.channel = sessions.channel AND bs.address = sessions.address
	  AND bs.activation = sessions.activation
	  AND (bs.slot = 'active' OR (bs.slot = 'draining' AND ?1 < bs.serves_until))
	  AND (b.idle_timeout <= 0 OR ?1 < sessions.last_activity_at + b.idle_timeout) AND ?1 >= sessions.last_activity_at
	RETURNING sessions.id, sessions.bot_id, sessions.activation, sessions.opened_at, sessions.messages`

const sessionColumns = `id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, closed_at, close_reason, messages`

func scanSession(r sqlrows.Scanner) (lifecycle.Session, error) { return sqlrows.ScanSession(r) }

// recordClosed records s, of workspace ws, closed as a session step
// decided it, if it is still recorded open.
func recordClosed(ctx context.Context, tx conn, ws string, s lifecycle.Session) error {
	n, err := sqlrows.Nanos("close time", s.ClosedAt)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE sessions SET closed_at = ?, close_reason = ? WHERE workspace = ? AND id = ? AND closed_at IS NULL`, n, string(s.CloseReason), ws, int64(s.ID))
	return err
}

// Route implements lifecycle.Store. A message to a session still served
// costs one statement (routeSQL), the only write not synced under
// SyncCommits; otherwise one durable write transaction reads the
// lifecycle.RouteView and applies what lifecycle.DecideRoute decides.
func (s *Store) Route(ctx context.Context, ws lifecycle.Workspace, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	nv, err := sqlrows.MustNanos("now", now)
	if err != nil {
		return lifecycle.Session{}, err
	}
	now = time.Unix(0, nv).UTC() // as it is stored and read back
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if err := s.setSync(ctx, false); err != nil {
		return lifecycle.Session{}, s.fail("routing", err)
	}
	// The fast path's one statement, once begun, runs to its end: the
	// driver and database/sql report a context that ended during it or
	// before its row was read even when SQLite took the message, and a
	// caller told Route failed would route the message again. An ended
	// context is refused before it.
	if err := ctx.Err(); err != nil {
		return lifecycle.Session{}, s.fail("routing", err)
	}
	var id, activation, opened, messages int64
	var bot string
	err = conn{c: s.wstmts}.QueryRowContext(context.Background(), routeSQL, nv, sender.Channel, sender.Address, endUser, string(ws)).Scan(&id, &bot, &activation, &opened, &messages)
	if err == nil {
		return lifecycle.Session{ID: lifecycle.SessionID(id), Sender: sender, EndUser: endUser, Bot: lifecycle.BotID(bot),
			Activation: uint64(activation), OpenedAt: time.Unix(0, opened).UTC(), LastActivityAt: now, Messages: uint64(messages)}, nil
	}
	var out lifecycle.Session
	var refused error
	if errors.Is(err, sql.ErrNoRows) {
		err = s.txLocked(ctx, func(tx conn) (err error) {
			out, refused, err = routeSlow(ctx, tx, string(ws), sender, endUser, now)
			return err
		})
	}
	if err == nil {
		err = refused
	}
	if err != nil {
		return lifecycle.Session{}, s.fail("routing", err)
	}
	return out, nil
}

const sqlOpenSession = `SELECT ` + sessionColumns + ` FROM sessions WHERE workspace = ? AND channel = ? AND address = ? AND end_user = ? AND closed_at IS NULL`

// routeSlow is Route when its fast path took nothing, in a write
// transaction: it reads the lifecycle.RouteView and records the step
// lifecycle.DecideRoute decides; refused is DecideRoute's error.
func routeSlow(ctx context.Context, tx conn, ws string, sender lifecycle.Sender, endUser string, now time.Time) (_ lifecycle.Session, refused, err error) {
	var v lifecycle.RouteView
	cur, err := sqlrows.ScanSession(tx.QueryRowContext(ctx, sqlOpenSession, ws, sender.Channel, sender.Address, endUser))
	if err == nil {
		v.Open = &cur
		v.OpenBot, err = getBot(ctx, tx, sqlBot, ws, string(cur.Bot))
	}
	if err == nil || errors.Is(err, sql.ErrNoRows) {
		v.Active, err = getBot(ctx, tx, `SELECT doc FROM bots WHERE workspace = ?1 AND id = (SELECT bot_id FROM bot_senders
			WHERE workspace = ?1 AND channel = ?2 AND address = ?3 AND slot = 'active')`, ws, sender.Channel, sender.Address)
	}
	if err != nil {
		return lifecycle.Session{}, nil, err
	}
	step, refused := lifecycle.DecideRoute(v, sender, endUser, now)
	if step.Closed.ID != 0 {
		if err := recordClosed(ctx, tx, ws, step.Closed); err != nil {
			return lifecycle.Session{}, nil, err
		}
	}
	if refused != nil {
		return lifecycle.Session{}, refused, nil
	}
	out := step.Session
	n := now.UnixNano() // Route checked its range
	if !step.New {
		_, err = tx.ExecContext(ctx, `UPDATE sessions SET last_activity_at = ?, messages = ? WHERE workspace = ? AND id = ? AND closed_at IS NULL`, n, int64(out.Messages), ws, int64(out.ID))
		if err == nil && now.Before(cur.LastActivityAt) { // the clock stepped back: the session may end sooner
			err = holdGroup(ctx, tx, ws, out, v.OpenBot, now)
		}
		return out, nil, err
	}
	// The workspace's next session id: max + 1, as writes are serialised.
	var id int64
	err = tx.QueryRowContext(ctx, `INSERT INTO sessions (workspace, id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages)
		VALUES (?1, (SELECT coalesce(max(id), 0) + 1 FROM sessions WHERE workspace = ?1), ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8) RETURNING id`,
		ws, sender.Channel, sender.Address, endUser, string(out.Bot), int64(out.Activation), n, int64(out.Messages)).Scan(&id)
	out.ID = lifecycle.SessionID(id)
	if err == nil {
		err = holdGroup(ctx, tx, ws, out, v.Active, now)
	}
	return out, nil, err
}

// holdGroup keeps the group of session s, of bot b, last active at now,
// in session_groups, in one statement by key: a group with no row is added
// due at once; a group's due is lowered to s's next possible end where
// that comes sooner, which only a message or an opening at an instant
// before one a sweep saw (the clock stepped back) makes happen. Otherwise
// it writes nothing.
func holdGroup(ctx context.Context, tx conn, ws string, s lifecycle.Session, b *lifecycle.Bot, now time.Time) error {
	end := sqlrows.NextEnd(b, s.Sender, s.Activation, now)
	_, err := tx.ExecContext(ctx, `INSERT INTO session_groups (workspace, bot_id, channel, address, activation, due) VALUES (?1, ?2, ?3, ?4, ?5, `+dueNow+`)
		ON CONFLICT (workspace, bot_id, channel, address, activation) DO UPDATE SET due = ?6 WHERE due > ?6`,
		ws, string(s.Bot), s.Sender.Channel, s.Sender.Address, int64(s.Activation), end)
	return err
}

// dueNow is session_groups.due for a group the next sweep visits.
const dueNow = `-9223372036854775808`

// CloseSession implements lifecycle.Store: it records the session as
// lifecycle.DecideClose returns it.
func (s *Store) CloseSession(ctx context.Context, ws lifecycle.Workspace, id lifecycle.SessionID, reason lifecycle.CloseReason, now time.Time) (lifecycle.Session, error) {
	nv, err := sqlrows.MustNanos("now", now)
	if err != nil {
		return lifecycle.Session{}, err
	}
	now = time.Unix(0, nv).UTC() // as it is stored and read back
	var out lifecycle.Session
	err = s.inTx(ctx, func(tx conn) error {
		// An id above math.MaxInt64 turns negative, and finds no session.
		cur, err := sqlrows.ScanSession(tx.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE workspace = ? AND id = ?`, string(ws), int64(id)))
		if errors.Is(err, sql.ErrNoRows) {
			return &lifecycle.NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
		}
		if err != nil || !cur.Open() {
			out = cur
			return err
		}
		b, err := getBot(ctx, tx, sqlBot, string(ws), string(cur.Bot))
		if err != nil {
			return err
		}
		out = lifecycle.DecideClose(cur, b, reason, now)
		return recordClosed(ctx, tx, string(ws), out)
	})
	return out, s.fail("closing a session", err)
}

// sweepPage is how many candidates of a group SweepSessions reads at once.
const sweepPage = 128

// groupKey names a group of open sessions: one activation of one bot on
// one sender, in a workspace; activation -1 is before the bot's first
// group.
type groupKey struct {
	ws, bot    string
	sender     lifecycle.Sender
	activation int64
}

// inGroup selects the rows of one group, the key ?1-?5 that k.args()
// gives.
const inGroup = `workspace = ?1 AND bot_id = ?2 AND channel = ?3 AND address = ?4 AND activation = ?5`

// args returns k as the parameters ?1-?5 of inGroup and nextGroupSQL,
// followed by more (?6...).
func (k groupKey) args(more ...any) []any {
	return append([]any{k.ws, k.bot, k.sender.Channel, k.sender.Address, k.activation}, more...)
}

// nextGroupSQL are the seeks of nextGroup in the index
// open_sessions_by_group, each on one column past the key ?1-?5
// (workspace, bot, channel, address, activation): the bot's first group;
// then the next activation of the bot on the sender, else the next
// address on the channel, the next channel. (A row-value comparison of the
// three walked every session of the group.)
var nextGroupSQL = [...]string{
	groupAfter(`bot_id = ?2`),
	groupAfter(`bot_id = ?2 AND channel = ?3 AND address = ?4 AND activation > ?5`),
	groupAfter(`bot_id = ?2 AND channel = ?3 AND address > ?4`),
	groupAfter(`bot_id = ?2 AND channel > ?3`),
}

func groupAfter(key string) string {
	return `SELECT bot_id, channel, address, activation FROM sessions WHERE workspace = ?1 AND closed_at IS NULL AND ` + key + `
		ORDER BY bot_id, channel, address, activation LIMIT 1`
}

// nextGroup moves k to the next group of open sessions of its bot, in at
// most three seeks whatever the sessions in each; ok is false past the
// last.
func nextGroup(ctx context.Context, q conn, k *groupKey) (ok bool, err error) {
	args := k.args()
	from, to := 1, len(nextGroupSQL)
	if k.activation < 0 {
		from, to = 0, 1
	}
	for i := from; i < to; i++ {
		n := [...]int{2, 5, 4, 3}[i] // the parameters query i names
		err = q.QueryRowContext(ctx, nextGroupSQL[i], args[:n]...).Scan(&k.bot, &k.sender.Channel, &k.sender.Address, &k.activation)
		if !errors.Is(err, sql.ErrNoRows) {
			return err == nil, err
		}
	}
	return false, nil
}

// SweepSessions implements lifecycle.Store, group by group of open
// sessions that session_groups says are due, earliest first: it reads
// those last active before the cutoff lifecycle.NextSessionEnd gives,
// least recently active first, records each as lifecycle.SessionAt
// returns it until one is still open, then leaves the group due at its
// next possible end (or removes it once none of its sessions is open).
// Groups that are not due cost nothing. It commits every sweepGroups
// groups and goes on in a new transaction, so that the write lock is never
// held for every group due at once (after a migration, or a commit of a
// bot with many): routing and commits get in between.
func (s *Store) SweepSessions(ctx context.Context, ws lifecycle.Workspace, now time.Time, limit int) (int, error) {
	if _, err := sqlrows.Nanos("now", now); err != nil || limit <= 0 {
		return 0, err
	}
	nv := sqlrows.Clamp(now)
	closed := 0
	for more := true; more && closed < limit; {
		w := sweeper{ctx: ctx, now: now, left: limit - closed, bots: map[string]*lifecycle.Bot{}}
		err := s.inTx(ctx, func(tx conn) (err error) {
			w.tx = tx
			more, err = w.groups(string(ws), nv)
			return err
		})
		if err != nil {
			return closed, s.fail("sweeping sessions", err)
		}
		closed = limit - w.left
	}
	return closed, nil
}

// sweepGroups is how many groups a SweepSessions transaction visits.
var sweepGroups = 256

// groups sweeps up to sweepGroups groups due at nv in w's transaction,
// and reports whether more may be due.
func (w *sweeper) groups(ws string, nv int64) (more bool, err error) {
	for visited := 0; w.left > 0; visited++ {
		if visited == sweepGroups {
			return true, nil
		}
		k := groupKey{ws: ws}
		err := w.tx.QueryRowContext(w.ctx, `SELECT bot_id, channel, address, activation FROM session_groups WHERE workspace = ? AND due <= ?
			ORDER BY due LIMIT 1`, k.ws, nv).Scan(&k.bot, &k.sender.Channel, &k.sender.Address, &k.activation)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		if err == nil {
			err = w.group(k)
		}
		if err != nil || w.left == 0 { // the group may have more that are due: it stays due
			return false, err
		}
		if again, err := w.reschedule(k, nv); err != nil || again {
			return false, err
		}
	}
	return false, nil
}

// sweeper is one SweepSessions in its transaction.
type sweeper struct {
	ctx  context.Context
	tx   conn
	now  time.Time
	left int // how many more it may close
	bots map[string]*lifecycle.Bot
}

// bot returns the bot with id (nil if there is none), read once per sweep.
func (w *sweeper) bot(ws, id string) (*lifecycle.Bot, error) {
	b, ok := w.bots[id]
	if !ok {
		var err error
		if b, err = getBot(w.ctx, w.tx, sqlBot, ws, id); err != nil {
			return nil, err
		}
		w.bots[id] = b
	}
	return b, nil
}

// reschedule leaves group k, swept at nv, due at its next possible end:
// that of its least recently active open session; or removes it once none
// is open. A group whose end is not after nv - a session SessionAt keeps
// open that NextSessionEnd calls over, which no rule makes - is left due
// just after nv, for the next sweep, so that each sweep gets past it; with
// nv the last instant, again says that this sweep must stop.
func (w *sweeper) reschedule(k groupKey, nv int64) (again bool, err error) {
	var last int64
	err = w.tx.QueryRowContext(w.ctx, `SELECT last_activity_at FROM sessions WHERE `+inGroup+` AND closed_at IS NULL
		ORDER BY last_activity_at LIMIT 1`, k.args()...).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		_, err = w.tx.ExecContext(w.ctx, `DELETE FROM session_groups WHERE `+inGroup, k.args()...)
		return false, err
	}
	b, err := w.bot(k.ws, k.bot)
	if err != nil {
		return false, err
	}
	due := int64(math.MaxInt64)
	if nv < math.MaxInt64 {
		due = max(sqlrows.NextEnd(b, k.sender, uint64(k.activation), time.Unix(0, last).UTC()), nv+1)
	}
	_, err = w.tx.ExecContext(w.ctx, `UPDATE session_groups SET due = ?6 WHERE `+inGroup, k.args(due)...)
	return due <= nv, err
}

// group records closed the sessions of group k that are over, least
// recently active first.
func (w *sweeper) group(k groupKey) error {
	b, err := w.bot(k.ws, k.bot)
	if err != nil {
		return err
	}
	// The latest last activity of a session that can be over: with the
	// bot still serving the activation, those idle.
	last := int64(math.MaxInt64)
	if at, ok := lifecycle.NextSessionEnd(b, k.sender, uint64(k.activation), w.now); !ok || at.After(w.now) {
		if !ok || b.IdleTimeout <= 0 {
			return nil
		}
		last = sqlrows.Clamp(w.now.Add(-b.IdleTimeout))
	}
	for w.left > 0 {
		want := min(sweepPage, w.left)
		page, err := collect(scanSession)(w.tx.QueryContext(w.ctx, `SELECT `+sessionColumns+` FROM sessions
			WHERE `+inGroup+` AND closed_at IS NULL AND last_activity_at <= ?6
			ORDER BY last_activity_at, id LIMIT ?7`, k.args(last, want)...))
		if err != nil {
			return err
		}
		for _, sess := range page {
			if sess = lifecycle.SessionAt(sess, b, w.now); sess.Open() {
				return nil
			}
			if err := recordClosed(w.ctx, w.tx, k.ws, sess); err != nil {
				return err
			}
			w.left--
		}
		if len(page) < want {
			return nil
		}
	}
	return nil
}

// Sessions implements lifecycle.Store.
func (s *Store) Sessions(ctx context.Context, ws lifecycle.Workspace, after lifecycle.SessionID, limit int) ([]lifecycle.Session, error) {
	if uint64(after) >= 1<<63-1 || limit <= 0 {
		return nil, nil
	}
	out, err := collect(scanSession)(s.reader().QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE workspace = ? AND id > ? ORDER BY id LIMIT ?`, string(ws), int64(after), limit))
	if len(out) == 0 {
		out = nil
	}
	return out, s.fail("reading sessions", err)
}

// SessionStats implements lifecycle.Store: one row per bot and sender of
// the counters triggers keep, its close reasons as one JSON object.
func (s *Store) SessionStats(ctx context.Context, ws lifecycle.Workspace) ([]lifecycle.SessionStats, error) {
	out, err := collect(func(r sqlrows.Scanner) (st lifecycle.SessionStats, err error) {
		var opened, open, messages int64
		var closed []byte
		if err = r.Scan(&st.Bot, &st.Sender.Channel, &st.Sender.Address, &opened, &open, &messages, &closed); err == nil {
			err = json.Unmarshal(closed, &st.Closed)
		}
		st.Opened, st.Open, st.Messages = uint64(opened), uint64(open), uint64(messages)
		return st, err
	})(s.reader().QueryContext(ctx, `SELECT bot_id, channel, address, opened, open, messages, (SELECT json_group_object(reason, n)
		FROM session_closed AS c WHERE (c.workspace, c.bot_id, c.channel, c.address) = (session_stats.workspace, session_stats.bot_id, session_stats.channel, session_stats.address))
		FROM session_stats WHERE workspace = ? ORDER BY bot_id, channel || ':' || address, channel, address`, string(ws)))
	return out, s.fail("reading session counts", err)
}
