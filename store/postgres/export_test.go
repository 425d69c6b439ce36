package postgres

import (
	"time"

	"github.com/botlife/botlife/store/internal/binarydoc"
)

// Fail exposes the error mapping to the tests.
var Fail = fail

// SetWaitTiming sets the poll interval and the listener's linger for a
// test, and returns a func that restores them.
func SetWaitTiming(poll, linger time.Duration) (restore func()) {
	oldPoll, oldLinger := pollInterval, listenLinger
	pollInterval, listenLinger = poll, linger
	return func() { pollInterval, listenLinger = oldPoll, oldLinger }
}

// The queries whose plans TestHistoryReadsUseIndexes checks.
const (
	SQLBot          = sqlBot
	SQLLiveBots     = sqlLiveBots
	SQLLastActive   = sqlLastActive
	SQLDueDrains    = sqlDueDrains
	SQLDueSchedules = sqlDueSchedules
	SQLRoute        = sqlRoute
	SQLClose        = sqlClose
	SQLOpen         = sqlOpen
	SQLStepBack     = sqlStepBack
	SQLRoles        = sqlRoles
	AdminWhere      = adminWhere
)

// EncodeBot and EncodeSchedule are the documents Commit stores.
var (
	EncodeBot      = binarydoc.Encode
	EncodeSchedule = binarydoc.Encode
)

// SQLSweep is the sweep's query for limit.
// SQLSweep and SQLSweepGroups are a sweep's statements with limit.
func SQLSweep(limit int) string       { return sweepSQL(sqlSweep, limit) }
func SQLSweepGroups(limit int) string { return sweepSQL(sqlSweepGroups, limit) }

// SQLSweepGroupsAfter is a sweep's statement for its next groups, with limit.
func SQLSweepGroupsAfter(limit int) string { return sweepSQL(sqlSweepGroupsAfter, limit) }
