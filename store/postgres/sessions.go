package postgres

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/jackc/pgx/v5"
)

const sessionColumns = `s.id, s.channel, s.address, s.end_user, s.bot_id, s.activation, s.opened_at, s.last_activity_at, s.closed_at, s.close_reason, s.messages`

// served is the SQL of "lifecycle.SessionEnd says not over" for session s of
// bot b at now ($now): the bot exists, the session is of its current
// activation, the bot is Active or Deactivated before its deadline, and the
// session is not idle.
const served = `b.id IS NOT NULL AND b.activations = s.activation
	AND (b.state = 2 OR (b.state = 3 AND $1 < b.grace_deadline))
	AND (b.idle_timeout <= 0 OR $1 < s.last_activity_at + b.idle_timeout)`

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

// Route implements lifecycle.SessionStore: one round trip when the end
// user's open session is still served.
func (s *Store) Route(ctx context.Context, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	sess, err := scanSession(s.pool.QueryRow(ctx, `
		UPDATE sessions s SET last_activity_at = $1, messages = s.messages + 1
		FROM bots b
		WHERE s.channel = $2 AND s.address = $3 AND s.end_user = $4 AND s.closed_at IS NULL
		  AND b.id = s.bot_id AND `+served+`
		RETURNING `+sessionColumns, now.UnixNano(), sender.Channel, sender.Address, endUser))
	if err == nil {
		return sess, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return lifecycle.Session{}, err
	}
	// Slow path: close what is over, open a new session. Two messages of the
	// same end user racing here both try to insert the one open session; the
	// loser tries again and finds the winner's.
	for attempt := 0; ; attempt++ {
		sess, err = s.routeSlow(ctx, sender, endUser, now)
		if err == nil || attempt == 2 || !errors.Is(dbError(err), lifecycle.ErrConflict) {
			return sess, dbError(err)
		}
	}
}

func (s *Store) routeSlow(ctx context.Context, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	var out lifecycle.Session
	noBot := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		cur, err := scanSession(tx.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions s
			WHERE s.channel = $1 AND s.address = $2 AND s.end_user = $3 AND s.closed_at IS NULL FOR UPDATE`,
			sender.Channel, sender.Address, endUser))
		switch {
		case err == nil:
			bot, err := lockBot(ctx, tx, cur.Bot)
			if err != nil {
				return err
			}
			reason, at, over := lifecycle.SessionEnd(&cur, bot, now)
			if !over { // served after all (it changed since the fast path)
				out, err = scanSession(tx.QueryRow(ctx, `UPDATE sessions s SET last_activity_at = $1, messages = messages + 1
					WHERE id = $2 RETURNING `+sessionColumns, now.UnixNano(), int64(cur.ID)))
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE sessions SET closed_at = $1, close_reason = $2 WHERE id = $3`,
				at.UnixNano(), string(reason), int64(cur.ID)); err != nil {
				return err
			}
		case !errors.Is(err, pgx.ErrNoRows):
			return err
		}
		var botID string
		var activations int64
		err = tx.QueryRow(ctx, `SELECT b.id, b.activations FROM bot_senders bs JOIN bots b ON b.id = bs.bot_id
			WHERE bs.channel = $1 AND bs.address = $2 AND bs.state = 2 FOR SHARE OF b`,
			sender.Channel, sender.Address).Scan(&botID, &activations)
		if errors.Is(err, pgx.ErrNoRows) {
			noBot = true // commit the close above, then report no bot
			return nil
		}
		if err != nil {
			return err
		}
		out, err = scanSession(tx.QueryRow(ctx, `INSERT INTO sessions AS s
			(channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages)
			VALUES ($1, $2, $3, $4, $5, $6, $6, 1) RETURNING `+sessionColumns,
			sender.Channel, sender.Address, endUser, botID, activations, now.UnixNano()))
		return err
	})
	if err == nil && noBot {
		return lifecycle.Session{}, &lifecycle.NoBotError{Sender: sender}
	}
	return out, err
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
	return sess, err
}

// CloseSession implements lifecycle.SessionStore.
func (s *Store) CloseSession(ctx context.Context, id lifecycle.SessionID, reason lifecycle.CloseReason, now time.Time) (lifecycle.Session, error) {
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
		out, err = scanSession(tx.QueryRow(ctx, `UPDATE sessions s SET closed_at = $1, close_reason = $2 WHERE id = $3 RETURNING `+sessionColumns,
			at.UnixNano(), string(reason), int64(id)))
		return err
	})
	return out, err
}

// SweepSessions implements lifecycle.SessionStore. It claims up to limit
// sessions that are over with FOR UPDATE SKIP LOCKED, so replicas sweeping
// at once share the work instead of repeating it.
func (s *Store) SweepSessions(ctx context.Context, now time.Time, limit int) (int, error) {
	closed := 0
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+sessionColumns+`, b.doc FROM sessions s LEFT JOIN bots b ON b.id = s.bot_id
			WHERE s.closed_at IS NULL AND NOT (`+served+`)
			ORDER BY s.id LIMIT $2 FOR UPDATE OF s SKIP LOCKED`, now.UnixNano(), limitArg(limit))
		if err != nil {
			return err
		}
		type due struct {
			id     lifecycle.SessionID
			reason lifecycle.CloseReason
			at     time.Time
		}
		var todo []due
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
				todo = append(todo, due{sess.ID, r, at})
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range todo {
			if _, err := tx.Exec(ctx, `UPDATE sessions SET closed_at = $1, close_reason = $2 WHERE id = $3`,
				d.at.UnixNano(), string(d.reason), int64(d.id)); err != nil {
				return err
			}
		}
		closed = len(todo)
		return nil
	})
	return closed, err
}

// SessionStats implements lifecycle.SessionStore.
func (s *Store) SessionStats(ctx context.Context) ([]lifecycle.SessionStats, error) {
	rows, err := s.pool.Query(ctx, `SELECT bot_id, channel, address, close_reason, closed_at IS NULL, count(*), sum(messages)
		FROM sessions GROUP BY 1, 2, 3, 4, 5`)
	if err != nil {
		return nil, err
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
			return nil, err
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
		return nil, err
	}
	out := make([]lifecycle.SessionStats, 0, len(byKey))
	for _, st := range byKey {
		out = append(out, *st)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bot != out[j].Bot {
			return out[i].Bot < out[j].Bot
		}
		return out[i].Sender.String() < out[j].Sender.String()
	})
	return out, nil
}
