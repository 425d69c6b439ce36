// Package lifecycle runs the lifecycle of chatbots that share messaging
// senders: the states a bot moves through, the rules that keep one bot
// Active per sender, grace periods that let old conversations finish, and
// the routing of each inbound message to the right bot.
//
// # The model
//
// A [Bot] runs on one channel and on one or more [Sender]s of that channel.
// Its [State] is one of:
//
//	Draft        created, imported or duplicated, never activated
//	Active       live: new sessions on its senders go to it (one per sender)
//	Deactivated  draining: serves its open sessions until its grace deadline
//	             (one per sender), gets no new ones
//	Inactive     was live, now offline; its sessions are closed
//
// The transitions are one table, drawn by [Diagram]:
//
//	stateDiagram-v2
//	    [*] --> Draft
//	    Active --> Inactive: deactivate
//	    Active --> Deactivated: drain
//	    Deactivated --> Inactive: end_drain
//	    Draft --> Active: activate
//	    Draft --> Deleted: delete
//	    Draft --> Draft: edit
//	    Inactive --> Active: activate
//	    Inactive --> Inactive: edit
//
// Activating a bot validates its definition first (errors block; warnings
// block unless acknowledged with an [Ack]). If another bot is Active on one
// of its senders, the request must carry a [Decision]: [Immediate] takes the
// old bot offline now, [Grace] lets it drain. A newer drain ends an older
// one on the same sender. Deactivating a bot takes every other bot on its
// senders offline too. Live bots are never edited: to change one, duplicate
// it, edit the copy and activate the copy.
//
// # Pure core, thin shell
//
// [Decide] is the core: given a [Snapshot] of the bots involved, a
// [Command] and the time, it returns a [Plan] - every bot change with the
// revision it expects, every role change, every audit entry - or an error.
// It reads no clock, does no I/O and starts no goroutines.
//
// The [Manager] is the shell: it checks the actor's permission before
// anything else, reads the snapshot from a [Store], validates, decides and
// commits the plan atomically. A Store refuses a plan whose reads are stale,
// or that would leave two Active or two Deactivated bots on a sender, with
// [ErrConflict]; the Manager then decides again, a bounded number of times.
// [Manager.Plan] is a dry run: the same plan, not committed.
//
// # Time and sessions
//
// Time comes from a [Clock]; nil means real time, and a *clock.Mock from
// github.com/benbjohnson/clock drives tests. Deadlines are data: at a bot's
// grace deadline it stops serving its sessions, as every read and every
// routed message sees, whether or not anything has swept. [SessionEnd] is
// the one rule that says when a session is over. No transition visits a
// bot's sessions; [Manager.ExpireDue] brings the records in line, in
// bounded batches, and [Manager.Run] calls it on a ticker if you want.
//
// # Errors
//
// Every error wraps a sentinel ([ErrNotFound], [ErrForbidden],
// [ErrInvalidTransition], [ErrNotEditable], [ErrNotDeletable],
// [ErrSenderOccupied], [ErrValidation], [ErrWarningsNotAcknowledged],
// [ErrConflict], [ErrInvalidInput], [ErrNoBot], [ErrLastAdmin]) for
// errors.Is, inside a typed error ([*StateError], [*OccupiedError],
// [*WarningsError], [*ValidationError], [*InputError], ...) that carries the
// details for errors.As. Refused operations change nothing; refusals on
// permission grounds are written to the audit log.
package lifecycle
