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
// Bounds: each Scope (a principal of a kind in a workspace) holds at most
// keepUserBytes and keepUserItems, the gateway's keepGatewayBytes and
// keepGatewayItems (it keeps a response per message routed: 100,000 last
// about 17 minutes at 100 messages a second, 28 hours at one); to keep one
// more entry a Scope drops its own oldest finished entries, never
// another's, and an entry larger than its share is refused
// (api.ErrNotKept). Principals come from the users file, so the table
// holds at most keepUserBytes per line of it (keepGatewayBytes per
// gateway line). Entries
// end at their expiry: a Scope's are deleted when it keeps another, and
// sweep deletes everyone's.
//
// Each method is one transaction. Two replicas claiming one key race on
// the primary key: one inserts, the other finds its entry. Changes to one
// Scope's entries serialise (SQLite has one writer; PostgreSQL takes an
// advisory lock per Scope), so its bounds hold across replicas.
//
// No method's time grows with the entries a Scope holds (the gateway's up
// to 100,000): each Scope's counts - entries, those in flight, bytes, the
// last made - are a row of service_kept_scopes that every insert and
// delete of its entries updates in the same transaction (put, remove), so
// that room reads one row instead of counting; the oldest and the expired
// are found through indexes.
type sqlKeeper struct {
	userBytes    int64 // keepUserBytes; less in tests
	userItems    int   // keepUserItems; less in tests
	gatewayBytes int64 // keepGatewayBytes; less in tests
	gatewayItems int   // keepGatewayItems; less in tests
	db           *sql.DB
	lock         string // PostgreSQL: the statement that locks a Scope for the transaction
	q            func(string) string
}

const (
	keepUserBytes    = 8 << 20 // as api.MemoryKeeper's defaults
	keepUserItems    = 1000
	keepGatewayBytes = 64 << 20
	keepGatewayItems = 100_000
	keepOverhead     = 160 // bytes counted per entry beyond its key and values
)

// An entry's kind in service_kept is 0 for the response to an
// Idempotency-Key, 1 for a dry-run plan, plus twice its Scope's
// api.PrincipalKind: 0 and 1 are a user's, 2 and 3 the gateway's, 4 and 5
// the system's. A user whose id is the gateway's is so another Scope, with
// keys and bounds of its own; entries kept before principal kinds were
// (0 and 1) stay a user's.

// kinds returns the kind of s's responses and of its plans in
// service_kept.
func kinds(s api.Scope) (response, plan int) {
	return 2 * int(s.Kind), 2*int(s.Kind) + 1
}

var dollar = regexp.MustCompile(`\$(\d+)`)

// newSQLKeeper returns the keeper on db; postgres says which dialect.
func newSQLKeeper(db *sql.DB, postgres bool) *sqlKeeper {
	k := &sqlKeeper{userBytes: keepUserBytes, userItems: keepUserItems, gatewayBytes: keepGatewayBytes, gatewayItems: keepGatewayItems, db: db, q: func(s string) string { return dollar.ReplaceAllString(s, "?$1") }}
	if postgres {
		k.q = func(s string) string { return s }
		k.lock = `SELECT pg_advisory_xact_lock(hashtextextended($1::text || '/' || $2::text, 77 + $3))`
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
			if _, err := tx.ExecContext(ctx, k.lock, string(s.Workspace), s.User, int64(s.Kind)); err != nil {
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
		if _, err := k.expire(ctx, tx, s, now); err != nil {
			return err
		}
		held := &api.KeptResponse{}
		response, _ := kinds(s)
		err := tx.QueryRowContext(ctx, k.q(`SELECT request, value FROM service_kept WHERE workspace = $1 AND principal = $2 AND kind = $3 AND name = $4`),
			string(s.Workspace), s.User, response, key).Scan(&held.Request, &held.Response)
		if err == nil {
			kept = held
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return k.put(ctx, tx, s, response, key, request, nil, expires)
	})
	return kept, err
}

// Finish implements api.Keeper.
func (k *sqlKeeper) Finish(ctx context.Context, s api.Scope, key string, request, response []byte, now, expires time.Time) error {
	kind, _ := kinds(s)
	return k.tx(ctx, s, func(tx *sql.Tx) error {
		if _, err := k.expire(ctx, tx, s, now); err != nil {
			return err
		}
		n, _, err := k.remove(ctx, tx, s, `kind = $3 AND name = $4 AND value IS NULL AND request = $5`, kind, key, request)
		if err != nil || n == 0 {
			return err // none: the claim is gone
		}
		err = k.put(ctx, tx, s, kind, key, request, response, expires)
		if errors.Is(err, api.ErrNotKept) { // the claim stays deleted: the key is free
			err = errors.Join(tx.Commit(), err)
		}
		return err
	})
}

// Release implements api.Keeper.
func (k *sqlKeeper) Release(ctx context.Context, s api.Scope, key string, request []byte) error {
	kind, _ := kinds(s)
	return k.tx(ctx, s, func(tx *sql.Tx) error {
		_, _, err := k.remove(ctx, tx, s, `kind = $3 AND name = $4 AND value IS NULL AND request = $5`, kind, key, request)
		return err
	})
}

// KeepPlan implements api.Keeper.
func (k *sqlKeeper) KeepPlan(ctx context.Context, s api.Scope, id string, plan []byte, now, expires time.Time) error {
	_, kind := kinds(s)
	return k.tx(ctx, s, func(tx *sql.Tx) error {
		if _, err := k.expire(ctx, tx, s, now); err != nil {
			return err
		}
		if _, _, err := k.remove(ctx, tx, s, `kind = $3 AND name = $4`, kind, id); err != nil {
			return err
		}
		return k.put(ctx, tx, s, kind, id, []byte{}, plan, expires)
	})
}

// TakePlan implements api.Keeper.
func (k *sqlKeeper) TakePlan(ctx context.Context, s api.Scope, id string, now time.Time) (plan []byte, err error) {
	_, kind := kinds(s)
	err = k.tx(ctx, s, func(tx *sql.Tx) error {
		var expires int64
		err := tx.QueryRowContext(ctx, k.q(`SELECT value, expires FROM service_kept WHERE workspace = $1 AND principal = $2 AND kind = $3 AND name = $4`),
			string(s.Workspace), s.User, kind, id).Scan(&plan, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			plan = nil
			return nil
		}
		if err != nil {
			return err
		}
		if expires <= now.UnixNano() {
			plan = nil
		}
		_, _, err = k.remove(ctx, tx, s, `kind = $3 AND name = $4`, kind, id)
		return err
	})
	return plan, err
}

// expire deletes the Scope's entries expired at now and returns how many.
func (k *sqlKeeper) expire(ctx context.Context, tx *sql.Tx, s api.Scope, now time.Time) (int64, error) {
	response, plan := kinds(s)
	n, _, err := k.remove(ctx, tx, s, `kind IN ($3, $4) AND expires <= $5`, response, plan, now.UnixNano())
	return n, err
}

// remove deletes the Scope's entries in service_kept that where selects
// (a condition whose arguments, args, are $3 on: $1 and $2 are the Scope's
// workspace and principal) and takes them off the Scope's counts in
// service_kept_scopes. It returns how many entries it deleted, and their
// bytes.
func (k *sqlKeeper) remove(ctx context.Context, tx *sql.Tx, s api.Scope, where string, args ...any) (items, bytes int64, err error) {
	rows, err := tx.QueryContext(ctx, k.q(`DELETE FROM service_kept WHERE workspace = $1 AND principal = $2 AND `+where+`
		RETURNING size, CASE WHEN value IS NULL THEN 1 ELSE 0 END`), append([]any{string(s.Workspace), s.User}, args...)...)
	if err != nil {
		return 0, 0, err
	}
	var pending int64
	for rows.Next() {
		var size, p int64
		if err := rows.Scan(&size, &p); err != nil {
			rows.Close()
			return 0, 0, err
		}
		items++
		pending += p
		bytes += size
	}
	if err := errors.Join(rows.Err(), rows.Close()); err != nil || items == 0 {
		return 0, 0, err
	}
	_, err = k.exec(ctx, tx, `UPDATE service_kept_scopes SET items = items - $4, pending = pending - $5, bytes = bytes - $6
		WHERE workspace = $1 AND principal = $2 AND principal_kind = $3`, string(s.Workspace), s.User, int(s.Kind), items, pending, bytes)
	return items, bytes, err
}

// put keeps an entry of the Scope, of kind, named name, with request and
// value (nil: the claim of a request running), in room made for it, and
// counts it; or refuses with api.ErrNotKept (see room).
func (k *sqlKeeper) put(ctx context.Context, tx *sql.Tx, s api.Scope, kind int, name string, request, value []byte, expires time.Time) error {
	size := int64(len(name)+len(request)+len(value)) + keepOverhead
	made, err := k.room(ctx, tx, s, size)
	if err != nil {
		return err
	}
	if _, err := k.exec(ctx, tx, `INSERT INTO service_kept (workspace, principal, kind, name, request, value, size, made, expires)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, string(s.Workspace), s.User, kind, name, request, value, size, made, expires.UnixNano()); err != nil {
		return err
	}
	pending := 0
	if value == nil {
		pending = 1
	}
	_, err = k.exec(ctx, tx, `UPDATE service_kept_scopes SET items = items + 1, pending = pending + $4, bytes = bytes + $5, made = $6
		WHERE workspace = $1 AND principal = $2 AND principal_kind = $3`, string(s.Workspace), s.User, int(s.Kind), pending, size, made)
	return err
}

// limits returns what s may hold: the gateway's share (keepGatewayBytes,
// keepGatewayItems) or another principal's.
func (k *sqlKeeper) limits(s api.Scope) (bytes int64, items int) {
	if s.Kind == api.KindGateway {
		return k.gatewayBytes, k.gatewayItems
	}
	return k.userBytes, k.userItems
}

// room makes room in the Scope for an entry of size bytes by deleting its
// oldest finished entries, and returns the entry's place in the Scope's
// order (made: after every entry the Scope has kept); or refuses with
// api.ErrNotKept, deleting nothing, when the entry is larger than a
// Scope's share or the Scope has its every item in flight.
//
// It reads the Scope's counts in service_kept_scopes, which every change
// to its entries keeps (put and remove, in the same transaction), and
// drops the oldest through the index by made: its time does not grow with
// the entries the Scope holds.
func (k *sqlKeeper) room(ctx context.Context, tx *sql.Tx, s api.Scope, size int64) (made int64, err error) {
	maxBytes, maxItems := k.limits(s)
	var items, pending, bytes int64
	err = tx.QueryRowContext(ctx, k.q(`SELECT items, pending, bytes, made FROM service_kept_scopes
		WHERE workspace = $1 AND principal = $2 AND principal_kind = $3`), string(s.Workspace), s.User, int(s.Kind)).
		Scan(&items, &pending, &bytes, &made)
	if errors.Is(err, sql.ErrNoRows) { // the Scope's first entry
		_, err = k.exec(ctx, tx, `INSERT INTO service_kept_scopes (workspace, principal, principal_kind, items, pending, bytes, made)
			VALUES ($1, $2, $3, 0, 0, 0, 0) ON CONFLICT DO NOTHING`, string(s.Workspace), s.User, int(s.Kind))
	}
	if err != nil {
		return 0, err
	}
	if size > maxBytes || pending >= int64(maxItems) {
		return 0, fmt.Errorf("%w: %d bytes, %d requests in flight", api.ErrNotKept, size, pending)
	}
	for items >= int64(maxItems) || bytes+size > maxBytes {
		// The oldest finished entries, a batch at a time: as many as are
		// over the count, or a few when bytes are.
		old, err := k.oldest(ctx, tx, s, max(items-int64(maxItems)+1, 16))
		if err != nil {
			return 0, err
		}
		if len(old) == 0 {
			break // all in flight: kept over the bytes while they run
		}
		for _, e := range old {
			if items < int64(maxItems) && bytes+size <= maxBytes {
				break
			}
			n, b, err := k.remove(ctx, tx, s, `kind = $3 AND name = $4`, e.kind, e.name)
			if err != nil {
				return 0, err
			}
			items -= n
			bytes -= b
		}
	}
	return made + 1, nil
}

// keptEntry names a kept entry of a Scope.
type keptEntry struct {
	kind int
	name string
}

// oldest returns up to n of the Scope's finished entries, oldest first:
// each kind in an order of its own, through the index by made, then
// merged (an index orders the entries of one kind only).
func (k *sqlKeeper) oldest(ctx context.Context, tx *sql.Tx, s api.Scope, n int64) ([]keptEntry, error) {
	response, plan := kinds(s)
	rows, err := tx.QueryContext(ctx, k.q(`SELECT kind, name, made FROM (SELECT kind, name, made FROM service_kept
			WHERE workspace = $1 AND principal = $2 AND kind = $3 AND value IS NOT NULL ORDER BY made LIMIT $5) AS responses
		UNION ALL SELECT kind, name, made FROM (SELECT kind, name, made FROM service_kept
			WHERE workspace = $1 AND principal = $2 AND kind = $4 AND value IS NOT NULL ORDER BY made LIMIT $5) AS plans
		ORDER BY made LIMIT $5`),
		string(s.Workspace), s.User, response, plan, n)
	if err != nil {
		return nil, err
	}
	var old []keptEntry
	for rows.Next() {
		var e keptEntry
		if err := rows.Scan(&e.kind, &e.name, new(int64)); err != nil {
			rows.Close()
			return nil, err
		}
		old = append(old, e)
	}
	return old, errors.Join(rows.Err(), rows.Close())
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

// sweep deletes the entries expired at now, a Scope at a time (as the
// Scope's own changes do, so that its counts stay its entries'), and
// returns how many.
func (k *sqlKeeper) sweep(ctx context.Context, now time.Time) (int64, error) {
	var all int64
	for {
		var ws, user string
		var kind int
		err := k.db.QueryRowContext(ctx, k.q(`SELECT workspace, principal, kind FROM service_kept WHERE expires <= $1 ORDER BY expires LIMIT 1`),
			now.UnixNano()).Scan(&ws, &user, &kind)
		if errors.Is(err, sql.ErrNoRows) {
			return all, nil
		}
		if err != nil {
			return all, err
		}
		s := api.Scope{Workspace: lifecycle.Workspace(ws), Kind: api.PrincipalKind(kind / 2), User: user}
		var n int64
		if err := k.tx(ctx, s, func(tx *sql.Tx) (err error) {
			n, err = k.expire(ctx, tx, s, now)
			return err
		}); err != nil {
			return all, err
		}
		all += n
		if n == 0 {
			return all, nil // another took them first: the next sweep goes on
		}
	}
}
