package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"

	"github.com/botlife/botlife/lifecycle"
)

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
	sc, err := decode[lifecycle.Schedule](doc)
	return sc, s.fail("reading a schedule", err)
}

// Schedules implements lifecycle.Store: a walk of the index on seq.
func (s *Store) Schedules(ctx context.Context, after uint64, limit int) ([]lifecycle.Schedule, error) {
	if after > math.MaxInt64 {
		return []lifecycle.Schedule{}, nil
	}
	out, err := collect(scanDoc(decode[lifecycle.Schedule]))(s.reader().QueryContext(ctx, `SELECT doc FROM schedules WHERE seq > ? ORDER BY seq LIMIT ?`, int64(after), sqlLimit(limit)))
	return out, s.fail("listing schedules", err)
}
