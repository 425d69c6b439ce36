package storetest

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// The reads the suite makes through a Store's 15 row operations.

// session reads the session with id as the Manager does: the first of
// Sessions after id-1.
func session(ctx context.Context, st lifecycle.Store, ws lifecycle.Workspace, id lifecycle.SessionID) (lifecycle.Session, error) {
	if id > 0 {
		out, err := st.Sessions(ctx, ws, id-1, 1)
		if err != nil {
			return lifecycle.Session{}, err
		}
		if len(out) == 1 && out[0].ID == id {
			return out[0], nil
		}
	}
	return lifecycle.Session{}, &lifecycle.NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
}

// liveBots reads the bots holding a slot on senders.
func liveBots(ctx context.Context, st lifecycle.Store, ws lifecycle.Workspace, senders []lifecycle.Sender) ([]lifecycle.Bot, error) {
	live, _, err := st.SenderBots(ctx, ws, senders, "")
	return live, err
}

// noBot is an id no bot of the suite has: SenderBots' except when any bot
// will do.
const noBot lifecycle.BotID = "no-such-bot"

// lastActive reads the bot a rollback goes back to on senders (R20), or an
// error wrapping ErrNotFound.
func lastActive(ctx context.Context, st lifecycle.Store, ws lifecycle.Workspace, senders []lifecycle.Sender, except lifecycle.BotID) (lifecycle.Bot, error) {
	if except == "" {
		except = noBot
	}
	_, last, err := st.SenderBots(ctx, ws, senders, except)
	if err != nil {
		return lifecycle.Bot{}, err
	}
	if last == nil {
		return lifecycle.Bot{}, &lifecycle.NotFoundError{Kind: "bot", ID: "that was Active before on these senders"}
	}
	return *last, nil
}

func dueDrains(ctx context.Context, st lifecycle.Store, ws lifecycle.Workspace, now time.Time, limit int) ([]lifecycle.Bot, error) {
	d, err := st.Due(ctx, ws, now, limit)
	return d.Drains, err
}

func dueSchedules(ctx context.Context, st lifecycle.Store, ws lifecycle.Workspace, now time.Time, limit int) ([]lifecycle.Schedule, error) {
	d, err := st.Due(ctx, ws, now, limit)
	return d.Schedules, err
}

// roleAssignments reads the roles of every user the audit log names (as
// actor or as the user of a role change), sorted by user: those holding a
// role.
func roleAssignments(ctx context.Context, st lifecycle.Store, ws lifecycle.Workspace) ([]roleAssignment, error) {
	log, err := st.AuditLog(ctx, ws, 0, 1<<30)
	if err != nil {
		return nil, err
	}
	users := map[string]bool{}
	for _, e := range log {
		users[e.User], users[e.Actor] = true, true
	}
	return rolesOf(ctx, st, ws, users)
}

// roleAssignment is the roles one user holds.
type roleAssignment struct {
	User  string    `json:"user"`
	Roles roles.Set `json:"roles"`
}

// rolesOf reads the roles of users, sorted by user: those holding a role.
func rolesOf(ctx context.Context, st lifecycle.Store, ws lifecycle.Workspace, users map[string]bool) ([]roleAssignment, error) {
	out := []roleAssignment{}
	for u := range users {
		if u == "" {
			continue
		}
		rs, _, err := st.Roles(ctx, ws, u)
		if err != nil {
			return nil, err
		}
		if !rs.Empty() {
			out = append(out, roleAssignment{User: u, Roles: rs})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out, nil
}

// needWaiter skips the case for a store that does not implement
// lifecycle.AuditWaiter: it is optional (watchers poll AuditLog then), and
// the cases that call waitAudit test only it.
func (h *harness) needWaiter() {
	if _, ok := h.st.(lifecycle.AuditWaiter); !ok {
		h.t.Skip("the store does not implement lifecycle.AuditWaiter (optional)")
	}
}

// waitAudit is the store's WaitAudit (R24); a case that calls it starts
// with needWaiter.
func waitAudit(ctx context.Context, st lifecycle.Store, ws lifecycle.Workspace, after uint64) error {
	return st.(lifecycle.AuditWaiter).WaitAudit(ctx, ws, after)
}

func userRoles(ctx context.Context, st lifecycle.Store, ws lifecycle.Workspace, user string) (roles.Set, error) {
	rs, _, err := st.Roles(ctx, ws, user)
	return rs, err
}
