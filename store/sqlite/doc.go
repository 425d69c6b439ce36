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
// It passes the storetest conformance suite and the store-parity test
// against the memory store (storetest.RunParity).
//
// # How it keeps the rules
//
// It keeps rows and decides no rule: every fact it stores or compares is
// computed by the core, and every session step is decided there.
//
//   - A bot is its document (bots.doc, decoded through lifecycle.Upgrade,
//     so a document of an older version reads as this one keeps it), its
//     revision, its idle timeout and its due column (lifecycle.Change.Due).
//     bot_senders holds the bot's lifecycle.SenderRow on each of its
//     senders as Change.Rows gives it: slot ('active', 'draining' or NULL),
//     activation, serves_until, left_active. The store never reads a
//     bot's state.
//   - R1 and R2 are unique indexes on the slot per sender (WHERE slot =
//     'active', WHERE slot = 'draining'): a commit that would put two bots
//     in one slot fails with lifecycle.ErrConflict, whatever the plan says,
//     from any process. P2 is the Admins counted before and after the
//     role changes, through an index on them.
//   - R15: Commit applies a plan in one write transaction (BEGIN
//     IMMEDIATE), comparing every expected revision (of bots and
//     schedules) and role in it. SQLite has one writer at a time, so
//     commits are serialised, and the audit log's and the schedules'
//     sequence numbers (max + 1 inside that transaction) are gap-free and
//     in creation order (R16, R23, R24).
//   - Reads are by key or by comparing columns: SenderBots looks up the
//     rows holding a slot on each sender and the one with the latest
//     left_active (ties: the smaller id); Due walks the index on bots.due
//     and the one on the pending schedules by (at, seq). Every bot read
//     gives its Bot.OpenActivations (R9) by a walk of the index of open
//     sessions, one lookup per sender and activation with a session open.
//   - Route costs one statement for a message to a session still served:
//     an UPDATE whose WHERE compares the columns the core wrote for the
//     bot's row on the session's sender (slot, activation, serves_until)
//     and the idle timeout with last_activity_at. Otherwise one write
//     transaction reads the lifecycle.RouteView and records the step
//     lifecycle.DecideRoute returns - the session continued, or the old
//     one closed and a new one numbered by the store - and nothing changes
//     in between, since it holds the write lock. CloseSession records what
//     lifecycle.DecideClose returns.
//   - SweepSessions finds its candidates by comparing columns, group by
//     group (one activation of one bot on one sender, found through the
//     session counts): every open session of a group whose bot's row no
//     longer serves that activation, else those idle by last_activity_at,
//     least recently active first; it records each as lifecycle.SessionAt
//     returns it and stops at the first still open. It costs the sessions
//     it closes plus the groups with open sessions; SessionStats reads
//     counters that triggers keep. No operation costs time in proportion
//     to history or to the open sessions.
//   - Durability: the file is in WAL mode with synchronous=FULL by default
//     (Options.Synchronous): an acknowledged commit survives a crash of the
//     process or the machine and a power cut. SyncNormal survives a crash
//     of the process, never half-applied, but may lose the last commits
//     when the machine fails; SyncCommits syncs commits and not session
//     writes. The crash tests kill a writer with SIGKILL mid-stream and
//     check that every acknowledged write is there.
//   - Errors: a database busy beyond Options.BusyTimeout, a full disk or
//     an unreadable file wrap lifecycle.ErrUnavailable; a constraint the
//     database enforces is lifecycle.ErrConflict. Text is stored byte for
//     byte (R21); times come back as the same instant in UTC, and an
//     instant outside the years 1678 to 2262 is lifecycle.ErrInvalidInput.
//
// # Write-behind of session activity
//
// By default every message to an open session is a write transaction.
// Options.ActivityFlush (MinActivityFlush to MaxActivityFlush; one second
// is a good start) keeps that activity - Messages and LastActivityAt - in
// memory instead: Route applies lifecycle.DecideRoute to the cached
// session and a cached copy of its bot, and a goroutine writes the
// sessions that changed in one transaction every ActivityFlush; Close
// writes the rest, FlushActivity on demand. A Commit drops the copies of
// the bots it changes; CloseSession, SweepSessions and a Route that closes
// or opens a session write the activity they depend on in their own
// transaction and decide as without write-behind; Sessions and
// SessionStats write it first (a page of one session is answered from
// memory). Within the process every answer is the one write-through
// gives: storetest.Run and the parity test run with and without it.
//
// What a user gives up, and only this: a crash loses the activity of up
// to the last ActivityFlush (open sessions come back with fewer Messages
// and an older LastActivityAt, and so end as idle up to ActivityFlush
// early) - never a session opened or closed, a bot, role, schedule or
// audit entry (TestCrashWriteBehind). Another process on the file sees
// this one's activity up to ActivityFlush old, and this one sees the
// other's changes to the sessions it caches at its next flush (PRAGMA
// data_version); R1, R2 and R15 hold across processes as always. Keep
// ActivityFlush far below the shortest idle timeout when another process
// sweeps the file.
//
// # Schema versions
//
// Open brings a file to the latest schema, each migration in its own write
// transaction, and refuses a file of a newer version. Version 2 (R22,
// R23) kept a bot's state per sender and added schedules. Version 3 keeps
// rows, not rules: the slots replace the per-sender states (the last read
// of a state number), the bots lose the copies of their state and fields
// that no read needs, due and an index on the Admins are added. Bots,
// sessions, schedules, audit entries and roles are kept as they were
// (TestMigrateFromV1, TestMigrateFromV2).
//
// # Several processes on one file
//
// Any number of processes on one machine may open the same file (not over
// a network file system). Every operation works from each: commits
// serialise on SQLite's write lock, R1 and R2 hold across them, revisions
// conflict as within one process, and any process may run ExpireDue.
// WaitAudit wakes at once for commits made through the same Store;
// entries committed by another process are in the audit log, in Seq order
// and gap-free, but wake nobody unless Options.PollOtherProcesses sets an
// interval. Do not open one file through two Stores in one process, nor
// hold the write lock from outside botlife for longer than BusyTimeout
// (use the online backup API or VACUUM INTO).
//
// # Benchmarks
//
// bench_test.go measures Route on an existing session and opening one,
// ActivateReplace and ExpireDue, for each durability setting, with and
// without write-behind, beside the memory store in the same run:
//
//	go test -run '^$' -bench . -benchtime 200x -count 3
//
// BenchmarkHistoryActivate and BenchmarkHistoryExpireDue report the ratio
// of an operation's time with much history to its time with little: about
// 1. TestRouteFigures (-figures) prints Route on an existing session per
// store as a ratio to the memory store. Written through, a message costs
// at least SQLite's cheapest write transaction (tens of µs with
// SyncNormal, a sync of the log per message with SyncFull); write-behind
// takes the write out of the message (about 1.2× the memory store).
package sqlite
