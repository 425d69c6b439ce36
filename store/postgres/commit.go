package postgres

import (
	"context"
	"sort"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/internal/binarydoc"
	"github.com/jackc/pgx/v5"
)

// The statements of a commit. Each check selects botlife_conflict(...) for
// what does not match, which raises SQLSTATE BL409 and aborts the batch's
// implicit transaction; the data-modifying CTE it reads runs first.
const (
	sqlDeleteBots = `
		WITH c AS (SELECT * FROM unnest($1::text[], $2::int8[]) AS c(id, rev)),
		d AS (DELETE FROM bots b USING c WHERE b.id = c.id AND b.revision = c.rev RETURNING b.id)
		SELECT botlife_conflict(format('bot %s changed or no longer exists (the plan read revision %s)', c.id, c.rev))
		FROM c WHERE c.id NOT IN (SELECT id FROM d)`

	sqlUpdateBots = `
		WITH c AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::int2[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], $8::bytea[])
			AS c(id, rev, state, new_rev, activations, grace, idle, doc)),
		u AS (UPDATE bots b SET state = c.state, revision = c.new_rev, activations = c.activations,
			grace_deadline = c.grace, idle_timeout = c.idle, doc = c.doc
			FROM c WHERE b.id = c.id AND b.revision = c.rev RETURNING b.id)
		SELECT botlife_conflict(format('bot %s changed or no longer exists (the plan read revision %s)', c.id, c.rev))
		FROM c WHERE c.id NOT IN (SELECT id FROM u)`

	sqlInsertBots = `
		WITH c AS (SELECT * FROM unnest($1::text[], $2::int2[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::bytea[])
			AS c(id, state, rev, activations, grace, idle, doc)),
		i AS (INSERT INTO bots (id, state, revision, activations, grace_deadline, idle_timeout, doc)
			SELECT * FROM c ON CONFLICT (id) DO NOTHING RETURNING id)
		SELECT botlife_conflict(format('bot %s already exists', c.id))
		FROM c WHERE c.id NOT IN (SELECT id FROM i)`

	// Every row of the changed bots goes before any is inserted: the
	// unique indexes (R1, R2) are checked row by row.
	sqlDeleteSenders = `DELETE FROM bot_senders WHERE bot_id = ANY($1::text[])`
	sqlInsertSenders = `INSERT INTO bot_senders (bot_id, channel, address, state, left_at, activation, grace_deadline)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int2[], $5::int8[], $6::int8[], $7::int8[])`

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
	if b.Len() > 0 {
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

// botColumns are the columns of bots and bot_senders for a batch of
// changes.
type botColumns struct {
	// bots updated
	ids                              []string
	st                               []int16
	revs, newRevs, activations, idle []int64
	grace                            []*int64
	docs                             [][]byte
	// bots deleted
	deletedIDs  []string
	deletedRevs []int64
	// bots inserted
	insertIDs                        []string
	insertState                      []int16
	insertRev, insertAct, insertIdle []int64
	insertGrace                      []*int64
	insertDocs                       [][]byte
	// bot_senders rows of the bots updated and inserted: the bot's state
	// on each sender (R22), its activation and deadline there
	sBot, sChannel, sAddress []string
	sState                   []int16
	sLeft, sAct, sGrace      []*int64
}

// commitBatch checks every value of p the database must hold exactly and
// queues the statements that apply p, before the audit entries.
func commitBatch(p lifecycle.Plan) (*pgx.Batch, error) {
	b := &pgx.Batch{}
	if err := queueRoles(b, p.Roles); err != nil {
		return nil, err
	}
	var c botColumns
	// Rows are locked in id order, so that two commits touching the same
	// bots seldom deadlock (a deadlock would be a conflict, and a retry).
	changes := append([]lifecycle.Change(nil), p.Changes...)
	sort.Slice(changes, func(i, j int) bool { return changes[i].Bot < changes[j].Bot })
	for _, ch := range changes {
		if err := c.add(ch); err != nil {
			return nil, err
		}
	}
	if len(c.deletedIDs) > 0 {
		b.Queue(sqlDeleteBots, c.deletedIDs, c.deletedRevs)
	}
	if len(c.ids) > 0 {
		b.Queue(sqlUpdateBots, c.ids, c.revs, c.st, c.newRevs, c.activations, c.grace, c.idle, c.docs)
		b.Queue(sqlDeleteSenders, c.ids)
	}
	if len(c.insertIDs) > 0 {
		b.Queue(sqlInsertBots, c.insertIDs, c.insertState, c.insertRev, c.insertAct, c.insertGrace, c.insertIdle, c.insertDocs)
	}
	if len(c.sBot) > 0 {
		b.Queue(sqlInsertSenders, c.sBot, c.sChannel, c.sAddress, c.sState, c.sLeft, c.sAct, c.sGrace)
	}
	if err := queueSchedules(b, p.Schedules); err != nil {
		return nil, err
	}
	return b, nil
}

// add checks one change and adds its columns.
func (c *botColumns) add(ch lifecycle.Change) error {
	if err := checkText("bot id", string(ch.Bot), true); err != nil {
		return err
	}
	if ch.After == nil {
		c.deletedIDs = append(c.deletedIDs, string(ch.Bot))
		c.deletedRevs = append(c.deletedRevs, int64(ch.Revision))
		return nil
	}
	a := ch.After
	grace, err := nanos("grace deadline", a.GraceDeadline)
	if err != nil {
		return err
	}
	doc, err := binarydoc.Encode(a)
	if err != nil {
		return err
	}
	if err := c.addSenders(a); err != nil {
		return err
	}
	if ch.Revision == 0 {
		c.insertIDs = append(c.insertIDs, string(ch.Bot))
		c.insertState = append(c.insertState, int16(a.State))
		c.insertRev = append(c.insertRev, int64(a.Revision))
		c.insertAct = append(c.insertAct, int64(a.Activations))
		c.insertGrace = append(c.insertGrace, grace)
		c.insertIdle = append(c.insertIdle, int64(a.IdleTimeout))
		c.insertDocs = append(c.insertDocs, doc)
		return nil
	}
	c.ids = append(c.ids, string(ch.Bot))
	c.revs = append(c.revs, int64(ch.Revision))
	c.st = append(c.st, int16(a.State))
	c.newRevs = append(c.newRevs, int64(a.Revision))
	c.activations = append(c.activations, int64(a.Activations))
	c.grace = append(c.grace, grace)
	c.idle = append(c.idle, int64(a.IdleTimeout))
	c.docs = append(c.docs, doc)
	return nil
}

// addSenders adds a bot_senders row for each sender of a: its state there
// (Bot.StateOn: Inactive where it is off), the activation and grace
// deadline of its SenderState, and left_at (R20: the bot's DeactivatedAt
// while the bot is not Active).
func (c *botColumns) addSenders(a *lifecycle.Bot) error {
	var left *int64
	var err error
	if a.State != lifecycle.Active {
		if left, err = nanos("deactivation time", a.DeactivatedAt); err != nil {
			return err
		}
	}
	channels, addresses, err := senderArrays(a.Senders)
	if err != nil {
		return err
	}
	for i, s := range a.Senders {
		on, live := a.On(s)
		var act, grace *int64
		if live {
			n := int64(on.Activation)
			act = &n
			if grace, err = nanos("grace deadline", on.GraceDeadline); err != nil {
				return err
			}
		}
		c.sBot = append(c.sBot, string(a.ID))
		c.sChannel = append(c.sChannel, channels[i])
		c.sAddress = append(c.sAddress, addresses[i])
		c.sState = append(c.sState, int16(a.StateOn(s)))
		c.sLeft = append(c.sLeft, left)
		c.sAct = append(c.sAct, act)
		c.sGrace = append(c.sGrace, grace)
	}
	return nil
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
