package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/jackc/pgx/v5"
)

const sessionColumns = `s.id, s.channel, s.address, s.end_user, s.bot_id, s.activation, s.opened_at, s.last_activity_at, s.closed_at, s.close_reason, s.messages`

// served is the SQL of "lifecycle.SessionEnd says not over" for session s
// of bot b at now ($1), where bs is the bot's bot_senders row for the
// session's sender (R22): the bot is live on that sender in the session's
// activation, Active there or draining before that sender's deadline, and
// the session is not idle. It must change with SessionEnd (and sqlSweep's
// branches with it); Route decides with SessionEnd itself whenever served
// is false, and TestParity compares every answer with the memory store.
const served = `bs.activation = s.activation
	AND (bs.state = 2 OR (bs.state = 3 AND $1 < bs.grace_deadline))
	AND (b.idle_timeout <= 0 OR $1::bigint::numeric < s.last_activity_at::numeric + b.idle_timeout)`

// scanSession reads the sessionColumns of row, then any extra columns into
// extra.
func scanSession(row pgx.Row, extra ...any) (lifecycle.Session, error) {
	var s lifecycle.Session
	var id, activation, opened, last, messages int64
	var closed *int64
	var bot, reason string
	dest := append([]any{&id, &s.Sender.Channel, &s.Sender.Address, &s.EndUser, &bot, &activation, &opened, &last, &closed, &reason, &messages}, extra...)
	err := row.Scan(dest...)
	s.ID, s.Bot, s.Activation, s.Messages = lifecycle.SessionID(id), lifecycle.BotID(bot), uint64(activation), uint64(messages)
	s.OpenedAt, s.LastActivityAt, s.ClosedAt = fromNanos(&opened), fromNanos(&last), fromNanos(closed)
	s.CloseReason = lifecycle.CloseReason(reason)
	return s, err
}

// sqlRoute takes the message when the end user's open session is still
// served (one round trip); otherwise it returns, in one row, what opening a
// new session needs: the open session, if any, with its bot's document and
// revision (for lifecycle.SessionEnd), and the bot Active on the sender
// with its activation there (SenderState.Activation, R22) and its
// revision.
const sqlRoute = `
	WITH upd AS (
		UPDATE sessions s SET last_activity_at = $1, messages = s.messages + 1
		FROM bots b, bot_senders bs
		WHERE s.channel = $2 AND s.address = $3 AND s.end_user = $4 AND s.closed_at IS NULL
		  AND b.id = s.bot_id AND bs.bot_id = s.bot_id AND bs.channel = $2 AND bs.address = $3 AND ` + served + `
		RETURNING ` + sessionColumns + `)
	SELECT true, upd.*, NULL::bytea, NULL::bigint, NULL::text, NULL::bigint, NULL::bigint FROM upd
	UNION ALL
	SELECT false, ` + sessionColumns + `, cb.doc, cb.revision, a.bot_id, a.activation, a.revision
	FROM (SELECT 1) AS one
	LEFT JOIN sessions s ON s.channel = $2 AND s.address = $3 AND s.end_user = $4 AND s.closed_at IS NULL
	LEFT JOIN bots cb ON cb.id = s.bot_id
	LEFT JOIN LATERAL (SELECT bs.bot_id, bs.activation, b.revision FROM bot_senders bs JOIN bots b ON b.id = bs.bot_id
		WHERE bs.channel = $2 AND bs.address = $3 AND bs.state = 2) AS a ON true
	WHERE NOT EXISTS (SELECT 1 FROM upd)`

// sqlCloseStale is the closing half of the second round trip: it records
// the session closed as SessionEnd said, if neither the session nor its bot
// changed since sqlRoute read them ($6: the bot's revision, NULL if it was
// gone).
const sqlCloseStale = `
	UPDATE sessions SET closed_at = $1, close_reason = $2
	WHERE id = $3 AND closed_at IS NULL AND messages = $4 AND last_activity_at = $5
	  AND CASE WHEN $6::bigint IS NULL THEN NOT EXISTS (SELECT 1 FROM bots WHERE id = $7)
	      ELSE EXISTS (SELECT 1 FROM bots WHERE id = $7 AND revision = $6 FOR SHARE) END
	RETURNING id`

// sqlOpen closes the stale session as sqlCloseStale does (when $8 is not
// 0) and opens a new one on the sender's Active bot in its activation on
// the sender, if the bot is still at the revision sqlRoute read ($15): a
// commit changes a bot's sender rows and its revision together. The share
// lock keeps the bot so until the session is stored.
const sqlOpen = `
	WITH c AS (` + sqlCloseStale + `)
	INSERT INTO sessions AS s (channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages)
	SELECT $9, $10, $11, b.id, bs.activation, $12, $12, 1 FROM bots b
	JOIN bot_senders bs ON bs.bot_id = b.id AND bs.channel = $9 AND bs.address = $10
	WHERE b.id = $13 AND b.revision = $15 AND bs.state = 2 AND bs.activation = $14
	  AND ($8::bigint = 0 OR EXISTS (SELECT 1 FROM c))
	FOR SHARE OF b
	RETURNING ` + sessionColumns

// routeAttempts bounds the retries of a Route that raced another message of
// the same end user or a change of the bots it read.
const routeAttempts = 4

// Route implements lifecycle.SessionStore: one round trip when the end
// user's open session is still served, two when a new session opens.
func (s *Store) Route(ctx context.Context, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	if err := checkText("end user", endUser, true); err != nil {
		return lifecycle.Session{}, err
	}
	if _, _, err := senderArrays([]lifecycle.Sender{sender}); err != nil {
		return lifecycle.Session{}, err
	}
	at, err := mustNanos("time", now)
	if err != nil {
		return lifecycle.Session{}, err
	}
	var lastErr error
	for attempt := 0; attempt < routeAttempts; attempt++ {
		sess, done, err := s.route(ctx, sender, endUser, now, at)
		if done {
			return sess, fail(ctx, "routing", err)
		}
		lastErr = err
	}
	return lifecycle.Session{}, &lifecycle.ConflictError{Reason: fmt.Sprintf("routing kept racing other messages of the same end user (%v)", lastErr)}
}

// routeRow is the row sqlRoute returns.
type routeRow struct {
	took                   bool
	id, activation         *int64
	channel, address, user *string
	bot, reason            *string
	opened, last, closed   *int64
	messages               *int64
	doc                    []byte // the open session's bot
	botRev                 *int64
	activeBot              *string // the bot Active on the sender
	activeActivation       *int64  // its activation there
	activeRev              *int64
}

func (r *routeRow) scan(row pgx.Row) error {
	return row.Scan(&r.took, &r.id, &r.channel, &r.address, &r.user, &r.bot, &r.activation, &r.opened, &r.last, &r.closed, &r.reason, &r.messages,
		&r.doc, &r.botRev, &r.activeBot, &r.activeActivation, &r.activeRev)
}

// closeArgs returns the arguments of sqlCloseStale for the end user's open
// session, which the first statement found over: closed as SessionEnd
// says. With no open session, they close nothing. retry is true when
// SessionEnd finds the session served after all (it changed under us).
func (r *routeRow) closeArgs(sess *lifecycle.Session, now time.Time) (args []any, retry bool, err error) {
	var closeAt *int64
	var closeReason string
	var sessID int64
	if r.id != nil {
		var b *lifecycle.Bot
		if r.doc != nil {
			cur, err := decodeBot(r.doc)
			if err != nil {
				return nil, false, err
			}
			b = &cur
		}
		why, end, over := lifecycle.SessionEnd(sess, b, now)
		if !over {
			return nil, true, fmt.Errorf("session %d is served after all", sess.ID)
		}
		if closeAt, err = nanos("session end", end); err != nil {
			return nil, false, err
		}
		closeReason, sessID = string(why), *r.id
	}
	return []any{closeAt, closeReason, sessID, r.messages, r.last, r.botRev, r.bot}, false, nil
}

// route makes one attempt; done is false when it raced and should be
// tried again.
func (s *Store) route(ctx context.Context, sender lifecycle.Sender, endUser string, now time.Time, at int64) (sess lifecycle.Session, done bool, err error) {
	var r routeRow
	if err := r.scan(s.pool.QueryRow(ctx, sqlRoute, at, sender.Channel, sender.Address, endUser)); err != nil {
		return lifecycle.Session{}, true, err
	}
	if r.id != nil {
		sess = lifecycle.Session{ID: lifecycle.SessionID(*r.id), Sender: sender, EndUser: endUser, Bot: lifecycle.BotID(*r.bot),
			Activation: uint64(*r.activation), OpenedAt: fromNanos(r.opened), LastActivityAt: fromNanos(r.last), ClosedAt: fromNanos(r.closed),
			CloseReason: lifecycle.CloseReason(*r.reason), Messages: uint64(*r.messages)}
	}
	if r.took {
		return sess, true, nil
	}
	closeArgs, retry, err := r.closeArgs(&sess, now)
	if err != nil {
		return lifecycle.Session{}, !retry, err
	}
	if r.activeBot == nil {
		if r.id != nil {
			var closedID int64
			err := s.pool.QueryRow(ctx, sqlCloseStale, closeArgs...).Scan(&closedID)
			if errors.Is(err, pgx.ErrNoRows) {
				return lifecycle.Session{}, false, errors.New("the open session changed")
			}
			if err != nil {
				return lifecycle.Session{}, true, err
			}
		}
		return lifecycle.Session{}, true, &lifecycle.NoBotError{Sender: sender}
	}
	args := append(closeArgs, closeArgs[2], sender.Channel, sender.Address, endUser, at, *r.activeBot, *r.activeActivation, *r.activeRev)
	out, err := scanSession(s.pool.QueryRow(ctx, sqlOpen, args...))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return lifecycle.Session{}, false, errors.New("the open session or the Active bot changed")
	case err != nil && errors.Is(fail(ctx, "routing", err), lifecycle.ErrConflict):
		return lifecycle.Session{}, false, err // another message of the end user opened one first
	}
	return out, true, err
}

// Sessions implements lifecycle.SessionStore.
func (s *Store) Sessions(ctx context.Context, after lifecycle.SessionID, limit int) ([]lifecycle.Session, error) {
	if after > 1<<63-1 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE id > $1 ORDER BY id LIMIT $2`, int64(after), limitArg(limit))
	if err != nil {
		return nil, fail(ctx, "listing sessions", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lifecycle.Session, error) { return scanSession(r) })
	if err != nil {
		return nil, fail(ctx, "listing sessions", err)
	}
	return out, nil
}

// lockBot reads a bot and takes a share lock on its row; nil if it is gone.
func lockBot(ctx context.Context, tx pgx.Tx, id lifecycle.BotID) (*lifecycle.Bot, error) {
	var doc []byte
	err := tx.QueryRow(ctx, `SELECT doc FROM bots WHERE id = $1 FOR SHARE`, string(id)).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	b, err := decodeBot(doc)
	return &b, err
}

// Session implements lifecycle.SessionStore.
func (s *Store) Session(ctx context.Context, id lifecycle.SessionID) (lifecycle.Session, error) {
	sess, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE id = $1`, int64(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return lifecycle.Session{}, &lifecycle.NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
	}
	return sess, fail(ctx, "reading a session", err)
}

// CloseSession implements lifecycle.SessionStore.
func (s *Store) CloseSession(ctx context.Context, id lifecycle.SessionID, reason lifecycle.CloseReason, now time.Time) (lifecycle.Session, error) {
	if _, err := mustNanos("time", now); err != nil {
		return lifecycle.Session{}, err
	}
	if err := checkText("close reason", string(reason), false); err != nil {
		return lifecycle.Session{}, err
	}
	var out lifecycle.Session
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE id = $1 FOR UPDATE`, int64(id)))
		if errors.Is(err, pgx.ErrNoRows) {
			return &lifecycle.NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
		}
		if err != nil {
			return err
		}
		if !cur.Open() {
			out = cur
			return nil
		}
		bot, err := lockBot(ctx, tx, cur.Bot)
		if err != nil {
			return err
		}
		at := now
		if r, end, over := lifecycle.SessionEnd(&cur, bot, now); over {
			reason, at = r, end
		}
		n, err := mustNanos("session end", at)
		if err != nil {
			return err
		}
		out, err = scanSession(tx.QueryRow(ctx, `UPDATE sessions s SET closed_at = $1, close_reason = $2 WHERE id = $3 RETURNING `+sessionColumns,
			n, string(reason), int64(id)))
		return err
	})
	return out, fail(ctx, "closing a session", err)
}

// sqlSweep claims up to $2 open sessions that are over at $1, through the
// index open_sessions_due: a loose index scan lists the (bot, sender)
// groups with open sessions (few: the live bots' senders and those that
// recently stopped), and for each, with the bot's row for that sender (its
// state, activation and deadline there, R22), range scans take all the
// group's sessions if the bot no longer serves the sender, else those of
// other activations and those idle too long. Its cost follows what is
// due, not the number of open sessions. The limit is written into the text
// (see sweepSQL), so that PostgreSQL settles on one generic plan instead of
// planning each call again.
const sqlSweep = `
	WITH RECURSIVE og(bot_id, channel, address) AS (
		(SELECT bot_id, channel, address FROM sessions WHERE closed_at IS NULL ORDER BY bot_id, channel, address LIMIT 1)
		UNION ALL
		SELECT n.bot_id, n.channel, n.address FROM og CROSS JOIN LATERAL (
			SELECT s.bot_id, s.channel, s.address FROM sessions s
			WHERE s.closed_at IS NULL AND (s.bot_id, s.channel, s.address) > (og.bot_id, og.channel, og.address)
			ORDER BY s.bot_id, s.channel, s.address LIMIT 1) AS n
	),
	g AS (
		SELECT og.bot_id, og.channel, og.address, bs.activation, bs.idle_timeout,
			coalesce(bs.state = 2 OR (bs.state = 3 AND $1 < bs.grace_deadline), false) AS serves
		FROM og LEFT JOIN LATERAL (
			SELECT x.state, x.activation, x.grace_deadline, b.idle_timeout FROM bot_senders x JOIN bots b ON b.id = x.bot_id
			WHERE x.bot_id = og.bot_id AND x.channel = og.channel AND x.address = og.address) AS bs ON true
	),
	due AS (
		SELECT d.id FROM g CROSS JOIN LATERAL (
			(SELECT s.id FROM sessions s WHERE (s.bot_id, s.channel, s.address) = (g.bot_id, g.channel, g.address) AND s.closed_at IS NULL
				AND NOT g.serves
				ORDER BY s.activation, s.last_activity_at LIMIT @limit)
			UNION ALL
			(SELECT s.id FROM sessions s WHERE (s.bot_id, s.channel, s.address) = (g.bot_id, g.channel, g.address) AND s.closed_at IS NULL
				AND g.serves AND s.activation < g.activation
				ORDER BY s.activation, s.last_activity_at LIMIT @limit)
			UNION ALL
			(SELECT s.id FROM sessions s WHERE (s.bot_id, s.channel, s.address) = (g.bot_id, g.channel, g.address) AND s.closed_at IS NULL
				AND g.serves AND s.activation > g.activation
				ORDER BY s.activation, s.last_activity_at LIMIT @limit)
			UNION ALL
			(SELECT s.id FROM sessions s WHERE (s.bot_id, s.channel, s.address) = (g.bot_id, g.channel, g.address) AND s.closed_at IS NULL
				AND g.serves AND s.activation = g.activation AND g.idle_timeout > 0
				AND s.last_activity_at <= GREATEST($1::bigint::numeric - g.idle_timeout, -9223372036854775808)::bigint
				ORDER BY s.activation, s.last_activity_at LIMIT @limit)
		) AS d
		LIMIT @limit
	)
	SELECT ` + sessionColumns + `, (SELECT b.doc FROM bots b WHERE b.id = s.bot_id) FROM sessions s
	WHERE s.id = ANY (ARRAY(SELECT id FROM due)) AND s.closed_at IS NULL
	ORDER BY s.id FOR UPDATE OF s SKIP LOCKED`

// sweepSQL returns sqlSweep with limit in its text: "ALL" for no limit.
func sweepSQL(limit int) string {
	lim := "ALL"
	if limit >= 0 {
		lim = strconv.Itoa(limit)
	}
	return strings.ReplaceAll(sqlSweep, "@limit", lim)
}

// SweepSessions implements lifecycle.SessionStore. It claims up to limit
// sessions that are over with FOR UPDATE SKIP LOCKED, so replicas sweeping
// at once share the work instead of repeating it.
func (s *Store) SweepSessions(ctx context.Context, now time.Time, limit int) (int, error) {
	closed := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sweepSQL(limit), clampNanos(now))
		if err != nil {
			return err
		}
		var ids, ats []int64
		var reasons []string
		for rows.Next() {
			var doc []byte
			sess, err := scanSession(rows, &doc)
			if err != nil {
				rows.Close()
				return err
			}
			var bp *lifecycle.Bot
			if doc != nil {
				b, err := decodeBot(doc)
				if err != nil {
					rows.Close()
					return err
				}
				bp = &b
			}
			if r, at, over := lifecycle.SessionEnd(&sess, bp, now); over {
				n, err := mustNanos("session end", at)
				if err != nil {
					rows.Close()
					return err
				}
				ids, ats, reasons = append(ids, int64(sess.ID)), append(ats, n), append(reasons, string(r))
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE sessions s SET closed_at = d.at, close_reason = d.reason
				FROM unnest($1::int8[], $2::int8[], $3::text[]) AS d(id, at, reason) WHERE s.id = d.id`, ids, ats, reasons); err != nil {
				return err
			}
		}
		closed = len(ids)
		return nil
	})
	return closed, fail(ctx, "sweeping sessions", err)
}

// SessionStats implements lifecycle.SessionStore.
func (s *Store) SessionStats(ctx context.Context) ([]lifecycle.SessionStats, error) {
	rows, err := s.pool.Query(ctx, `SELECT bot_id, channel, address, close_reason, closed_at IS NULL, count(*), sum(messages)
		FROM sessions GROUP BY 1, 2, 3, 4, 5`)
	if err != nil {
		return nil, fail(ctx, "reading session counts", err)
	}
	type key struct {
		bot    lifecycle.BotID
		sender lifecycle.Sender
	}
	byKey := map[key]*lifecycle.SessionStats{}
	for rows.Next() {
		var k key
		var bot, reason string
		var open bool
		var n, messages int64
		if err := rows.Scan(&bot, &k.sender.Channel, &k.sender.Address, &reason, &open, &n, &messages); err != nil {
			rows.Close()
			return nil, fail(ctx, "reading session counts", err)
		}
		k.bot = lifecycle.BotID(bot)
		st := byKey[k]
		if st == nil {
			st = &lifecycle.SessionStats{Bot: k.bot, Sender: k.sender, Closed: map[lifecycle.CloseReason]uint64{}}
			byKey[k] = st
		}
		st.Opened += uint64(n)
		st.Messages += uint64(messages)
		if open {
			st.Open += uint64(n)
		} else {
			st.Closed[lifecycle.CloseReason(reason)] += uint64(n)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fail(ctx, "reading session counts", err)
	}
	out := make([]lifecycle.SessionStats, 0, len(byKey))
	for _, st := range byKey {
		out = append(out, *st)
	}
	lifecycle.SortSessionStats(out)
	return out, nil
}
