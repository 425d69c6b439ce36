// Package lifecycle runs the lifecycle of chatbots that share messaging
// senders: the states a bot moves through, the rules that keep one bot
// Active per sender, grace periods that let old conversations finish, and
// the routing of each inbound message to the right bot.
//
// # Start here
//
// [New] makes a [Manager] over a [Store] (store.NewMemory, sqlite.Open or
// postgres.Open); [Manager.GrantRole] as [System] makes the first user;
// [Manager.Create] makes a Draft bot on its senders; [Manager.Activate]
// validates and puts it live ([Grace] or [Immediate] when another bot holds
// a sender); [Manager.Route] sends each inbound message to the bot that
// serves it (running that bot's dialog is the service's: it reads the bot
// from its Store, and ends the conversation with [Manager.CloseSession]);
// [Manager.ExpireDue], called now and then or by [Manager.Run], settles what
// fell due.
// The examples show each step, each a whole program: New (start here),
// WarningsError (acknowledging warnings), Manager.Activate (replacing a
// live bot with a grace period), Manager.Route, Manager.Deactivate (with a
// grace period), Manager.Rollback, Manager.Schedule, Manager.OpenTestSession
// (trying a Draft), Manager.Workspace (many customers), Manager.Watch and
// Policy (a format of your own). The rest of this page is the model behind
// them.
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
// The transitions are one table (see [Next]); looplab/fsm draws it, and a
// test keeps this drawing equal to the table:
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
// A bot is also live per sender (R22): on each of its senders it is Active,
// draining (with that sender's own deadline) or off, as [Bot.Live] lists.
// [Deactivate] and [Activate] may name some of its senders; the bot's own
// state follows - Active while Active on any sender, Deactivated while it
// only drains, Inactive on none - and still moves only by the table above.
// Each sender moves by its own table (the README draws it); R1 and R2 hold
// per sender.
//
// Activation and deactivation may be scheduled for an instant
// ([Manager.Schedule], R23): [Manager.ExpireDue] runs a due [Schedule] as
// the user who made it, with that user's roles then, and records the
// outcome on it and in the audit log.
//
// A bot's [Definition] is the hosting service's own document: a format name
// and the text, stored, copied, exported and imported byte for byte and
// never read here (R25). The [Policy]'s [validate.Checker] reads it.
//
// Activating a bot validates its definition first (errors block; warnings
// block unless acknowledged with an [Ack]). If another bot is Active on one
// of its senders, the request must carry a [Decision]: [Immediate] takes the
// old bot offline now, [Grace] lets it drain. A newer drain ends an older
// one on the same sender. Deactivating a bot takes every other bot on the
// senders it leaves offline too. Live bots are never edited: to change one,
// duplicate it, edit the copy and activate the copy.
//
// # One decider
//
// [Decide] is the only place any rule is decided. Given a [Snapshot] (who
// asks, with which roles, and the stored bots the command may touch), a
// [Command] and the time, it returns a [Plan] - every bot change with the
// revision it expects, every role change, every audit entry, the
// validation report, the senders that go dark - or an *[Error]. It checks
// the actor's permission first (P1; a refusal is a plan holding only the
// audit entry that records it), limits what the system may do (R19),
// refuses bad text (R21), asks the transition table for every state check,
// validates exactly the bot it activates with the [Policy]'s checker, and
// decides replacements, cascades and rollbacks. It reads no clock, draws no
// id, does no I/O and starts no goroutines.
//
// Each command is one type in a file of its own (cmd_activate.go, ...): its
// fields, the reads it declares, and its decision. [ReadSnapshot] reads what
// a command declares - the bot it names, the live bots on its senders, for a
// rollback the bot Active last there - and never every bot that ever used a
// sender.
//
// The [Manager] does I/O only: it draws ids for new bots, reads the
// snapshot, calls Decide, commits the plan atomically and, when the Store
// answers [ErrConflict], decides again a bounded number of times.
//
// # Implementing your own Store
//
// A [Store] keeps rows and decides nothing: rows, not rules. Each change of
// a plan carries what to keep of its bot, computed here: [Change.Rows], one
// [SenderRow] per sender (the slot the bot holds there, its activation, a
// drain's deadline, when it left Active), and [Change.Due]. The store
// guards what a database guards (revisions, at most one bot per slot of a
// sender for R1 and R2, an Admin left for P2) and answers reads by key or
// by comparing those columns. Sessions are decided here too: a store reads
// a [RouteView] and applies what [DecideRoute] returns (which refuses a
// sender or end user that is not an id, R21, before a session opens),
// closes with [DecideClose], and sweeps what [SessionAt] finds over,
// ordered by [NextSessionEnd]. The suite in package storetest proves a
// store.
//
// [Manager.Plan] is a dry run that writes nothing; [Manager.ApplyPlan]
// commits a plan exactly as it was returned, taking effect when it is
// committed, or refuses it as a conflict when the world moved since.
//
// # Time and sessions
//
// Time comes from a [Clock]; nil means real time, and a *clock.Mock from
// github.com/benbjohnson/clock drives tests. Deadlines are data: at a bot's
// grace deadline it stops serving its sessions, as every read and every
// routed message sees, whether or not anything has swept. [SessionAt]
// states the one rule that says when a session is over; [DecideRoute] and
// [DecideClose] apply it too. No transition visits a bot's sessions;
// [Manager.ExpireDue] brings the records in line, in bounded batches, and
// [Manager.Run] calls it on a ticker if you want.
//
// # Workspaces
//
// One store may hold many [Workspace]s, the hosting service's customer
// accounts (R27). [Manager.Workspace] returns a Manager acting in one: its
// operations, reads, routes and watches see and change that workspace
// only, with the roles users hold there. The workspace is a key, not a
// wrapper: the [Snapshot] and the [Plan] name it, every [Store] row and
// read carries it, and an id of another workspace is not found. A real
// sender is claimed by one workspace at a time ([ErrSenderClaimed]). The
// Manager from [New] acts in the default workspace, so a service with one
// customer names none.
//
// # Observability
//
// A [Tracer] in [Config] is called around every operation with its op,
// workspace, outcome and duration - never ids, names or message text - so
// that a service can count, time and trace them (OpenTelemetry, Prometheus)
// without the library depending on either.
//
// # Errors
//
// Every error of Decide and the Manager is an *[Error] with the operation,
// a kind - one of the sentinels ([ErrNotFound], [ErrForbidden],
// [ErrInvalidTransition], [ErrNotEditable], [ErrNotDeletable],
// [ErrSenderOccupied], [ErrValidation], [ErrWarningsNotAcknowledged],
// [ErrNoRollback], [ErrContentChanged], [ErrConflict], [ErrInvalidInput], [ErrNoBot],
// [ErrLastAdmin], [ErrRoleHeld], [ErrRoleNotHeld], [ErrUnknownRole],
// [ErrUnavailable], ...) for errors.Is - and a typed detail ([*StateError],
// [*ScheduleError],
// [*OccupiedError], [*WarningsError], [*ValidationError], [*RollbackError],
// [*ContentChangedError], [*InputError], ...) for errors.As. Refused operations change nothing;
// refusals on permission grounds are written to the audit log.
package lifecycle
