package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

// The cast of every scenario.
var (
	admin      = lifecycle.User("ada") // Admin
	manager    = lifecycle.User("mia") // Manager
	designer   = lifecycle.User("dan") // Designer
	supervisor = lifecycle.User("sue") // Supervisor
	analyzer   = lifecycle.User("al")  // Analyzer
	stranger   = lifecycle.User("eve") // no role
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	t   *testing.T
	ctx context.Context
	clk *clock.Mock
	st  *store.Memory
	m   *lifecycle.Manager
	ids int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	return newEnvPolicy(t, lifecycle.Policy{})
}

// newEnvPolicy is newEnv with a Manager that decides with policy p.
func newEnvPolicy(t *testing.T, p lifecycle.Policy) *env {
	t.Helper()
	e := &env{t: t, ctx: context.Background(), clk: clock.NewMock(), st: store.NewMemory()}
	e.clk.Set(start)
	m, err := lifecycle.New(lifecycle.Config{Store: e.st, Clock: e.clk, Policy: p, NewID: func(lifecycle.Workspace) lifecycle.BotID {
		e.ids++
		return lifecycle.BotID(fmt.Sprintf("bot-%02d", e.ids))
	}})
	if err != nil {
		t.Fatal(err)
	}
	e.m = m
	e.must(e.m.GrantRole(e.ctx, lifecycle.System("bootstrap"), "ada", roles.Admin))
	for user, r := range map[string]roles.Role{"mia": roles.Manager, "dan": roles.Designer, "sue": roles.Supervisor, "al": roles.Analyzer} {
		e.must(e.m.GrantRole(e.ctx, admin, user, r))
	}
	return e
}

func (e *env) must(_ any, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

func sms(addr string) lifecycle.Sender { return lifecycle.Sender{Channel: "sms", Address: addr} }

// cleanDef is valid with no findings on sms.
func cleanDef() lifecycle.Definition { return refDef(cleanRef()) }

// warnDef has exactly one warning (fallback.missing).
func warnDef() lifecycle.Definition { return refDef(warnRef()) }

// refDef is d in the reference format (R25).
func refDef(d validate.Definition) lifecycle.Definition {
	def, err := lifecycle.ReferenceDefinition(d)
	if err != nil {
		panic(err)
	}
	return def
}

// cleanRef is the reference definition of cleanDef.
func cleanRef() validate.Definition {
	return validate.Definition{Channel: "sms", EntryDialog: "hi", FallbackDialog: "help", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello"}, {Type: validate.GoTo, Target: "help"}}},
		{ID: "help", Name: "Help", Elements: []validate.Element{{Type: validate.Transfer, Queue: "q"}}},
	}}
}

// warnRef is the reference definition of warnDef.
func warnRef() validate.Definition {
	d := cleanRef()
	d.FallbackDialog = ""
	return d
}

// draft creates a Draft bot on sms senders as the designer.
func (e *env) draft(name string, addrs ...string) lifecycle.Bot {
	e.t.Helper()
	var ss []lifecycle.Sender
	for _, a := range addrs {
		ss = append(ss, sms(a))
	}
	b, err := e.m.Create(e.ctx, designer, lifecycle.Create{Name: name, Channel: "sms", Senders: ss, Definition: cleanDef()})
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// live creates a bot and activates it as the manager, replacing any occupant
// immediately.
func (e *env) live(name string, addrs ...string) lifecycle.Bot {
	e.t.Helper()
	b := e.draft(name, addrs...)
	e.activate(b.ID, lifecycle.Immediate())
	return e.get(b.ID)
}

func (e *env) activate(id lifecycle.BotID, dec lifecycle.Decision) lifecycle.Plan {
	e.t.Helper()
	p, err := e.m.Activate(e.ctx, manager, id, dec, lifecycle.Ack{})
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) get(id lifecycle.BotID) lifecycle.Bot {
	e.t.Helper()
	b, err := e.m.Get(e.ctx, manager, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func (e *env) state(id lifecycle.BotID) lifecycle.State { return e.get(id).State }

func (e *env) states(ids ...lifecycle.BotID) []lifecycle.State {
	out := make([]lifecycle.State, len(ids))
	for i, id := range ids {
		out[i] = e.state(id)
	}
	return out
}

// dump is everything the store holds except the audit log.
type dump struct {
	Bots      []lifecycle.Bot
	Roles     []lifecycle.RoleAssignment
	Sessions  []lifecycle.SessionStats
	Schedules []lifecycle.Schedule
}

func (e *env) dump() dump {
	e.t.Helper()
	bots, err := e.st.Bots(e.ctx, "", "", 1<<20)
	if err != nil {
		e.t.Fatal(err)
	}
	rs := roleAssignments(e.ctx, e.st)
	ss, _ := e.st.SessionStats(e.ctx, "")
	sc, _ := e.st.Schedules(e.ctx, "", 0, 1<<20)
	return dump{Bots: bots, Roles: rs, Sessions: ss, Schedules: sc}
}

func (e *env) audit() []lifecycle.AuditEntry {
	e.t.Helper()
	log, err := e.st.AuditLog(e.ctx, "", 0, 1<<20)
	if err != nil {
		e.t.Fatal(err)
	}
	return log
}

// refused runs op, which must fail with an error wrapping want, and checks
// the store is exactly as it was; the audit log may gain only a denial entry
// and only when denied is true (R16).
func (e *env) refused(want error, denied bool, op func() error) error {
	e.t.Helper()
	before, auditBefore := e.dump(), e.audit()
	err := op()
	if !errors.Is(err, want) {
		e.t.Fatalf("error = %v, want one wrapping %v", err, want)
	}
	if diff := cmp.Diff(before, e.dump()); diff != "" {
		e.t.Fatalf("a refused operation changed the store (-before +after):\n%s", diff)
	}
	after := e.audit()
	switch {
	case denied && (len(after) != len(auditBefore)+1 || !after[len(after)-1].Denied):
		e.t.Fatalf("R16: the permission refusal was not audited: %+v", after[len(auditBefore):])
	case !denied && len(after) != len(auditBefore):
		e.t.Fatalf("a refused operation appended to the audit log: %+v", after[len(auditBefore):])
	}
	return err
}

// roleAssignments reads the roles of every user the audit log names, as
// the store keeps them: those holding a role, sorted by user.
func roleAssignments(ctx context.Context, st lifecycle.Store) []lifecycle.RoleAssignment {
	log, _ := st.AuditLog(ctx, "", 0, 1<<30)
	users := map[string]bool{}
	for _, e := range log {
		users[e.User], users[e.Actor] = true, true
	}
	var out []lifecycle.RoleAssignment
	for u := range users {
		if rs, _, err := st.Roles(ctx, "", u); err == nil && u != "" && !rs.Empty() {
			out = append(out, lifecycle.RoleAssignment{User: u, Roles: rs})
		}
	}
	slices.SortFunc(out, func(a, b lifecycle.RoleAssignment) int { return strings.Compare(a.User, b.User) })
	return out
}

// storedSession reads a session as the store records it.
func storedSession(ctx context.Context, st lifecycle.Store, id lifecycle.SessionID) (lifecycle.Session, error) {
	out, err := st.Sessions(ctx, "", id-1, 1)
	if err != nil {
		return lifecycle.Session{}, err
	}
	if len(out) != 1 || out[0].ID != id {
		return lifecycle.Session{}, &lifecycle.NotFoundError{Kind: "session", ID: fmt.Sprint(id)}
	}
	return out[0], nil
}

// changed lists the ids of the bots a plan changes, in plan order.
func changed(p lifecycle.Plan) []lifecycle.BotID {
	out := make([]lifecycle.BotID, len(p.Changes))
	for i, c := range p.Changes {
		out[i] = c.Bot
	}
	return out
}
