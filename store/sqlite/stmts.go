package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmts keeps the prepared statements of one pool, so that SQLite parses
// and plans each query once per connection rather than on every call. A
// query met for the first time runs unprepared and is prepared in the
// background once a connection of the pool is free: preparing it at once,
// while the caller holds the writer's only connection, would wait for
// itself.
type stmts struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt // nil until prepared
}

func (c *stmts) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, seen := c.m[query]
	if !seen {
		c.m[query] = nil
		go func() {
			st, err := c.db.Prepare(query)
			if err != nil {
				return // it runs unprepared, and fails there if it is wrong
			}
			c.mu.Lock()
			c.m[query] = st
			c.mu.Unlock()
		}()
	}
	return st
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

// QueryContext, QueryRowContext and ExecContext run a query on the
// prepared statement if there is one. They call *sql.DB and *sql.Tx
// directly, not through an interface, so that their arguments do not
// escape to the heap.
func (k conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := k.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if k.tx != nil {
		return k.tx.QueryContext(ctx, query, args...)
	}
	return k.c.db.QueryContext(ctx, query, args...)
}

func (k conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := k.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if k.tx != nil {
		return k.tx.QueryRowContext(ctx, query, args...)
	}
	return k.c.db.QueryRowContext(ctx, query, args...)
}

func (k conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := k.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	if k.tx != nil {
		return k.tx.ExecContext(ctx, query, args...)
	}
	return k.c.db.ExecContext(ctx, query, args...)
}
