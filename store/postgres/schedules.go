package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/internal/binarydoc"
	"github.com/botlife/botlife/store/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// The schedule statements of a commit (R23), queued after the bots'. Like
// those, each check selects botlife_conflict(...) for what does not match,
// which aborts the batch.
const (
	// sqlUpdateSchedules stores changed schedules if their revision is
	// the one the plan read. seq stays.
	sqlUpdateSchedules = `
		WITH c AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::int8[], $6::bytea[])
			AS c(id, rev, at, status, new_rev, doc)),
		u AS (UPDATE schedules s SET at = c.at, status = c.status, revision = c.new_rev, doc = c.doc
			FROM c WHERE s.workspace = @ws AND s.id = c.id AND s.revision = c.rev RETURNING s.id)
		SELECT botlife_conflict(format('schedule %s changed or does not exist (the plan read revision %s)', c.id, c.rev))
		FROM c WHERE c.id NOT IN (SELECT id FROM u)`

	// sqlInsertSchedules stores new schedules, numbered in the plan's
	// order after the last Seq the workspace handed out: the row lock of
	// its schedule head, held until the commit, keeps them gap-free.
	sqlInsertSchedules = `
		WITH c AS (SELECT * FROM unnest($1::text[], $2::int8[], $3::int8[], $4::text[], $5::int8[], $6::bytea[]) WITH ORDINALITY
			AS c(id, rev, at, status, new_rev, doc, ord)),
		h AS (INSERT INTO workspace_heads AS h VALUES (@ws, 'schedule', cardinality($1::text[]))` + sqlNextSeq + `),
		i AS (INSERT INTO schedules (workspace, id, seq, at, status, revision, doc)
			SELECT @ws, c.id, h.seq - cardinality($1::text[]) + c.ord, c.at, c.status, c.new_rev, c.doc FROM c, h
			ON CONFLICT (workspace, id) DO NOTHING RETURNING id)
		SELECT botlife_conflict(format('schedule %s already exists', c.id))
		FROM c WHERE c.id NOT IN (SELECT id FROM i)`

	// The reads. Due reads schedules through the partial index
	// pending_schedules: the literal 'pending' matches its predicate.
	sqlSchedule     = `SELECT seq, doc FROM schedules WHERE workspace = $1 AND id = $2`
	sqlSchedules    = `SELECT seq, doc FROM schedules WHERE workspace = $3 AND seq > $1 ORDER BY seq LIMIT $2`
	sqlDueSchedules = `SELECT seq, doc FROM schedules WHERE workspace = $3 AND status = 'pending' AND at <= $1 ORDER BY at, seq LIMIT $2`
)

// queueSchedules queues the statements that store the schedule changes of
// a plan (Plan.Check has checked their ids, statuses and revisions): the
// changed ones in id order (the order rows are locked in), then the new
// ones in the plan's order, which is their Seq order.
func queueSchedules(b batch, changes []lifecycle.ScheduleChange) error {
	var changed [][]any
	var updated, added columns
	for _, ch := range changes {
		sc := ch.After
		at, err := sqlrows.MustNanos("schedule time", sc.At)
		if err != nil {
			return err
		}
		sc.Seq = 0 // the seq column holds it
		doc, err := binarydoc.Encode(&sc)
		if err != nil {
			return err
		}
		row := []any{string(sc.ID), int64(ch.Revision), at, string(sc.Status), int64(sc.Revision), doc}
		if ch.Revision == 0 {
			added.add(row...)
		} else {
			changed = append(changed, row)
		}
	}
	slices.SortFunc(changed, func(x, y []any) int { return strings.Compare(x[0].(string), y[0].(string)) })
	for _, row := range changed {
		updated.add(row...)
	}
	updated.queue(b, sqlUpdateSchedules)
	added.queue(b, sqlInsertSchedules)
	return nil
}

// scanSchedule reads a schedule from its seq column and document.
func scanSchedule(row pgx.Row) (lifecycle.Schedule, error) {
	var seq int64
	var doc []byte
	if err := row.Scan(&seq, &doc); err != nil {
		return lifecycle.Schedule{}, err
	}
	sc, err := sqlrows.Decode[lifecycle.Schedule](doc)
	sc.Seq = uint64(seq)
	return sc, err
}

// Schedule implements lifecycle.Store in one round trip.
func (s *Store) Schedule(ctx context.Context, ws lifecycle.Workspace, id lifecycle.ScheduleID) (lifecycle.Schedule, error) {
	if checkText("schedule id", string(id), true) != nil || !holdable(ws) {
		return lifecycle.Schedule{}, &lifecycle.NotFoundError{Kind: "schedule", ID: strings.ToValidUTF8(string(id), "\ufffd")}
	}
	sc, err := scanSchedule(s.pool.QueryRow(ctx, sqlSchedule, string(ws), string(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return lifecycle.Schedule{}, &lifecycle.NotFoundError{Kind: "schedule", ID: string(id)}
	}
	if err != nil {
		return lifecycle.Schedule{}, fail(ctx, "reading a schedule", err)
	}
	return sc, nil
}

func collectSchedules(rows pgx.Rows) ([]lifecycle.Schedule, error) {
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (lifecycle.Schedule, error) { return scanSchedule(r) })
	if out == nil {
		out = []lifecycle.Schedule{}
	}
	return out, err
}

// Schedules implements lifecycle.Store in one round trip, through the
// unique index on seq.
func (s *Store) Schedules(ctx context.Context, ws lifecycle.Workspace, after uint64, limit int) ([]lifecycle.Schedule, error) {
	if after > 1<<63-1 || !holdable(ws) {
		return []lifecycle.Schedule{}, nil
	}
	rows, err := s.pool.Query(ctx, sqlSchedules, int64(after), limitArg(limit), string(ws))
	if err != nil {
		return nil, fail(ctx, "listing schedules", err)
	}
	out, err := collectSchedules(rows)
	return out, fail(ctx, "listing schedules", err)
}
