package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

const sessionColumns = `s.id, s.channel, s.address, s.end_user, s.bot_id, s.activation, s.opened_at, s.last_activity_at, s.closed_at, s.close_reason, s.messages`

// served holds, at now ($1), where DecideRoute would continue session s of
// bot b (bs: b's row for the sender): b holds a slot there in s's
// activation, before serves_until, and s is not idle.
const served = `bs.slot IS NOT NULL AND bs.activation = s.activation AND (bs.serves_until IS NULL OR $1 < bs.serves_until)
	AND (b.idle_timeout <= 0 OR $1::bigint::numeric < s.last_activity_at::numeric + b.idle_timeout)`

// openSession is the end user's open session s ($2, $3: sender, $4: end
// user, $5: workspace): the whole key of one_open_session, so that even a
// generic plan probes it for one row. (By id, PostgreSQL read the
// workspace's open sessions through one_open_session; open_sessions_due's
// predicate keeps it out of any lookup that does not name activity_floor.)
const openSession = `s.workspace = $5 AND s.channel = $2 AND s.address = $3 AND s.end_user = $4 AND s.closed_at IS NULL`

// routeColumns are the columns of an end user's open session that the
// caller of sqlRoute does not know: it names the sender and the end user,
// and the session is open (no end, no close reason).
const routeColumns = `s.id, s.bot_id, s.activation, s.opened_at, s.last_activity_at, s.messages`

// sqlRoute takes the message if the end user's open session is served,
// and counts it in session_stats (the trigger leaves open sessions alone):
// routeTook. Otherwise it returns the RouteView in one row: the open
// session, if any (routeView), with its bot, and the sender's Active bot,
// with revisions. When the end user has none open there (routeNone), a bot
// holds the active slot and $6 is true, it opens a session on that bot in
// its activation there, as DecideRoute would, in the same round trip
// (botlife_open_session, called only then), and returns it; the id is NULL
// if the bot changed since the statement read it. Each bot is read by its
// key, even in a generic plan on tables without statistics (OFFSET 0 keeps
// the lateral apart). Route sends it without BEGIN (until a Store finds
// that it must not: notReadCommitted), so it writes only at READ
// COMMITTED (atReadCommitted): otherwise it returns routeAgain.
const sqlRoute = `
	WITH upd AS (
		UPDATE sessions s SET last_activity_at = $1, messages = s.messages + 1, activity_floor = botlife_activity_floor($1, b.idle_timeout)
		FROM bots b, bot_senders bs, (SELECT ` + syncOff + `) AS async
		WHERE ` + openSession + ` AND b.workspace = $5 AND b.id = s.bot_id
		  AND bs.workspace = $5 AND bs.bot_id = s.bot_id AND bs.channel = $2 AND bs.address = $3 AND ` + served + `
		  AND s.last_activity_at <= $1 AND ` + atReadCommitted + `
		RETURNING ` + routeColumns + `)
	SELECT upd.*, NULL::bytea, NULL::bigint, NULL::bytea, NULL::bigint, ` + routeTook + ` FROM upd
	UNION ALL
	SELECT coalesce(s.id, CASE WHEN $6 AND a.id IS NOT NULL AND ` + atReadCommitted + ` THEN botlife_open_session($5, $2, $3, $4, $1, a.id, a.revision, bs.activation) END),
		coalesce(s.bot_id, a.id), coalesce(s.activation, bs.activation), coalesce(s.opened_at, $1), coalesce(s.last_activity_at, $1), coalesce(s.messages, 1),
		cb.doc, cb.revision, a.doc, a.revision,
		CASE WHEN NOT ` + atReadCommitted + ` THEN ` + routeAgain + ` WHEN s.id IS NULL THEN ` + routeNone + ` ELSE ` + routeView + ` END
	FROM (SELECT 1) AS one
	LEFT JOIN sessions s ON ` + openSession + `
	LEFT JOIN LATERAL (SELECT doc, revision FROM bots WHERE workspace = $5 AND id = s.bot_id OFFSET 0) AS cb ON true
	LEFT JOIN LATERAL (SELECT bot_id, activation FROM bot_senders
		WHERE workspace = $5 AND channel = $2 AND address = $3 AND slot = 'active' OFFSET 0) AS bs ON true
	LEFT JOIN LATERAL (SELECT b.id, b.doc, b.revision FROM bots b WHERE b.workspace = $5 AND b.id = bs.bot_id OFFSET 0) AS a ON true
	WHERE NOT EXISTS (SELECT 1 FROM upd)`

// sqlStepBack takes a message that sqlRoute left because it came before
// the session's last activity ($6 the session's id, $7 that activity, as
// sqlRoute read them): the clock stepped back. The session may now end
// before the instant a sweep left its group due at (session_groups), so it
// makes the group due by the session's idle deadline where it is later. It
// writes the group whatever its due, so that it holds the row: a sweep that
// visits the group meanwhile, and cannot see the message, skips it or is
// waited for, and never leaves it due by the session's last activity as it
// was before the message.
const sqlStepBack = `
	WITH upd AS (
		UPDATE sessions s SET last_activity_at = $1, messages = s.messages + 1, activity_floor = botlife_activity_floor($1, b.idle_timeout)
		FROM bots b, bot_senders bs, (SELECT ` + syncOff + `) AS async
		WHERE ` + openSession + ` AND s.id = $6 AND s.last_activity_at = $7 AND b.workspace = $5 AND b.id = s.bot_id
		  AND bs.workspace = $5 AND bs.bot_id = s.bot_id AND bs.channel = $2 AND bs.address = $3 AND ` + served + `
		RETURNING ` + routeColumns + `, b.idle_timeout AS idle),
	g AS (UPDATE session_groups x SET due = LEAST(x.due, LEAST(upd.last_activity_at::numeric + upd.idle, 9223372036854775807)::bigint) FROM upd
		WHERE upd.idle > 0 AND x.workspace = $5 AND x.bot_id = upd.bot_id AND x.channel = $2 AND x.address = $3 AND x.activation = upd.activation)
	SELECT id, bot_id, activation, opened_at, last_activity_at, messages FROM upd`

// What sqlRoute found, in its last column.
const (
	routeView = `0` // the open session is not served
	routeTook = `1` // the open session took the message
	routeNone = `2` // no session was open: the one it opened, if any
	// routeAgain: the transaction was not at READ COMMITTED, and the
	// statement wrote nothing; Route sends it again in one that is.
	routeAgain = `3`
)

// foundAgain is routeAgain, as Route scans it.
const foundAgain = 3

// sqlClose records the session a step closed ($1 closed_at, $2 reason, $3
// id, $8 workspace; $9-$11 its sender and end user) if neither the session
// nor its bot changed since it was read ($4 messages, $5 last activity; $6
// the bot's revision, NULL if it was gone, $7 its id). It names the whole
// key of one_open_session as well as the primary key, so that a generic
// plan made while the table was empty, which may read one_open_session,
// still probes it for one row, not for the workspace's open sessions.
const sqlClose = `
	UPDATE sessions SET closed_at = $1, close_reason = $2 FROM (SELECT ` + syncOn + `) AS durable
	WHERE workspace = $8 AND id = $3 AND channel = $9 AND address = $10 AND end_user = $11 AND closed_at IS NULL
	  AND messages = $4 AND last_activity_at = $5
	  AND CASE WHEN $6::bigint IS NULL THEN NOT EXISTS (SELECT 1 FROM bots WHERE workspace = $8 AND id = $7)
	      ELSE EXISTS (SELECT 1 FROM bots WHERE workspace = $8 AND id = $7 AND revision = $6 FOR SHARE) END
	RETURNING id`

// sqlOpen applies a step that opens a session ($9-$14: sender, end user,
// time, bot, activation; $16 its messages, as the step has them: a test
// session opens with none) if the bot is still at the revision the view
// read ($15), after closing the one it closed as sqlClose does (when $3 is
// not 0: the end user's open session, on the same sender): the openings
// sqlRoute leaves to DecideRoute. A commit changes a bot's rows and its
// revision together; the share lock keeps the bot so until the session is
// stored. The session takes the workspace's next id (gap-free: the head's
// row lock is held until the statement commits, and only a session stored
// takes one).
const sqlOpen = `
	WITH c AS (` + sqlClose + `),
	b AS (SELECT b.id, b.idle_timeout FROM bots b
		WHERE b.workspace = $8 AND b.id = $13 AND b.revision = $15 AND ($3::bigint = 0 OR EXISTS (SELECT 1 FROM c)) FOR SHARE),
	n AS (INSERT INTO workspace_heads AS h SELECT $8, 'session', 1 FROM b` + sqlNextSeq + `),
	g AS (SELECT botlife_hold_group($8, b.id, $9, $10, $14,
		CASE WHEN b.idle_timeout > 0 THEN LEAST($12::bigint::numeric + b.idle_timeout, 9223372036854775807)::bigint END) FROM b)
	INSERT INTO sessions AS s (workspace, id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages, activity_floor)
	SELECT $8, n.seq, $9, $10, $11, b.id, $14, $12, $12, $16, botlife_activity_floor($12, b.idle_timeout) FROM b, n, g, (SELECT ` + syncOn + `) AS durable
	RETURNING ` + sessionColumns

// casAttempts bounds the retries of a session step whose compare-and-swap
// failed (another message of the end user, or a bot change, came first).
const casAttempts = 4

// Route implements lifecycle.Store: one round trip when the end user's
// open session is still served or when they have none open on the sender
// (not a test sender) and a bot holds its active slot; two when the open
// session is over, and DecideRoute closes it and opens a new one. (One
// more, once, where transactions do not default to READ COMMITTED: see
// Isolation in the package doc.)
// A statement sent runs to its end though ctx ends, for up to two seconds
// more: Route returns what it recorded. Past those, or with the connection
// lost, it returns an error wrapping lifecycle.ErrUnavailable that may
// come after the message was counted or the session opened (see
// Cancellation in the package doc).
func (s *Store) Route(ctx context.Context, ws lifecycle.Workspace, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	// R21: DecideRoute refuses a sender or end user that is not an id,
	// whatever the view; sqlRoute may open a session by itself, so ask it
	// first. (An id is text PostgreSQL holds exactly, and a key.)
	if _, err := lifecycle.DecideRoute(lifecycle.RouteView{}, sender, endUser, now); errors.Is(err, lifecycle.ErrInvalidInput) || !holdable(ws) {
		return lifecycle.Session{}, err // a workspace the store cannot hold has no bots: DecideRoute's answer
	}
	at, err := sqlrows.MustNanos("time", now)
	if err != nil {
		return lifecycle.Session{}, err
	}
	var lastErr error
	for attempt := 0; attempt < casAttempts; attempt++ {
		sess, done, err := s.route(ctx, string(ws), sender, endUser, now, at)
		if done {
			return sess, fail(ctx, "routing", err)
		}
		lastErr = err
	}
	return lifecycle.Session{}, &lifecycle.ConflictError{Reason: fmt.Sprintf("routing kept racing other messages of the same end user (%v)", lastErr)}
}

// scanRouted scans a row of sqlRoute, then extra: the end user's session
// on sender, or the zero Session if its id is NULL.
func scanRouted(r pgx.Row, sender lifecycle.Sender, endUser string, extra ...any) (lifecycle.Session, error) {
	var id, activation, opened, last, messages *int64
	var bot *string
	if err := r.Scan(append([]any{&id, &bot, &activation, &opened, &last, &messages}, extra...)...); err != nil || id == nil {
		return lifecycle.Session{}, err
	}
	return lifecycle.Session{ID: lifecycle.SessionID(*id), Sender: sender, EndUser: endUser, Bot: lifecycle.BotID(*bot), Activation: uint64(*activation),
		OpenedAt: sqlrows.Time(opened), LastActivityAt: sqlrows.Time(last), Messages: uint64(*messages)}, nil
}

// closeArgs returns the arguments of sqlClose that record read, end user
// endUser's session on sender (if any: closed.ID is 0 otherwise), as its
// bot at revision rev was read, closed as step, in workspace ws.
func closeArgs(ws string, sender lifecycle.Sender, endUser string, read, closed lifecycle.Session, rev *int64) ([]any, error) {
	at, err := sqlrows.Nanos("session end", closed.ClosedAt)
	return []any{at, string(closed.CloseReason), int64(closed.ID), int64(read.Messages), read.LastActivityAt.UnixNano(), rev, string(read.Bot), ws,
		sender.Channel, sender.Address, endUser}, err
}

// route makes one attempt; done is false when a compare-and-swap failed
// and it should be tried again.
func (s *Store) route(ctx context.Context, ws string, sender lifecycle.Sender, endUser string, now time.Time, at int64) (sess lifecycle.Session, done bool, err error) {
	var openDoc, activeDoc []byte
	var openRev, activeRev *int64
	var found int32
	// A message never opens a test session (R26): DecideRoute opens one
	// only as the Manager's OpenTestSession routes it.
	mayOpen := !sender.IsTest()
	// Without BEGIN, as a bare UPDATE is sent: the statement checks that
	// it runs at READ COMMITTED (routeAgain), and once one has not, every
	// message begins a transaction that does.
	row := writeRow{s, ctx, sqlRoute, []any{at, sender.Channel, sender.Address, endUser, ws, mayOpen}, !s.notReadCommitted.Load()}
	read, err := scanRouted(row, sender, endUser, &openDoc, &openRev, &activeDoc, &activeRev, &found)
	if err == nil && found == foundAgain {
		s.notReadCommitted.Store(true)
		row.implicit = false
		read, err = scanRouted(row, sender, endUser, &openDoc, &openRev, &activeDoc, &activeRev, &found)
		if err == nil && found == foundAgain {
			// fail makes it ErrUnavailable: not PostgreSQL's behaviour.
			return lifecycle.Session{}, true, errors.New("a transaction begun at READ COMMITTED reports another isolation; check what the server runs")
		}
	}
	switch {
	case err != nil && errors.Is(fail(ctx, "routing", err), lifecycle.ErrConflict):
		return lifecycle.Session{}, false, err // another message of the end user opened one first
	case err != nil || read.ID != 0 && found != 0: // took the message, or opened a session
		return read, true, err
	case found != 0 && mayOpen && activeDoc != nil:
		return lifecycle.Session{}, false, errors.New("the Active bot changed")
	}
	var v lifecycle.RouteView
	if read.ID != 0 {
		v.Open = &read
	}
	if v.OpenBot, err = sqlrows.Bot(openDoc); err == nil {
		v.Active, err = sqlrows.Bot(activeDoc)
	}
	if err != nil {
		return lifecycle.Session{}, true, err
	}
	step, decided := lifecycle.DecideRoute(v, sender, endUser, now)
	if !step.New && step.Closed.ID == 0 && decided == nil {
		if read.ID != 0 && at < read.LastActivityAt.UnixNano() { // the clock stepped back: sqlRoute left it
			sess, err := scanRouted(s.writeRow(ctx, sqlStepBack, at, sender.Channel, sender.Address, endUser, ws, int64(read.ID), read.LastActivityAt.UnixNano()), sender, endUser)
			if errors.Is(err, pgx.ErrNoRows) {
				return lifecycle.Session{}, false, errors.New("the open session changed")
			}
			return sess, true, err
		}
		return lifecycle.Session{}, false, errors.New("the open session changed") // served after all
	}
	return s.applyRoute(ctx, ws, sender, endUser, at, read, openRev, activeRev, step, decided)
}

// applyRoute records step, which DecideRoute returned with decided for the
// view sqlRoute read (read: the open session; openRev and activeRev: the
// revisions of its bot and of the Active bot), with compare-and-swap: in
// sqlClose, or sqlOpen when it opens a session. done is false when what
// was read changed and routing should be tried again.
func (s *Store) applyRoute(ctx context.Context, ws string, sender lifecycle.Sender, endUser string, at int64, read lifecycle.Session, openRev, activeRev *int64,
	step lifecycle.RouteStep, decided error) (sess lifecycle.Session, done bool, err error) {
	args, err := closeArgs(ws, sender, endUser, read, step.Closed, openRev)
	if err != nil {
		return lifecycle.Session{}, true, err
	}
	if !step.New {
		if step.Closed.ID == 0 {
			return lifecycle.Session{}, true, decided
		}
		var id int64
		if err := s.writeRow(ctx, sqlClose, args...).Scan(&id); errors.Is(err, pgx.ErrNoRows) {
			return lifecycle.Session{}, false, errors.New("the open session changed")
		} else if err != nil {
			return lifecycle.Session{}, true, err
		}
		return lifecycle.Session{}, true, decided
	}
	n := step.Session
	args = append(args, at, string(n.Bot), int64(n.Activation), activeRev, int64(n.Messages)) // n's sender and end user are $9-$11
	out, err := sqlrows.ScanSession(s.writeRow(ctx, sqlOpen, args...))
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return lifecycle.Session{}, false, errors.New("the open session or the Active bot changed")
	case err != nil && errors.Is(fail(ctx, "routing", err), lifecycle.ErrConflict):
		return lifecycle.Session{}, false, err // another message of the end user opened one first
	}
	return out, true, err
}

// Sessions implements lifecycle.Store.
func (s *Store) Sessions(ctx context.Context, ws lifecycle.Workspace, after lifecycle.SessionID, limit int) ([]lifecycle.Session, error) {
	if after > 1<<63-1 || !holdable(ws) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions s WHERE workspace = $3 AND id > $1 ORDER BY id LIMIT $2`, int64(after), limitArg(limit), string(ws))
	if err != nil {
		return nil, fail(ctx, "listing sessions", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lifecycle.Session, error) { return sqlrows.ScanSession(r) })
	return out, fail(ctx, "listing sessions", err)
}

// CloseSession implements lifecycle.Store in two round trips: it reads the
// session with its bot, and records what DecideClose returns with
// compare-and-swap (sqlClose).
func (s *Store) CloseSession(ctx context.Context, ws lifecycle.Workspace, id lifecycle.SessionID, reason lifecycle.CloseReason, now time.Time) (lifecycle.Session, error) {
	if _, err := sqlrows.MustNanos("time", now); err != nil {
		return lifecycle.Session{}, err
	}
	if err := checkText("close reason", string(reason), true); err != nil {
		return lifecycle.Session{}, err
	}
	notFound := &lifecycle.NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
	if id > 1<<63-1 || !holdable(ws) {
		return lifecycle.Session{}, notFound
	}
	for attempt := 0; attempt < casAttempts; attempt++ {
		var doc []byte
		var rev *int64
		cur, err := sqlrows.ScanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+`, b.doc, b.revision
			FROM sessions s LEFT JOIN bots b ON b.workspace = s.workspace AND b.id = s.bot_id WHERE s.workspace = $1 AND s.id = $2`, string(ws), int64(id)), &doc, &rev)
		if errors.Is(err, pgx.ErrNoRows) {
			return lifecycle.Session{}, notFound
		}
		if err != nil || !cur.Open() {
			return cur, fail(ctx, "closing a session", err)
		}
		b, err := sqlrows.Bot(doc)
		if err != nil {
			return lifecycle.Session{}, err
		}
		out := lifecycle.DecideClose(cur, b, reason, now)
		args, err := closeArgs(string(ws), cur.Sender, cur.EndUser, cur, out, rev)
		if err == nil {
			err = s.writeRow(ctx, sqlClose, args...).Scan(new(int64))
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return out, fail(ctx, "closing a session", err)
		}
	}
	return lifecycle.Session{}, &lifecycle.ConflictError{Reason: fmt.Sprintf("session %d kept changing while it was being closed", id)}
}

// openDue selects the open sessions of open_sessions_due: its predicate,
// which no lookup by sender and end user implies.
const openDue = `s.closed_at IS NULL AND s.activity_floor IS NOT NULL`

// sqlSweepGroups locks up to @limit groups of open sessions (a bot's
// activation on a sender) that session_groups says are due at $1, earliest
// first, skipping those another sweep holds (or a commit making them due):
// replicas share them. The lock lets openings in the group go on (their
// FOR KEY SHARE): on a busy sender some opening nearly always holds it.
// sqlSweepGroupsAfter locks the next ones after the last a sweep locked
// ($3-$7: its due, as it was, and key). @limit is a parameter (the last),
// like sqlSweep's: one statement text whatever the limit (sweepSQL).
const (
	sqlSweepGroups = `SELECT due, bot_id, channel, address, activation FROM session_groups
	WHERE workspace = $2 AND due <= $1 ORDER BY due, bot_id, channel, address, activation LIMIT @limit FOR NO KEY UPDATE SKIP LOCKED`
	sqlSweepGroupsAfter = `SELECT due, bot_id, channel, address, activation FROM session_groups
	WHERE workspace = $2 AND due <= $1 AND (due, bot_id, channel, address, activation) > ($3, $4, $5, $6, $7)
	ORDER BY due, bot_id, channel, address, activation LIMIT @limit FOR NO KEY UPDATE SKIP LOCKED`
)

// sqlSweep claims up to @limit open sessions of the groups $3-$6 whose
// columns say they may be over at $1: all those of a group no longer
// served, those idle too long if it is (by activity_floor in the index,
// then the exact time), with their bots' documents. @limit is a
// parameter, the last (sweepSQL).
const sqlSweep = `
	WITH bound AS (
		SELECT g.*, CASE WHEN bs.bot_id IS NULL THEN 9223372036854775807
			WHEN b.idle_timeout > 0 THEN GREATEST($1::bigint::numeric - b.idle_timeout, -9223372036854775808)::bigint END AS last_at
		FROM unnest($3::text[], $4::text[], $5::text[], $6::int8[]) AS g(bot_id, channel, address, activation)
		LEFT JOIN bot_senders bs ON (bs.workspace, bs.bot_id, bs.channel, bs.address) = ($2, g.bot_id, g.channel, g.address)
			AND bs.slot IS NOT NULL AND bs.activation = g.activation AND (bs.serves_until IS NULL OR $1 < bs.serves_until)
		LEFT JOIN bots b ON b.workspace = $2 AND b.id = bs.bot_id
	),
	due AS (
		SELECT d.id FROM bound CROSS JOIN LATERAL (
			SELECT s.id FROM sessions s
			WHERE (s.workspace, s.bot_id, s.channel, s.address, s.activation) = ($2, bound.bot_id, bound.channel, bound.address, bound.activation)
			  AND ` + openDue + ` AND s.activity_floor <= bound.last_at AND s.last_activity_at <= bound.last_at
			ORDER BY s.activity_floor LIMIT @limit) AS d
		LIMIT @limit
	)
	SELECT ` + sessionColumns + `, (SELECT b.doc FROM bots b WHERE b.workspace = $2 AND b.id = s.bot_id) FROM sessions s
	WHERE s.workspace = $2 AND s.id = ANY (ARRAY(SELECT id FROM due)) AND s.closed_at IS NULL
	ORDER BY s.id FOR UPDATE OF s SKIP LOCKED`

// sqlGroupsLeft reads, for each group $2-$5 after a sweep, the last
// activity of its least recently active open session (NULL if none is
// open) and its bot's document (NULL if it is gone).
const sqlGroupsLeft = `
	SELECT (SELECT min(s.last_activity_at) FROM sessions s
			WHERE (s.workspace, s.bot_id, s.channel, s.address, s.activation) = ($1, g.bot_id, g.channel, g.address, g.activation) AND ` + openDue + `),
		(SELECT b.doc FROM bots b WHERE b.workspace = $1 AND b.id = g.bot_id)
	FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[]) WITH ORDINALITY AS g(bot_id, channel, address, activation, ord) ORDER BY g.ord`

// sqlLockGroups locks, of the groups $2-$5 a sweep visited, those no
// opening holds (FOR KEY SHARE, botlife_hold_group), for sqlGroupsLeft and
// sqlRegroup: an opening that comes later waits for the sweep (and adds
// its group again if it was removed). A group an opening holds keeps its
// due, for the next sweep: its new session, unseen yet, may end sooner than
// the sessions the sweep sees (the clock stepped back), or be its only one.
const sqlLockGroups = `SELECT x.bot_id, x.channel, x.address, x.activation
	FROM session_groups x, unnest($2::text[], $3::text[], $4::text[], $5::int8[]) AS g(bot_id, channel, address, activation)
	WHERE (x.workspace, x.bot_id, x.channel, x.address, x.activation) = ($1, g.bot_id, g.channel, g.address, g.activation)
	FOR UPDATE OF x SKIP LOCKED`

// sqlRegroup leaves each group $2-$5 due at $6, or removes it where $6 is
// NULL (none of its sessions is open).
const sqlRegroup = `
	WITH g AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[]) AS g(bot_id, channel, address, activation, due)),
	d AS (DELETE FROM session_groups x USING g WHERE g.due IS NULL
		AND (x.workspace, x.bot_id, x.channel, x.address, x.activation) = ($1, g.bot_id, g.channel, g.address, g.activation))
	UPDATE session_groups x SET due = g.due FROM g WHERE g.due IS NOT NULL
		AND (x.workspace, x.bot_id, x.channel, x.address, x.activation) = ($1, g.bot_id, g.channel, g.address, g.activation)`

// sweepSQL returns q, a sweep's statement, and args with limit appended:
// @limit in q is that parameter, NULL (no limit) for a limit below zero.
// The limit is never written into the text: each distinct text would be
// another prepared statement on every connection (pgx caches them by
// text), which a sweep's changing limit would churn.
func sweepSQL(q string, limit int, args ...any) (string, []any) {
	var lim *int64
	if limit >= 0 {
		l := int64(limit)
		lim = &l
	}
	return strings.ReplaceAll(q, "@limit", "$"+strconv.Itoa(len(args)+1)+"::int8"), append(args, lim)
}

// groups are groups of open sessions as unnest takes them.
type groups struct {
	bots, channels, addresses []string
	activations               []int64
}

func (g *groups) args() []any { return []any{g.bots, g.channels, g.addresses, g.activations} }

func (g *groups) add(bot, channel, address string, activation int64) {
	g.bots, g.channels, g.addresses, g.activations = append(g.bots, bot), append(g.channels, channel), append(g.addresses, address), append(g.activations, activation)
}

// SweepSessions implements lifecycle.Store: it locks the groups of open
// sessions that are due (sqlSweepGroups), claims sqlSweep's candidates in
// them with FOR UPDATE SKIP LOCKED, so replicas share the work, records
// those SessionAt finds closed, and leaves each group due at its next
// possible end (lifecycle.NextSessionEnd of its least recently active open
// session), or removes it once none is open. Groups that are not due cost
// nothing. It locks limit groups at a time, and the next limit until it
// has closed limit sessions or no group due is left: groups due that close
// nothing (made due by a commit or an opening) never hide one that does
// from a caller that stops at a sweep closing fewer than limit.
func (s *Store) SweepSessions(ctx context.Context, ws lifecycle.Workspace, now time.Time, limit int) (int, error) {
	var closed int
	at := sqlrows.Clamp(now)
	if limit <= 0 || !holdable(ws) {
		return 0, nil
	}
	// READ COMMITTED: regroup reads a group's open sessions after it
	// locks the group, openings that committed meanwhile included
	// (TestSweepKeepsAGroupOpenedInRepeatableRead).
	err := pgx.BeginTxFunc(ctx, s.pool, readCommitted, func(tx pgx.Tx) error {
		closed = 0
		var after []any // the last group locked: its due, and key
		for {
			var g groups
			q, args := sweepSQL(sqlSweepGroups, limit, at, string(ws))
			if after != nil {
				q, args = sweepSQL(sqlSweepGroupsAfter, limit, append([]any{at, string(ws)}, after...)...)
			}
			rows, err := tx.Query(ctx, q, args...)
			if err == nil {
				var a, due int64
				var bot, ch, addr string
				_, err = pgx.ForEachRow(rows, []any{&due, &bot, &ch, &addr, &a}, func() error {
					g.add(bot, ch, addr, a)
					after = []any{due, bot, ch, addr, a}
					return nil
				})
			}
			if err != nil || len(g.bots) == 0 {
				return err
			}
			left := -1
			if limit > 0 {
				left = limit - closed
			}
			n, err := sweepGroups(ctx, tx, string(ws), now, left, &g)
			if err != nil {
				return err
			}
			if err := regroup(ctx, tx, string(ws), &g); err != nil {
				return err
			}
			if closed += n; closed >= limit || len(g.bots) < limit {
				return nil
			}
		}
	})
	if err != nil {
		return 0, fail(ctx, "sweeping sessions", err)
	}
	return closed, nil
}

// sweepGroups records closed the sessions of groups g that are over at
// now, up to limit, and returns how many.
func sweepGroups(ctx context.Context, tx pgx.Tx, ws string, now time.Time, limit int, g *groups) (int, error) {
	var ids, ats []int64
	var reasons []string
	q, args := sweepSQL(sqlSweep, limit, append([]any{sqlrows.Clamp(now), ws}, g.args()...)...)
	rows, err := tx.Query(ctx, q, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	bots := map[lifecycle.BotID]*lifecycle.Bot{}
	for rows.Next() {
		var doc []byte
		sess, err := sqlrows.ScanSession(rows, &doc)
		b, ok := bots[sess.Bot]
		if err == nil && !ok {
			b, err = sqlrows.Bot(doc)
			bots[sess.Bot] = b
		}
		if err != nil {
			return 0, err
		}
		if sess = lifecycle.SessionAt(sess, b, now); !sess.Open() {
			at, err := sqlrows.MustNanos("session end", sess.ClosedAt)
			if err != nil {
				return 0, err
			}
			ids, ats, reasons = append(ids, int64(sess.ID)), append(ats, at), append(reasons, string(sess.CloseReason))
		}
	}
	if err := rows.Err(); err != nil || len(ids) == 0 {
		return 0, err
	}
	_, err = tx.Exec(ctx, `UPDATE sessions s SET closed_at = d.at, close_reason = d.reason
		FROM unnest($1::int8[], $2::int8[], $3::text[]) AS d(id, at, reason), (SELECT `+syncOn+`) AS durable
		WHERE s.workspace = $4 AND s.id = d.id`, ids, ats, reasons, ws)
	return len(ids), err
}

// regroup leaves each swept group of g due at its next possible end, or
// removes it once none of its sessions is open, reading them after it
// locks the group (sqlLockGroups): a group an opening holds keeps its due.
// A group with sessions the sweep did not reach (its limit, or rows
// another transaction held) stays due.
func regroup(ctx context.Context, tx pgx.Tx, ws string, visited *groups) error {
	g, err := scanGroups(tx.Query(ctx, sqlLockGroups, append([]any{ws}, visited.args()...)...))
	if err != nil || len(g.bots) == 0 {
		return err
	}
	rows, err := tx.Query(ctx, sqlGroupsLeft, append([]any{ws}, g.args()...)...)
	if err != nil {
		return err
	}
	dues := make([]*int64, 0, len(g.bots))
	var last *int64
	var doc []byte
	_, err = pgx.ForEachRow(rows, []any{&last, &doc}, func() error {
		i := len(dues)
		if last == nil {
			dues = append(dues, nil)
			return nil
		}
		b, err := sqlrows.Bot(doc)
		if err != nil {
			return err
		}
		due := int64(math.MaxInt64)
		sender := lifecycle.Sender{Channel: g.channels[i], Address: g.addresses[i]}
		if end, ok := lifecycle.NextSessionEnd(b, sender, uint64(g.activations[i]), time.Unix(0, *last).UTC()); ok {
			due = sqlrows.Clamp(end)
		}
		dues = append(dues, &due)
		return nil
	})
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, sqlRegroup, append(append([]any{ws}, g.args()...), dues)...)
	return err
}

// scanGroups reads rows of groups' keys.
func scanGroups(rows pgx.Rows, err error) (groups, error) {
	var g groups
	if err != nil {
		return g, err
	}
	var a int64
	var bot, ch, addr string
	_, err = pgx.ForEachRow(rows, []any{&bot, &ch, &addr, &a}, func() error {
		g.add(bot, ch, addr, a)
		return nil
	})
	return g, err
}

// SessionStats implements lifecycle.Store from the counters a trigger keeps
// in session_stats: it costs the rows it returns, never the sessions. The
// close reasons of a bot and sender come as one JSON object.
func (s *Store) SessionStats(ctx context.Context, ws lifecycle.Workspace) ([]lifecycle.SessionStats, error) {
	if !holdable(ws) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT bot_id, channel, address, sum(n)::int8, coalesce(sum(n) FILTER (WHERE open), 0)::int8, sum(m)::int8,
			coalesce(jsonb_object_agg(reason, n) FILTER (WHERE NOT open AND n > 0), '{}')
		FROM (SELECT bot_id, channel, address, open, reason, sum(sessions) AS n, sum(messages) AS m
			FROM session_stats WHERE workspace = $1 GROUP BY 1, 2, 3, 4, 5) AS x
		GROUP BY 1, 2, 3 ORDER BY 1, channel || ':' || address, 2, 3`, string(ws))
	if err != nil {
		return nil, fail(ctx, "reading session counts", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (st lifecycle.SessionStats, err error) {
		var opened, open, messages int64
		err = r.Scan(&st.Bot, &st.Sender.Channel, &st.Sender.Address, &opened, &open, &messages, &st.Closed)
		st.Opened, st.Open, st.Messages = uint64(opened), uint64(open), uint64(messages)
		return st, err
	})
	return out, fail(ctx, "reading session counts", err)
}
