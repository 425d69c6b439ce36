package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/internal/binarydoc"
	"github.com/botlife/botlife/store/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// The statements of a commit, in workspace @ws. A check selects
// botlife_conflict(...) (SQLSTATE BL409, aborting the batch) for what its
// data-modifying CTE did not match.
const (
	// sqlCheckBots refuses a plan whose changes read revisions the bots no
	// longer have ($1, $2: ids and the revisions the plan read, 0 for a new
	// bot), before any claim is counted: a plan the world moved past is a
	// conflict (R17), whatever a sender it names has become since.
	// sqlUpdateBots, sqlDeleteBots and sqlInsertBots compare them again
	// under their row locks.
	sqlCheckBots = `
		SELECT botlife_conflict(CASE WHEN c.rev = 0 THEN format('bot %s already exists', c.id)
			ELSE format('bot %s changed or no longer exists (the plan read revision %s)', c.id, c.rev) END)
		FROM unnest($1::text[], $2::int8[]) AS c(id, rev) LEFT JOIN bots b ON b.workspace = @ws AND b.id = c.id
		WHERE coalesce(b.revision, 0) <> c.rev`

	// sqlClaim counts, per real sender, the bots that name it after ($1,
	// $2: the new rows) less those that named it before (the stored rows
	// of the changed bots $3), and applies that to sender_claims in sender
	// order, first, so that two workspaces racing for a sender meet on its
	// key (R27). A sender added to while another workspace holds it is
	// botlife_claimed; a claim no bot holds any more is deleted next.
	sqlClaim = `
		WITH d AS (SELECT channel, address, sum(n) AS n FROM (
				SELECT channel, address, 1 AS n FROM unnest($1::text[], $2::text[]) AS a(channel, address)
				UNION ALL
				SELECT channel, address, -1 FROM bot_senders WHERE workspace = @ws AND bot_id = ANY($3::text[])) AS x
			WHERE channel <> '` + lifecycle.TestChannel + `' GROUP BY 1, 2 HAVING sum(n) <> 0),
		c AS (INSERT INTO sender_claims AS c SELECT channel, address, @ws, n FROM d ORDER BY 1, 2
			ON CONFLICT (channel, address) DO UPDATE SET bots = c.bots + EXCLUDED.bots WHERE c.workspace = EXCLUDED.workspace
			RETURNING channel, address)
		SELECT botlife_claimed(channel, address) FROM d WHERE n > 0 AND (channel, address) NOT IN (SELECT * FROM c)`
	sqlUnclaim = `DELETE FROM sender_claims WHERE workspace = @ws AND bots <= 0 AND (channel, address) IN (
		SELECT channel, address FROM bot_senders WHERE workspace = @ws AND bot_id = ANY($1::text[]))`

	sqlDeleteBots = `
		WITH c AS (SELECT * FROM unnest($1::text[], $2::int8[]) AS c(id, rev)),
		d AS (DELETE FROM bots b USING c WHERE b.workspace = @ws AND b.id = c.id AND b.revision = c.rev RETURNING b.id)
		SELECT botlife_conflict(format('bot %s changed or no longer exists (the plan read revision %s)', c.id, c.rev))
		FROM c WHERE c.id NOT IN (SELECT id FROM d)`

	// sqlUpdateBots and sqlInsertBots store changed and new bots with their
	// Change.Due, checking the revision the plan read (new: that none exists).
	sqlUpdateBots = `
		WITH c AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::bytea[])
			AS c(id, rev, new_rev, due, idle, doc)),
		u AS (UPDATE bots b SET revision = c.new_rev, due_at = c.due, idle_timeout = c.idle, doc = c.doc
			FROM c WHERE b.workspace = @ws AND b.id = c.id AND b.revision = c.rev RETURNING b.id)
		SELECT botlife_conflict(format('bot %s changed or no longer exists (the plan read revision %s)', c.id, c.rev))
		FROM c WHERE c.id NOT IN (SELECT id FROM u)`
	sqlInsertBots = `
		WITH c AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::bytea[])
			AS c(id, rev, new_rev, due, idle, doc)),
		i AS (INSERT INTO bots (workspace, id, revision, due_at, idle_timeout, doc) SELECT @ws, id, new_rev, due, idle, doc FROM c
			ON CONFLICT (workspace, id) DO NOTHING RETURNING id)
		SELECT botlife_conflict(format('bot %s already exists', c.id))
		FROM c WHERE c.id NOT IN (SELECT id FROM i)`

	// Every row of the changed bots goes before any is inserted: the
	// unique index one_bot_per_slot (R1, R2) is checked row by row.
	sqlDeleteSenders = `DELETE FROM bot_senders WHERE workspace = @ws AND bot_id = ANY($1::text[])`
	sqlInsertSenders = `INSERT INTO bot_senders (workspace, bot_id, channel, address, slot, activation, serves_until, left_at)
		SELECT @ws, * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[])`

	// Role changes serialise on an advisory lock, so that two plans
	// removing different Admins cannot both see the other one stay.
	// A commit runs at READ COMMITTED (sendWrite), so sqlCheckAdmins
	// counts, in a snapshot taken after the lock, the Admins the commits
	// before it left. It also locks them (FOR SHARE): were its snapshot
	// older than the lock (REPEATABLE READ, as commits took where it was
	// the default before they chose their isolation), locking an Admin
	// another commit removed meanwhile would be a serialization failure,
	// a conflict, never a count of one Admin too many (P2,
	// TestP2RepeatableRead).
	sqlLockRoles  = `SELECT pg_advisory_xact_lock(7342013, hashtext(@ws))`
	sqlCheckRoles = `
		SELECT botlife_conflict(format('the roles of %s changed since the plan read them', quote_literal(w.u)))
		FROM unnest($1::text[], $2::int2[]) AS w(u, f) LEFT JOIN role_assignments r ON r.workspace = @ws AND r.user_id = w.u
		WHERE coalesce(r.roles, 0) <> w.f`
	sqlCheckAdmins = `
		SELECT botlife_conflict('the plan would remove the last Admin')
		FROM (SELECT count(*) AS n FROM (SELECT FROM role_assignments WHERE workspace = @ws AND ` + adminWhere + ` FOR SHARE) AS a) AS x
		WHERE x.n > 0 AND x.n - $1 + $2 <= 0`
	sqlDeleteRoles = `DELETE FROM role_assignments WHERE workspace = @ws AND user_id = ANY($1::text[])`
	sqlUpsertRoles = `INSERT INTO role_assignments (workspace, user_id, roles) SELECT @ws, * FROM unnest($1::text[], $2::int2[])
		ON CONFLICT (workspace, user_id) DO UPDATE SET roles = EXCLUDED.roles`

	// The audit entries, last: the lock of the workspace's audit head
	// orders its commits and numbers entries without gaps; the transaction
	// commits right after. The notification says "<head>:<workspace>".
	sqlAppendAudit = `
		WITH h AS (INSERT INTO workspace_heads AS h VALUES (@ws, 'audit', $2)` + sqlNextSeq + `),
		i AS (INSERT INTO audit_log (workspace, seq, entry)
			SELECT @ws, h.seq - $2 + e.ord, e.entry::jsonb FROM h, unnest($1::text[]) WITH ORDINALITY AS e(entry, ord))
		SELECT h.seq, pg_notify('` + auditChannel + `', h.seq || ':' || @ws) FROM h`

	// sqlNextSeq ends the INSERT INTO workspace_heads AS h that takes the
	// next numbers of a head, returning the last: the head's row lock is
	// held until the commit.
	sqlNextSeq = ` ON CONFLICT (workspace, head) DO UPDATE SET seq = h.seq + EXCLUDED.seq RETURNING seq`
)

// Commit implements lifecycle.Store in one round trip (see the package
// documentation).
func (s *Store) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	b, err := commitBatch(p)
	if err != nil {
		return nil, err
	}
	var head int64
	n := int64(len(p.Audit))
	if n > 0 {
		audit := make([]string, len(p.Audit))
		for i, e := range p.Audit {
			e.Seq = 0 // the seq column numbers it
			doc, err := encode("audit entry", e)
			if err != nil {
				return nil, err
			}
			audit[i] = string(doc)
		}
		b.Queue(sqlAppendAudit, audit, n).QueryRow(func(row pgx.Row) error {
			var notified string
			return row.Scan(&head, &notified)
		})
	}
	if b.Len() > 1 {
		if err := s.sendWrite(ctx, b.Batch); err != nil {
			return nil, fail(ctx, "committing", err)
		}
	}
	return sqlrows.Numbered(p.Audit, uint64(head-n+1)), nil
}

// columns are rows as unnest takes them: one array per column.
type columns []any

func (c *columns) add(row ...any) {
	if *c == nil {
		*c = make(columns, len(row))
	}
	for i, v := range row {
		col, _ := (*c)[i].([]any)
		(*c)[i] = append(col, v)
	}
}

// col returns column i; nil without rows.
func (c columns) col(i int) any {
	if c == nil {
		return []string(nil)
	}
	return c[i]
}

// queue queues sql with the columns as its arguments, if they hold a row.
func (c columns) queue(b batch, sql string) {
	if c != nil {
		b.Queue(sql, c...)
	}
}

// batch queues the statements of a commit in workspace ws: @ws in their
// text is ws, the parameter after theirs.
type batch struct {
	*pgx.Batch
	ws string
}

// Queue queues sql with args, and the workspace if sql names @ws.
func (b batch) Queue(sql string, args ...any) *pgx.QueuedQuery {
	if strings.Contains(sql, "@ws") {
		sql, args = strings.ReplaceAll(sql, "@ws", "$"+strconv.Itoa(len(args)+1)), append(args, b.ws)
	}
	return b.Batch.Queue(sql, args...)
}

// commitBatch checks every value of p the database must hold exactly and
// queues the statements that apply p, before the audit entries.
func commitBatch(p lifecycle.Plan) (batch, error) {
	b := batch{&pgx.Batch{}, string(p.Workspace)}
	if err := checkText("workspace", b.ws, true); err != nil {
		return b, err
	}
	b.Queue(`SELECT ` + syncOn) // durable, whatever the server's default
	if err := queueRoles(b, p.Roles); err != nil {
		return b, err
	}
	var c changeCols
	var ids, stored []string
	var revs []int64
	// Rows are locked in id order, so that two commits touching the same
	// bots seldom deadlock (a deadlock would be a conflict, and a retry).
	changes := slices.Clone(p.Changes)
	slices.SortFunc(changes, func(x, y lifecycle.Change) int { return strings.Compare(string(x.Bot), string(y.Bot)) })
	for _, ch := range changes {
		if err := checkText("bot id", string(ch.Bot), true); err != nil {
			return b, err
		}
		revs = append(revs, int64(ch.Revision))
		if ids = append(ids, string(ch.Bot)); ch.Revision != 0 {
			stored = append(stored, string(ch.Bot))
		}
		if err := c.add(ch); err != nil {
			return b, err
		}
	}
	if ids != nil {
		b.Queue(sqlCheckBots, ids, revs)
		b.Queue(sqlClaim, c.senders.col(1), c.senders.col(2), ids)
	}
	if stored != nil {
		b.Queue(sqlUnclaim, stored)
	}
	c.deleted.queue(b, sqlDeleteBots)
	c.updated.queue(b, sqlUpdateBots)
	if c.updated != nil {
		b.Queue(sqlDeleteSenders, c.updated[0])
	}
	c.inserted.queue(b, sqlInsertBots)
	c.senders.queue(b, sqlInsertSenders)
	return b, queueSchedules(b, p.Schedules)
}

// changeCols are the columns of a plan's bot changes, by statement.
type changeCols struct{ deleted, updated, inserted, senders columns }

// add adds one change's bot row and sender rows.
func (c *changeCols) add(ch lifecycle.Change) error {
	if ch.After == nil {
		c.deleted.add(string(ch.Bot), int64(ch.Revision))
		return nil
	}
	due, err := sqlrows.Nanos("grace deadline", ch.Due())
	if err != nil {
		return err
	}
	doc, err := binarydoc.Encode(ch.After)
	if err != nil {
		return err
	}
	for _, r := range ch.Rows() {
		until, err := sqlrows.Nanos("grace deadline", r.ServesUntil)
		left, err2 := sqlrows.Nanos("deactivation time", r.LeftActive)
		if err = cmp.Or(checkSender(r.Sender), err, err2); err != nil {
			return err
		}
		var slot *string
		if r.Slot != "" {
			slot = (*string)(&r.Slot)
		}
		c.senders.add(string(ch.Bot), r.Sender.Channel, r.Sender.Address, slot, int64(r.Activation), until, left)
	}
	to := &c.updated
	if ch.Revision == 0 {
		to = &c.inserted
	}
	to.add(string(ch.Bot), int64(ch.Revision), int64(ch.After.Revision), due, int64(ch.After.IdleTimeout), doc)
	return nil
}

// refreshRows rewrites every bot's rows from its document, in pages of
// bots in key order, one round trip per bot: a migration marked
// RefreshRows. Claims (R27) are counted by commits and stay as they are:
// the real senders of a bot's rows are its senders, before and after.
// A page's bots are locked (FOR UPDATE) until the migration commits: a
// commit elsewhere (another process does not wait for the migration's
// advisory lock) that changed a bot after the page was read would
// otherwise get its rows replaced by those of the document it replaced -
// an Inactive bot back in its active slot, taking messages.
func refreshRows(ctx context.Context, tx pgx.Tx) error {
	type stored struct {
		ws, id string
		doc    []byte
	}
	var last stored
	for {
		rows, _ := tx.Query(ctx, `SELECT workspace, id, doc FROM bots WHERE (workspace, id) > ($1, $2) ORDER BY workspace, id LIMIT 256 FOR UPDATE`, last.ws, last.id)
		page, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (s stored, err error) { return s, r.Scan(&s.ws, &s.id, &s.doc) })
		if err != nil || len(page) == 0 {
			return err
		}
		for _, s := range page {
			bot, err := sqlrows.Bot(s.doc)
			if err != nil {
				return fmt.Errorf("bot %s: %w", s.id, err)
			}
			var c changeCols
			if err := c.add(lifecycle.Change{Bot: lifecycle.BotID(s.id), After: bot}); err != nil {
				return fmt.Errorf("bot %s: %w", s.id, err)
			}
			b := batch{&pgx.Batch{}, s.ws}
			b.Queue(sqlDeleteSenders, []string{s.id})
			c.senders.queue(b, sqlInsertSenders)
			if err := tx.SendBatch(ctx, b.Batch).Close(); err != nil {
				return fmt.Errorf("bot %s: %w", s.id, err)
			}
		}
		last = page[len(page)-1]
	}
}

func queueRoles(b batch, changes []lifecycle.RoleChange) error {
	if len(changes) == 0 {
		return nil
	}
	var users, gone, kept []string
	var from, to []int16
	lost, gained := 0, 0
	for _, rc := range changes {
		if err := checkText("user", rc.User, true); err != nil {
			return err
		}
		users = append(users, rc.User)
		from = append(from, int16(rc.From))
		if rc.To.Empty() {
			gone = append(gone, rc.User)
		} else {
			kept = append(kept, rc.User)
			to = append(to, int16(rc.To))
		}
		switch {
		case rc.From.IsAdmin() && !rc.To.IsAdmin():
			lost++
		case !rc.From.IsAdmin() && rc.To.IsAdmin():
			gained++
		}
	}
	b.Queue(sqlLockRoles)
	b.Queue(sqlCheckRoles, users, from)
	b.Queue(sqlCheckAdmins, lost, gained)
	if len(gone) > 0 {
		b.Queue(sqlDeleteRoles, gone)
	}
	if len(kept) > 0 {
		b.Queue(sqlUpsertRoles, kept, to)
	}
	return nil
}
