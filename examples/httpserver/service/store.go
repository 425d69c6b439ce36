package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/store/postgres"
	"github.com/botlife/botlife/store/sqlite"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // the driver store/sqlite uses, for the service's own table
)

// storeURL is a parsed -store value.
type storeURL struct {
	kind string // "memory", "sqlite" or "postgres"
	path string // sqlite: the file
	url  string // postgres: the connection string
}

// parseStoreURL reads sqlite:FILE, postgres://... (or postgresql://...)
// and memory. Its errors never repeat the value: a connection string may
// hold a password.
func parseStoreURL(s string) (storeURL, error) {
	switch {
	case s == "memory":
		return storeURL{kind: "memory"}, nil
	case strings.HasPrefix(s, "sqlite:"):
		if strings.TrimPrefix(s, "sqlite:") == "" {
			return storeURL{}, errors.New("names no file: give sqlite:FILE, such as sqlite:botlife.db")
		}
		return storeURL{kind: "sqlite", path: strings.TrimPrefix(s, "sqlite:")}, nil
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		return storeURL{kind: "postgres", url: s}, nil
	}
	return storeURL{}, errors.New("is not a store: give sqlite:FILE, postgres://USER@HOST/DB or memory")
}

// backend is the store the service runs on, with the service's own
// tables beside the store's in the same database (serviceSchema), reached
// through db: nil for the memory store.
type backend struct {
	lifecycle.Store
	name  string                        // for the log: the file, or the server and database; never a password
	db    *sql.DB                       // the service's tables
	pg    bool                          // db is PostgreSQL
	mu    sync.Mutex                    // guards n and done
	n     map[lifecycle.Workspace]int64 // the memory store's bot numbers, per workspace
	done  map[grantee]bool              // the memory store's users provisioned
	close func()
}

// grantee is a user in a workspace.
type grantee struct {
	ws   lifecycle.Workspace
	user string
}

// serviceSchema is the service's own tables: service_ids holds the last
// bot number given in each workspace; service_kept the keeper's entries (see sqlKeeper),
// made numbering a Scope's in the order kept (indexed: a Scope drops its
// oldest first, and the gateway's holds up to 100,000; and by expiry in a
// Scope, which deletes its own expired ones as it keeps another), value
// NULL while the request of an Idempotency-Key runs; service_kept_scopes
// each Scope's counts of its entries in service_kept (see sqlKeeper.room),
// filled from them once, by the statement that creates the table, when a
// database kept entries before there were counts; service_provisioned the
// users whose roles the users file has provisioned, once (see
// users.provision). Written for both databases: BLOB becomes BYTEA on
// PostgreSQL. It runs in one transaction (on PostgreSQL under an advisory
// lock too), so that replicas starting at once fill the counts once.
const serviceSchema = `CREATE TABLE IF NOT EXISTS service_ids (name TEXT PRIMARY KEY, n BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS service_provisioned (workspace TEXT NOT NULL, principal TEXT NOT NULL, PRIMARY KEY (workspace, principal));
CREATE TABLE IF NOT EXISTS service_kept (
	workspace TEXT NOT NULL, principal TEXT NOT NULL, kind INTEGER NOT NULL, name TEXT NOT NULL,
	request BLOB NOT NULL, value BLOB, size BIGINT NOT NULL, made BIGINT NOT NULL, expires BIGINT NOT NULL,
	PRIMARY KEY (workspace, principal, kind, name));
CREATE INDEX IF NOT EXISTS service_kept_expires ON service_kept (expires);
CREATE INDEX IF NOT EXISTS service_kept_made ON service_kept (workspace, principal, kind, made);
CREATE INDEX IF NOT EXISTS service_kept_scope_expires ON service_kept (workspace, principal, kind, expires);
CREATE TABLE IF NOT EXISTS service_kept_scopes (
	workspace TEXT NOT NULL, principal TEXT NOT NULL, principal_kind INTEGER NOT NULL,
	items BIGINT NOT NULL, pending BIGINT NOT NULL, bytes BIGINT NOT NULL, made BIGINT NOT NULL,
	PRIMARY KEY (workspace, principal, principal_kind));
INSERT INTO service_kept_scopes (workspace, principal, principal_kind, items, pending, bytes, made)
	SELECT workspace, principal, kind / 2, count(*), sum(CASE WHEN value IS NULL THEN 1 ELSE 0 END), sum(size), max(made)
	FROM service_kept WHERE NOT EXISTS (SELECT 1 FROM service_kept_scopes) GROUP BY workspace, principal, kind / 2`

// pollOtherProcesses is how often a SQLite store looks for commits of
// other processes on the file (another replica, a command) for the event
// streams.
const pollOtherProcesses = time.Second

// openStore opens the store at raw (see parseStoreURL). With migrate, a
// PostgreSQL schema is brought up to date first; SQLite files always are
// (sqlite.Open migrates), and the memory store has none.
func openStore(ctx context.Context, raw string, migrate bool) (*backend, error) {
	u, err := parseStoreURL(raw)
	if err != nil {
		return nil, err
	}
	switch u.kind {
	case "memory":
		return &backend{Store: store.NewMemory(), name: "memory", close: func() {}}, nil
	case "sqlite":
		return openSQLite(ctx, u.path)
	}
	return openPostgres(ctx, u.url, migrate)
}

// openSQLite opens the file, and the service's tables in it through a
// connection of their own, as another process would.
func openSQLite(ctx context.Context, path string) (*backend, error) {
	st, err := sqlite.OpenWith(ctx, path, sqlite.Options{PollOtherProcesses: pollOtherProcesses})
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf("file:%s?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_txlock=immediate",
		(&url.URL{Path: filepath.ToSlash(st.Path())}).EscapedPath())
	db, err := sql.Open("sqlite", q)
	if err == nil {
		db.SetMaxOpenConns(1)
		err = migrateSQLite(ctx, db)
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("%s: the service's tables: %w", path, errors.Join(err, lifecycle.ErrUnavailable))
	}
	return &backend{Store: st, name: st.Path(), db: db, close: func() { db.Close(); st.Close() }}, nil
}

// migrateSQLite brings the service's tables in db up to date, in one
// transaction (db's are IMMEDIATE: it waits for no other writer once it
// has begun).
func migrateSQLite(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, serviceSchema); err != nil {
		return err
	}
	return tx.Commit()
}

// openPostgres connects and, when asked, migrates: the store's schema,
// then the service's tables under an advisory lock (replicas may start at
// once).
func openPostgres(ctx context.Context, raw string, migrate bool) (*backend, error) {
	st, err := postgres.Open(ctx, raw)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDBFromPool(st.Pool())
	if migrate {
		err = st.Migrate(ctx)
		if err == nil {
			err = pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
				_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(8347261); `+strings.ReplaceAll(serviceSchema, "BLOB", "BYTEA"))
				return err
			})
		}
		if err != nil {
			db.Close()
			st.Close()
			return nil, fmt.Errorf("migrating: %w", err)
		}
	}
	cfg := st.Pool().Config().ConnConfig
	return &backend{Store: st, name: fmt.Sprintf("postgres %s:%d/%s", cfg.Host, cfg.Port, cfg.Database), db: db, pg: true,
		close: func() { db.Close(); st.Close() }}, nil
}

// next returns the next bot number of workspace ws, unique in it: each
// workspace counts its own bots, so that no customer's numbers tell how
// many bots the others made (R27).
func (b *backend) next(ctx context.Context, ws lifecycle.Workspace) (n int64, err error) {
	if b.db == nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.n == nil {
			b.n = map[lifecycle.Workspace]int64{}
		}
		b.n[ws]++
		return b.n[ws], nil
	}
	name := "bot" // the default workspace's counter
	if ws != "" {
		name = "bot:" + string(ws)
	}
	err = b.db.QueryRowContext(ctx, `INSERT INTO service_ids (name, n) VALUES ($1, 1)
		ON CONFLICT (name) DO UPDATE SET n = service_ids.n + 1 RETURNING n`, name).Scan(&n)
	return n, err
}

// ready says whether the store answers and its schema is the one the
// service needs: a read of the store (which fails on a schema not
// migrated) and of the service's own tables.
func (b *backend) ready(ctx context.Context) error {
	if _, _, err := b.Roles(ctx, "", "readyz"); err != nil || b.db == nil {
		return err
	}
	return b.db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM service_ids) + (SELECT count(*) FROM service_kept WHERE expires < 0)
		+ (SELECT count(*) FROM (SELECT 1 FROM service_provisioned LIMIT 1) AS one)
		+ (SELECT count(*) FROM (SELECT 1 FROM service_kept_scopes LIMIT 1) AS counts)`).Scan(new(int))
}

// provisioned reports whether the users file's roles of user in ws were
// provisioned before, by this process or another on the store.
func (b *backend) provisioned(ctx context.Context, ws lifecycle.Workspace, user string) (bool, error) {
	if b.db == nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		return b.done[grantee{ws, user}], nil
	}
	var n int
	err := b.db.QueryRowContext(ctx, b.q(`SELECT count(*) FROM service_provisioned WHERE workspace = $1 AND principal = $2`), string(ws), user).Scan(&n)
	return n > 0, err
}

// markProvisioned records that user's roles in ws are provisioned: from
// then on, only the API grants or revokes them.
func (b *backend) markProvisioned(ctx context.Context, ws lifecycle.Workspace, user string) error {
	if b.db == nil {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.done == nil {
			b.done = map[grantee]bool{}
		}
		b.done[grantee{ws, user}] = true
		return nil
	}
	_, err := b.db.ExecContext(ctx, b.q(`INSERT INTO service_provisioned (workspace, principal) VALUES ($1, $2) ON CONFLICT DO NOTHING`), string(ws), user)
	return err
}

// q writes a statement with $1, $2 ... for the database's driver.
func (b *backend) q(s string) string {
	if b.pg {
		return s
	}
	return dollar.ReplaceAllString(s, "?$1")
}

// keeper returns the keeper in the database, or nil for the memory store
// (the Server then keeps in memory).
func (b *backend) keeper() *sqlKeeper {
	if b.db == nil {
		return nil
	}
	return newSQLKeeper(b.db, b.pg)
}

// maxTakenIDs is how many numbers in a row newID skips because a bot of
// the workspace has them before it gives a random id.
const maxTakenIDs = 64

// newID returns Config.NewID for mode: readable ids bot-1, bot-2, ...
// numbered by the store (so no two replicas, nor a restart, give one twice),
// or random ones. A number a bot of the workspace already has is skipped:
// a database from a version that numbered every workspace's bots with one
// counter holds bots ahead of the workspace's own counter. If the store
// cannot give a number the id is random, and logged.
func (b *backend) newID(mode string, log *slog.Logger) func(lifecycle.Workspace) lifecycle.BotID {
	return func(ws lifecycle.Workspace) lifecycle.BotID {
		if mode == "readable" {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			var err error
			for range maxTakenIDs {
				var n int64
				if n, err = b.next(ctx, ws); err != nil {
					break
				}
				id := lifecycle.BotID(fmt.Sprintf("bot-%d", n))
				if _, err = b.Bot(ctx, ws, id); errors.Is(err, lifecycle.ErrNotFound) {
					return id
				}
				if err != nil {
					break
				}
			}
			if err == nil {
				err = fmt.Errorf("%d numbers in a row are taken", maxTakenIDs)
			}
			log.Warn("no readable bot id: the store gave no free number; the bot gets a random id", "err", err)
		}
		var r [6]byte
		_, _ = rand.Read(r[:]) // crypto/rand.Read never fails
		return lifecycle.BotID("bot_" + hex.EncodeToString(r[:]))
	}
}
