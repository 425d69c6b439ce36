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
	"sync/atomic"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/store/postgres"
	"github.com/botlife/botlife/store/sqlite"
	"github.com/jackc/pgx/v5"
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

// backend is the store the service runs on, with what the service keeps
// beside it: the counter of readable bot ids.
type backend struct {
	lifecycle.Store
	name  string                                   // for the log: the file, or the server and database; never a password
	next  func(ctx context.Context) (int64, error) // the next bot number, unique in the store
	probe func(ctx context.Context) error          // the service's own table or sequence is there
	close func()
}

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
		var n atomic.Int64
		return &backend{Store: store.NewMemory(), name: "memory",
			next:  func(context.Context) (int64, error) { return n.Add(1), nil },
			probe: func(context.Context) error { return nil }, close: func() {}}, nil
	case "sqlite":
		return openSQLite(ctx, u.path)
	}
	return openPostgres(ctx, u.url, migrate)
}

// openSQLite opens the file, and beside the store's tables the service's
// own: service_ids, the last bot number given. It is a separate connection
// to the same file, as another process would be.
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
		_, err = db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS service_ids (name TEXT PRIMARY KEY, n INTEGER NOT NULL)`)
	}
	if err != nil {
		st.Close()
		return nil, fmt.Errorf("%s: the service's table: %w", path, errors.Join(err, lifecycle.ErrUnavailable))
	}
	return &backend{Store: st, name: st.Path(),
		next: func(ctx context.Context) (n int64, err error) {
			err = db.QueryRowContext(ctx, `INSERT INTO service_ids (name, n) VALUES ('bot', 1)
				ON CONFLICT (name) DO UPDATE SET n = n + 1 RETURNING n`).Scan(&n)
			return n, err
		},
		probe: func(ctx context.Context) error {
			return db.QueryRowContext(ctx, `SELECT count(*) FROM service_ids`).Scan(new(int))
		},
		close: func() { db.Close(); st.Close() }}, nil
}

// openPostgres connects, migrates when asked (the store's schema, then the
// service's sequence botlife_service_bot_ids, under an advisory lock so
// replicas may start at once).
func openPostgres(ctx context.Context, raw string, migrate bool) (*backend, error) {
	st, err := postgres.Open(ctx, raw)
	if err != nil {
		return nil, err
	}
	pool := st.Pool()
	if migrate {
		err = st.Migrate(ctx)
		if err == nil {
			err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(8347261)`); err != nil {
					return err
				}
				_, err := tx.Exec(ctx, `CREATE SEQUENCE IF NOT EXISTS botlife_service_bot_ids`)
				return err
			})
		}
		if err != nil {
			st.Close()
			return nil, fmt.Errorf("migrating: %w", err)
		}
	}
	cfg := pool.Config().ConnConfig
	return &backend{Store: st, name: fmt.Sprintf("postgres %s:%d/%s", cfg.Host, cfg.Port, cfg.Database),
		next: func(ctx context.Context) (n int64, err error) {
			err = pool.QueryRow(ctx, `SELECT nextval('botlife_service_bot_ids')`).Scan(&n)
			return n, err
		},
		probe: func(ctx context.Context) error {
			return pool.QueryRow(ctx, `SELECT last_value FROM botlife_service_bot_ids`).Scan(new(int64))
		},
		close: st.Close}, nil
}

// ready says whether the store answers and its schema is the one the
// service needs: a read of the store (which fails on a schema not
// migrated) and of the service's own table.
func (b *backend) ready(ctx context.Context) error {
	if _, _, err := b.Roles(ctx, "", "readyz"); err != nil {
		return err
	}
	return b.probe(ctx)
}

// newID returns Config.NewID for mode: readable ids bot-1, bot-2, ...
// numbered by the store (so no two replicas, nor a restart, give one twice),
// or random ones. If the store cannot give a number the id is random, and
// logged.
func (b *backend) newID(mode string, log *slog.Logger) func() lifecycle.BotID {
	return func() lifecycle.BotID {
		if mode == "readable" {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			n, err := b.next(ctx)
			cancel()
			if err == nil {
				return lifecycle.BotID(fmt.Sprintf("bot-%d", n))
			}
			log.Warn("no readable bot id: the store gave no number; the bot gets a random id", "err", err)
		}
		var r [6]byte
		_, _ = rand.Read(r[:]) // crypto/rand.Read never fails
		return lifecycle.BotID("bot_" + hex.EncodeToString(r[:]))
	}
}
