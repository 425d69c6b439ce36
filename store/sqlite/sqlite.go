package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/url"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/internal/binarydoc"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Synchronous is SQLite's synchronous setting: what a commit waits for
// before it returns.
type Synchronous string

// The durability settings.
const (
	// SyncFull (the default) makes every acknowledged commit durable: SQLite
	// syncs the write-ahead log to disk before a commit returns, so an
	// acknowledged change survives a crash of the process, of the operating
	// system and a power cut.
	SyncFull Synchronous = "FULL"
	// SyncCommits syncs what Commit writes - bots, roles, audit entries - as
	// SyncFull does, and writes the sessions (Route, CloseSession,
	// SweepSessions) as SyncNormal does. An acknowledged commit survives a
	// power cut; the session writes since the last commit survive a crash
	// of the process but may be lost, whole and in order, when the machine
	// fails (a session then reads as it was, and lifecycle.SessionEnd still
	// decides its end). Each synced commit also syncs every session write
	// before it.
	SyncCommits Synchronous = "COMMITS"
	// SyncNormal syncs only at checkpoints. An acknowledged commit survives
	// a crash of the process (SIGKILL, panic, OOM kill) but the last commits
	// may be lost, whole, when the operating system crashes or the power
	// fails. The database is never corrupted or half-applied either way.
	SyncNormal Synchronous = "NORMAL"
)

// Options tune a Store. The zero value is the default.
type Options struct {
	// Synchronous is the durability setting; empty means SyncFull.
	Synchronous Synchronous
	// BusyTimeout is how long an operation waits for another process that
	// holds the database's write lock before it fails with an error
	// wrapping lifecycle.ErrUnavailable; zero means 5 seconds.
	BusyTimeout time.Duration
	// Readers bounds the connections used for reads; zero means 4. Writes
	// use one connection of their own.
	Readers int
	// PollOtherProcesses, when positive, makes WaitAudit also check this
	// often for audit entries committed by other processes on the same
	// file. Commits through this Store wake waiters at once without it;
	// zero (the default) never polls.
	PollOtherProcesses time.Duration
	// ActivityFlush, when positive, turns on write-behind of session
	// activity: a message to an open session updates that session's
	// Messages and LastActivityAt in memory, and a background flusher
	// writes the changed sessions to the file in one transaction every
	// ActivityFlush (and Close writes the rest). Zero, the default, writes
	// every message through before Route returns. It must be between
	// MinActivityFlush and MaxActivityFlush.
	//
	// Within this process every answer is the one write-through gives.
	// What it gives up: a crash loses up to the last ActivityFlush of
	// message counts and last-activity times of open sessions - never a
	// session opened or closed, a bot, role, schedule or audit entry - and
	// another process on the file sees activity up to ActivityFlush old,
	// and its changes reach this process's cached sessions up to
	// ActivityFlush late. See the package documentation, "Write-behind of
	// session activity".
	ActivityFlush time.Duration
}

// The bounds of Options.ActivityFlush.
const (
	MinActivityFlush = time.Millisecond
	MaxActivityFlush = time.Minute
)

func (o Options) withDefaults() (Options, error) {
	switch o.Synchronous {
	case "":
		o.Synchronous = SyncFull
	case SyncFull, SyncCommits, SyncNormal:
	default:
		return o, &lifecycle.InputError{Field: "Options.Synchronous", Value: string(o.Synchronous), Problem: "is not a durability setting; use sqlite.SyncFull, sqlite.SyncCommits or sqlite.SyncNormal"}
	}
	if o.ActivityFlush != 0 && (o.ActivityFlush < MinActivityFlush || o.ActivityFlush > MaxActivityFlush) {
		return o, &lifecycle.InputError{Field: "Options.ActivityFlush", Value: o.ActivityFlush.String(),
			Problem: fmt.Sprintf("must be 0 (write every message through) or between %v and %v", MinActivityFlush, MaxActivityFlush)}
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

	route  *sql.Stmt // the fast path of Route
	wstmts *stmts    // prepared statements of w
	rstmts *stmts    // prepared statements of r

	// wmu is held by every use of w, so that under SyncCommits the
	// synchronous setting and the statements it is for go together;
	// wsync is the setting last given to w's connection.
	wmu   sync.Mutex
	wsync Synchronous

	// act is the write-behind of session activity; nil without
	// Options.ActivityFlush.
	act *activity

	mu   sync.Mutex
	wake chan struct{} // closed and replaced when this Store appends audit entries
}

var _ lifecycle.Store = (*Store)(nil)

// Open opens the SQLite database at path, creating the file if it does not
// exist, brings its schema to the latest version, and returns a Store with
// the default Options (SyncFull). Close it when done.
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
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opts.BusyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	dsnSync := SyncFull
	if opts.Synchronous == SyncNormal {
		dsnSync = SyncNormal
	}
	q.Add("_pragma", "synchronous("+string(dsnSync)+")")
	q.Add("_pragma", "foreign_keys(0)")
	// Statement journals (a statement with triggers may need to undo
	// itself) stay in memory: no temporary file written per statement.
	q.Add("_pragma", "temp_store(MEMORY)")
	base := (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String()

	s := &Store{path: abs, opts: opts, wake: make(chan struct{})}
	if s.w, err = sql.Open("sqlite", dsn(base, q, "_txlock", "immediate")); err != nil {
		return nil, s.fail("opening "+abs, err)
	}
	s.wstmts = newStmts(s.w)
	s.w.SetMaxOpenConns(1)
	s.w.SetMaxIdleConns(1)
	s.w.SetConnMaxLifetime(0)
	s.w.SetConnMaxIdleTime(0)
	if err := s.migrate(ctx); err != nil {
		s.w.Close()
		return nil, err
	}
	if s.r, err = sql.Open("sqlite", dsn(base, q, "_pragma", "query_only(1)")); err != nil {
		s.w.Close()
		return nil, s.fail("opening "+abs, err)
	}
	s.rstmts = newStmts(s.r)
	s.r.SetMaxOpenConns(opts.Readers)
	s.r.SetMaxIdleConns(opts.Readers)
	if s.route, err = s.w.PrepareContext(ctx, routeSQL); err != nil {
		s.Close()
		return nil, s.fail("preparing", err)
	}
	if opts.ActivityFlush > 0 {
		if err := s.startActivity(ctx); err != nil {
			s.Close()
			return nil, s.fail("opening "+abs, err)
		}
	}
	return s, nil
}

// dsn is the data source name of base with the parameters q and one more,
// key=value, added to them (q itself is not changed).
func dsn(base string, q url.Values, key, value string) string {
	p := url.Values{}
	for k, v := range q {
		p[k] = append([]string(nil), v...)
	}
	p.Add(key, value)
	return base + "?" + p.Encode()
}

// startActivity starts the write-behind of session activity
// (Options.ActivityFlush) and its flusher.
func (s *Store) startActivity(ctx context.Context) error {
	var dv int64
	if err := s.w.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&dv); err != nil {
		return err
	}
	s.act = newActivity(s.opts.ActivityFlush, dv)
	go s.flusher()
	return nil
}

// Close closes the database. Operations after Close fail with an error
// wrapping lifecycle.ErrUnavailable; WaitAudit calls in progress return
// such an error too.
func (s *Store) Close() error {
	defer s.notify() // waiters look again, and find the store closed
	var errs []error
	if s.act != nil {
		errs = append(errs, s.closeActivity())
	}
	for _, c := range []*stmts{s.wstmts, s.rstmts} {
		if c != nil {
			c.close()
		}
	}
	if s.route != nil {
		errs = append(errs, s.route.Close())
	}
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// Path returns the absolute path of the database file.
func (s *Store) Path() string { return s.path }

// migrate applies the embedded migrations not yet applied, each in its own
// write transaction; PRAGMA user_version records the last one applied. It
// is safe when several processes open a new file at once: the write lock
// serialises them and each migration runs once.
func (s *Store) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(name, "migrations/"), "_", 2)[0])
		if err != nil {
			return fmt.Errorf("sqlite: migration %s has no version number", name)
		}
		script, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		err = s.inTx(ctx, true, func(tx conn) error {
			var have int
			if err := tx.tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
				return err
			}
			if have >= version {
				return nil
			}
			if _, err := tx.tx.ExecContext(ctx, string(script)); err != nil {
				return err
			}
			if up := upgrades[version]; up != nil {
				if err := up(ctx, tx.tx); err != nil {
					return err
				}
			}
			_, err := tx.tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, version))
			return err
		})
		if err != nil {
			return s.fail("migration "+name, err)
		}
	}
	// Refuse a file written by a newer version of this package.
	var have int
	if err := s.w.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&have); err != nil {
		return s.fail("reading the schema version", err)
	}
	if last := len(names); have > last {
		return fmt.Errorf("sqlite: %s has schema version %d but this version of botlife knows %d; upgrade botlife: %w", s.path, have, last, lifecycle.ErrUnavailable)
	}
	return nil
}

// upgrades are the steps of a migration that SQL cannot take, run after
// its script in the same transaction: rewriting the bot documents.
var upgrades = map[int]func(ctx context.Context, tx *sql.Tx) error{
	2: liveFromState,
}

// liveFromState gives the live bots of a file written before R22 their
// per-sender states (Bot.Live), as they were then: the bot's state on each
// of its senders, in its current activation, with its grace deadline while
// Deactivated. Migration 002 wrote the same into bot_senders. It reads
// every live bot once, when the file is migrated.
func liveFromState(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT doc FROM bots WHERE state IN (2, 3)`)
	if err != nil {
		return err
	}
	var bots []lifecycle.Bot
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			rows.Close()
			return err
		}
		b, err := decodeBot(doc)
		if err != nil {
			rows.Close()
			return err
		}
		if b.Live == nil {
			bots = append(bots, b)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, b := range bots {
		for _, snd := range distinctSenders(b.Senders) {
			e := lifecycle.SenderState{Sender: snd, State: b.State, Activation: b.Activations}
			if b.State == lifecycle.Deactivated {
				e.GraceDeadline = b.GraceDeadline
			}
			b.Live = append(b.Live, e)
		}
		sort.Slice(b.Live, func(i, j int) bool { return senderLess(b.Live[i].Sender, b.Live[j].Sender) })
		doc, err := binarydoc.Encode(b)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE bots SET doc = ? WHERE id = ?`, doc, string(b.ID)); err != nil {
			return err
		}
	}
	return nil
}

// senderLess orders senders as Bot.Live is sorted: by channel, then
// address, comparing bytes.
func senderLess(a, b lifecycle.Sender) bool {
	if a.Channel != b.Channel {
		return a.Channel < b.Channel
	}
	return a.Address < b.Address
}

// distinctSenders returns ss without repeats, in order.
func distinctSenders(ss []lifecycle.Sender) []lifecycle.Sender {
	seen := make(map[lifecycle.Sender]bool, len(ss))
	var out []lifecycle.Sender
	for _, snd := range ss {
		if !seen[snd] {
			seen[snd] = true
			out = append(out, snd)
		}
	}
	return out
}

// write takes the writer for a write that must be synced (durable) or
// not, and returns the function that releases it. Only SyncCommits tells
// the two apart; a connection the pool replaced starts at FULL, so a
// forgotten setting errs on the safe side.
func (s *Store) write(ctx context.Context, durable bool) (release func(), err error) {
	s.wmu.Lock()
	if s.opts.Synchronous == SyncCommits {
		want := SyncNormal
		if durable {
			want = SyncFull
		}
		if s.wsync != want {
			if _, err := s.w.ExecContext(ctx, "PRAGMA synchronous = "+string(want)); err != nil {
				s.wmu.Unlock()
				return nil, err
			}
			s.wsync = want
		}
	}
	return s.wmu.Unlock, nil
}

// inTx runs f in a write transaction (BEGIN IMMEDIATE: it takes the write
// lock first, waiting up to the busy timeout), committing if f returns nil.
// durable says whether the commit must be synced under SyncCommits.
func (s *Store) inTx(ctx context.Context, durable bool, f func(tx conn) error) error {
	s.wstmts.warm(ctx)
	release, err := s.write(ctx, durable)
	if err != nil {
		return err
	}
	defer release()
	return s.txLocked(ctx, f)
}

// txLocked is inTx for a caller that holds the writer (s.write).
func (s *Store) txLocked(ctx context.Context, f func(tx conn) error) error {
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

// readTx runs f in a read transaction: one consistent snapshot.
func (s *Store) readTx(ctx context.Context, f func(tx conn) error) error {
	s.rstmts.warm(ctx)
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return f(conn{c: s.rstmts, tx: tx})
}

// reader returns the read pool, outside a transaction: one statement, one
// snapshot.
func (s *Store) reader(ctx context.Context) conn {
	s.rstmts.warm(ctx)
	return conn{c: s.rstmts}
}

// --- errors -------------------------------------------------------------------

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
	for _, sentinel := range []error{lifecycle.ErrConflict, lifecycle.ErrNotFound, lifecycle.ErrInvalidInput, lifecycle.ErrNoBot, lifecycle.ErrUnavailable} {
		if errors.Is(err, sentinel) {
			return err
		}
	}
	var se *sqlite3.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3lib.SQLITE_CONSTRAINT:
			return fmt.Errorf("sqlite: %s: %w (%v)", op, &lifecycle.ConflictError{Reason: "the database refused the change"}, err)
		case sqlite3lib.SQLITE_BUSY, sqlite3lib.SQLITE_LOCKED:
			return fmt.Errorf("sqlite: %s: %s stayed locked by another connection or process longer than the busy timeout (%v); retry later or raise Options.BusyTimeout: %w: %w",
				op, s.path, s.opts.BusyTimeout, lifecycle.ErrUnavailable, err)
		case sqlite3lib.SQLITE_FULL:
			return fmt.Errorf("sqlite: %s: the disk holding %s is full; free space and retry: %w: %w", op, s.path, lifecycle.ErrUnavailable, err)
		case sqlite3lib.SQLITE_READONLY, sqlite3lib.SQLITE_CANTOPEN, sqlite3lib.SQLITE_PERM:
			return fmt.Errorf("sqlite: %s: cannot write %s; check that the file and its directory are writable: %w: %w", op, s.path, lifecycle.ErrUnavailable, err)
		case sqlite3lib.SQLITE_CORRUPT, sqlite3lib.SQLITE_NOTADB:
			return fmt.Errorf("sqlite: %s: %s is not a healthy SQLite database; restore it from a backup: %w: %w", op, s.path, lifecycle.ErrUnavailable, err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w: %w", op, lifecycle.ErrUnavailable, err)
}

// --- encoding -------------------------------------------------------------------

var (
	minNanos = time.Unix(0, math.MinInt64)
	maxNanos = time.Unix(0, math.MaxInt64)
)

// nanos returns t as Unix nanoseconds for a column, nil for the zero time.
func nanos(what string, t time.Time) (any, error) {
	if t.IsZero() {
		return nil, nil
	}
	if t.Before(minNanos) || t.After(maxNanos) {
		return nil, &lifecycle.InputError{Field: what, Value: t.String(), Problem: "is outside the range the SQLite store keeps (the years 1678 to 2262)"}
	}
	return t.UnixNano(), nil
}

// fromNanos reads a time column: NULL is the zero time.
func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func decodeBot(doc []byte) (lifecycle.Bot, error) {
	var b lifecycle.Bot
	if err := binarydoc.Decode(doc, &b); err != nil {
		return lifecycle.Bot{}, fmt.Errorf("%w: %w", err, lifecycle.ErrUnavailable)
	}
	return b, nil
}

// --- bots ---------------------------------------------------------------------

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func botNotFound(id lifecycle.BotID) error {
	return &lifecycle.NotFoundError{Kind: "bot", ID: string(id)}
}

func getBot(ctx context.Context, q querier, id lifecycle.BotID) (lifecycle.Bot, error) {
	var doc []byte
	err := q.QueryRowContext(ctx, `SELECT doc FROM bots WHERE id = ?`, string(id)).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return lifecycle.Bot{}, botNotFound(id)
	}
	if err != nil {
		return lifecycle.Bot{}, err
	}
	return decodeBot(doc)
}

// Bot implements lifecycle.BotStore.
func (s *Store) Bot(ctx context.Context, id lifecycle.BotID) (lifecycle.Bot, error) {
	var b lifecycle.Bot
	err := s.readTx(ctx, func(tx conn) error {
		var err error
		if b, err = getBot(ctx, tx, id); err != nil {
			return err
		}
		b.OpenActivations, err = openActivations(ctx, tx, b.ID)
		return err
	})
	return b, s.fail("reading a bot", err)
}

// sqlNextOpenGroup is one step of a walk of the index open_sessions_by_group:
// the first group of open sessions of a bot - sender and activation - after
// the one given.
const sqlNextOpenGroup = `SELECT channel, address, activation FROM sessions
	WHERE bot_id = ? AND closed_at IS NULL AND (channel, address, activation) > (?, ?, ?)
	ORDER BY channel, address, activation LIMIT 1`

// openActivations returns the activations of bot id that have a session
// recorded open (Bot.OpenActivations, R9), sorted. It walks the index of
// open sessions group by group - one lookup per sender and activation with
// a session open - so its cost follows those groups, not the sessions.
// The caller has read the bot before, in the same snapshot or earlier.
func openActivations(ctx context.Context, q querier, id lifecycle.BotID) ([]uint64, error) {
	var out []uint64
	ch, addr, k := "", "", int64(-1)
	for {
		err := q.QueryRowContext(ctx, sqlNextOpenGroup, string(id), ch, addr, k).Scan(&ch, &addr, &k)
		if errors.Is(err, sql.ErrNoRows) {
			break
		}
		if err != nil {
			return nil, err
		}
		if i, found := slices.BinarySearch(out, uint64(k)); !found {
			out = slices.Insert(out, i, uint64(k))
		}
	}
	return out, nil
}

func queryBots(ctx context.Context, q querier, query string, args ...any) ([]lifecycle.Bot, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	out := []lifecycle.Bot{}
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			rows.Close()
			return nil, err
		}
		b, err := decodeBot(doc)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, b)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range out {
		if out[i].OpenActivations, err = openActivations(ctx, q, out[i].ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LiveBots implements lifecycle.BotStore: two index lookups per sender, on
// the rows that carry each bot's state on that sender (R22), so a bot that
// left a sender is not found through it.
func (s *Store) LiveBots(ctx context.Context, senders []lifecycle.Sender) ([]lifecycle.Bot, error) {
	var out []lifecycle.Bot
	err := s.readTx(ctx, func(tx conn) error {
		seen := map[string]bool{}
		for _, snd := range senders {
			rows, err := tx.QueryContext(ctx, `SELECT bot_id FROM bot_senders WHERE channel = ? AND address = ? AND state IN (2, 3)`, snd.Channel, snd.Address)
			if err != nil {
				return err
			}
			var ids []string
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return err
				}
				if !seen[id] {
					seen[id] = true
					ids = append(ids, id)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			for _, id := range ids {
				b, err := getBot(ctx, tx, lifecycle.BotID(id))
				if err != nil {
					return err
				}
				if b.OpenActivations, err = openActivations(ctx, tx, b.ID); err != nil {
					return err
				}
				out = append(out, b)
			}
		}
		return nil
	})
	if err != nil {
		return nil, s.fail("reading live bots", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// LastActive implements lifecycle.BotStore: one index lookup per sender.
func (s *Store) LastActive(ctx context.Context, senders []lifecycle.Sender, except lifecycle.BotID) (lifecycle.Bot, error) {
	var out lifecycle.Bot
	err := s.readTx(ctx, func(tx conn) error {
		var bestID string
		var bestAt int64
		found := false
		for _, snd := range senders {
			var id string
			var at int64
			err := tx.QueryRowContext(ctx, `SELECT bot_id, left_at FROM bot_senders
				WHERE channel = ? AND address = ? AND left_at IS NOT NULL AND bot_id <> ?
				ORDER BY left_at DESC, bot_id LIMIT 1`, snd.Channel, snd.Address, string(except)).Scan(&id, &at)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return err
			}
			if !found || at > bestAt || (at == bestAt && id < bestID) {
				found, bestID, bestAt = true, id, at
			}
		}
		if !found {
			return &lifecycle.NotFoundError{Kind: "bot", ID: "that was Active before on these senders"}
		}
		var err error
		if out, err = getBot(ctx, tx, lifecycle.BotID(bestID)); err != nil {
			return err
		}
		out.OpenActivations, err = openActivations(ctx, tx, out.ID)
		return err
	})
	return out, s.fail("reading the last active bot", err)
}

// Bots implements lifecycle.BotStore.
func (s *Store) Bots(ctx context.Context, after lifecycle.BotID, limit int) ([]lifecycle.Bot, error) {
	out, err := queryBots(ctx, s.reader(ctx), `SELECT doc FROM bots WHERE id > ? ORDER BY id LIMIT ?`, string(after), sqlLimit(limit))
	return out, s.fail("listing bots", err)
}

// sqlLimit turns a negative limit (none) into SQLite's -1.
func sqlLimit(limit int) int64 {
	if limit < 0 {
		return -1
	}
	return int64(limit)
}

// DueDrains implements lifecycle.BotStore: a walk of the index on the bots
// with a drain, Active ones included (R22), by their earliest deadline.
func (s *Store) DueDrains(ctx context.Context, now time.Time, limit int) ([]lifecycle.Bot, error) {
	n, err := nanos("now", now)
	if err != nil {
		return nil, err
	}
	out, err := queryBots(ctx, s.reader(ctx), `SELECT doc FROM bots WHERE grace_deadline IS NOT NULL AND grace_deadline <= ? ORDER BY grace_deadline, id LIMIT ?`, n, sqlLimit(limit))
	return out, s.fail("reading due drains", err)
}

// --- roles ----------------------------------------------------------------------

// UserRoles implements lifecycle.RoleStore.
func (s *Store) UserRoles(ctx context.Context, user string) (roles.Set, error) {
	var rs int64
	err := s.reader(ctx).QueryRowContext(ctx, `SELECT roles FROM role_assignments WHERE user_id = ?`, user).Scan(&rs)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return roles.Set(rs), s.fail("reading roles", err)
}

// RoleAssignments implements lifecycle.RoleStore.
func (s *Store) RoleAssignments(ctx context.Context) ([]lifecycle.RoleAssignment, error) {
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT user_id, roles FROM role_assignments ORDER BY user_id`)
	if err != nil {
		return nil, s.fail("reading roles", err)
	}
	defer rows.Close()
	out := []lifecycle.RoleAssignment{}
	for rows.Next() {
		var a lifecycle.RoleAssignment
		var rs int64
		if err := rows.Scan(&a.User, &rs); err != nil {
			return nil, s.fail("reading roles", err)
		}
		a.Roles = roles.Set(rs)
		out = append(out, a)
	}
	return out, s.fail("reading roles", rows.Err())
}

// --- audit ----------------------------------------------------------------------

// AuditLog implements lifecycle.AuditStore.
func (s *Store) AuditLog(ctx context.Context, after uint64, limit int) ([]lifecycle.AuditEntry, error) {
	if after > math.MaxInt64 {
		return nil, nil
	}
	rows, err := s.reader(ctx).QueryContext(ctx, `SELECT entry FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, int64(after), sqlLimit(limit))
	if err != nil {
		return nil, s.fail("reading the audit log", err)
	}
	defer rows.Close()
	var out []lifecycle.AuditEntry
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, s.fail("reading the audit log", err)
		}
		var e lifecycle.AuditEntry
		if err := binarydoc.Decode(doc, &e); err != nil {
			return nil, s.fail("reading the audit log", err)
		}
		out = append(out, e)
	}
	return out, s.fail("reading the audit log", rows.Err())
}

// WaitAudit implements lifecycle.AuditStore. Commits through this Store
// wake waiters at once through a channel; nothing polls, unless
// Options.PollOtherProcesses asks to notice other processes' commits too.
func (s *Store) WaitAudit(ctx context.Context, after uint64) error {
	var tick <-chan time.Time
	if s.opts.PollOtherProcesses > 0 {
		t := time.NewTicker(s.opts.PollOtherProcesses)
		defer t.Stop()
		tick = t.C
	}
	for {
		s.mu.Lock()
		wake := s.wake
		s.mu.Unlock()
		var last int64
		if err := s.reader(ctx).QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM audit_log`).Scan(&last); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return s.fail("reading the audit log", err)
		}
		if uint64(last) > after {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-tick:
		}
	}
}

func (s *Store) notify() {
	s.mu.Lock()
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// --- commit ---------------------------------------------------------------------

// row is what Commit writes for one change, encoded before the transaction.
type row struct {
	c                   lifecycle.Change
	doc                 []byte
	grace, ended, left  any
	senders             []senderRow
	idle                int64
	state, rev, activns int64
}

// senderRow is a bot's row in bot_senders: its state on the sender (R22),
// and while it is live there the activation it joined in and, while it
// drains there, the sender's grace deadline.
type senderRow struct {
	sender            lifecycle.Sender
	state, activation int64
	grace             any
}

// senderRows returns the bot_senders rows of b, one per distinct sender.
func senderRows(b *lifecycle.Bot) ([]senderRow, error) {
	senders := distinctSenders(b.Senders)
	out := make([]senderRow, 0, len(senders))
	for _, snd := range senders {
		r := senderRow{sender: snd, state: int64(lifecycle.Inactive)}
		if on, ok := b.On(snd); ok {
			grace, err := nanos("grace deadline on "+snd.String(), on.GraceDeadline)
			if err != nil {
				return nil, err
			}
			r.state, r.activation, r.grace = int64(on.State), int64(on.Activation), grace
		}
		out = append(out, r)
	}
	return out, nil
}

func prepare(c lifecycle.Change) (row, error) {
	r := row{c: c}
	if c.After == nil {
		return r, nil
	}
	b := c.After
	var err error
	if r.doc, err = binarydoc.Encode(b); err != nil {
		return r, err
	}
	if r.grace, err = nanos("grace deadline", b.GraceDeadline); err != nil {
		return r, err
	}
	if r.ended, err = nanos("end time", b.EndedAt); err != nil {
		return r, err
	}
	if b.State != lifecycle.Active && !b.DeactivatedAt.IsZero() {
		if r.left, err = nanos("deactivation time", b.DeactivatedAt); err != nil {
			return r, err
		}
	}
	if r.senders, err = senderRows(b); err != nil {
		return r, err
	}
	r.idle, r.state, r.rev, r.activns = int64(b.IdleTimeout), int64(b.State), int64(b.Revision), int64(b.Activations)
	return r, nil
}

// Commit implements lifecycle.Store. The plan is applied in one write
// transaction (R15). Expected revisions of bots and schedules and expected
// roles are checked in it; R1 and R2 are enforced per sender by the unique
// indexes on bot_senders, whatever the plan says; the last Admin is counted
// before and after.
func (s *Store) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	rows := make([]row, len(p.Changes))
	for i, c := range p.Changes {
		var err error
		if rows[i], err = prepare(c); err != nil {
			return nil, err
		}
	}
	scheds, err := prepareSchedules(p.Schedules)
	if err != nil {
		return nil, err
	}
	var out []lifecycle.AuditEntry
	err = s.inTx(ctx, true, func(tx conn) error {
		if s.act != nil {
			// Routes in memory stop using the copies of these bots now;
			// the next reads them from the file once this commit is done.
			s.act.forgetBots(p.Changes)
		}
		// Every change first leaves its senders, then every bot takes its
		// senders as the plan leaves it: a unique index fails only if the
		// end state breaks R1 or R2.
		for _, r := range rows {
			if err := applyBot(ctx, tx, r); err != nil {
				return err
			}
		}
		for _, r := range rows {
			if err := addSenders(ctx, tx, r); err != nil {
				return err
			}
		}
		for _, r := range scheds {
			if err := applySchedule(ctx, tx, r); err != nil {
				return err
			}
		}
		if err := applyRoles(ctx, tx, p.Roles); err != nil {
			return err
		}
		var err error
		out, err = appendAudit(ctx, tx, p.Audit)
		return err
	})
	if err != nil {
		return nil, s.fail("committing "+string(p.Op), err)
	}
	if len(out) > 0 {
		s.notify()
	}
	return out, nil
}

// appendAudit appends entries to the audit log with the next sequence
// numbers (max + 1: commits are serialised, so they are gap-free) and
// returns them as stored.
func appendAudit(ctx context.Context, tx conn, entries []lifecycle.AuditEntry) ([]lifecycle.AuditEntry, error) {
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM audit_log`).Scan(&seq); err != nil {
		return nil, err
	}
	out := make([]lifecycle.AuditEntry, len(entries))
	for i, e := range entries {
		seq++
		e.Seq = uint64(seq)
		doc, err := binarydoc.Encode(e)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, entry) VALUES (?, ?)`, seq, doc); err != nil {
			return nil, err
		}
		e.Transitions = append([]lifecycle.Transition(nil), e.Transitions...)
		e.Acknowledged = append([]string(nil), e.Acknowledged...)
		e.Senders = slices.Clone(e.Senders)
		out[i] = e
	}
	return out, nil
}

func applyBot(ctx context.Context, tx conn, r row) error {
	c := r.c
	var rev int64
	err := tx.QueryRowContext(ctx, `SELECT revision FROM bots WHERE id = ?`, string(c.Bot)).Scan(&rev)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	switch {
	case c.Revision == 0 && exists:
		return conflict("bot %s already exists", c.Bot)
	case c.Revision != 0 && !exists:
		return conflict("bot %s no longer exists", c.Bot)
	case exists && uint64(rev) != c.Revision:
		return conflict("bot %s changed (revision %d, the plan read %d)", c.Bot, rev, c.Revision)
	}
	if exists {
		if _, err := tx.ExecContext(ctx, `DELETE FROM bot_senders WHERE bot_id = ?`, string(c.Bot)); err != nil {
			return err
		}
	}
	switch {
	case c.After == nil:
		_, err = tx.ExecContext(ctx, `DELETE FROM bots WHERE id = ?`, string(c.Bot))
	case exists:
		_, err = tx.ExecContext(ctx, `UPDATE bots SET state = ?, revision = ?, activations = ?, idle_timeout = ?, grace_deadline = ?, ended_at = ?, end_reason = ?, doc = ? WHERE id = ?`,
			r.state, r.rev, r.activns, r.idle, r.grace, r.ended, string(c.After.EndReason), r.doc, string(c.Bot))
	default:
		_, err = tx.ExecContext(ctx, `INSERT INTO bots (id, state, revision, activations, idle_timeout, grace_deadline, ended_at, end_reason, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			string(c.Bot), r.state, r.rev, r.activns, r.idle, r.grace, r.ended, string(c.After.EndReason), r.doc)
	}
	return err
}

func addSenders(ctx context.Context, tx conn, r row) error {
	for _, sr := range r.senders {
		snd := sr.sender
		_, err := tx.ExecContext(ctx, `INSERT INTO bot_senders (bot_id, channel, address, state, activation, grace_deadline, left_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			string(r.c.Bot), snd.Channel, snd.Address, sr.state, sr.activation, sr.grace, r.left)
		var se *sqlite3.Error
		if errors.As(err, &se) && se.Code()&0xff == sqlite3lib.SQLITE_CONSTRAINT {
			return conflict("the plan would leave two %v bots on %s", lifecycle.State(sr.state), snd)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

var adminBit = int64(roles.MustSet(roles.Admin))

func applyRoles(ctx context.Context, tx conn, changes []lifecycle.RoleChange) error {
	if len(changes) == 0 {
		return nil
	}
	countAdmins := func() (n int, err error) {
		err = tx.QueryRowContext(ctx, `SELECT count(*) FROM role_assignments WHERE roles & ? <> 0`, adminBit).Scan(&n)
		return n, err
	}
	before, err := countAdmins()
	if err != nil {
		return err
	}
	for _, rc := range changes {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT roles FROM role_assignments WHERE user_id = ?`, rc.User).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if roles.Set(cur) != rc.From {
			return conflict("the roles of %q changed (now %v, the plan read %v)", rc.User, roles.Set(cur), rc.From)
		}
		if rc.To.Empty() {
			_, err = tx.ExecContext(ctx, `DELETE FROM role_assignments WHERE user_id = ?`, rc.User)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO role_assignments (user_id, roles) VALUES (?, ?)
				ON CONFLICT (user_id) DO UPDATE SET roles = excluded.roles`, rc.User, int64(rc.To))
		}
		if err != nil {
			return err
		}
	}
	after, err := countAdmins()
	if err != nil {
		return err
	}
	if before > 0 && after == 0 {
		return conflict("the plan would remove the last Admin")
	}
	return nil
}
