package postgres

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/internal/binarydoc"
	"github.com/jackc/pgx/v5"
)

// The statements of a commit. A check selects botlife_conflict(...) (SQLSTATE
// BL409, aborting the batch) for what its data-modifying CTE did not match.
const (
	sqlDeleteBots = `
		WITH c AS (SELECT * FROM unnest($1::text[], $2::int8[]) AS c(id, rev)),
		d AS (DELETE FROM bots b USING c WHERE b.id = c.id AND b.revision = c.rev RETURNING b.id)
		SELECT botlife_conflict(format('bot %s changed or no longer exists (the plan read revision %s)', c.id, c.rev))
		FROM c WHERE c.id NOT IN (SELECT id FROM d)`

	// sqlUpdateBots and sqlInsertBots store changed and new bots with their
	// Change.Due, checking the revision the plan read (new: that none exists).
	sqlUpdateBots = `
		WITH c AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::bytea[])
			AS c(id, rev, new_rev, due, idle, doc)),
		u AS (UPDATE bots b SET revision = c.new_rev, due_at = c.due, idle_timeout = c.idle, doc = c.doc
			FROM c WHERE b.id = c.id AND b.revision = c.rev RETURNING b.id)
		SELECT botlife_conflict(format('bot %s changed or no longer exists (the plan read revision %s)', c.id, c.rev))
		FROM c WHERE c.id NOT IN (SELECT id FROM u)`
	sqlInsertBots = `
		WITH c AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::bytea[])
			AS c(id, rev, new_rev, due, idle, doc)),
		i AS (INSERT INTO bots (id, revision, due_at, idle_timeout, doc) SELECT id, new_rev, due, idle, doc FROM c
			ON CONFLICT (id) DO NOTHING RETURNING id)
		SELECT botlife_conflict(format('bot %s already exists', c.id))
		FROM c WHERE c.id NOT IN (SELECT id FROM i)`

	// Every row of the changed bots goes before any is inserted: the
	// unique index one_bot_per_slot (R1, R2) is checked row by row.
	sqlDeleteSenders = `DELETE FROM bot_senders WHERE bot_id = ANY($1::text[])`
	sqlInsertSenders = `INSERT INTO bot_senders (bot_id, channel, address, slot, activation, serves_until, left_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[])`

	// Role changes serialise on an advisory lock, so that two plans
	// removing different Admins cannot both see the other one stay.
	sqlLockRoles  = `SELECT pg_advisory_xact_lock(7342013)`
	sqlCheckRoles = `
		SELECT botlife_conflict(format('the roles of %s changed since the plan read them', quote_literal(w.u)))
		FROM unnest($1::text[], $2::int2[]) AS w(u, f) LEFT JOIN role_assignments r ON r.user_id = w.u
		WHERE coalesce(r.roles, 0) <> w.f`
	sqlCheckAdmins = `
		SELECT botlife_conflict('the plan would remove the last Admin')
		FROM (SELECT count(*) AS n FROM role_assignments WHERE roles & $1 <> 0) AS x
		WHERE x.n > 0 AND x.n - $2 + $3 <= 0`
	sqlDeleteRoles = `DELETE FROM role_assignments WHERE user_id = ANY($1::text[])`
	sqlUpsertRoles = `INSERT INTO role_assignments (user_id, roles) SELECT * FROM unnest($1::text[], $2::int2[])
		ON CONFLICT (user_id) DO UPDATE SET roles = EXCLUDED.roles`

	// The audit entries, last: the audit_head row lock orders commits and
	// numbers entries without gaps; the transaction commits right after.
	sqlAppendAudit = `
		WITH h AS (UPDATE audit_head SET seq = seq + $2 RETURNING seq),
		i AS (INSERT INTO audit_log (seq, entry)
			SELECT h.seq - $2 + e.ord, e.entry::jsonb FROM h, unnest($1::text[]) WITH ORDINALITY AS e(entry, ord))
		SELECT h.seq, pg_notify('botlife_audit', h.seq::text) FROM h`
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
		if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
			return nil, fail(ctx, "committing", err)
		}
	}
	out := make([]lifecycle.AuditEntry, len(p.Audit))
	for i, e := range p.Audit {
		e.Transitions = append([]lifecycle.Transition(nil), e.Transitions...)
		e.Acknowledged = append([]string(nil), e.Acknowledged...)
		e.Seq = uint64(head - n + int64(i) + 1)
		out[i] = e
	}
	return out, nil
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

// queue queues sql with the columns as its arguments, if they hold a row.
func (c columns) queue(b *pgx.Batch, sql string) {
	if c != nil {
		b.Queue(sql, c...)
	}
}

// commitBatch checks every value of p the database must hold exactly and
// queues the statements that apply p, before the audit entries.
func commitBatch(p lifecycle.Plan) (*pgx.Batch, error) {
	b := &pgx.Batch{}
	b.Queue(`SELECT ` + syncOn) // durable, whatever the server's default
	if err := queueRoles(b, p.Roles); err != nil {
		return nil, err
	}
	var deleted, updated, inserted, senders columns
	// Rows are locked in id order, so that two commits touching the same
	// bots seldom deadlock (a deadlock would be a conflict, and a retry).
	changes := slices.Clone(p.Changes)
	slices.SortFunc(changes, func(x, y lifecycle.Change) int { return strings.Compare(string(x.Bot), string(y.Bot)) })
	for _, ch := range changes {
		if err := checkText("bot id", string(ch.Bot), true); err != nil {
			return nil, err
		}
		if ch.After == nil {
			deleted.add(string(ch.Bot), int64(ch.Revision))
			continue
		}
		due, err := nanos("grace deadline", ch.Due())
		if err != nil {
			return nil, err
		}
		doc, err := binarydoc.Encode(ch.After)
		if err != nil {
			return nil, err
		}
		for _, r := range ch.Rows() {
			until, err := nanos("grace deadline", r.ServesUntil)
			left, err2 := nanos("deactivation time", r.LeftActive)
			if err = cmp.Or(checkSender(r.Sender), err, err2); err != nil {
				return nil, err
			}
			var slot *string
			if r.Slot != "" {
				slot = (*string)(&r.Slot)
			}
			senders.add(string(ch.Bot), r.Sender.Channel, r.Sender.Address, slot, int64(r.Activation), until, left)
		}
		to := &updated
		if ch.Revision == 0 {
			to = &inserted
		}
		to.add(string(ch.Bot), int64(ch.Revision), int64(ch.After.Revision), due, int64(ch.After.IdleTimeout), doc)
	}
	deleted.queue(b, sqlDeleteBots)
	updated.queue(b, sqlUpdateBots)
	if updated != nil {
		b.Queue(sqlDeleteSenders, updated[0])
	}
	inserted.queue(b, sqlInsertBots)
	senders.queue(b, sqlInsertSenders)
	return b, queueSchedules(b, p.Schedules)
}

func queueRoles(b *pgx.Batch, changes []lifecycle.RoleChange) error {
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
	b.Queue(sqlCheckAdmins, int16(roles.MustSet(roles.Admin)), lost, gained)
	if len(gone) > 0 {
		b.Queue(sqlDeleteRoles, gone)
	}
	if len(kept) > 0 {
		b.Queue(sqlUpsertRoles, kept, to)
	}
	return nil
}
