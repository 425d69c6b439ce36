// Package postgres is a lifecycle.Store on PostgreSQL, for services that run
// botlife on more than one replica. It passes the storetest conformance
// suite against a real server.
//
// # How it keeps the rules
//
//   - R1 and R2 are enforced by the database itself: bot_senders carries each
//     bot's state per sender, with partial unique indexes on the sender for
//     Active rows and for Deactivated rows. A commit that would break them
//     fails, whatever the plan says.
//   - R15: Commit applies a plan in one transaction. It first takes the lock
//     of the single audit_head row, which orders commits and gives the audit
//     log gap-free sequence numbers; then it checks every expected revision.
//     Revision mismatches, unique violations, serialization failures and
//     deadlocks are returned as lifecycle.ErrConflict, so the Manager
//     decides again. Commits are serialised by that lock; they are rare
//     (people changing bots), while routing never takes it.
//   - Route costs one round trip for an existing session still served: a
//     single UPDATE whose WHERE clause is the negation of
//     lifecycle.SessionEnd. Otherwise a short transaction closes the old
//     session as SessionEnd says and opens one on the sender's Active bot.
//   - SweepSessions claims the sessions it closes with FOR UPDATE SKIP
//     LOCKED, so several replicas can run ExpireDue at once without doing the
//     same work twice; two replicas ending the same drain conflict, and the
//     loser finds it already Inactive.
//
// Times are stored as Unix nanoseconds, so deadlines compare exactly as on
// the injected clock.
package postgres

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is a lifecycle.Store on a PostgreSQL connection pool. It is safe for
// concurrent use, also from several processes sharing one database.
type Store struct {
	pool *pgxpool.Pool
}

var _ lifecycle.Store = (*Store)(nil)

// New returns a Store on pool. Call Migrate once before use.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Open connects to the database at url (a PostgreSQL connection string)
// and returns a Store that owns the pool; Close releases it.
func Open(ctx context.Context, url string) (*Store, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("postgres: connecting: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connecting: %w", err)
	}
	return New(pool), nil
}

// Close closes the connection pool.
func (s *Store) Close() { s.pool.Close() }

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
			return err
		})
		if err != nil {
			return fmt.Errorf("postgres: migration %s: %w", name, err)
		}
	}
	return nil
}

// --- encoding ---------------------------------------------------------------

func nanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

func decodeBot(doc []byte) (lifecycle.Bot, error) {
	var b lifecycle.Bot
	if err := json.Unmarshal(doc, &b); err != nil {
		return lifecycle.Bot{}, fmt.Errorf("postgres: decoding a stored bot: %w", err)
	}
	return b, nil
}

func conflict(format string, args ...any) error {
	return &lifecycle.ConflictError{Reason: fmt.Sprintf(format, args...)}
}

// dbError maps the errors that mean "someone else got there first" to
// lifecycle.ErrConflict.
func dbError(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation: R1, R2, or an id taken
			return conflict("the database refused the change (%s)", pe.ConstraintName)
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return conflict("the database could not serialise the change (%s)", pe.Code)
		}
	}
	return err
}

func limitArg(limit int) *int64 {
	if limit < 0 {
		return nil // LIMIT NULL: no limit
	}
	n := int64(limit)
	return &n
}

// --- bots, roles, audit -------------------------------------------------------

// Bot implements lifecycle.BotStore.
func (s *Store) Bot(ctx context.Context, id lifecycle.BotID) (lifecycle.Bot, error) {
	var doc []byte
	err := s.pool.QueryRow(ctx, `SELECT doc FROM bots WHERE id = $1`, string(id)).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return lifecycle.Bot{}, &lifecycle.NotFoundError{Kind: "bot", ID: string(id)}
	}
	if err != nil {
		return lifecycle.Bot{}, err
	}
	return decodeBot(doc)
}

func (s *Store) queryBots(ctx context.Context, sql string, args ...any) ([]lifecycle.Bot, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := make([]lifecycle.Bot, 0, len(docs))
	for _, d := range docs {
		b, err := decodeBot(d)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func senderArrays(ss []lifecycle.Sender) (channels, addresses []string) {
	for _, x := range ss {
		channels = append(channels, x.Channel)
		addresses = append(addresses, x.Address)
	}
	return channels, addresses
}

// BotsOnSenders implements lifecycle.BotStore.
func (s *Store) BotsOnSenders(ctx context.Context, senders []lifecycle.Sender) ([]lifecycle.Bot, error) {
	ch, addr := senderArrays(senders)
	return s.queryBots(ctx, `
		SELECT doc FROM bots WHERE id IN (
			SELECT bs.bot_id FROM bot_senders bs
			JOIN unnest($1::text[], $2::text[]) AS want(channel, address)
			  ON bs.channel = want.channel AND bs.address = want.address)
		ORDER BY id`, ch, addr)
}

// Bots implements lifecycle.BotStore.
func (s *Store) Bots(ctx context.Context, after lifecycle.BotID, limit int) ([]lifecycle.Bot, error) {
	return s.queryBots(ctx, `SELECT doc FROM bots WHERE id > $1 ORDER BY id LIMIT $2`, string(after), limitArg(limit))
}

// DueDrains implements lifecycle.BotStore.
func (s *Store) DueDrains(ctx context.Context, now time.Time, limit int) ([]lifecycle.Bot, error) {
	return s.queryBots(ctx, `SELECT doc FROM bots WHERE state = $1 AND grace_deadline <= $2 ORDER BY grace_deadline, id LIMIT $3`,
		int16(lifecycle.Deactivated), now.UnixNano(), limitArg(limit))
}

// UserRoles implements lifecycle.RoleStore.
func (s *Store) UserRoles(ctx context.Context, user string) (roles.Set, error) {
	var rs int16
	err := s.pool.QueryRow(ctx, `SELECT roles FROM role_assignments WHERE user_id = $1`, user).Scan(&rs)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return roles.Set(rs), err
}

// RoleAssignments implements lifecycle.RoleStore.
func (s *Store) RoleAssignments(ctx context.Context) ([]lifecycle.RoleAssignment, error) {
	rows, err := s.pool.Query(ctx, `SELECT user_id, roles FROM role_assignments ORDER BY user_id`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (lifecycle.RoleAssignment, error) {
		var a lifecycle.RoleAssignment
		var rs int16
		err := r.Scan(&a.User, &rs)
		a.Roles = roles.Set(rs)
		return a, err
	})
}

// AuditLog implements lifecycle.AuditStore.
func (s *Store) AuditLog(ctx context.Context, after uint64, limit int) ([]lifecycle.AuditEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT entry FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT $2`, int64(after), limitArg(limit))
	if err != nil {
		return nil, err
	}
	docs, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return nil, err
	}
	out := make([]lifecycle.AuditEntry, len(docs))
	for i, d := range docs {
		if err := json.Unmarshal(d, &out[i]); err != nil {
			return nil, fmt.Errorf("postgres: decoding audit entry: %w", err)
		}
	}
	return out, nil
}

// changeOrder applies changes that leave a sender's Active or Deactivated
// slot before changes that take one, so that the unique indexes, checked
// row by row, never see a passing overlap inside one plan.
func changeOrder(to lifecycle.State) int {
	switch to {
	case lifecycle.Active:
		return 2
	case lifecycle.Deactivated:
		return 1
	}
	return 0
}

// Commit implements lifecycle.Store.
func (s *Store) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	var out []lifecycle.AuditEntry
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var seq int64
		if err := tx.QueryRow(ctx, `SELECT seq FROM audit_head FOR UPDATE`).Scan(&seq); err != nil {
			return err
		}
		changes := append([]lifecycle.Change(nil), p.Changes...)
		sort.SliceStable(changes, func(i, j int) bool { return changeOrder(changes[i].To) < changeOrder(changes[j].To) })
		for _, c := range changes {
			if err := applyChange(ctx, tx, c); err != nil {
				return err
			}
		}
		if err := applyRoles(ctx, tx, p.Roles); err != nil {
			return err
		}
		out = make([]lifecycle.AuditEntry, len(p.Audit))
		for i, e := range p.Audit {
			seq++
			e.Seq = uint64(seq)
			doc, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("postgres: encoding audit entry: %w", err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO audit_log (seq, entry) VALUES ($1, $2)`, seq, doc); err != nil {
				return err
			}
			out[i] = e
		}
		_, err := tx.Exec(ctx, `UPDATE audit_head SET seq = $1`, seq)
		return err
	})
	if err != nil {
		return nil, dbError(err)
	}
	return out, nil
}

func applyChange(ctx context.Context, tx pgx.Tx, c lifecycle.Change) error {
	var tag pgconn.CommandTag
	var err error
	switch {
	case c.After == nil:
		tag, err = tx.Exec(ctx, `DELETE FROM bots WHERE id = $1 AND revision = $2`, string(c.Bot), int64(c.Revision))
	case c.Revision == 0:
		var doc []byte
		if doc, err = json.Marshal(c.After); err != nil {
			return err
		}
		tag, err = tx.Exec(ctx, `
			INSERT INTO bots (id, state, revision, activations, grace_deadline, idle_timeout, doc)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
			string(c.Bot), int16(c.After.State), int64(c.After.Revision), int64(c.After.Activations),
			nanos(c.After.GraceDeadline), int64(c.After.IdleTimeout), doc)
	default:
		var doc []byte
		if doc, err = json.Marshal(c.After); err != nil {
			return err
		}
		tag, err = tx.Exec(ctx, `
			UPDATE bots SET state = $3, revision = $4, activations = $5, grace_deadline = $6, idle_timeout = $7, doc = $8
			WHERE id = $1 AND revision = $2`,
			string(c.Bot), int64(c.Revision), int16(c.After.State), int64(c.After.Revision), int64(c.After.Activations),
			nanos(c.After.GraceDeadline), int64(c.After.IdleTimeout), doc)
	}
	if err != nil {
		return err
	}
	if tag.RowsAffected() != 1 {
		if c.Revision == 0 {
			return conflict("bot %s already exists", c.Bot)
		}
		return conflict("bot %s changed or no longer exists (the plan read revision %d)", c.Bot, c.Revision)
	}
	if c.After == nil {
		return nil // bot_senders rows went with ON DELETE CASCADE
	}
	if _, err := tx.Exec(ctx, `DELETE FROM bot_senders WHERE bot_id = $1`, string(c.Bot)); err != nil {
		return err
	}
	ch, addr := senderArrays(c.After.Senders)
	_, err = tx.Exec(ctx, `
		INSERT INTO bot_senders (bot_id, channel, address, state)
		SELECT $1, channel, address, $4 FROM unnest($2::text[], $3::text[]) AS s(channel, address)`,
		string(c.Bot), ch, addr, int16(c.After.State))
	return err
}

func countAdmins(ctx context.Context, tx pgx.Tx) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT count(*) FROM role_assignments WHERE roles & $1 <> 0`, int16(roles.MustSet(roles.Admin))).Scan(&n)
	return n, err
}

func applyRoles(ctx context.Context, tx pgx.Tx, changes []lifecycle.RoleChange) error {
	if len(changes) == 0 {
		return nil
	}
	before, err := countAdmins(ctx, tx)
	if err != nil {
		return err
	}
	for _, rc := range changes {
		var cur int16
		err := tx.QueryRow(ctx, `SELECT roles FROM role_assignments WHERE user_id = $1`, rc.User).Scan(&cur)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if roles.Set(cur) != rc.From {
			return conflict("the roles of %q changed (now %v, the plan read %v)", rc.User, roles.Set(cur), rc.From)
		}
		if rc.To.Empty() {
			_, err = tx.Exec(ctx, `DELETE FROM role_assignments WHERE user_id = $1`, rc.User)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO role_assignments (user_id, roles) VALUES ($1, $2)
				ON CONFLICT (user_id) DO UPDATE SET roles = EXCLUDED.roles`, rc.User, int16(rc.To))
		}
		if err != nil {
			return err
		}
	}
	after, err := countAdmins(ctx, tx)
	if err != nil {
		return err
	}
	if before > 0 && after == 0 {
		return conflict("the plan would remove the last Admin")
	}
	return nil
}
