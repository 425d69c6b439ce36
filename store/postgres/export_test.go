package postgres

import (
	"time"

	"github.com/botlife/botlife/store/internal/binarydoc"
)

// Fail exposes the error mapping to the tests.
var Fail = fail

// SetWriteGrace sets how long a write goes on after its context ends, and
// a func called when a context ends during a write, and returns a func
// that restores them.
func SetWriteGrace(grace time.Duration, ended func()) (restore func()) {
	oldGrace, oldEnded := writeGrace, writeEnded
	writeGrace, writeEnded = grace, ended
	return func() { writeGrace, writeEnded = oldGrace, oldEnded }
}

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

// A sweep's statements: its groups, its next groups, its sessions.
const (
	SQLSweepGroups      = sqlSweepGroups
	SQLSweepGroupsAfter = sqlSweepGroupsAfter
	SQLSweep            = sqlSweep
)
