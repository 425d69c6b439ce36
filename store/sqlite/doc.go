// Package sqlite is a lifecycle.Store in one SQLite file, for services
// that run botlife in one process (or a few on one machine) and want their
// bots, roles, audit log, sessions and schedules to survive a restart
// without a database server. It uses modernc.org/sqlite: pure Go, no cgo.
//
//	st, err := sqlite.Open(ctx, "botlife.db")
//	if err != nil {
//		return err
//	}
//	defer st.Close()
//	m, err := lifecycle.New(lifecycle.Config{Store: st})
//
// It passes storetest.Run and storetest.RunParity under each durability
// setting.
//
// # How it keeps the rules
//
// It keeps the rows the core computes (Change.Rows, Change.Due) and
// applies the session steps the core decides (DecideRoute, DecideClose,
// SessionAt, NextSessionEnd). Every row is keyed by its workspace (R27),
// first in every key and index. R1 and R2 are unique indexes on the slots of
// bot_senders, so a commit that would put two bots in one slot fails with
// ErrConflict from any process. A real sender belongs to one workspace at a
// time: sender_claims has the sender alone as its primary key, with the
// workspace and how many of its bots name the sender, kept by triggers on
// bot_senders, so a commit naming a sender another workspace claims fails
// with a *lifecycle.ClaimError from any process. Commit applies a plan in
// one write transaction (BEGIN IMMEDIATE, R15); SQLite has one writer at a
// time, so audit and schedule sequence numbers and session ids (max + 1
// within the workspace) are gap-free and in creation order per workspace
// (R16, R23, R24). Every read is by key or through an index
// (TestQueryPlansUseIndexes), never in proportion to history or open
// sessions; SessionStats reads counters that triggers keep. SweepSessions
// visits the groups of open sessions (a bot's activation on a sender) that
// session_groups says are due, and leaves each due at its next possible
// end (NextSessionEnd). A message to a session still served is one UPDATE
// statement.
//
// A database busy beyond Options.BusyTimeout, a full disk or an unreadable
// file wrap lifecycle.ErrUnavailable; a constraint the database enforces
// is lifecycle.ErrConflict. Text is stored byte for byte (R21); times come
// back as the same instant in UTC; an instant outside 1677-09-21 to
// 2262-04-11 (Unix nanoseconds) is lifecycle.ErrInvalidInput.
//
// # Durability
//
// The file is in WAL mode; Options.Synchronous says which writes are
// synced before they return. A crash of the process (SIGKILL, panic, OOM
// kill) loses nothing acknowledged under any setting, and never leaves the
// file corrupt or half-applied (TestCrash). A power cut or an operating
// system crash:
//
//   - SyncCommits (the default) loses at most the messages routed to open
//     sessions since the last synced write or checkpoint: those sessions
//     come back with fewer Messages and an older LastActivityAt (so may end
//     as idle that much sooner). Every bot change, role, schedule, audit
//     entry and session opened or closed is synced, with the messages
//     before it: SQLite's own advice, WAL with synchronous=NORMAL, for the
//     soft state only.
//   - SyncFull loses nothing acknowledged; every message waits for a sync
//     of the log, milliseconds on most disks.
//   - SyncNormal may lose the last writes of any kind, whole and in order;
//     audit sequence numbers may then be given again, and a Watch resuming
//     from a lost one skips the entry that reuses it.
//
// # Schema versions
//
// Open migrates a file to the latest schema, the migrations it lacks in one
// write transaction, and refuses a newer one. Version 2 (R22, R23) kept a
// bot's state per sender and added schedules; version 3 replaces those
// states with slots; version 4 keys every table by workspace (R27) and
// moves every existing row into the default one; version 5 rewrites every
// bot's rows from its document as this version's core computes them (R20's
// departures and LeftActive, TestMigrateRefreshesRows); version 6 adds
// session_groups; version 7 keeps it by triggers, so that a process of an
// earlier version still running on the file (a rolling upgrade) opening a
// session or writing a bot leaves nothing a sweep misses
// (TestSweepClosesASessionAnEarlierVersionOpened); version 8 makes every
// group due once, for the bots such a process changed before version 7
// (TestMigrateSweepsGroupsAnEarlierVersionLeftStale). Every row is kept
// (TestMigrateFromV1, TestMigrateFromV2).
//
// # Several processes on one file
//
// Any number of processes on one machine may open the same file (not over
// a network file system): commits serialise on SQLite's write lock, R1 and
// R2 and sender claims hold across them, and any may run ExpireDue.
// WaitAudit wakes at once for commits in its workspace through the same
// Store; other processes' wake it only if Options.PollOtherProcesses sets
// an interval. Do not open one file through two Stores in one process, nor
// hold the write lock from outside botlife longer than BusyTimeout (back up
// with the online backup API or VACUUM INTO).
//
// # Benchmarks
//
// bench_test.go measures Route, ActivateReplace and ExpireDue under each
// setting beside the memory store (go test -run '^$' -bench . -benchtime
// 200x -count 3); TestRouteFigures prints Route on an open session in
// messages per second and against memory (go test -run TestRouteFigures
// -v -figures).
package sqlite
