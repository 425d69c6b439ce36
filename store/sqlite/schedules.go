package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/internal/binarydoc"
)

// scheduleRow is what Commit writes for one schedule change, checked
// before the transaction; the document is encoded in it, once the
// schedule's Seq is known.
type scheduleRow struct {
	c  lifecycle.ScheduleChange
	at int64
}

// scheduleAt is a schedule's At as the at column keeps it: Unix
// nanoseconds, the zero time before every other instant, as it sorts in
// the memory store.
func scheduleAt(t time.Time) (int64, error) {
	n, err := nanos("schedule time", t)
	if err != nil || n == nil {
		return math.MinInt64, err
	}
	return n.(int64), nil
}

// prepareSchedules checks, before the transaction, that the times of a
// plan's schedule changes are ones the store keeps (Plan.Check has refused
// malformed changes).
func prepareSchedules(changes []lifecycle.ScheduleChange) ([]scheduleRow, error) {
	out := make([]scheduleRow, len(changes))
	for i, c := range changes {
		at, err := scheduleAt(c.After.At)
		if err != nil {
			return nil, err
		}
		out[i] = scheduleRow{c: c, at: at}
	}
	return out, nil
}

// applySchedule stores one schedule change in the commit's transaction if
// its expected revision is the stored one (0: it must not exist). A new
// schedule gets the next Seq (max + 1: commits are serialised, so Seq is
// creation order); an existing one keeps its own.
func applySchedule(ctx context.Context, tx conn, r scheduleRow) error {
	sc := r.c.After
	var seq, rev int64
	err := tx.QueryRowContext(ctx, `SELECT seq, revision FROM schedules WHERE id = ?`, string(sc.ID)).Scan(&seq, &rev)
	exists := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	switch {
	case r.c.Revision == 0 && exists:
		return conflict("schedule %s already exists", sc.ID)
	case r.c.Revision != 0 && !exists:
		return conflict("schedule %s does not exist", sc.ID)
	case exists && uint64(rev) != r.c.Revision:
		return conflict("schedule %s changed (revision %d, the plan read %d)", sc.ID, rev, r.c.Revision)
	}
	if !exists {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0) + 1 FROM schedules`).Scan(&seq); err != nil {
			return err
		}
	}
	sc.Seq = uint64(seq)
	doc, err := binarydoc.Encode(sc)
	if err != nil {
		return err
	}
	if exists {
		_, err = tx.ExecContext(ctx, `UPDATE schedules SET at = ?, status = ?, revision = ?, doc = ? WHERE id = ?`,
			r.at, string(sc.Status), int64(sc.Revision), doc, string(sc.ID))
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO schedules (id, seq, at, status, revision, doc) VALUES (?, ?, ?, ?, ?, ?)`,
			string(sc.ID), seq, r.at, string(sc.Status), int64(sc.Revision), doc)
	}
	return err
}

func decodeSchedule(doc []byte) (lifecycle.Schedule, error) {
	var sc lifecycle.Schedule
	if err := binarydoc.Decode(doc, &sc); err != nil {
		return lifecycle.Schedule{}, fmt.Errorf("%w: %w", err, lifecycle.ErrUnavailable)
	}
	return sc, nil
}

func querySchedules(ctx context.Context, q querier, query string, args ...any) ([]lifecycle.Schedule, error) {
	return collect(scanDoc(decodeSchedule))(q.QueryContext(ctx, query, args...))
}

// Schedule implements lifecycle.Store.
func (s *Store) Schedule(ctx context.Context, id lifecycle.ScheduleID) (lifecycle.Schedule, error) {
	var doc []byte
	err := s.reader().QueryRowContext(ctx, `SELECT doc FROM schedules WHERE id = ?`, string(id)).Scan(&doc)
	if errors.Is(err, sql.ErrNoRows) {
		return lifecycle.Schedule{}, &lifecycle.NotFoundError{Kind: "schedule", ID: string(id)}
	}
	if err != nil {
		return lifecycle.Schedule{}, s.fail("reading a schedule", err)
	}
	sc, err := decodeSchedule(doc)
	return sc, s.fail("reading a schedule", err)
}

// Schedules implements lifecycle.Store: a walk of the index on
// seq from after.
func (s *Store) Schedules(ctx context.Context, after uint64, limit int) ([]lifecycle.Schedule, error) {
	if after > math.MaxInt64 {
		return []lifecycle.Schedule{}, nil
	}
	out, err := querySchedules(ctx, s.reader(), `SELECT doc FROM schedules WHERE seq > ? ORDER BY seq LIMIT ?`, int64(after), sqlLimit(limit))
	return out, s.fail("listing schedules", err)
}
