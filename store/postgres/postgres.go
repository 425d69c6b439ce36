// Package postgres is a lifecycle.Store on PostgreSQL, for services that run
// botlife on more than one replica. It passes the storetest conformance
// suite against a real server.
//
// # How it keeps the rules
//
//   - R1 and R2 are enforced by the database itself, per sender (R22):
//     bot_senders has one row per bot and sender carrying the bot's state
//     ON THAT SENDER, from Bot.Live (Active, Deactivated while it drains
//     there, Inactive where it is off), with partial unique indexes on the
//     sender for Active rows and for Deactivated rows. A commit that would
//     break them fails, whatever the plan says. Each row also holds the
//     activation the bot joined the sender in and the sender's grace
//     deadline, which routing and the sweep read.
//   - R15: Commit sends a plan as one pipelined batch, which PostgreSQL runs
//     as one implicit transaction: one round trip. The revision and role
//     checks run in SQL and raise an error that aborts the whole batch.
//     All the bot_senders rows of the changed bots are deleted before any
//     is inserted, so the unique indexes, checked row by row, never see an
//     overlap that the plan does not leave. Schedule changes (R23) go in the
//     same batch, each checked against the revision the plan read; new
//     schedules take their Seq from the schedule_head row, whose lock makes
//     the numbers gap-free (1, 2, 3... in creation order). The last
//     statement takes the lock of the single audit_head row, appends the
//     audit entries with gap-free sequence numbers and sends a
//     notification; the transaction commits right after it, so the lock is
//     held for that statement only and entries become visible in Seq order
//     (R24). Revision mismatches, unique violations, serialization failures
//     and deadlocks are returned as lifecycle.ErrConflict, so the Manager
//     decides again.
//   - LiveBots and LastActive read through partial indexes on bot_senders:
//     their cost does not grow with the bots that used a sender before.
//     LiveBots returns the bots live ON the senders, not every bot
//     configured with them. DueDrains reads every bot with a drain due
//     (Bot.GraceDeadline, the earliest of its drains, also for an Active
//     bot draining on some sender) through bots_due_drains.
//   - Every read of a bot also returns, in the same statement, the
//     activations it has sessions recorded open in (Bot.OpenActivations,
//     R9): a walk of open_sessions_due that probes the index once per
//     sender and activation with a session open, so it adds no round trip
//     and never scans the open sessions.
//   - Route costs one round trip for an existing session still served, and
//     two when a new session opens: the first statement either takes the
//     message or returns what the second needs (the open session and its
//     bot, for lifecycle.SessionEnd, and the sender's Active bot with its
//     activation on that sender, which the new session belongs to).
//   - SweepSessions finds what is due through the index open_sessions_due,
//     bot and sender by bot and sender (all sessions where the bot no longer
//     serves the sender, those of other activations, those idle too long),
//     so its cost follows what is due, not the open sessions; it claims them
//     with FOR UPDATE SKIP LOCKED, so several replicas can run ExpireDue at
//     once without doing the same work twice.
//   - Schedule and Schedules read by key and by seq; DueSchedules reads the
//     pending schedules by (At, Seq) through the partial index
//     pending_schedules, so it costs what is due, not every schedule ever
//     made. Each is one round trip.
//   - WaitAudit listens for the notification on one dedicated connection per
//     Store, and polls every few seconds as a safety net: a commit through
//     any replica wakes the waiters of every other.
//
// # Exact values or a refusal
//
// The store returns exactly what it was given, or refuses it with an error
// wrapping lifecycle.ErrInvalidInput and changes nothing; it never turns
// invalid UTF-8 into U+FFFD.
//
//   - A bot, and a schedule, is kept as a binary document (the format of
//     store/internal/binarydoc, shared with store/sqlite) in a bytea column:
//     every string comes back byte for byte, NUL and invalid UTF-8
//     included, and a nil slice stays apart from an empty one.
//   - Text the store keys by - bot ids, schedule ids, channels, sender
//     addresses, end users, user ids - must be valid UTF-8 without NUL and
//     at most MaxKeyBytes long, as PostgreSQL text and its indexes require;
//     so must a schedule's status.
//   - Audit entries are jsonb, which cannot hold NUL or invalid UTF-8: an
//     entry with either is refused.
//   - Times are stored as Unix nanoseconds, so deadlines compare exactly as
//     on the injected clock; a time outside 1677-09-21 to 2262-04-11 cannot
//     be stored exactly and is refused.
//
// # Schema versions
//
// Migrate brings a database to the latest schema. Version 3 (R22, R23)
// adds the per-sender activation and deadline to bot_senders, widens
// bots_due_drains to every bot with a drain, regroups open_sessions_due by
// sender, and adds schedules. A bot stored before it has no Bot.Live in
// its document: it was live on all its senders at once, and the store
// reads it so (its rows were migrated the same way), so its sessions keep
// routing and a plan built on it passes lifecycle.Plan.Check.
//
// Database failures never reach a caller as a bare SQLSTATE: see Error.
package postgres

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/internal/binarydoc"
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

	mu       sync.Mutex
	listener *listener     // nil until WaitAudit needs it
	closed   bool          // Close was called
	done     chan struct{} // closed by Close: wakes waiters
}

var _ lifecycle.Store = (*Store)(nil)

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

// Close stops the listener that WaitAudit uses, waiting until its goroutine
// has ended, wakes every waiter in WaitAudit (they return an error wrapping
// lifecycle.ErrUnavailable), and closes the pool if Open made it. Close may
// be called more than once.
func (s *Store) Close() {
	s.mu.Lock()
	l := s.listener
	s.listener = nil
	if !s.closed {
		s.closed = true
		close(s.done)
	}
	s.mu.Unlock()
	if l != nil {
		l.stop()
	}
	if s.owned {
		s.pool.Close()
	}
}

// Pool returns the connection pool.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Migrate brings the schema to the latest version. It is idempotent and
// safe to run from several processes at once: an advisory lock serialises
// them, and each migration runs once, in its own transaction, recorded in
// botlife_schema_migrations.
func (s *Store) Migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	applied := false
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("postgres: migration %s has no version number", name)
		}
		sql, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7342012)`); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS botlife_schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
				return err
			}
			var done bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM botlife_schema_migrations WHERE version = $1)`, version).Scan(&done); err != nil || done {
				return err
			}
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO botlife_schema_migrations (version) VALUES ($1)`, version)
			applied = err == nil
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", name, fail(ctx, "migrating", err))
		}
	}
	if applied {
		// The migrations changed types and functions that pooled
		// connections may have cached plans for.
		s.pool.Reset()
	}
	return nil
}

// --- encoding ---------------------------------------------------------------

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

// encode returns v (an audit entry) as JSON for a jsonb column, or an error
// wrapping lifecycle.ErrInvalidInput
// when the JSON would not give v back: encoding/json turns invalid UTF-8
// into U+FFFD (it writes the escape \ufffd, while a real U+FFFD is written
// as itself), and cannot write years outside 0-9999. It also refuses NUL
// characters, which jsonb cannot hold.
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

// decodeBot reads a bot document: the binary format of
// store/internal/binarydoc, or JSON as schema version 1 stored it.
func decodeBot(doc []byte) (lifecycle.Bot, error) {
	var b lifecycle.Bot
	if len(doc) > 0 && doc[0] == '{' {
		if err := json.Unmarshal(doc, &b); err != nil {
			return lifecycle.Bot{}, fmt.Errorf("postgres: decoding a stored bot: %w", err)
		}
	} else if err := binarydoc.Decode(doc, &b); err != nil {
		return lifecycle.Bot{}, err
	}
	withSenderStates(&b)
	return b, nil
}

// withSenderStates gives a live bot stored before R22 (schema version 2 or
// older, whose document has no Bot.Live) the per-sender states it had: it
// was live on every sender at once, in its current activation, draining
// until its one deadline - as migration 003 wrote its bot_senders rows. A
// live bot stored since always has Live (lifecycle.Plan.Check refuses one
// without), so this changes no other.
func withSenderStates(b *lifecycle.Bot) {
	if !b.State.Live() || len(b.Live) > 0 {
		return
	}
	for _, s := range b.Senders {
		e := lifecycle.SenderState{Sender: s, State: b.State, Activation: b.Activations}
		if b.State == lifecycle.Deactivated {
			e.GraceDeadline = b.GraceDeadline
		}
		b.Live = append(b.Live, e)
	}
}

func limitArg(limit int) *int64 {
	if limit < 0 {
		return nil // LIMIT NULL: no limit
	}
	n := int64(limit)
	return &n
}

func senderArrays(ss []lifecycle.Sender) (channels, addresses []string, err error) {
	channels, addresses = make([]string, 0, len(ss)), make([]string, 0, len(ss))
	for _, x := range ss {
		if err := checkText("channel", x.Channel, true); err != nil {
			return nil, nil, err
		}
		if err := checkText("sender address", x.Address, true); err != nil {
			return nil, nil, err
		}
		channels = append(channels, x.Channel)
		addresses = append(addresses, x.Address)
	}
	return channels, addresses, nil
}

// storable returns the senders the store could hold: a read for one it
// could not finds nothing there.
func storable(ss []lifecycle.Sender) []lifecycle.Sender {
	out := ss[:0:0]
	for _, x := range ss {
		if checkText("", x.Channel, true) == nil && checkText("", x.Address, true) == nil {
			out = append(out, x)
		}
	}
	return out
}

// --- bots, roles, audit -------------------------------------------------------

// Bot implements lifecycle.BotStore.
func (s *Store) Bot(ctx context.Context, id lifecycle.BotID) (lifecycle.Bot, error) {
	if checkText("bot id", string(id), true) != nil {
		return lifecycle.Bot{}, &lifecycle.NotFoundError{Kind: "bot", ID: strings.ToValidUTF8(string(id), "\ufffd")}
	}
	var r botRow
	err := s.pool.QueryRow(ctx, sqlBot, string(id)).Scan(&r.doc, &r.open)
	if errors.Is(err, pgx.ErrNoRows) {
		return lifecycle.Bot{}, &lifecycle.NotFoundError{Kind: "bot", ID: string(id)}
	}
	if err != nil {
		return lifecycle.Bot{}, fail(ctx, "reading a bot", err)
	}
	return r.bot()
}

// sqlOpenActivations is the column every read of a bot b adds: the
// activations of b that have a session recorded open (Bot.OpenActivations,
// R9), sorted, or NULL. It walks the index open_sessions_due group by
// group (bot, sender, activation): one index probe per group with a
// session open, never a scan of the sessions. In the same statement as the
// bot, so it costs no round trip.
const sqlOpenActivations = `(
	WITH RECURSIVE g AS (
		(SELECT s.channel, s.address, s.activation FROM sessions s
		 WHERE s.bot_id = b.id AND s.closed_at IS NULL
		 ORDER BY s.channel, s.address, s.activation LIMIT 1)
		UNION ALL
		SELECT n.channel, n.address, n.activation FROM g CROSS JOIN LATERAL (
			SELECT s.channel, s.address, s.activation FROM sessions s
			WHERE s.bot_id = b.id AND s.closed_at IS NULL
			  AND (s.channel, s.address, s.activation) > (g.channel, g.address, g.activation)
			ORDER BY s.channel, s.address, s.activation LIMIT 1) AS n)
	SELECT array_agg(DISTINCT g.activation ORDER BY g.activation) FROM g)`

// sqlBot reads the bot with id $1 by key.
const sqlBot = `SELECT b.doc, ` + sqlOpenActivations + ` FROM bots b WHERE b.id = $1`

// botRow is a bot as a read returns it: its document and the activations
// that have a session recorded open (sqlOpenActivations).
type botRow struct {
	doc  []byte
	open []int64
}

func (r botRow) bot() (lifecycle.Bot, error) {
	b, err := decodeBot(r.doc)
	for _, k := range r.open {
		b.OpenActivations = append(b.OpenActivations, uint64(k))
	}
	return b, err
}

// queryBots runs sql, which selects a bot b's doc and sqlOpenActivations.
func (s *Store) queryBots(ctx context.Context, op, sql string, args ...any) ([]lifecycle.Bot, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	got, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (botRow, error) {
		var r botRow
		err := row.Scan(&r.doc, &r.open)
		return r, err
	})
	if err != nil {
		return nil, fail(ctx, op, err)
	}
	out := make([]lifecycle.Bot, 0, len(got))
	for _, r := range got {
		b, err := r.bot()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// LiveBots implements lifecycle.BotStore through the partial index
// bot_senders_live: the bots Active or draining ON the senders (each row
// holds the bot's state on its sender, R22), not every bot configured with
// them. R1 and R2 bound it to two rows per sender.
func (s *Store) LiveBots(ctx context.Context, senders []lifecycle.Sender) ([]lifecycle.Bot, error) {
	ch, addr, err := senderArrays(storable(senders))
	if err != nil {
		return nil, err
	}
	return s.queryBots(ctx, "reading live bots", sqlLiveBots, ch, addr)
}

// sqlLiveBots reads the live bots on senders ($1, $2) through the partial
// index bot_senders_live.
const sqlLiveBots = `
	SELECT b.doc, ` + sqlOpenActivations + ` FROM bots b WHERE b.id IN (
		SELECT bs.bot_id FROM unnest($1::text[], $2::text[]) AS want(channel, address)
		JOIN bot_senders bs ON bs.channel = want.channel AND bs.address = want.address AND bs.state IN (2, 3))
	ORDER BY b.id`

// sqlLastActive reads, for each sender ($1, $2), the first entry of the
// index bot_senders_last_active other than $3, and keeps the latest.
const sqlLastActive = `
	SELECT b.doc, ` + sqlOpenActivations + ` FROM unnest($1::text[], $2::text[]) AS want(channel, address)
	CROSS JOIN LATERAL (
		SELECT bs.bot_id, bs.left_at FROM bot_senders bs
		WHERE bs.channel = want.channel AND bs.address = want.address AND bs.left_at IS NOT NULL AND bs.bot_id <> $3
		ORDER BY bs.left_at DESC, bs.bot_id LIMIT 1) AS last
	JOIN bots b ON b.id = last.bot_id
	ORDER BY last.left_at DESC, last.bot_id LIMIT 1`

// LastActive implements lifecycle.BotStore: per sender, the first entry of
// the index bot_senders_last_active other than except.
func (s *Store) LastActive(ctx context.Context, senders []lifecycle.Sender, except lifecycle.BotID) (lifecycle.Bot, error) {
	ch, addr, err := senderArrays(storable(senders))
	var bots []lifecycle.Bot
	if err == nil {
		bots, err = s.queryBots(ctx, "reading the last active bot", sqlLastActive, ch, addr, string(except))
		if err != nil {
			return lifecycle.Bot{}, err
		}
	}
	if len(bots) == 0 {
		return lifecycle.Bot{}, &lifecycle.NotFoundError{Kind: "bot", ID: "that was Active before on these senders"}
	}
	return bots[0], nil
}

// Bots implements lifecycle.BotStore.
func (s *Store) Bots(ctx context.Context, after lifecycle.BotID, limit int) ([]lifecycle.Bot, error) {
	return s.queryBots(ctx, "listing bots", `SELECT b.doc, `+sqlOpenActivations+` FROM bots b WHERE b.id > $1 ORDER BY b.id LIMIT $2`, string(after), limitArg(limit))
}

// sqlDueDrains reads the bots with a drain due at $1 (Bot.GraceDeadline,
// the earliest of their drains, whatever their state: R22) through the
// partial index bots_due_drains.
const sqlDueDrains = `SELECT b.doc, ` + sqlOpenActivations + ` FROM bots b WHERE b.grace_deadline <= $1 ORDER BY b.grace_deadline, b.id LIMIT $2`

// DueDrains implements lifecycle.BotStore.
func (s *Store) DueDrains(ctx context.Context, now time.Time, limit int) ([]lifecycle.Bot, error) {
	if now.Before(minTime) {
		return nil, nil // every stored deadline is later
	}
	return s.queryBots(ctx, "reading due drains", sqlDueDrains, clampNanos(now), limitArg(limit))
}

// UserRoles implements lifecycle.RoleStore.
func (s *Store) UserRoles(ctx context.Context, user string) (roles.Set, error) {
	if checkText("user", user, true) != nil {
		return 0, nil // unknown: no stored user has such an id (P3)
	}
	var rs int16
	err := s.pool.QueryRow(ctx, `SELECT roles FROM role_assignments WHERE user_id = $1`, user).Scan(&rs)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return roles.Set(rs), fail(ctx, "reading roles", err)
}

// RoleAssignments implements lifecycle.RoleStore.
func (s *Store) RoleAssignments(ctx context.Context) ([]lifecycle.RoleAssignment, error) {
	rows, err := s.pool.Query(ctx, `SELECT user_id, roles FROM role_assignments ORDER BY user_id`)
	if err != nil {
		return nil, fail(ctx, "reading roles", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lifecycle.RoleAssignment, error) {
		var a lifecycle.RoleAssignment
		var rs int16
		err := r.Scan(&a.User, &rs)
		a.Roles = roles.Set(rs)
		return a, err
	})
	return out, fail(ctx, "reading roles", err)
}

// AuditLog implements lifecycle.AuditStore.
func (s *Store) AuditLog(ctx context.Context, after uint64, limit int) ([]lifecycle.AuditEntry, error) {
	if after > 1<<63-1 {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, entry FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, int64(after), limitArg(limit))
	if err != nil {
		return nil, fail(ctx, "reading the audit log", err)
	}
	var out []lifecycle.AuditEntry
	var seq int64
	var doc []byte
	_, err = pgx.ForEachRow(rows, []any{&seq, &doc}, func() error {
		var e lifecycle.AuditEntry
		if err := json.Unmarshal(doc, &e); err != nil {
			return fmt.Errorf("postgres: decoding audit entry %d: %w", seq, err)
		}
		e.Seq = uint64(seq)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fail(ctx, "reading the audit log", err)
	}
	return out, nil
}
