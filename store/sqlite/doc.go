// Package sqlite is a lifecycle.Store in one SQLite file, for services
// that run botlife in one process (or a few on one machine) and want their
// bots, roles, audit log, sessions and schedules to survive a restart
// without running a database server. It uses modernc.org/sqlite: pure Go, no cgo, so
// `go build` needs no C toolchain.
//
//	st, err := sqlite.Open(ctx, "botlife.db")
//	if err != nil {
//		return err
//	}
//	defer st.Close()
//	m, err := lifecycle.New(lifecycle.Config{Store: st})
//
// It passes the storetest conformance suite and the store-parity test
// against the memory store (storetest.RunParity).
//
// # How it keeps the rules
//
//   - R1 and R2 are enforced by the database itself, per sender (R22):
//     bot_senders has one row per bot and sender carrying the bot's state
//     ON that sender, from Bot.Live - Active, Deactivated (draining there),
//     or Inactive where the bot is off - with partial unique indexes on the
//     sender for Active rows and for Deactivated rows. A bot Active on one
//     sender and off another takes no room on the second. A commit that
//     would break them fails with lifecycle.ErrConflict, whatever the plan
//     says, from any process.
//   - R15: Commit applies a plan in one write transaction (BEGIN IMMEDIATE),
//     checking every expected revision (of bots and of schedules) and role
//     in it. SQLite has one writer at a time, so commits are serialised,
//     and the audit log's sequence numbers (max + 1 inside that
//     transaction) are gap-free (R16, R24).
//   - R23: schedules are kept whole in the schedules table, with copies of
//     their time, status and revision for lookups. Commit stores a plan's
//     schedule changes in the same transaction, refusing a stale revision
//     with lifecycle.ErrConflict, and numbers a new schedule max(seq) + 1,
//     so Seq is creation order; DueSchedules walks an index on the pending
//     schedules by (at, seq).
//   - Durability: the file is in WAL mode with synchronous=FULL by default
//     (Options.Synchronous): a commit returns only after the write-ahead log
//     is synced to disk, so an acknowledged commit survives a crash of the
//     process or the machine and a power cut. SyncNormal is faster (no sync
//     per commit) and still survives a crash of the process, never
//     half-applied, but may lose the last commits when the machine fails.
//     SyncCommits syncs commits (bots, roles, audit) and not session
//     writes (routes, closes): a middle way for services that route many
//     messages. The crash test kills a writer with SIGKILL mid-stream and
//     checks that every acknowledged write is there.
//   - A busy database (another process holding the write lock longer than
//     Options.BusyTimeout, default 5s), a full disk or an unreadable file
//     give errors wrapping lifecycle.ErrUnavailable; a constraint the
//     database enforces gives lifecycle.ErrConflict. No driver error is
//     returned without one of the library's sentinels.
//   - Text is stored byte for byte (R21): names, ids, addresses and
//     definitions come back exactly as given, invalid UTF-8 and NUL
//     included, and a nil slice stays nil. Times come back as the same
//     instant in UTC; an instant outside the years 1678 to 2262 (Unix
//     nanoseconds in an int64) is refused with lifecycle.ErrInvalidInput.
//   - No operation costs time in proportion to history: LiveBots,
//     LastActive, DueDrains, DueSchedules, Route and the sweeps go through
//     indexes, and SessionStats reads counters that triggers keep.
//     DueDrains finds every bot with a drain on some sender, Active ones
//     included, by its earliest deadline (Bot.GraceDeadline).
//   - Route costs one statement for a message to a session still served:
//     its WHERE clause restates lifecycle.SessionEnd with the activation
//     and grace deadline of the bot's row for the session's sender;
//     otherwise one write transaction closes the old session as
//     lifecycle.SessionEnd says and opens a new one, in the activation the
//     Active bot joined that sender in (SenderState.Activation). The sweeps
//     decide with lifecycle.SessionEnd itself.
//
// # Schema versions
//
// Open brings a file to the latest schema, each migration in its own write
// transaction, and refuses a file of a newer version. Version 2 (R22, R23)
// adds the per-sender activation and deadline to bot_senders, indexes the
// drains of bots in any state, adds the schedules table, and gives the live
// bots of an older file their per-sender states as they were: every sender
// of a live bot in its state, activation and deadline. That reads each live
// bot once; the bots keep routing to the sessions they had.
//
// # Several processes on one file
//
// Any number of processes on one machine may open the same file (not over
// a network file system: SQLite's locks need a local one). What they share
// and what they do not:
//
//   - May: every operation. Commits from all processes serialise on SQLite's
//     write lock, R1 and R2 hold across them (the database refuses the
//     second Active bot on a sender), revisions conflict as within one
//     process, and each process's Manager retries on conflict. Any process
//     may run ExpireDue; two ending the same drain conflict and the loser
//     finds it already Inactive.
//   - May not expect: change events across processes. WaitAudit, and so
//     Manager.Watch, is woken at once by commits made through the same
//     Store; entries committed by another process are in the audit log
//     (AuditLog reads them, in Seq order and gap-free) but wake nobody,
//     unless Options.PollOtherProcesses sets an interval at which
//     waiters also look. A watcher that must follow every process should
//     set it, or read the log from its last Seq when it needs to.
//   - Should not: open one file through two Stores in one process (use one
//     Store; it is safe for concurrent use), or hold the write lock for
//     long from outside botlife (sqlite3 shell, backups: use the online
//     backup API or VACUUM INTO), since writers wait at most BusyTimeout.
//
// # Benchmarks
//
// bench_test.go measures Route on an existing session, Route opening a
// session, ActivateReplace and ExpireDue with 1% of 100k sessions due, for
// this store under each durability setting and for the memory store in the
// same run, so the figures read as ratios:
//
//	go test -run '^$' -bench . -benchtime 200x -count 3
//
// BenchmarkHistoryActivate and BenchmarkHistoryExpireDue report the ratio
// of an operation's time with much history to its time with little (20,000
// old bots on the sender, 20,000 open and closed sessions): about 1. A
// message to an existing session costs one write transaction; with
// SyncFull that includes a sync of the log, which is what bounds it on most
// disks.
package sqlite
