package lifecycle

import (
	"slices"
	"time"

	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// Plan is everything one operation changes, decided by [Decide] before
// anything is stored. A Store commits a plan atomically or not at all (R15);
// a dry run returns the plan without committing it (R17).
type Plan struct {
	Op    Op        `json:"op"`
	Actor Actor     `json:"actor"`
	Time  time.Time `json:"time"`
	// Workspace is the workspace the plan acts in (R27): the Snapshot's.
	// A Store commits every row of the plan in it.
	Workspace Workspace `json:"workspace,omitempty"`
	// Command is the command the plan was decided for, with the ids the
	// Manager drew for it (R17): Manager.ApplyPlan decides it again to
	// check that nothing moved.
	Command Command `json:"-"`
	// Changes are the bots the operation creates, changes or deletes.
	Changes []Change `json:"changes,omitempty"`
	// Roles are the role assignments it changes.
	Roles []RoleChange `json:"roles,omitempty"`
	// Schedules are the schedules it creates or changes (R23).
	Schedules []ScheduleChange `json:"schedules,omitempty"`
	// Audit are the entries it appends (R16). Seq is set by the Store.
	Audit []AuditEntry `json:"audit,omitempty"`
	// Report is the validation report of an activation (R4).
	Report *validate.Report `json:"report,omitempty"`
	// DarkSenders are senders left without an Active bot because an old bot
	// had senders the new one lacks (R14).
	DarkSenders []Sender `json:"dark_senders,omitempty"`
}

// Change is one bot created, changed or deleted by a plan.
type Change struct {
	Bot BotID `json:"bot"`
	// From is the stored state before (0 when the plan creates the bot); To
	// is the state after (Deleted when the plan deletes it).
	From State `json:"from"`
	To   State `json:"to"`
	// Revision is the bot's stored revision the plan was decided on; 0 when
	// the plan creates the bot. The Store refuses the plan with ErrConflict
	// if the stored revision differs.
	Revision uint64 `json:"revision"`
	// After is the bot as the plan stores it; nil when it deletes it.
	After *Bot `json:"after,omitempty"`
}

// RoleChange is one user's roles changed by a plan. The Store refuses the
// plan with ErrConflict if the user's stored roles differ from From.
type RoleChange struct {
	User string    `json:"user"`
	From roles.Set `json:"from"`
	To   roles.Set `json:"to"`
}

// Transition is one bot's move in an audit entry.
type Transition struct {
	Bot  BotID `json:"bot"`
	From State `json:"from"`
	To   State `json:"to"`
}

// AuditEntry records one operation (R16): who, with which roles, did what to
// which bots, when (on the injected clock), and with which grace deadline and
// acknowledged warnings. Refusals on permission grounds are recorded too,
// with Denied set.
type AuditEntry struct {
	// Seq numbers the entries of a workspace, strictly increasing: it, not
	// Time, orders the log.
	Seq uint64 `json:"seq"`
	// Time is the clock's reading when the operation was decided. If the
	// clock steps back (an NTP correction), a later entry carries an
	// earlier time; nothing is refused for that, since a service must keep
	// working, and deadlines stay what they were decided as.
	Time   time.Time `json:"time"`
	Actor  string    `json:"actor"`
	System bool      `json:"system,omitempty"`
	// Roles are the actor's roles at the time.
	Roles  roles.Set `json:"roles"`
	Action Op        `json:"action"`
	// Denied marks the refusal of an operation on permission grounds
	// (R16). Its entry names what the operation named - Bot, User and Role,
	// or Schedule - where that is an id (R21), so that the log says who
	// tried what on what.
	Denied bool `json:"denied,omitempty"`
	// Bot is, in a denied entry, the bot the refused operation named (for
	// a Create or Import, the id the new bot would have had; for a
	// Duplicate, the bot copied). Entries of operations that ran name
	// their bots in Transitions.
	Bot BotID `json:"bot,omitempty"`
	// Transitions lists every bot the operation moved, created or deleted.
	Transitions []Transition `json:"transitions,omitempty"`
	// Senders lists every move of a bot on one of its senders (R22).
	Senders       []SenderTransition `json:"senders,omitempty"`
	GraceDeadline time.Time          `json:"grace_deadline,omitzero"`
	// Acknowledged lists the codes of the warnings the activation overrode.
	Acknowledged []string `json:"acknowledged,omitempty"`
	// User and Role describe a role change.
	User string     `json:"user,omitempty"`
	Role roles.Role `json:"role,omitempty"`
	// Reason is the system's reason, or why the operation was denied or a
	// schedule refused.
	Reason string `json:"reason,omitempty"`
	// Schedule names the schedule the entry made, canceled or ran (R23).
	Schedule ScheduleID `json:"schedule,omitempty"`
	// Test says which test session the entry opened or closed (R26).
	Test *TestSessionAudit `json:"test,omitempty"`
}

// Bot returns the bot as the plan leaves it, if the plan creates or changes
// it.
func (p *Plan) Bot(id BotID) (Bot, bool) {
	for _, c := range p.Changes {
		if c.Bot == id && c.After != nil {
			return *c.After, true
		}
	}
	return Bot{}, false
}

// Check reports a malformed plan - a bot, schedule or user's roles changed
// twice, a bot naming a sender twice, a change whose After does not match
// its bot and target state, or one that deletes a bot with Revision 0 - as
// an error wrapping ErrInvalidInput. Decide never makes one; stores call
// Check before applying a plan that may have been built by hand.
func (p *Plan) Check() error {
	seen := make(map[BotID]bool, len(p.Changes))
	for _, c := range p.Changes {
		if seen[c.Bot] {
			return &InputError{Field: "plan", Value: shown(string(c.Bot)), Problem: "changes the same bot twice"}
		}
		seen[c.Bot] = true
		if (c.After == nil) != (c.To == Deleted) || (c.After != nil && (c.After.ID != c.Bot || c.After.State != c.To)) {
			return &InputError{Field: "plan", Value: shown(string(c.Bot)), Problem: "has a change whose After does not match its bot and target state"}
		}
		if c.After == nil && c.Revision == 0 {
			// Revision 0 reads "the bot must not exist": a delete reads the
			// revision it deletes, or a store would delete nothing (or crash).
			return &InputError{Field: "plan", Value: shown(string(c.Bot)), Problem: "deletes a bot without the revision it read (Revision 0)"}
		}
		if c.After != nil && namesTwice(c.After.Senders) {
			return &InputError{Field: "plan", Value: shown(string(c.Bot)), Problem: "has a bot that names a sender twice"}
		}
		if c.After != nil && !c.After.liveConsistent() {
			return &InputError{Field: "plan", Value: shown(string(c.Bot)), Problem: "has a bot whose senders' states (Live) do not match its state, senders or grace deadline (R22)"}
		}

	}
	scheds := make(map[ScheduleID]bool, len(p.Schedules))
	for _, c := range p.Schedules {
		id := c.After.ID
		switch {
		case scheds[id]:
			return &InputError{Field: "plan", Value: shown(string(id)), Problem: "changes the same schedule twice"}
		case checkID("schedule id", string(id)) != nil || !c.After.Status.valid() || c.After.Revision != c.Revision+1:
			return &InputError{Field: "plan", Value: shown(string(id)), Problem: "has a schedule change without a valid id and status, or whose revision is not the one after the one it read"}
		}
		scheds[id] = true
	}
	// Each role change reads the user's roles as stored and says what they
	// become: a second change of one user could not read what the first
	// left, and the stores would count the Admins apart (P2).
	users := make(map[string]bool, len(p.Roles))
	for _, rc := range p.Roles {
		if users[rc.User] {
			return &InputError{Field: "plan", Value: shown(rc.User), Problem: "changes the roles of the same user twice"}
		}
		users[rc.User] = true
	}
	return nil
}

// namesTwice reports whether a sender appears twice in ss: a store keeps
// one row per bot and sender (Change.Rows).
func namesTwice(ss []Sender) bool {
	if slices.IsSortedFunc(ss, Sender.compare) { // as Decide keeps them
		for i := 1; i < len(ss); i++ {
			if ss[i] == ss[i-1] {
				return true
			}
		}
		return false
	}
	seen := make(map[Sender]bool, len(ss))
	for _, s := range ss {
		if seen[s] {
			return true
		}
		seen[s] = true
	}
	return false
}
