package lifecycle

import (
	"context"
	"time"

	"github.com/botlife/botlife/roles"
)

// Store keeps rows: bots with the rows the core computed for them, role
// assignments, schedules, sessions and the audit log. It decides no rule.
// The Manager is its only writer: every change is a Commit of a Plan that
// Decide made, or a session step that DecideRoute, DecideClose or
// SessionAt decided. Implementations must be safe for concurrent use and
// must pass the conformance suite in package storetest (storetest.Run, and
// storetest.RunParity against the memory store).
//
// Workspaces (R27) are a key: every row is stored under the workspace of
// the plan or call that wrote it (Plan.Workspace, or the ws argument), and
// every read, key and uniqueness check includes it - a bot, schedule,
// session or role of another workspace is not found. Sequence numbers (audit
// entries, schedules, sessions) count per workspace, gap-free within it.
// Senders are keyed by workspace too, and a real sender (not
// Sender.IsTest) is claimed by one workspace at a time.
//
// Reads return copies: changing a returned value never changes the store.
// A method given a limit reads or closes up to limit, and nothing for a
// limit of zero or below - never "no limit" (storetest LimitsNotPositive).
// No method may cost time that grows with history - bots that once used a
// sender, closed sessions, the audit log's length - or with open sessions:
// each costs what it reads or returns. See "Implementing your own Store" in
// the package documentation.
type Store interface {
	// Commit applies every change, role change, schedule change and audit
	// entry of p atomically, or none of them (R15), and returns the audit
	// entries as stored, with their sequence numbers (the next ones of its
	// workspace, gap-free). A change stores its bot (After, as a document) and
	// the rows Change.Rows and Change.Due give.
	//
	// It refuses p with an error wrapping ErrConflict, and changes nothing,
	// when a change's Revision differs from the stored bot's (0: the bot
	// must not exist), when a schedule change's Revision differs from the
	// stored schedule's (0: it must not exist), when a role change's From
	// differs from the stored roles, when two bots would hold the same slot
	// of one sender (SenderRow.Slot: R1, R2), or when no user would hold
	// Admin where one did (P2) - even if the plan asks for it.
	//
	// Every row of p is stored in p.Workspace, and its audit entries take
	// that workspace's next sequence numbers. It refuses p with a
	// *ClaimError (ErrSenderClaimed), and changes nothing, when a row names
	// a real sender that a bot of another workspace names (R27); a sender is
	// free again once no bot of its workspace names it.
	Commit(ctx context.Context, p Plan) ([]AuditEntry, error)

	// Bot returns the bot with id, or an error wrapping ErrNotFound. Every
	// bot a store returns carries, in Bot.OpenActivations, the activations
	// of the bot that have a session recorded open, read with the bot: a
	// read that costs those groups of sessions, never every session.
	Bot(ctx context.Context, ws Workspace, id BotID) (Bot, error)
	// Bots returns up to limit bots with ids greater than after, sorted by
	// id.
	Bots(ctx context.Context, ws Workspace, after BotID, limit int) ([]Bot, error)
	// SenderBots reads the rows of senders. It returns the bots holding a
	// slot (SenderRow.Slot) on any of them, sorted by id - at most two per
	// sender (R1, R2) - and, when except is not empty, the bot other than
	// except whose row on one of them has the latest LeftActive (ties: the
	// smaller id), or nil: the bot a rollback goes back to (R20). Its cost
	// must not grow with the bots that ever used the senders.
	SenderBots(ctx context.Context, ws Workspace, senders []Sender, except BotID) (live []Bot, last *Bot, err error)
	// Due returns up to limit bots whose Change.Due is not after now,
	// earliest first (ties: smaller id), and up to limit pending schedules
	// whose At is not after now, by At then Seq: what ExpireDue settles.
	// Its cost is what it returns.
	Due(ctx context.Context, ws Workspace, now time.Time, limit int) (Due, error)

	// Roles returns the roles of user - the empty set for a user the store
	// does not know (P3) - and how many users hold Admin (P2).
	Roles(ctx context.Context, ws Workspace, user string) (rs roles.Set, admins int, err error)

	// AuditLog returns up to limit entries with Seq greater than after, in
	// Seq order. Entries become visible in Seq order: once it has returned
	// Seq n, no entry below n appears later (R24). A store may also
	// implement AuditWaiter, so that watchers need not poll.
	AuditLog(ctx context.Context, ws Workspace, after uint64, limit int) ([]AuditEntry, error)

	// Route routes one message from endUser on sender at now (R10), in one
	// atomic step: it reads the RouteView - the end user's session recorded
	// open on the sender with its bot, and the bot holding the sender's
	// active slot - and applies what DecideRoute decides, provided what it
	// read is unchanged (else it reads again). It returns the session that
	// took the message, or DecideRoute's error. Routing to an open session
	// must not allocate.
	Route(ctx context.Context, ws Workspace, sender Sender, endUser string, now time.Time) (Session, error)
	// CloseSession records the session with id as DecideClose returns it
	// for reason at now, and returns it as recorded; an error wrapping
	// ErrNotFound if there is none.
	CloseSession(ctx context.Context, ws Workspace, id SessionID, reason CloseReason, now time.Time) (Session, error)
	// SweepSessions records up to limit sessions recorded open as SessionAt
	// returns them at now, if they are over, and returns how many it
	// closed. It finds them by comparing columns (NextSessionEnd), at a cost
	// of what is due.
	SweepSessions(ctx context.Context, ws Workspace, now time.Time, limit int) (int, error)
	// Sessions returns up to limit sessions with ids greater than after,
	// sorted by id, as recorded (a session recorded open may be over: see
	// SessionAt). A session is listed only once every session with a
	// smaller id is, so that a reader paging after the last id it saw
	// skips none.
	Sessions(ctx context.Context, ws Workspace, after SessionID, limit int) ([]Session, error)
	// SessionStats returns the session counts per bot and sender, as
	// recorded, sorted by bot, then by sender as text ("channel:address",
	// Sender.String): kept as counters, never counted over every session.
	SessionStats(ctx context.Context, ws Workspace) ([]SessionStats, error)

	// Claimed returns those of senders that a bot of another workspace
	// names (R27), in the order given: what Commit would refuse with a
	// *ClaimError if a bot of ws named them. The Manager asks it when a
	// plan gives a bot a sender, so that a dry run refuses what its
	// commit would (R17).
	Claimed(ctx context.Context, ws Workspace, senders []Sender) ([]Sender, error)

	// Schedule returns the schedule with id, or an error wrapping
	// ErrNotFound.
	Schedule(ctx context.Context, ws Workspace, id ScheduleID) (Schedule, error)
	// Schedules returns up to limit schedules with Seq greater than after,
	// in Seq order (creation order: Commit gives a new schedule the next
	// Seq of its workspace).
	Schedules(ctx context.Context, ws Workspace, after uint64, limit int) ([]Schedule, error)
}

// Due is what Store.Due returns: bots with a drain due and schedules due.
type Due struct {
	Drains    []Bot
	Schedules []Schedule
}

// AuditWaiter is what a Store may implement so that Watch waits for new
// audit entries instead of polling for them (R24).
type AuditWaiter interface {
	// WaitAudit blocks until the log holds an entry with Seq greater than
	// after, and returns nil then (at once if it already does), or returns
	// ctx's error when ctx ends first. A store several processes share
	// should also wake waiters for entries committed elsewhere, or document
	// how to ask for it (store/sqlite: Options.PollOtherProcesses); a
	// waiter it does not wake learns of them at its workspace's next commit
	// through this store, or when ctx ends.
	WaitAudit(ctx context.Context, ws Workspace, after uint64) error
}
