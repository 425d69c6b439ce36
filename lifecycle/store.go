package lifecycle

import (
	"context"
	"time"

	"github.com/botlife/botlife/roles"
)

// Store keeps bots, role assignments, the audit log and sessions. The
// Manager is its only writer; every write is a Commit of a Plan, or a
// session operation. Implementations must be safe for concurrent use, and
// must pass the conformance suite in package storetest.
//
// Reads return copies: changing a returned value never changes the store.
type Store interface {
	BotStore
	RoleStore
	AuditStore
	SessionStore
	ScheduleStore

	// Commit applies every change, role change, schedule change and audit
	// entry of p atomically, or none of them (R15). It returns the audit entries as
	// stored, with their sequence numbers.
	//
	// It refuses p with an error wrapping ErrConflict, and changes nothing,
	// when a change's Revision differs from the stored bot's (0: the bot
	// must not exist), when a schedule change's Revision differs from the
	// stored schedule's (0: it must not exist), when a role change's From differs from the stored
	// roles, or when applying p would leave two Active or two Deactivated
	// bots on one sender (R1, R2, counted per sender by Bot.Live) or no Admin where there was one (P2) -
	// even if the plan asks for it.
	Commit(ctx context.Context, p Plan) ([]AuditEntry, error)
}

// BotStore reads bots. Every bot it returns carries, in
// Bot.OpenActivations, the activations of the bot that have a session
// recorded open, read after (or with) the bot itself: Decide keeps the ends
// those sessions need and drops the rest (R9). That read must cost what
// it returns - the groups of open sessions by sender and activation - never
// a visit of every open session, and should add no round trip.
type BotStore interface {
	// Bot returns the bot with id, or an error wrapping ErrNotFound.
	Bot(ctx context.Context, id BotID) (Bot, error)
	// LiveBots returns the bots live on any of the senders - Active or
	// draining there (Bot.Live, R22) - sorted by id. R1 and R2 bound the answer to two bots
	// per sender: its cost must not grow with the bots that used the senders
	// before (no operation may cost O(history)).
	LiveBots(ctx context.Context, senders []Sender) ([]Bot, error)
	// LastActive returns the bot other than except that has any of the
	// senders, was activated at least once, is not stored Active, and left
	// Active last: the greatest DeactivatedAt, ties broken by the smaller id.
	// It returns an error wrapping ErrNotFound when there is none. It is what
	// Rollback reads (R20); its cost must not grow with the number of bots
	// that ever used the senders.
	LastActive(ctx context.Context, senders []Sender, except BotID) (Bot, error)
	// Bots returns up to limit bots with ids greater than after, sorted by
	// id.
	Bots(ctx context.Context, after BotID, limit int) ([]Bot, error)
	// DueDrains returns up to limit bots with a drain whose grace deadline
	// is not after now (Bot.GraceDeadline, the earliest of its drains; the
	// bot may still be Active on other senders, R22), earliest deadline
	// first.
	DueDrains(ctx context.Context, now time.Time, limit int) ([]Bot, error)
}

// RoleStore reads role assignments.
type RoleStore interface {
	// UserRoles returns the roles of user; the empty set for a user the
	// store does not know (P3).
	UserRoles(ctx context.Context, user string) (roles.Set, error)
	// RoleAssignments returns every user holding at least one role, sorted
	// by user.
	RoleAssignments(ctx context.Context) ([]RoleAssignment, error)
}

// RoleAssignment is the roles one user holds.
type RoleAssignment struct {
	User  string    `json:"user"`
	Roles roles.Set `json:"roles"`
}

// AuditStore reads the audit log.
type AuditStore interface {
	// AuditLog returns up to limit entries with Seq greater than after, in
	// Seq order.
	AuditLog(ctx context.Context, after uint64, limit int) ([]AuditEntry, error)
	// WaitAudit blocks until the log holds an entry with Seq greater than
	// after, and returns nil then (at once if it already does), or returns
	// ctx's error when ctx ends first. It is how watchers follow the log
	// (R24): a store wakes waiters when it commits, and a store shared by
	// several processes also wakes them for entries committed elsewhere.
	// Entries become visible in Seq order: once AuditLog has returned Seq n,
	// no entry below n appears later.
	WaitAudit(ctx context.Context, after uint64) error
}

// SessionStore keeps sessions. Sessions are many and bots are few: no store
// operation on a bot may cost time proportional to its sessions, so a
// session's end is decided by [SessionEnd] when it is next read, routed or
// swept, never by visiting every session when a bot changes state.
type SessionStore interface {
	// Route routes one inbound message from endUser on sender at now, in one
	// atomic step (R10):
	//   - if the end user has a session recorded open on the sender and
	//     SessionEnd says it is not over, the session takes the message:
	//     LastActivityAt = now, Messages + 1;
	//   - otherwise any such session is recorded closed as SessionEnd says,
	//     and if a bot is Active on the sender a new session opens on it
	//     (Activation = the bot's SenderState.Activation there, Messages = 1);
	//   - otherwise it returns an error wrapping ErrNoBot.
	// It returns the session that took the message. Routing to an existing
	// session must not allocate.
	Route(ctx context.Context, sender Sender, endUser string, now time.Time) (Session, error)
	// Session returns the session with id as recorded, or an error wrapping
	// ErrNotFound.
	Session(ctx context.Context, id SessionID) (Session, error)
	// CloseSession records the session closed at now with reason, unless it
	// is already recorded closed or SessionEnd says it is over (then it is
	// recorded closed as SessionEnd says). It returns the session as
	// recorded.
	CloseSession(ctx context.Context, id SessionID, reason CloseReason, now time.Time) (Session, error)
	// SweepSessions records closed, as SessionEnd says, up to limit sessions
	// recorded open that are over at now, and returns how many it closed.
	SweepSessions(ctx context.Context, now time.Time, limit int) (int, error)
	// Sessions returns up to limit sessions with ids greater than after,
	// sorted by id, as recorded (a session recorded open may be over: see
	// SessionEnd).
	Sessions(ctx context.Context, after SessionID, limit int) ([]Session, error)
	// SessionStats returns the session counts per bot and sender, as
	// recorded, sorted by bot then sender.
	SessionStats(ctx context.Context) ([]SessionStats, error)
}

// ScheduleStore keeps schedules (R23). Commit stores them: a new schedule
// gets the next Seq of the store, so that Seq is creation order.
type ScheduleStore interface {
	// Schedule returns the schedule with id, or an error wrapping
	// ErrNotFound.
	Schedule(ctx context.Context, id ScheduleID) (Schedule, error)
	// Schedules returns up to limit schedules with Seq greater than after,
	// in Seq order.
	Schedules(ctx context.Context, after uint64, limit int) ([]Schedule, error)
	// DueSchedules returns up to limit pending schedules whose At is not
	// after now, by At then Seq. Its cost must be that of what it returns,
	// not of every schedule ever made.
	DueSchedules(ctx context.Context, now time.Time, limit int) ([]Schedule, error)
}
