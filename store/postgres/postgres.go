// Package postgres is a lifecycle.Store on PostgreSQL, for services that run
// botlife on more than one replica. It passes storetest against a real server.
//
// # Rows, not rules
//
// The store keeps the rows the core computes and compares their columns; it
// decides no rule. bot_senders holds lifecycle.Change.Rows; its unique index
// one_bot_per_slot (workspace, channel, address, slot) is R1 and R2,
// whatever a plan says. bots.due_at is Change.Due.
//
// Commit (R15) is one pipelined batch, one transaction, one round trip. A
// failed revision or role check raises an error that aborts it; a changed
// bot's bot_senders rows are deleted before any is inserted, so the unique
// index sees no overlap the plan does not leave. Schedules (R23) and
// audit entries (R24) are numbered gap-free under the row locks of the
// workspace's heads in workspace_heads; the audit statement is last, so
// entries become visible in Seq order. Revision mismatches, unique
// violations, serialization failures and deadlocks are
// lifecycle.ErrConflict.
//
// # Isolation
//
// Every transaction that writes - a Commit, each statement of Route and
// CloseSession that writes, SweepSessions, Migrate - runs at READ
// COMMITTED, whatever the server's or role's
// default_transaction_isolation, as each chooses its durability itself
// (below): each statement reads what committed before it, and one that
// waits for a row lock goes on with the row as its holder left it. The
// reasoning of each assumes that; under REPEATABLE READ, which a server or
// role may make the default, contended commits and openings failed with
// serialization errors (ErrConflict) where they should wait
// (TestIsolationIsTheStoresOwn). Each begins its transaction so, but
// Route's first statement, which takes most messages and opens most
// sessions: it is sent alone, as a bare UPDATE is, and writes only if it
// finds itself at READ COMMITTED. Otherwise it writes nothing, and the
// store sends it again in a transaction that names READ COMMITTED (a
// second round trip), and sends every later one so for the Store's life
// (TestR9AMessageBeginsATransactionOnlyWhereItMust). Reads are single
// statements, which read one snapshot at any level.
//
// # Cancellation
//
// A statement that writes (Commit's batch; each of Route's and
// CloseSession's), once sent, runs to its end though the caller's context
// ends, for up to two seconds more (as store/sqlite finishes a Route's
// statement once begun): a context that ended while PostgreSQL committed
// it, or just after, had Route report ErrUnavailable for a message it
// counted or a session it opened, and a caller routing it again counted
// it twice. A context that ended before a statement was sent stops the
// method there, before it: Route's first statement writes nothing unless it
// takes the message or opens the session, and then it is the last.
// Two seconds after the context ends, a statement still running - waiting
// for a lock - is cancelled, and the method returns an error wrapping
// lifecycle.ErrUnavailable. That error, and one
// from a connection lost during a statement, is ambiguous: PostgreSQL may
// have committed the statement before the cancel or loss reached it, so a
// Route reporting it may have counted its message (or opened its session:
// a retry then counts the message on that session), a Commit may have
// stored its plan (a retry of one that changes bots, roles or schedules
// is refused as a conflict by what it read) and a CloseSession may have closed the session (a retry returns
// it closed). SweepSessions and Migrate run several statements in one
// transaction, which a context ending rolls back unless it ends during the
// COMMIT.
//
// # Workspaces
//
// Every row has a workspace (R27), and every key and index but
// sender_claims' (below) leads with it - one_open_session ends with it, so
// that a lookup by session id cannot scan the workspace's open sessions
// through it - so every statement reads and checks one workspace. Each
// workspace numbers its audit entries, schedules and sessions from 1 in
// workspace_heads, a row per sequence made on first use; a new session
// takes its id under that row's lock, so the sessions opened in one
// workspace commit one at a time. sender_claims holds one row per real sender named by a bot, with
// its workspace and how many of its bots name it: Commit changes it first
// (once the plan's revisions are checked: a stale plan is a conflict), from
// the rows the plan replaces, and its primary key settles two
// workspaces racing for a sender, in any process (*lifecycle.ClaimError).
// WaitAudit's notification names the workspace.
//
// Every read goes through an index and costs what it returns; a bot read
// walks open_sessions_due for Bot.OpenActivations (R9). Route takes a
// message for a session the columns say is served in one round trip, and
// opens the session of an end user with none open on the sender in the
// same one (botlife_open_session, called only then), on the bot in the
// sender's active slot, as lifecycle.DecideRoute would (having asked it
// first whether the sender and end user are ids, R21); otherwise the same
// statement returns the lifecycle.RouteView and the step of DecideRoute is
// applied with compare-and-swap in a second.
// CloseSession applies lifecycle.DecideClose the same way. SweepSessions
// locks the groups of open sessions (a bot's activation on a sender) that
// session_groups says are due (FOR NO KEY UPDATE SKIP LOCKED, which lets
// openings in them go on), and claims their candidates (FOR UPDATE SKIP
// LOCKED), so replicas sweep at once; it closes those
// lifecycle.SessionAt finds closed and leaves each group due at its next
// possible end (lifecycle.NextSessionEnd), so that groups not due cost
// nothing. An opening holds its group's row with a shared lock until it
// commits, so a sweep never removes the row of a group being opened in.
// Triggers keep session_groups whoever writes: a session inserted holds its
// group, a bot updated or deleted makes its groups due.
// A message on an open session changes no indexed column (the sweep's
// index holds activity_floor, a coarse last activity), so it is a
// heap-only update. SessionStats reads counters a trigger keeps. WaitAudit
// listens for the commit's notification and polls every few seconds as a
// safety net.
//
// # Durability
//
// Durability is chosen per transaction, never left to the server:
//
//	transaction                                      synchronous_commit
//	Commit: bots, roles, schedules, audit entries    on
//	a session's opening, closing, sweep; Migrate     on
//	a message on an open session (count, activity)   off
//
// "on" keeps a stronger setting (remote_apply). A server crash loses
// nothing acknowledged but the message counts and last-activity times of
// the last 3 × wal_writer_delay (600 ms by default), never one
// acknowledged before an acknowledged durable commit began (TestCrash).
// Nothing is corrupted or half applied.
//
// # Exact values or a refusal
//
// The store returns exactly what it was given, or refuses it with an error
// wrapping lifecycle.ErrInvalidInput and changes nothing. Bots and schedules
// are binary documents (store/internal/binarydoc) in bytea. Keyed text must
// be valid UTF-8 without NUL and at most MaxKeyBytes. Audit entries are
// jsonb, which cannot hold NUL or invalid UTF-8. Times are Unix
// nanoseconds: 1677-09-21 to 2262-04-11. A workspace the store cannot hold
// (text it would refuse as a key) holds nothing: Commit refuses it, and
// every other method answers as the memory store does for a workspace that
// has stored nothing - no bots, sessions, schedules, roles or audit
// entries, the senders other workspaces claim, no error
// (TestR27UnholdableWorkspaceHoldsNothing).
//
// Migrate brings a database to schema version 15, what an earlier version
// stored in the default workspace; a bot stored before R22 reads as live
// on each of its senders. Version 10 rewrites every bot's rows from its
// document as this version's core computes them (R20's departures and
// LeftActive), once, in the migration's transaction. Version 14 gives an
// open session with no group in session_groups (one an earlier version
// opened during a rolling upgrade to version 11) its group, so that a
// sweep closes it; version 15 gives one that an earlier version opened
// during a rolling upgrade to version 6 its activity_floor, and makes
// every group due, for the same reason. Migrate refuses a database of a
// newer version: once a rollout has migrated the database, the processes
// of the earlier version that still run go on, but one that restarts
// cannot open it, so a rollout is finished forward, not rolled back.
// Failures never reach a caller as a bare SQLSTATE: see Error.
package postgres

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/internal/sqlrows"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a lifecycle.Store on a PostgreSQL connection pool. It is safe for
// concurrent use, also from several processes sharing one database.
type Store struct {
	pool  *pgxpool.Pool
	owned bool

	// notReadCommitted is set once a message found that its connection's
	// transactions do not default to READ COMMITTED (Route): from then
	// on, for the Store's life, its statement begins a transaction that
	// says so (a round trip saved per message no longer).
	notReadCommitted atomic.Bool

	mu       sync.Mutex
	listener *listener     // nil until WaitAudit needs it
	closed   bool          // Close was called
	done     chan struct{} // closed by Close
	waits    sqlrows.Waiters
}

var (
	_ lifecycle.Store       = (*Store)(nil)
	_ lifecycle.AuditWaiter = (*Store)(nil)
)

// New returns a Store on pool. Call Migrate once before use. Close stops
// the store's listener; the pool stays open.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool, done: make(chan struct{})} }

// Open connects to the database at url (a PostgreSQL connection string)
// and returns a Store that owns the pool; Close releases it.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, &lifecycle.InputError{Field: "connection string", Value: "(not shown: it may hold a password)", Problem: "cannot be parsed: " + err.Error()}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fail(ctx, "connecting", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fail(ctx, "connecting", err)
	}
	st := New(pool)
	st.owned = true
	return st, nil
}

// Close stops WaitAudit's listener and waits for it, wakes every waiter
// (they return an error wrapping lifecycle.ErrUnavailable), and closes the
// pool if Open made it. It may be called more than once.
func (s *Store) Close() {
	s.mu.Lock()
	l := s.listener
	s.listener = nil
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	s.waits.WakeAll()
	if l != nil {
		l.stop()
	}
	if s.owned {
		s.pool.Close()
	}
}

// Pool returns the connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate brings the schema to the latest version, idempotently: under an
// advisory lock (processes may run it at once), the migrations not in
// botlife_schema_migrations run in version order, in one transaction. When
// one of them is marked RefreshRows, every bot's rows are rewritten after
// the last script, in that transaction.
// It refuses a database that a newer version of botlife migrated (a version
// it does not know) with an error wrapping lifecycle.ErrUnavailable, and
// changes nothing, as store/sqlite refuses a newer file.
func (s *Store) Migrate(ctx context.Context) error {
	scripts, err := sqlrows.Migrations(migrations)
	if err != nil {
		return err
	}
	applied, refresh := false, false
	// READ COMMITTED, whatever the server's default: each statement reads
	// what committed before it, the versions another process applied
	// while this one waited for the lock included (TestMigrateRaceRepeatableRead).
	err = pgx.BeginTxFunc(ctx, s.pool, readCommitted, func(tx pgx.Tx) error {
		var done []int32
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7342012), `+syncOn+`;
			CREATE TABLE IF NOT EXISTS botlife_schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT array_agg(version) FROM botlife_schema_migrations`).Scan(&done); err != nil {
			return err
		}
		if latest := scripts[len(scripts)-1].Version; len(done) > 0 && int(slices.Max(done)) > latest {
			// A newer botlife migrated it: this code would write rows
			// its schema does not expect.
			return fmt.Errorf("refused: the database has schema version %d but this version of botlife knows %d; upgrade botlife: %w",
				slices.Max(done), latest, lifecycle.ErrUnavailable)
		}
		for _, m := range scripts {
			if slices.Contains(done, int32(m.Version)) {
				continue
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf("%s;\nINSERT INTO botlife_schema_migrations (version) VALUES (%d)", m.SQL, m.Version)); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			applied = true
			refresh = refresh || m.RefreshRows
		}
		if refresh { // after the last script: this version's code on this version's schema
			return refreshRows(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: migration %w", fail(ctx, "migrating", err))
	}
	if applied {
		// Pooled connections may hold plans of changed types and functions.
		s.pool.Reset()
	}
	return nil
}

// readCommitted are the options of the store's explicit transactions: they
// read, after taking a lock, what committed before the lock was granted,
// as PostgreSQL's default isolation does - not the snapshot of their first
// statement, as REPEATABLE READ, which a server or role may make the
// default, would.
var readCommitted = pgx.TxOptions{IsoLevel: pgx.ReadCommitted}

// beginReadCommitted begins every transaction that writes in one round
// trip (sendWrite) at READ COMMITTED, but that of a statement that checks
// its isolation itself (atReadCommitted): see Isolation in the package doc.
const beginReadCommitted = `BEGIN ISOLATION LEVEL READ COMMITTED`

// sendWrite runs the statements of b in one transaction at READ
// COMMITTED, whatever the server's or role's default, in one round trip:
// BEGIN, b, COMMIT, pipelined (write). (A SET TRANSACTION before b,
// without BEGIN, would do the same with a WARNING in the server's log
// every time.)
func (s *Store) sendWrite(ctx context.Context, b *pgx.Batch) error {
	tx := &pgx.Batch{}
	tx.Queue(beginReadCommitted)
	tx.QueuedQueries = append(tx.QueuedQueries, b.QueuedQueries...)
	tx.Queue(`COMMIT`)
	return s.write(ctx, func(sent context.Context, conn *pgxpool.Conn) error { return conn.SendBatch(sent, tx).Close() })
}

// write runs send, which writes on conn under sent. A transaction that
// failed is rolled back, so that its connection goes back to the pool
// idle: the pool closes one released in a transaction. The rollback runs
// though ctx has ended, for up to rollbackTimeout.
//
// Once sent, a write runs to its end though ctx ends, for up to writeGrace
// more (see Cancellation in the package doc): ctx ending while PostgreSQL
// commits, or after, would have the caller told that a write it made
// failed. An ended ctx is refused before anything is sent.
func (s *Store) write(ctx context.Context, send func(sent context.Context, conn *pgxpool.Conn) error) error {
	conn, err := s.pool.Acquire(ctx)
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		if conn != nil {
			conn.Release()
		}
		return err
	}
	defer conn.Release()
	sent, stop := graceful(ctx)
	err = send(sent, conn)
	stop()
	if pc := conn.Conn().PgConn(); err != nil && !pc.IsClosed() && pc.TxStatus() != 'I' {
		// Not under ctx: one that had ended kept the ROLLBACK from being
		// sent, and the pool closed the connection.
		end, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
		_, _ = conn.Exec(end, `ROLLBACK`)
		cancel()
	}
	return err
}

// rollbackTimeout bounds the ROLLBACK of a write that failed (write),
// which runs whether or not the caller's context has ended: a connection
// that does not answer it in time is closed, as the pool closes one
// released in a transaction.
const rollbackTimeout = time.Second

// writeGrace bounds how long a write, once sent, goes on after its
// context ends (write): long enough for any statement that is not
// stuck behind a lock, short enough that a caller giving up is not kept
// waiting behind one. Tests set writeEnded, called when a context ends
// during a write.
var (
	writeGrace = 2 * time.Second
	writeEnded func()
)

// graceful returns a context for a write that ctx governs: it ends
// writeGrace after ctx does, or when stop is called. A ctx that cannot end
// is its own (a context that can is one pgx must watch).
func graceful(ctx context.Context) (sent context.Context, stop func()) {
	if ctx.Done() == nil {
		return ctx, func() {}
	}
	sent, cancel := context.WithCancel(context.WithoutCancel(ctx))
	grace, ended := writeGrace, writeEnded
	stopAfter := context.AfterFunc(ctx, func() {
		if ended != nil {
			ended()
		}
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-t.C:
			cancel()
		case <-sent.Done():
		}
	})
	return sent, func() {
		stopAfter()
		cancel()
	}
}

// writeRow is the row of a statement that writes, which sendWrite runs
// when the row is scanned (implicit: see Scan).
type writeRow struct {
	s        *Store
	ctx      context.Context
	sql      string
	args     []any
	implicit bool
}

// writeRow returns the row of sql, a statement that writes, with args.
func (s *Store) writeRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return writeRow{s, ctx, sql, args, false}
}

// Scan implements pgx.Row: it runs the statement and scans its first row
// (pgx.ErrNoRows if it returns none; the transaction commits all the same).
// An implicit one is sent alone, as any query is, in the transaction
// PostgreSQL makes for it: it must check its isolation itself (see
// atReadCommitted).
func (r writeRow) Scan(dest ...any) error {
	if r.implicit {
		return r.s.write(r.ctx, func(sent context.Context, conn *pgxpool.Conn) error {
			return conn.QueryRow(sent, r.sql, r.args...).Scan(dest...)
		})
	}
	b := &pgx.Batch{}
	b.Queue(r.sql, r.args...).QueryRow(func(row pgx.Row) error { return row.Scan(dest...) })
	return r.s.sendWrite(r.ctx, b)
}

// syncOn makes the transaction that selects it durable, syncOff
// asynchronous (see Durability in the package doc).
const (
	syncOn  = `set_config('synchronous_commit', CASE current_setting('synchronous_commit') WHEN 'off' THEN 'on' ELSE current_setting('synchronous_commit') END, true)`
	syncOff = `set_config('synchronous_commit', 'off', true)`
)

// atReadCommitted holds in a transaction at READ COMMITTED (or READ
// UNCOMMITTED, which PostgreSQL runs as READ COMMITTED). A statement
// sent without BEGIN (writeRow's implicit) runs at the connection's
// default isolation, which a server or role may make REPEATABLE READ; one
// that names it in every write does nothing there, and says so, and is
// sent again in a transaction at READ COMMITTED. It is a one-time filter:
// PostgreSQL checks it before it reads a row, so it locks none.
const atReadCommitted = `current_setting('transaction_isolation') IN ('read committed', 'read uncommitted')`

// escaped reports whether the JSON text doc holds the escape \<esc> (such as
// u0000), not merely those characters after an escaped backslash.
func escaped(doc []byte, esc string) bool {
	for i := 0; ; {
		j := bytes.Index(doc[i:], []byte(esc))
		if j < 0 {
			return false
		}
		j += i
		n := 0
		for k := j - 1; k >= 0 && doc[k] == '\\'; k-- {
			n++
		}
		if n%2 == 1 {
			return true
		}
		i = j + 1
	}
}

// encode returns v as JSON for a jsonb column, or an error wrapping
// lifecycle.ErrInvalidInput when the JSON would not give v back
// (encoding/json writes invalid UTF-8 as the escape \ufffd, a real U+FFFD
// as itself, and no year outside 0-9999) or holds NUL, which jsonb cannot.
func encode(field string, v any) ([]byte, error) {
	doc, err := json.Marshal(v)
	if err != nil {
		return nil, &lifecycle.InputError{Field: field, Value: fmt.Sprintf("%T", v), Problem: "cannot be stored exactly: " + err.Error()}
	}
	if escaped(doc, `ufffd`) || !utf8.Valid(doc) {
		return nil, &lifecycle.InputError{Field: field, Value: fmt.Sprintf("%T", v), Problem: "holds text that is not valid UTF-8; the store keeps text exactly or refuses it"}
	}
	if escaped(doc, `u0000`) {
		return nil, &lifecycle.InputError{Field: field, Value: fmt.Sprintf("%T", v), Problem: "holds a NUL character, which the audit log cannot hold"}
	}
	return doc, nil
}

// limitArg is limit as a LIMIT argument: zero for a limit below zero,
// which reads nothing (lifecycle.Store), where PostgreSQL would refuse it.
func limitArg(limit int) int64 {
	return int64(max(limit, 0))
}

// checkSender refuses a sender the store cannot hold.
func checkSender(x lifecycle.Sender) error {
	return cmp.Or(checkText("channel", x.Channel, true), checkText("sender address", x.Address, true))
}

// holdable reports whether the store can hold workspace ws: the text of a
// key. A workspace it cannot hold has stored nothing, and is never sent to
// the server, which would refuse the text.
func holdable(ws lifecycle.Workspace) bool {
	return checkText("workspace", string(ws), true) == nil
}

// storable returns the channels and addresses of the senders the store
// could hold: a read for one it could not finds nothing there.
func storable(ss []lifecycle.Sender) (channels, addresses []string) {
	for _, x := range ss {
		if checkSender(x) == nil {
			channels, addresses = append(channels, x.Channel), append(addresses, x.Address)
		}
	}
	return channels, addresses
}

// Bot implements lifecycle.Store.
func (s *Store) Bot(ctx context.Context, ws lifecycle.Workspace, id lifecycle.BotID) (lifecycle.Bot, error) {
	var bots []lifecycle.Bot
	var err error
	if holdable(ws) && checkText("bot id", string(id), true) == nil {
		bots, err = s.queryBots(ctx, "reading a bot", sqlBot, string(ws), string(id))
	}
	if err != nil || len(bots) == 0 {
		return lifecycle.Bot{}, cmp.Or(err, error(&lifecycle.NotFoundError{Kind: "bot", ID: strings.ToValidUTF8(string(id), "\ufffd")}))
	}
	return bots[0], nil
}

// sqlOpenActivations is the column every read of a bot b adds: b's
// activations with a session open (Bot.OpenActivations, R9), sorted, or
// NULL. It probes open_sessions_due once per group (bot, sender,
// activation) with a session open, never scanning the sessions.
const sqlOpenActivations = `(
	WITH RECURSIVE g AS (
		(SELECT s.channel, s.address, s.activation FROM sessions s
		 WHERE s.workspace = b.workspace AND s.bot_id = b.id AND ` + openDue + `
		 ORDER BY s.channel, s.address, s.activation LIMIT 1)
		UNION ALL
		SELECT n.channel, n.address, n.activation FROM g CROSS JOIN LATERAL (
			SELECT s.channel, s.address, s.activation FROM sessions s
			WHERE s.workspace = b.workspace AND s.bot_id = b.id AND ` + openDue + `
			  AND (s.channel, s.address, s.activation) > (g.channel, g.address, g.activation)
			ORDER BY s.channel, s.address, s.activation LIMIT 1) AS n)
	SELECT array_agg(DISTINCT g.activation ORDER BY g.activation) FROM g)`

// sqlBot reads the bot with id $2 of workspace $1 by key.
const sqlBot = `SELECT b.doc, ` + sqlOpenActivations + ` FROM bots b WHERE b.workspace = $1 AND b.id = $2`

// queryBots runs sql, which selects a bot b's doc and sqlOpenActivations.
func (s *Store) queryBots(ctx context.Context, op, sql string, args ...any) ([]lifecycle.Bot, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	bots, err := collectBots(rows)
	return bots, fail(ctx, op, err)
}

func collectBots(rows pgx.Rows) ([]lifecycle.Bot, error) {
	var out []lifecycle.Bot
	var doc []byte
	var open []int64
	_, err := pgx.ForEachRow(rows, []any{&doc, &open}, func() error {
		b, err := sqlrows.Bot(doc)
		if err != nil {
			return err
		}
		for _, k := range open {
			b.OpenActivations = append(b.OpenActivations, uint64(k))
		}
		out = append(out, *b)
		return nil
	})
	return out, err
}

// sqlLiveBots reads the bots of workspace $3 holding a slot on the
// senders ($1, $2) through one_bot_per_slot: at most two per sender (R1,
// R2).
const sqlLiveBots = `
	SELECT b.doc, ` + sqlOpenActivations + ` FROM bots b WHERE b.workspace = $3 AND b.id IN (
		SELECT bs.bot_id FROM unnest($1::text[], $2::text[]) AS want(channel, address)
		JOIN bot_senders bs ON bs.workspace = $3 AND bs.channel = want.channel AND bs.address = want.address AND bs.slot IS NOT NULL)
	ORDER BY b.id`

// sqlLastActive reads, for each sender ($1, $2), the first entry of the
// index bot_senders_last_active in workspace $3 other than $4, and keeps
// the latest (R20).
const sqlLastActive = `
	SELECT b.doc, ` + sqlOpenActivations + ` FROM unnest($1::text[], $2::text[]) AS want(channel, address)
	CROSS JOIN LATERAL (
		SELECT bs.bot_id, bs.left_at FROM bot_senders bs
		WHERE bs.workspace = $3 AND bs.channel = want.channel AND bs.address = want.address AND bs.left_at IS NOT NULL AND bs.bot_id <> $4
		ORDER BY bs.left_at DESC, bs.bot_id LIMIT 1) AS last
	JOIN bots b ON b.workspace = $3 AND b.id = last.bot_id
	ORDER BY last.left_at DESC, last.bot_id LIMIT 1`

// SenderBots implements lifecycle.Store: sqlLiveBots and, unless except is
// empty, sqlLastActive, in one round trip. (Joined, PostgreSQL planned them
// again on every call, at a cost that grew with the senders' old bots.)
func (s *Store) SenderBots(ctx context.Context, ws lifecycle.Workspace, senders []lifecycle.Sender, except lifecycle.BotID) (live []lifecycle.Bot, last *lifecycle.Bot, err error) {
	ch, addr := storable(senders)
	if len(ch) == 0 || !holdable(ws) {
		return nil, nil, nil
	}
	b := &pgx.Batch{}
	b.Queue(sqlLiveBots, ch, addr, string(ws)).Query(func(rows pgx.Rows) (err error) {
		live, err = collectBots(rows)
		return err
	})
	if except != "" {
		b.Queue(sqlLastActive, ch, addr, string(ws), string(except)).Query(func(rows pgx.Rows) error {
			bots, err := collectBots(rows)
			if len(bots) > 0 {
				last = &bots[0]
			}
			return err
		})
	}
	return live, last, fail(ctx, "reading the bots of senders", s.pool.SendBatch(ctx, b).Close())
}

// Bots implements lifecycle.Store.
func (s *Store) Bots(ctx context.Context, ws lifecycle.Workspace, after lifecycle.BotID, limit int) ([]lifecycle.Bot, error) {
	if !holdable(ws) {
		return nil, nil
	}
	return s.queryBots(ctx, "listing bots", `SELECT b.doc, `+sqlOpenActivations+` FROM bots b WHERE b.workspace = $1 AND b.id > $2 ORDER BY b.id LIMIT $3`,
		string(ws), string(after), limitArg(limit))
}

// sqlDueDrains reads the bots of workspace $3 due at $1 (Change.Due)
// through the partial index bots_due_drains.
const sqlDueDrains = `SELECT b.doc, ` + sqlOpenActivations + ` FROM bots b WHERE b.workspace = $3 AND b.due_at <= $1 ORDER BY b.due_at, b.id LIMIT $2`

// Due implements lifecycle.Store: the due bots, then the due schedules
// through the partial index pending_schedules, in one round trip.
func (s *Store) Due(ctx context.Context, ws lifecycle.Workspace, now time.Time, limit int) (lifecycle.Due, error) {
	due := lifecycle.Due{Schedules: []lifecycle.Schedule{}}
	if now.Before(sqlrows.MinTime) || !holdable(ws) {
		return due, nil // every stored time is later, or nothing is stored
	}
	b := &pgx.Batch{}
	b.Queue(sqlDueDrains, sqlrows.Clamp(now), limitArg(limit), string(ws)).Query(func(rows pgx.Rows) (err error) {
		due.Drains, err = collectBots(rows)
		return err
	})
	b.Queue(sqlDueSchedules, sqlrows.Clamp(now), limitArg(limit), string(ws)).Query(func(rows pgx.Rows) (err error) {
		due.Schedules, err = collectSchedules(rows)
		return err
	})
	return due, fail(ctx, "reading what is due", s.pool.SendBatch(ctx, b).Close())
}

// adminWhere selects the users holding Admin, the clause migration 9
// indexes them by (role_admins; TestAdminBit).
const adminWhere = `roles & 32 <> 0`

// sqlRoles reads user $1's roles in workspace $2, and counts the
// workspace's Admins through role_admins.
const sqlRoles = `SELECT coalesce((SELECT roles FROM role_assignments WHERE workspace = $2 AND user_id = $1), 0),
	(SELECT count(*) FROM role_assignments WHERE workspace = $2 AND ` + adminWhere + `)`

// Roles implements lifecycle.Store in one round trip.
func (s *Store) Roles(ctx context.Context, ws lifecycle.Workspace, user string) (roles.Set, int, error) {
	var u *string // NULL: no stored user has an id the store cannot hold (P3)
	if checkText("user", user, true) == nil {
		u = &user
	}
	if !holdable(ws) {
		return 0, 0, nil
	}
	var rs int16
	var admins int
	err := s.pool.QueryRow(ctx, sqlRoles, u, string(ws)).Scan(&rs, &admins)
	return roles.Set(rs), admins, fail(ctx, "reading roles", err)
}

// Claimed implements lifecycle.Store: the rows of sender_claims held by
// another workspace, in one round trip. Every row is another's where ws
// is a workspace the store cannot hold (NULL).
func (s *Store) Claimed(ctx context.Context, ws lifecycle.Workspace, senders []lifecycle.Sender) ([]lifecycle.Sender, error) {
	channels, addresses := make([]string, len(senders)), make([]string, len(senders))
	for i, sn := range senders {
		channels[i], addresses[i] = sn.Channel, sn.Address
	}
	var w *string
	if holdable(ws) {
		w = (*string)(&ws)
	}
	rows, err := s.pool.Query(ctx, `SELECT channel, address FROM sender_claims WHERE workspace IS DISTINCT FROM $1::text
		AND (channel, address) IN (SELECT * FROM unnest($2::text[], $3::text[]))`, w, channels, addresses)
	if err != nil {
		return nil, fail(ctx, "reading sender claims", err)
	}
	claimed, err := pgx.CollectRows(rows, pgx.RowToStructByPos[lifecycle.Sender])
	if err != nil {
		return nil, fail(ctx, "reading sender claims", err)
	}
	var out []lifecycle.Sender
	for _, sn := range senders {
		if slices.Contains(claimed, sn) {
			out = append(out, sn)
		}
	}
	return out, nil
}

// AuditLog implements lifecycle.Store.
func (s *Store) AuditLog(ctx context.Context, ws lifecycle.Workspace, after uint64, limit int) ([]lifecycle.AuditEntry, error) {
	if after > 1<<63-1 || !holdable(ws) {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, entry FROM audit_log WHERE workspace = $3 AND seq > $1 ORDER BY seq LIMIT $2`, int64(after), limitArg(limit), string(ws))
	if err != nil {
		return nil, fail(ctx, "reading the audit log", err)
	}
	var out []lifecycle.AuditEntry
	var seq int64
	var doc []byte
	_, err = pgx.ForEachRow(rows, []any{&seq, &doc}, func() error {
		var e lifecycle.AuditEntry
		err := json.Unmarshal(doc, &e)
		e.Seq = uint64(seq)
		out = append(out, e)
		return err
	})
	return out, fail(ctx, "reading the audit log", err)
}
