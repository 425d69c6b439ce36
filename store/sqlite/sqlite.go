package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"math"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/internal/sqlrows"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Synchronous is what a write waits for before it returns: SQLite's
// synchronous setting, per kind of write. The package documentation,
// "Durability", says what each loses on a crash of the process and on a
// power cut.
type Synchronous string

// The durability settings; the package documentation, "Durability", says
// what each may lose.
const (
	// SyncCommits (the default) syncs every write except a message to an
	// open session, written with synchronous=NORMAL.
	SyncCommits Synchronous = "COMMITS"
	// SyncFull syncs every write, messages included.
	SyncFull Synchronous = "FULL"
	// SyncNormal syncs no write, only checkpoints.
	SyncNormal Synchronous = "NORMAL"
)

// Options tune a Store. The zero value is the default.
type Options struct {
	// Synchronous is the durability setting; empty means SyncCommits.
	Synchronous Synchronous
	// BusyTimeout is how long an operation waits for another process that
	// holds the database's write lock before it fails with an error
	// wrapping lifecycle.ErrUnavailable; zero means 5 seconds. SQLite
	// counts it in milliseconds, from 1 to about 24.8 days (math.MaxInt32):
	// a timeout outside that range waits the nearest of those.
	BusyTimeout time.Duration
	// Readers bounds the connections used for reads; zero means 4. Writes
	// use one connection of their own.
	Readers int
	// PollOtherProcesses, when positive, makes WaitAudit also check this
	// often for audit entries committed by other processes on the same
	// file. Commits through this Store wake waiters at once without it;
	// zero (the default) never polls.
	PollOtherProcesses time.Duration
}

func (o Options) withDefaults() (Options, error) {
	switch o.Synchronous {
	case "":
		o.Synchronous = SyncCommits
	case SyncFull, SyncCommits, SyncNormal:
	default:
		return o, &lifecycle.InputError{Field: "Options.Synchronous", Value: string(o.Synchronous), Problem: "is not a durability setting; use sqlite.SyncCommits, sqlite.SyncFull or sqlite.SyncNormal"}
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.Readers <= 0 {
		o.Readers = 4
	}
	return o, nil
}

// Store is a lifecycle.Store in one SQLite file. It is safe for concurrent
// use, and several processes may open the same file (see the package
// documentation for what each may do).
type Store struct {
	path string
	opts Options
	w    *sql.DB // one connection; transactions BEGIN IMMEDIATE
	r    *sql.DB // read-only connections

	wstmts *stmts // prepared statements of w
	rstmts *stmts // prepared statements of r

	// wmu is held by every use of w, so that a write and the synchronous
	// setting it needs go together; wsync is the setting last given to w,
	// empty when unknown.
	wmu   sync.Mutex
	wsync Synchronous

	waits sqlrows.Waiters // the WaitAudit calls in progress
}

var _ lifecycle.Store = (*Store)(nil)

// Open opens the SQLite database at path, creating the file if it does not
// exist, brings its schema to the latest version, and returns a Store with
// the default Options (SyncCommits). Close it when done.
func Open(ctx context.Context, path string) (*Store, error) {
	return OpenWith(ctx, path, Options{})
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if path == "" || strings.ContainsRune(path, 0) {
		return nil, &lifecycle.InputError{Field: "path", Value: path, Problem: "is not a file name; give the path of the database file, such as botlife.db"}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &lifecycle.InputError{Field: "path", Value: path, Problem: "cannot be made absolute: " + err.Error()}
	}
	// A connection starts at FULL unless every write is NORMAL: one the
	// pool replaced errs on the safe side. Statement journals (a statement
	// with triggers may need to undo itself) stay in memory.
	s := &Store{path: abs, opts: opts, wsync: SyncFull}
	if opts.Synchronous == SyncNormal {
		s.wsync = SyncNormal
	}
	q := fmt.Sprintf("file:%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=synchronous(%s)&_pragma=foreign_keys(0)&_pragma=temp_store(MEMORY)&",
		(&url.URL{Path: filepath.ToSlash(abs)}).EscapedPath(), busyMillis(opts.BusyTimeout), s.wsync)
	if s.w, err = sql.Open("sqlite", q+"_txlock=immediate"); err == nil {
		s.r, err = sql.Open("sqlite", q+"_pragma=query_only(1)")
	}
	if err != nil {
		return nil, s.fail("opening "+abs, err)
	}
	s.w.SetMaxOpenConns(1)
	s.r.SetMaxOpenConns(opts.Readers)
	s.r.SetMaxIdleConns(opts.Readers)
	s.wstmts, s.rstmts = &stmts{db: s.w, m: map[string]*sql.Stmt{}}, &stmts{db: s.r, m: map[string]*sql.Stmt{}}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// busyMillis is d as SQLite's busy_timeout takes it: whole milliseconds in
// an int32. SQLite reads a value out of that range as 0, no wait at all,
// and a timeout below a millisecond would round to it: each is brought to
// the nearest it keeps.
func busyMillis(d time.Duration) int64 {
	return min(max(d.Milliseconds(), 1), math.MaxInt32)
}

// Close closes the database. Operations after Close fail with an error
// wrapping lifecycle.ErrUnavailable; WaitAudit calls in progress return
// such an error too.
func (s *Store) Close() error {
	defer s.waits.WakeAll() // waiters look again, and find the store closed
	// No statement is prepared once Close returns: a preparation in flight
	// could open a connection, and so the file's -wal and -shm, after it.
	s.rstmts.close()
	s.wstmts.close()
	// Closing a pool closes the statements prepared on its connections.
	return errors.Join(s.r.Close(), s.w.Close())
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// migrate applies the embedded migrations not yet applied (their names
// number them from 1, in order) in one write transaction, and refuses a
// file of a newer version; PRAGMA user_version records the last one
// applied. When one of them is marked RefreshRows, every bot's rows are
// rewritten after the last script, by this version's code on this
// version's schema, in the same transaction: a crash leaves the file as it
// was. Several processes may open a new file at once: the write lock
// serialises them and each migration runs once.
func (s *Store) migrate(ctx context.Context) error {
	scripts, err := sqlrows.Migrations(migrations)
	if err != nil {
		return err
	}
	latest := len(scripts)
	err = s.inTx(ctx, func(tx conn) error {
		var have int
		if err := tx.tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil || have == latest {
			return err
		}
		if have > latest {
			return fmt.Errorf("sqlite: %s has schema version %d but this version of botlife knows %d; upgrade botlife: %w", s.path, have, latest, lifecycle.ErrUnavailable)
		}
		refresh := false
		for _, m := range scripts {
			if m.Version <= have {
				continue
			}
			if _, err := tx.tx.ExecContext(ctx, fmt.Sprintf("%s;\nPRAGMA user_version = %d", m.SQL, m.Version)); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			refresh = refresh || m.RefreshRows
		}
		if refresh {
			return refreshRows(ctx, tx)
		}
		return nil
	})
	return s.fail("migrating", err)
}

// setSync gives the writer the synchronous setting a write needs: under
// SyncCommits FULL for a durable one, NORMAL for a message to an open
// session. Caller holds wmu. wsync is empty after a change that failed.
func (s *Store) setSync(ctx context.Context, durable bool) error {
	want := SyncNormal
	if durable {
		want = SyncFull
	}
	if s.opts.Synchronous != SyncCommits || s.wsync == want {
		return nil
	}
	_, err := s.w.ExecContext(ctx, "PRAGMA synchronous = "+string(want))
	s.wsync = want
	if err != nil {
		// The setting is unknown: the driver reports a context that ended
		// during the call even when SQLite applied the change. The next
		// write sets its own.
		s.wsync = ""
	}
	return err
}

// inTx runs f in a durable write transaction (BEGIN IMMEDIATE: it takes
// the write lock first, waiting up to the busy timeout), committing if f
// returns nil.
func (s *Store) inTx(ctx context.Context, f func(tx conn) error) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.txLocked(ctx, f)
}

// txLocked is inTx for a caller that holds wmu.
func (s *Store) txLocked(ctx context.Context, f func(tx conn) error) error {
	if err := s.setSync(ctx, true); err != nil {
		return err
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(conn{c: s.wstmts, tx: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// readTx runs f in a read transaction of s, one consistent snapshot, and
// returns what f read.
func readTx[T any](ctx context.Context, s *Store, f func(tx conn) (T, error)) (T, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		var zero T
		return zero, err
	}
	defer tx.Rollback()
	return f(conn{c: s.rstmts, tx: tx})
}

// reader returns the read pool, outside a transaction: one statement, one
// snapshot.
func (s *Store) reader() conn { return conn{c: s.rstmts} }

// stmts keeps the prepared statements of one pool, so that SQLite parses
// and plans each query once per connection rather than on every call. A
// query met for the first time runs unprepared and is prepared in the
// background once a connection of the pool is free: preparing it at once,
// while the caller holds the writer's only connection, would wait for
// itself.
type stmts struct {
	db      *sql.DB
	mu      sync.Mutex
	m       map[string]*sql.Stmt // nil until prepared
	closed  bool                 // by close: prepare no more
	preping sync.WaitGroup       // preparations in flight
}

func (c *stmts) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, seen := c.m[query]
	if !seen && !c.closed {
		c.m[query] = nil
		c.preping.Add(1)
		go func() {
			defer c.preping.Done()
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

// close stops preparing statements and waits for the preparations in
// flight.
func (c *stmts) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.preping.Wait()
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
// prepared statement if there is one; ExecContext only in a transaction,
// where every write runs. They call *sql.DB and *sql.Tx directly, not
// through an interface, so that their arguments do not escape to the heap.
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
	return k.tx.ExecContext(ctx, query, args...)
}

func conflict(format string, args ...any) error {
	return &lifecycle.ConflictError{Reason: fmt.Sprintf(format, args...)}
}

// fail gives err a library sentinel. Errors of the library pass unchanged;
// a constraint the database enforces is a conflict; anything else from the
// database - locked beyond the busy timeout, disk full or failing, the file
// unreadable, a cancelled context - means the store did not answer:
// lifecycle.ErrUnavailable. The driver's error stays in the chain.
func (s *Store) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if sqlrows.Known(err) {
		return err
	}
	hint := ""
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3lib.SQLITE_CONSTRAINT:
			return fmt.Errorf("sqlite: %s: %w (%v)", op, &lifecycle.ConflictError{Reason: "the database refused the change"}, err)
		case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED:
			hint = fmt.Sprintf("%s stayed locked by another connection or process longer than the busy timeout (%v); retry later or raise Options.BusyTimeout: ", s.path, s.opts.BusyTimeout)
		case sqlite3lib.SQLITE_FULL:
			hint = "the disk holding " + s.path + " is full; free space and retry: "
		case sqlite3lib.SQLITE_READONLY, sqlite3lib.SQLITE_CANTOPEN, sqlite3lib.SQLITE_PERM:
			hint = "cannot write " + s.path + "; check that the file and its directory are writable: "
		case sqlite3lib.SQLITE_CORRUPT, sqlite3lib.SQLITE_NOTADB:
			hint = s.path + " is not a healthy SQLite database; restore it from a backup: "
		}
	}
	return fmt.Errorf("sqlite: %s: %s%w: %w", op, hint, lifecycle.ErrUnavailable, err)
}
