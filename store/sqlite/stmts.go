package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
)

// stmts keeps the prepared statements of one pool, so that SQLite parses
// and plans each query once per connection rather than on every call.
// A query met for the first time runs unprepared and is prepared at the
// start of a later operation (warm), when the caller holds no connection of
// the pool: preparing while holding the writer's only connection would
// wait for itself.
type stmts struct {
	db       *sql.DB
	mu       sync.Mutex
	ready    map[string]*sql.Stmt
	pending  map[string]bool
	npending atomic.Int32
}

func newStmts(db *sql.DB) *stmts {
	return &stmts{db: db, ready: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

func (c *stmts) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.ready[query]; st != nil {
		return st
	}
	if !c.pending[query] {
		c.pending[query] = true
		c.npending.Add(1)
	}
	return nil
}

// warm prepares the queries met unprepared so far. Call it holding no
// connection of the pool.
func (c *stmts) warm(ctx context.Context) {
	if c.npending.Load() == 0 {
		return
	}
	c.mu.Lock()
	var queries []string
	for q := range c.pending {
		queries = append(queries, q)
	}
	clear(c.pending)
	c.npending.Store(0)
	c.mu.Unlock()
	for _, q := range queries {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue // it runs unprepared, and fails there if it is wrong
		}
		c.mu.Lock()
		if c.ready[q] == nil {
			c.ready[q] = st
		} else {
			st.Close()
		}
		c.mu.Unlock()
	}
}

func (c *stmts) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.ready {
		st.Close()
	}
	clear(c.ready)
}

// conn runs queries on a pool, in tx when it is set, with the pool's
// prepared statements.
type conn struct {
	c  *stmts
	tx *sql.Tx
}

func (k conn) stmt(ctx context.Context, query string) *sql.Stmt {
	st := k.c.get(query)
	if st != nil && k.tx != nil {
		st = k.tx.StmtContext(ctx, st)
	}
	return st
}

// QueryContext runs a query that returns rows.
func (k conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := k.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if k.tx != nil {
		return k.tx.QueryContext(ctx, query, args...)
	}
	return k.c.db.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns at most one row.
func (k conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := k.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if k.tx != nil {
		return k.tx.QueryRowContext(ctx, query, args...)
	}
	return k.c.db.QueryRowContext(ctx, query, args...)
}

// ExecContext runs a statement that returns no rows.
func (k conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := k.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if k.tx != nil {
		return k.tx.ExecContext(ctx, query, args...)
	}
	return k.c.db.ExecContext(ctx, query, args...)
}
