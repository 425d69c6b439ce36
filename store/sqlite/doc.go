// Package sqlite is a lifecycle.Store in one SQLite file, for services
// that run botlife in one process (or a few on one machine) and want their
// bots, roles, audit log, sessions and schedules to survive a restart
// without running a database server. It uses modernc.org/sqlite: pure Go,
// no cgo, so `go build` needs no C toolchain.
//
//	st, err := sqlite.Open(ctx, "botlife.db")
//	if err != nil {
//		return err
//	}
//	defer st.Close()
//	m, err := lifecycle.New(lifecycle.Config{Store: st})
//
// It passes storetest.Run and storetest.RunParity against the memory store
// under each durability setting.
//
// # How it keeps the rules
//
// It keeps rows and decides no rule: every fact it stores or compares is
// computed by the core (Change.Rows, Change.Due), and every session step
// is decided there (DecideRoute, DecideClose, SessionAt, NextSessionEnd).
// R1 and R2 are unique indexes on the slot of bot_senders per sender, so a
// commit that would put two bots in one slot fails with ErrConflict from
// any process. Commit applies a plan in one write transaction (BEGIN
// IMMEDIATE, R15); SQLite has one writer at a time, so the audit log's and
// the schedules' sequence numbers (max + 1 in that transaction) are
// gap-free and in creation order (R16, R23, R24). Reads are by key or by
// comparing columns through an index (TestQueryPlansUseIndexes): no
// operation costs time in proportion to history or to the open sessions,
// and SessionStats reads counters that triggers keep. A message to a
// session still served is one UPDATE statement.
//
// A database busy beyond Options.BusyTimeout, a full disk or an unreadable
// file wrap lifecycle.ErrUnavailable; a constraint the database enforces
// is lifecycle.ErrConflict. Text is stored byte for byte (R21); times come
// back as the same instant in UTC, and an instant outside the years 1678
// to 2262 is lifecycle.ErrInvalidInput.
//
// # Durability
//
// The file is in WAL mode; Options.Synchronous says which writes are
// synced to disk before they return. A crash of the process (SIGKILL,
// panic, OOM kill) loses nothing acknowledged under any setting, and the
// file is never corrupted or half-applied (TestCrash kills a writer
// mid-stream under each). A power cut or an operating system crash:
//
//   - SyncCommits (the default) loses at most the messages routed to open
//     sessions since the last synced write or checkpoint: those sessions
//     come back with fewer Messages and an older LastActivityAt (so may end
//     as idle that much sooner). Every bot change, role, schedule, audit
//     entry and session opened or closed is synced, and syncing it syncs
//     the messages before it. It is SQLite's own recommendation, WAL with
//     synchronous=NORMAL, for the writes that are soft state only.
//   - SyncFull loses nothing acknowledged; every message then waits for a
//     sync of the log, milliseconds on most disks.
//   - SyncNormal may lose the last writes of any kind, whole and in order;
//     audit sequence numbers may then be given again, and a Watch resuming
//     from a lost one skips the entry that reuses it.
//
// # Schema versions
//
// Open brings a file to the latest schema, each migration in its own write
// transaction, and refuses a file of a newer version. Version 2 (R22, R23)
// kept a bot's state per sender and added schedules; version 3 keeps rows,
// not rules: slots replace the per-sender states. Every row is kept
// (TestMigrateFromV1, TestMigrateFromV2).
//
// # Several processes on one file
//
// Any number of processes on one machine may open the same file (not over
// a network file system). Commits serialise on SQLite's write lock, R1 and
// R2 hold across them, and any process may run ExpireDue. WaitAudit wakes
// at once for commits made through the same Store; other processes'
// entries wake nobody unless Options.PollOtherProcesses sets an interval.
// Do not open one file through two Stores in one process, nor hold the
// write lock from outside botlife longer than BusyTimeout (use the online
// backup API or VACUUM INTO).
//
// # Benchmarks
//
// bench_test.go measures Route, ActivateReplace and ExpireDue under each
// durability setting beside the memory store in the same run (go test -run
// '^$' -bench . -benchtime 200x -count 3); TestRouteFigures prints Route on
// an open session as messages per second and a ratio to the memory store
// (go test -run TestRouteFigures -v -figures).
package sqlite
