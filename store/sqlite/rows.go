package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/internal/binarydoc"
	"github.com/botlife/botlife/store/internal/sqlrows"
	sqlite3 "modernc.org/sqlite"
	sqlite3lib "modernc.org/sqlite/lib"
)

const sqlBot = `SELECT doc FROM bots WHERE workspace = ? AND id = ?`

// getBot reads the bot query selects (sqlBot: by workspace and id), as stored; nil if
// there is none: what the session decisions take.
func getBot(ctx context.Context, q conn, query string, args ...any) (*lifecycle.Bot, error) {
	b, err := scanBot(q.QueryRowContext(ctx, query, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return b, err
}

// readBot is getBot by id with the bot's Bot.OpenActivations, as the
// Store's bot reads return it; an error wrapping ErrNotFound if there is
// none.
func readBot(ctx context.Context, q conn, ws lifecycle.Workspace, id lifecycle.BotID) (lifecycle.Bot, error) {
	b, err := getBot(ctx, q, sqlBot, string(ws), string(id))
	if err == nil && b == nil {
		err = &lifecycle.NotFoundError{Kind: "bot", ID: string(id)}
	}
	if err != nil {
		return lifecycle.Bot{}, err
	}
	b.OpenActivations, err = openActivations(ctx, q, ws, id)
	return *b, err
}

// Bot implements lifecycle.Store: the bot and its open activations, in
// one read transaction.
func (s *Store) Bot(ctx context.Context, ws lifecycle.Workspace, id lifecycle.BotID) (lifecycle.Bot, error) {
	b, err := readTx(ctx, s, func(tx conn) (lifecycle.Bot, error) { return readBot(ctx, tx, ws, id) })
	return b, s.fail("reading a bot", err)
}

// openActivations returns the activations of bot id that have a session
// recorded open (Bot.OpenActivations, R9), sorted: one seek per group of
// open sessions (nextGroup), not per session.
func openActivations(ctx context.Context, q conn, ws lifecycle.Workspace, id lifecycle.BotID) ([]uint64, error) {
	var out []uint64
	for k := (groupKey{ws: string(ws), bot: string(id), activation: -1}); ; {
		ok, err := nextGroup(ctx, q, &k)
		if err != nil || !ok {
			return out, err
		}
		if i, found := slices.BinarySearch(out, uint64(k.activation)); !found {
			out = slices.Insert(out, i, uint64(k.activation))
		}
	}
}

// collect returns a function that reads every row of a query with scan
// and closes them - collect(scan)(q.QueryContext(...)) - giving an empty,
// not nil, slice when there is none.
func collect[T any](scan func(sqlrows.Scanner) (T, error)) func(*sql.Rows, error) ([]T, error) {
	return func(rows *sql.Rows, err error) ([]T, error) {
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := []T{}
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
}

// scanDoc is a scan of one document column.
func scanDoc[T any](r sqlrows.Scanner) (T, error) {
	var doc []byte
	if err := r.Scan(&doc); err != nil {
		var zero T
		return zero, err
	}
	return sqlrows.Decode[T](doc)
}

// scanBot is a scan of one bot document column (sqlrows.Bot).
func scanBot(r sqlrows.Scanner) (*lifecycle.Bot, error) {
	var doc []byte
	if err := r.Scan(&doc); err != nil {
		return nil, err
	}
	return sqlrows.Bot(doc)
}

func scanID(r sqlrows.Scanner) (id string, err error) { return id, r.Scan(&id) }

// queryBots reads the bot documents of workspace ws query selects, in its
// order, and their open activations; ws is the query's first argument.
func queryBots(ctx context.Context, q conn, query string, ws lifecycle.Workspace, args ...any) ([]lifecycle.Bot, error) {
	bots, err := collect(scanBot)(q.QueryContext(ctx, query, append([]any{string(ws)}, args...)...))
	if err != nil {
		return nil, err
	}
	out := make([]lifecycle.Bot, len(bots))
	for i, b := range bots {
		out[i] = *b
		if out[i].OpenActivations, err = openActivations(ctx, q, ws, b.ID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Bots implements lifecycle.Store.
func (s *Store) Bots(ctx context.Context, ws lifecycle.Workspace, after lifecycle.BotID, limit int) ([]lifecycle.Bot, error) {
	out, err := readTx(ctx, s, func(tx conn) ([]lifecycle.Bot, error) {
		return queryBots(ctx, tx, `SELECT doc FROM bots WHERE workspace = ? AND id > ? ORDER BY id LIMIT ?`, ws, string(after), max(limit, 0))
	})
	return out, s.fail("listing bots", err)
}

// SenderBots implements lifecycle.Store with index lookups per sender: the
// rows holding a slot there and, with except, the row of another bot with
// the latest left_active (ties: the smaller id).
func (s *Store) SenderBots(ctx context.Context, ws lifecycle.Workspace, senders []lifecycle.Sender, except lifecycle.BotID) (live []lifecycle.Bot, last *lifecycle.Bot, err error) {
	live, err = readTx(ctx, s, func(tx conn) ([]lifecycle.Bot, error) {
		var ids []string
		var lastID string
		var lastAt int64
		for _, snd := range senders {
			// Through the index on the slots: without statistics SQLite
			// would rather walk the primary key, every row of the
			// workspace (TestQueryPlansUseIndexes).
			on, err := collect(scanID)(tx.QueryContext(ctx, `SELECT bot_id FROM bot_senders INDEXED BY bot_senders_by_slot
				WHERE workspace = ? AND channel = ? AND address = ? AND slot IS NOT NULL`, string(ws), snd.Channel, snd.Address))
			ids = append(ids, on...)
			if err != nil {
				return nil, err
			}
			if except == "" {
				continue
			}
			var id string
			var at int64
			err = tx.QueryRowContext(ctx, `SELECT bot_id, left_active FROM bot_senders
				WHERE workspace = ? AND channel = ? AND address = ? AND left_active IS NOT NULL AND bot_id <> ?
				ORDER BY left_active DESC, bot_id LIMIT 1`, string(ws), snd.Channel, snd.Address, string(except)).Scan(&id, &at)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, err
			}
			if err == nil && (lastID == "" || at > lastAt || at == lastAt && id < lastID) {
				lastID, lastAt = id, at
			}
		}
		slices.Sort(ids)
		live := make([]lifecycle.Bot, 0, len(ids))
		for _, id := range slices.Compact(ids) {
			b, err := readBot(ctx, tx, ws, lifecycle.BotID(id))
			if err != nil {
				return nil, err
			}
			live = append(live, b)
		}
		if lastID == "" {
			return live, nil
		}
		b, err := readBot(ctx, tx, ws, lifecycle.BotID(lastID))
		last = &b
		return live, err
	})
	if err != nil {
		return nil, nil, s.fail("reading the bots of senders", err)
	}
	return live, last, nil
}

// Due implements lifecycle.Store: walks of the index on bots.due and of the
// index on the pending schedules by (at, seq), each stopping at the first
// row not due or at limit.
func (s *Store) Due(ctx context.Context, ws lifecycle.Workspace, now time.Time, limit int) (lifecycle.Due, error) {
	n := sqlrows.Clamp(now)
	out, err := readTx(ctx, s, func(tx conn) (out lifecycle.Due, err error) {
		out.Drains, err = queryBots(ctx, tx, `SELECT doc FROM bots WHERE workspace = ? AND due IS NOT NULL AND due <= ? ORDER BY due, id LIMIT ?`, ws, n, max(limit, 0))
		if err == nil {
			out.Schedules, err = collect(scanDoc[lifecycle.Schedule])(tx.QueryContext(ctx, `SELECT doc FROM schedules WHERE workspace = ? AND status = 'pending' AND at <= ? ORDER BY at, seq LIMIT ?`, string(ws), n, max(limit, 0)))
		}
		return out, err
	})
	return out, s.fail("reading what is due", err)
}

// Schedule implements lifecycle.Store.
func (s *Store) Schedule(ctx context.Context, ws lifecycle.Workspace, id lifecycle.ScheduleID) (lifecycle.Schedule, error) {
	sc, err := scanDoc[lifecycle.Schedule](s.reader().QueryRowContext(ctx, `SELECT doc FROM schedules WHERE workspace = ? AND id = ?`, string(ws), string(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return lifecycle.Schedule{}, &lifecycle.NotFoundError{Kind: "schedule", ID: string(id)}
	}
	return sc, s.fail("reading a schedule", err)
}

// Schedules implements lifecycle.Store: a walk of the index on seq.
func (s *Store) Schedules(ctx context.Context, ws lifecycle.Workspace, after uint64, limit int) ([]lifecycle.Schedule, error) {
	if after > math.MaxInt64 {
		return []lifecycle.Schedule{}, nil
	}
	out, err := collect(scanDoc[lifecycle.Schedule])(s.reader().QueryContext(ctx, `SELECT doc FROM schedules WHERE workspace = ? AND seq > ? ORDER BY seq LIMIT ?`, string(ws), int64(after), max(limit, 0)))
	return out, s.fail("listing schedules", err)
}

// adminWhere selects the users holding Admin; migration 003 indexes them
// with the same clause (TestAdminBit).
const adminWhere = `roles & 32 <> 0`

// sqlAdmins counts the Admins of workspace ?1 through their index:
// without statistics SQLite would rather walk the primary key, every user
// of the workspace (TestQueryPlansUseIndexes).
const sqlAdmins = `SELECT count(*) FROM role_assignments INDEXED BY role_admins WHERE workspace = ?1 AND ` + adminWhere

// Roles implements lifecycle.Store in one statement: the user's row, and
// the index on the Admins.
func (s *Store) Roles(ctx context.Context, ws lifecycle.Workspace, user string) (roles.Set, int, error) {
	var rs int64
	var admins int
	err := s.reader().QueryRowContext(ctx, `SELECT coalesce((SELECT roles FROM role_assignments WHERE workspace = ?1 AND user_id = ?2), 0),
		(`+sqlAdmins+`)`, string(ws), user).Scan(&rs, &admins)
	return roles.Set(rs), admins, s.fail("reading roles", err)
}

// Claimed implements lifecycle.Store: sender_claims, one row per sender
// in the order given.
func (s *Store) Claimed(ctx context.Context, ws lifecycle.Workspace, senders []lifecycle.Sender) ([]lifecycle.Sender, error) {
	out, err := readTx(ctx, s, func(tx conn) (out []lifecycle.Sender, err error) {
		for _, sn := range senders {
			var n int
			err = tx.QueryRowContext(ctx, `SELECT count(*) FROM sender_claims WHERE channel = ? AND address = ? AND workspace <> ?`,
				sn.Channel, sn.Address, string(ws)).Scan(&n)
			if err != nil {
				return nil, err
			}
			if n > 0 {
				out = append(out, sn)
			}
		}
		return out, nil
	})
	return out, s.fail("reading sender claims", err)
}

// AuditLog implements lifecycle.Store.
func (s *Store) AuditLog(ctx context.Context, ws lifecycle.Workspace, after uint64, limit int) ([]lifecycle.AuditEntry, error) {
	if after > math.MaxInt64 {
		return nil, nil
	}
	out, err := collect(scanDoc[lifecycle.AuditEntry])(s.reader().QueryContext(ctx, `SELECT entry FROM audit_log WHERE workspace = ? AND seq > ? ORDER BY seq LIMIT ?`, string(ws), int64(after), max(limit, 0)))
	if len(out) == 0 {
		out = nil
	}
	return out, s.fail("reading the audit log", err)
}

// WaitAudit implements lifecycle.AuditWaiter. Commits through this Store
// wake the waiters of their workspace at once; nothing polls, unless
// Options.PollOtherProcesses asks to notice other processes' commits too.
func (s *Store) WaitAudit(ctx context.Context, ws lifecycle.Workspace, after uint64) error {
	return s.waits.Wait(ctx, ws, after, s.opts.PollOtherProcesses, func() (uint64, error) {
		var last int64
		err := s.reader().QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM audit_log WHERE workspace = ?`, string(ws)).Scan(&last)
		return uint64(last), s.fail("reading the audit log", err)
	})
}

// Commit implements lifecycle.Store. The plan is applied in one write
// transaction (R15): the expected revisions of bots and schedules and the
// expected roles are compared in it, the unique indexes on the slots of
// bot_senders refuse two bots in one slot of a sender (R1, R2) whatever
// the plan says, and the Admins are counted before and after (P2).
func (s *Store) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	var out []lifecycle.AuditEntry
	ws := string(p.Workspace)
	err := s.inTx(ctx, func(tx conn) (err error) {
		// Every change first leaves its senders, then every bot takes its
		// rows: a unique index fails only if the end state puts two bots
		// in one slot, and a claim (R27) is refused only if another
		// workspace names the sender once this one's bots have let go.
		for _, c := range p.Changes {
			if err := applyBot(ctx, tx, ws, c); err != nil {
				return err
			}
		}
		for _, c := range p.Changes {
			if err := addSenders(ctx, tx, ws, c); err != nil {
				return err
			}
		}
		for _, c := range p.Schedules {
			if err := applySchedule(ctx, tx, ws, c); err != nil {
				return err
			}
		}
		if err := applyRoles(ctx, tx, ws, p.Roles); err != nil {
			return err
		}
		out, err = appendAudit(ctx, tx, ws, p.Audit)
		return err
	})
	if err != nil {
		return nil, s.fail("committing "+string(p.Op), err)
	}
	if len(out) > 0 {
		s.waits.Wake(p.Workspace, out[len(out)-1].Seq)
	}
	return out, nil
}

// appendAudit appends entries to the audit log of workspace ws with its
// next sequence numbers (max + 1: commits are serialised, so they are
// gap-free) and returns them as stored.
func appendAudit(ctx context.Context, tx conn, ws string, entries []lifecycle.AuditEntry) ([]lifecycle.AuditEntry, error) {
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) FROM audit_log WHERE workspace = ?`, ws).Scan(&seq); err != nil {
		return nil, err
	}
	out := sqlrows.Numbered(entries, uint64(seq)+1)
	for _, e := range out {
		doc, err := binarydoc.Encode(e)
		if err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (workspace, seq, entry) VALUES (?, ?, ?)`, ws, int64(e.Seq), doc); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// checkRevision compares the revision a plan read (0: none) with the one
// a row has, given with the error of reading it; exists says there is a
// row.
func checkRevision(kind, id string, want uint64, have int64, err error) (exists bool, _ error) {
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	exists = err == nil
	switch {
	case want == 0 && exists:
		return exists, conflict("%s %s already exists", kind, id)
	case want != 0 && !exists:
		return exists, conflict("%s %s no longer exists", kind, id)
	case exists && uint64(have) != want:
		return exists, conflict("%s %s changed (revision %d, the plan read %d)", kind, id, have, want)
	}
	return exists, nil
}

// applyBot compares the change's Revision with the stored one, removes the
// bot's rows, and stores its document and Change.Due (or deletes it).
func applyBot(ctx context.Context, tx conn, ws string, c lifecycle.Change) error {
	var rev int64
	err := tx.QueryRowContext(ctx, `SELECT revision FROM bots WHERE workspace = ? AND id = ?`, ws, string(c.Bot)).Scan(&rev)
	exists, err := checkRevision("bot", string(c.Bot), c.Revision, rev, err)
	if err != nil {
		return err
	}
	if exists {
		if _, err := tx.ExecContext(ctx, `DELETE FROM bot_senders WHERE workspace = ? AND bot_id = ?`, ws, string(c.Bot)); err != nil {
			return err
		}
	}
	// The bot's rows may end its sessions sooner: writing the bot (its
	// row updated or deleted) makes its groups due, by the triggers of
	// migration 007, and the next sweep looks.
	if c.After == nil {
		_, err = tx.ExecContext(ctx, `DELETE FROM bots WHERE workspace = ? AND id = ?`, ws, string(c.Bot))
		return err
	}
	doc, err := binarydoc.Encode(c.After)
	if err != nil {
		return err
	}
	due, err := sqlrows.Nanos("grace deadline", c.Due())
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO bots (workspace, id, revision, idle_timeout, due, doc) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace, id) DO UPDATE SET revision = excluded.revision, idle_timeout = excluded.idle_timeout, due = excluded.due, doc = excluded.doc`,
		ws, string(c.Bot), int64(c.After.Revision), int64(c.After.IdleTimeout), due, doc)
	return err
}

// addSenders stores the bot's rows (Change.Rows); the unique indexes on
// the slots refuse a second bot in a slot of a sender (R1, R2), and the
// trigger sender_claimed a real sender another workspace claims (R27).
func addSenders(ctx context.Context, tx conn, ws string, c lifecycle.Change) error {
	for _, row := range c.Rows() {
		var slot any
		if row.Slot != "" {
			slot = string(row.Slot)
		}
		until, err := sqlrows.Nanos("grace deadline on "+row.Sender.String(), row.ServesUntil)
		if err != nil {
			return err
		}
		left, err := sqlrows.Nanos("deactivation time", row.LeftActive)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO bot_senders (workspace, bot_id, channel, address, slot, activation, serves_until, left_active) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			ws, string(c.Bot), row.Sender.Channel, row.Sender.Address, slot, int64(row.Activation), until, left)
		var se *sqlite3.Error
		if errors.As(err, &se) && se.Code() == sqlite3lib.SQLITE_CONSTRAINT_TRIGGER {
			return &lifecycle.ClaimError{Sender: row.Sender}
		}
		if errors.As(err, &se) && se.Code()&0xff == sqlite3lib.SQLITE_CONSTRAINT {
			return conflict("the plan would put two bots in the %s slot of %s", row.Slot, row.Sender)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// refreshRows rewrites every bot's rows from its document, in pages of
// bots in key order: a migration marked RefreshRows. A real sender's
// rows go and come back in one transaction, so its claim (R27) stays.
func refreshRows(ctx context.Context, tx conn) error {
	type stored struct {
		ws, id string
		doc    []byte
	}
	scan := func(r sqlrows.Scanner) (s stored, err error) { return s, r.Scan(&s.ws, &s.id, &s.doc) }
	var last stored
	for {
		page, err := collect(scan)(tx.QueryContext(ctx, `SELECT workspace, id, doc FROM bots WHERE (workspace, id) > (?, ?) ORDER BY workspace, id LIMIT 256`, last.ws, last.id))
		if err != nil || len(page) == 0 {
			return err
		}
		for _, s := range page {
			b, err := sqlrows.Bot(s.doc)
			if err != nil {
				return fmt.Errorf("bot %s: %w", s.id, err)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM bot_senders WHERE workspace = ? AND bot_id = ?`, s.ws, s.id); err != nil {
				return err
			}
			if err := addSenders(ctx, tx, s.ws, lifecycle.Change{Bot: lifecycle.BotID(s.id), After: b}); err != nil {
				return fmt.Errorf("bot %s: %w", s.id, err)
			}
		}
		last = page[len(page)-1]
	}
}

// applySchedule stores one schedule change if its expected revision is the
// stored one. A new schedule gets the next Seq (max + 1: commits are
// serialised, so Seq is creation order); an existing one keeps its own.
// The at column sorts the zero time before every other instant, as the
// memory store does.
func applySchedule(ctx context.Context, tx conn, ws string, c lifecycle.ScheduleChange) error {
	sc := c.After
	if _, err := sqlrows.Nanos("schedule time", sc.At); err != nil {
		return err
	}
	at := sqlrows.Clamp(sc.At) // the zero time: math.MinInt64
	var seq, rev int64
	err := tx.QueryRowContext(ctx, `SELECT seq, revision FROM schedules WHERE workspace = ? AND id = ?`, ws, string(sc.ID)).Scan(&seq, &rev)
	exists, err := checkRevision("schedule", string(sc.ID), c.Revision, rev, err)
	if err == nil && !exists {
		err = tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM schedules WHERE workspace = ?`, ws).Scan(&seq)
	}
	if err != nil {
		return err
	}
	sc.Seq = uint64(seq)
	doc, err := binarydoc.Encode(sc)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO schedules (workspace, id, seq, at, status, revision, doc) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (workspace, id) DO UPDATE SET at = excluded.at, status = excluded.status, revision = excluded.revision, doc = excluded.doc`,
		ws, string(sc.ID), seq, at, string(sc.Status), int64(sc.Revision), doc)
	return err
}

func applyRoles(ctx context.Context, tx conn, ws string, changes []lifecycle.RoleChange) error {
	if len(changes) == 0 {
		return nil
	}
	countAdmins := func() (n int, err error) {
		err = tx.QueryRowContext(ctx, sqlAdmins, ws).Scan(&n)
		return n, err
	}
	before, err := countAdmins()
	if err != nil {
		return err
	}
	for _, rc := range changes {
		var cur int64
		err := tx.QueryRowContext(ctx, `SELECT roles FROM role_assignments WHERE workspace = ? AND user_id = ?`, ws, rc.User).Scan(&cur)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if roles.Set(cur) != rc.From {
			return conflict("the roles of %q changed (now %v, the plan read %v)", rc.User, roles.Set(cur), rc.From)
		}
		if rc.To.Empty() {
			_, err = tx.ExecContext(ctx, `DELETE FROM role_assignments WHERE workspace = ? AND user_id = ?`, ws, rc.User)
		} else {
			_, err = tx.ExecContext(ctx, `INSERT INTO role_assignments (workspace, user_id, roles) VALUES (?, ?, ?)
				ON CONFLICT (workspace, user_id) DO UPDATE SET roles = excluded.roles`, ws, rc.User, int64(rc.To))
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
