package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/lifecycle"
)

// sqlKeeper is an api.Keeper in the store's database (SQLite or
// PostgreSQL), in a table of the service's own, service_kept: the
// responses of requests with an Idempotency-Key and the dry-run plans, so
// that every replica sees them and a restart forgets none.
//
// Bounds: each Scope (a principal in a workspace) holds at most
// keepUserBytes and keepUserItems; to keep one more entry a Scope drops its
// own oldest finished entries, never another's, and an entry larger than
// its share is refused (api.ErrNotKept). Principals come from the users
// file, so the table holds at most keepUserBytes per line of it. Entries
// end at their expiry: a Scope's are deleted when it keeps another, and
// sweep deletes everyone's.
//
// Each method is one transaction. Two replicas claiming one key race on
// the primary key: one inserts, the other finds its entry. Changes to one
// Scope's entries serialise (SQLite has one writer; PostgreSQL takes an
// advisory lock per Scope), so its bounds hold across replicas.
type sqlKeeper struct {
	userBytes int64 // keepUserBytes; less in tests
	userItems int   // keepUserItems; less in tests
	db        *sql.DB
	lock      string // PostgreSQL: the statement that locks a Scope for the transaction
	q         func(string) string
}

const (
	keepUserBytes = 8 << 20 // as api.MemoryKeeper's defaults
	keepUserItems = 1000
	keepOverhead  = 160 // bytes counted per entry beyond its key and values
)

// An entry's kind in service_kept is 0 for the response to an
// Idempotency-Key, 1 for a dry-run plan.

var dollar = regexp.MustCompile(`\$(\d+)`)

// newSQLKeeper returns the keeper on db; postgres says which dialect.
func newSQLKeeper(db *sql.DB, postgres bool) *sqlKeeper {
	k := &sqlKeeper{userBytes: keepUserBytes, userItems: keepUserItems, db: db, q: func(s string) string { return dollar.ReplaceAllString(s, "?$1") }}
	if postgres {
		k.q = func(s string) string { return s }
		k.lock = `SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2::text, 77))`
	}
	return k
}

// tx runs f in a transaction, its errors wrapping lifecycle.ErrUnavailable
// (the Server answers 503) unless they are api.ErrNotKept.
func (k *sqlKeeper) tx(ctx context.Context, s api.Scope, f func(tx *sql.Tx) error) error {
	err := func() error {
		tx, err := k.db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if k.lock != "" {
			if _, err := tx.ExecContext(ctx, k.lock, string(s.Workspace), s.User); err != nil {
				return err
			}
		}
		if err := f(tx); err != nil {
			return err
		}
		return tx.Commit()
	}()
	if err == nil || errors.Is(err, api.ErrNotKept) {
		return err
	}
	return fmt.Errorf("keeping idempotent responses and plans: %w", errors.Join(err, lifecycle.ErrUnavailable))
}

func (k *sqlKeeper) exec(ctx context.Context, tx *sql.Tx, q string, args ...any) (int64, error) {
	r, err := tx.ExecContext(ctx, k.q(q), args...)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}

// Claim implements api.Keeper.
func (k *sqlKeeper) Claim(ctx context.Context, s api.Scope, key string, request []byte, now, expires time.Time) (kept *api.KeptResponse, err error) {
	err = k.tx(ctx, s, func(tx *sql.Tx) error {
		if err := k.expire(ctx, tx, s, now); err != nil {
			return err
		}
		held := &api.KeptResponse{}
		err := tx.QueryRowContext(ctx, k.q(`SELECT request, value FROM service_kept WHERE workspace = $1 AND principal = $2 AND kind = 0 AND name = $3`),
			string(s.Workspace), s.User, key).Scan(&held.Request, &held.Response)
		if err == nil {
			kept = held
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		size := int64(len(key)+len(request)) + keepOverhead
		made, err := k.room(ctx, tx, s, size)
		if err != nil {
			return err
		}
		_, err = k.exec(ctx, tx, `INSERT INTO service_kept (workspace, principal, kind, name, request, size, made, expires)
			VALUES ($1, $2, 0, $3, $4, $5, $6, $7)`, string(s.Workspace), s.User, key, request, size, made, expires.UnixNano())
		return err
	})
	return kept, err
}

// Finish implements api.Keeper.
func (k *sqlKeeper) Finish(ctx context.Context, s api.Scope, key string, request, response []byte, now, expires time.Time) error {
	size := int64(len(key)+len(request)+len(response)) + keepOverhead
	return k.tx(ctx, s, func(tx *sql.Tx) error {
		if err := k.expire(ctx, tx, s, now); err != nil {
			return err
		}
		n, err := k.exec(ctx, tx, `DELETE FROM service_kept WHERE workspace = $1 AND principal = $2 AND kind = 0 AND name = $3
			AND value IS NULL AND request = $4`, string(s.Workspace), s.User, key, request)
		if err != nil || n == 0 {
			return err // none: the claim is gone
		}
		made, err := k.room(ctx, tx, s, size)
		if err != nil {
			if errors.Is(err, api.ErrNotKept) { // the claim stays deleted: the key is free
				err = errors.Join(tx.Commit(), err)
			}
			return err
		}
		_, err = k.exec(ctx, tx, `INSERT INTO service_kept (workspace, principal, kind, name, request, value, size, made, expires)
			VALUES ($1, $2, 0, $3, $4, $5, $6, $7, $8)`, string(s.Workspace), s.User, key, request, response, size, made, expires.UnixNano())
		return err
	})
}

// Release implements api.Keeper.
func (k *sqlKeeper) Release(ctx context.Context, s api.Scope, key string, request []byte) error {
	return k.tx(ctx, s, func(tx *sql.Tx) error {
		_, err := k.exec(ctx, tx, `DELETE FROM service_kept WHERE workspace = $1 AND principal = $2 AND kind = 0 AND name = $3
			AND value IS NULL AND request = $4`, string(s.Workspace), s.User, key, request)
		return err
	})
}

// KeepPlan implements api.Keeper.
func (k *sqlKeeper) KeepPlan(ctx context.Context, s api.Scope, id string, plan []byte, now, expires time.Time) error {
	size := int64(len(id)+len(plan)) + keepOverhead
	return k.tx(ctx, s, func(tx *sql.Tx) error {
		if err := k.expire(ctx, tx, s, now); err != nil {
			return err
		}
		if _, err := k.exec(ctx, tx, `DELETE FROM service_kept WHERE workspace = $1 AND principal = $2 AND kind = 1 AND name = $3`,
			string(s.Workspace), s.User, id); err != nil {
			return err
		}
		made, err := k.room(ctx, tx, s, size)
		if err != nil {
			return err
		}
		_, err = k.exec(ctx, tx, `INSERT INTO service_kept (workspace, principal, kind, name, request, value, size, made, expires)
			VALUES ($1, $2, 1, $3, '', $4, $5, $6, $7)`, string(s.Workspace), s.User, id, plan, size, made, expires.UnixNano())
		return err
	})
}

// TakePlan implements api.Keeper.
func (k *sqlKeeper) TakePlan(ctx context.Context, s api.Scope, id string, now time.Time) (plan []byte, err error) {
	err = k.tx(ctx, s, func(tx *sql.Tx) error {
		var expires int64
		err := tx.QueryRowContext(ctx, k.q(`DELETE FROM service_kept WHERE workspace = $1 AND principal = $2 AND kind = 1 AND name = $3
			RETURNING value, expires`), string(s.Workspace), s.User, id).Scan(&plan, &expires)
		if errors.Is(err, sql.ErrNoRows) || err == nil && expires <= now.UnixNano() {
			plan = nil
			return nil
		}
		return err
	})
	return plan, err
}

// expire deletes the Scope's entries expired at now.
func (k *sqlKeeper) expire(ctx context.Context, tx *sql.Tx, s api.Scope, now time.Time) error {
	_, err := k.exec(ctx, tx, `DELETE FROM service_kept WHERE workspace = $1 AND principal = $2 AND expires <= $3`,
		string(s.Workspace), s.User, now.UnixNano())
	return err
}

// room makes room in the Scope for an entry of size bytes by deleting its
// oldest finished entries, and returns the entry's place in the Scope's
// order (made); or refuses with api.ErrNotKept, deleting nothing, when the
// entry is larger than a Scope's share or the Scope has its every item in
// flight.
func (k *sqlKeeper) room(ctx context.Context, tx *sql.Tx, s api.Scope, size int64) (made int64, err error) {
	rows, err := tx.QueryContext(ctx, k.q(`SELECT kind, name, size, value IS NULL, made FROM service_kept
		WHERE workspace = $1 AND principal = $2 ORDER BY made`), string(s.Workspace), s.User)
	if err != nil {
		return 0, err
	}
	type entry struct {
		kind    int
		name    string
		size    int64
		pending bool
	}
	var held []entry
	var bytes int64
	pending := 0
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.kind, &e.name, &e.size, &e.pending, &made); err != nil {
			rows.Close()
			return 0, err
		}
		held = append(held, e)
		bytes += e.size
		if e.pending {
			pending++
		}
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil {
		return 0, err
	}
	if size > k.userBytes || pending >= k.userItems {
		return 0, fmt.Errorf("%w: %d bytes, %d requests in flight", api.ErrNotKept, size, pending)
	}
	items := len(held)
	for _, e := range held {
		if items < k.userItems && bytes+size <= k.userBytes {
			break
		}
		if e.pending {
			continue
		}
		if _, err := k.exec(ctx, tx, `DELETE FROM service_kept WHERE workspace = $1 AND principal = $2 AND kind = $3 AND name = $4`,
			string(s.Workspace), s.User, e.kind, e.name); err != nil {
			return 0, err
		}
		items--
		bytes -= e.size
	}
	return made + 1, nil
}

// sweepEvery sweeps every interval until ctx ends, logging failures.
func (k *sqlKeeper) sweepEvery(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if _, err := k.sweep(ctx, now); err != nil && ctx.Err() == nil {
				log.Error("deleting expired idempotent responses and plans failed", "err", err)
			}
		}
	}
}

// sweep deletes the entries expired at now, a batch at a time, and
// returns how many.
func (k *sqlKeeper) sweep(ctx context.Context, now time.Time) (int64, error) {
	var all int64
	for {
		r, err := k.db.ExecContext(ctx, k.q(`DELETE FROM service_kept WHERE (workspace, principal, kind, name) IN
			(SELECT workspace, principal, kind, name FROM service_kept WHERE expires <= $1 LIMIT 1000)`), now.UnixNano())
		if err != nil {
			return all, err
		}
		n, _ := r.RowsAffected()
		all += n
		if n < 1000 {
			return all, nil
		}
	}
}
