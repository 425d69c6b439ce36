package lifecycle_test

import (
	"context"
	"errors"
	"iter"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/google/go-cmp/cmp"
)

// auditHookStore runs beforeAudit once, at the start of the next AuditLog
// read: what another process commits between a watcher's permission check
// and its read of the log.
type auditHookStore struct {
	lifecycle.Store
	beforeAudit func()
}

func (h *auditHookStore) AuditLog(ctx context.Context, ws lifecycle.Workspace, after uint64, limit int) ([]lifecycle.AuditEntry, error) {
	if f := h.beforeAudit; f != nil {
		h.beforeAudit = nil
		f()
	}
	return h.Store.AuditLog(ctx, ws, after, limit)
}

// P2, R24 (core review): bob's "View audit log" is revoked, and a bot is
// created, after his watch checked the permission but before it read the
// log. The page it reads holds the revocation and the create; it must not
// yield the create, but end with the audited refusal. Before the fix the check ran only before the read, and bob got
// the entry committed after his revocation.
func TestP2FollowWithholdsWhatWasCommittedAfterARevocation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		follow func(*lifecycle.Manager, context.Context, lifecycle.Actor, uint64) iter.Seq2[lifecycle.AuditEntry, error]
	}{
		{"Backlog", (*lifecycle.Manager).Backlog},
		{"Watch", (*lifecycle.Manager).Watch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.must(e.m.GrantRole(e.ctx, admin, "bob", roles.Admin))
			hs := &auditHookStore{Store: e.st}
			m, err := lifecycle.New(lifecycle.Config{Store: hs, Clock: e.clk})
			if err != nil {
				t.Fatal(err)
			}
			var secret lifecycle.BotID
			hs.beforeAudit = func() {
				e.must(e.m.RevokeRole(e.ctx, admin, "bob", roles.Admin))
				secret = e.draft("secret", "100").ID
			}
			var last error
			for en, err := range tc.follow(m, e.ctx, lifecycle.User("bob"), 0) {
				if err != nil {
					last = err
					break
				}
				if en.Action == lifecycle.OpCreate && en.Transitions[0].Bot == secret {
					t.Errorf("P2: the watcher got entry %d (the create of %s), committed after its View audit log was revoked", en.Seq, secret)
					break
				}
			}
			if !errors.Is(last, lifecycle.ErrForbidden) {
				t.Fatalf("P2: the follow ended with %v; want ErrForbidden", last)
			}
			if log := e.audit(); !log[len(log)-1].Denied || log[len(log)-1].Actor != "bob" {
				t.Fatalf("R16: the refusal was not audited: %+v", log[len(log)-1])
			}
		})
	}
}

// R20, R22, R14 (core review): c is Active on 100 and 200; before it, x
// was the bot Active on 100 and y the bot Active on 200. y names 100 too,
// but was never Active there, or left it before x was. Rolling c back
// goes back to y, the bot Active last on c's senders, on 200 only: on 100
// y is not the bot Active before c, and the rollback must not put it
// there. c is replaced as for any activation, and 100 goes dark with it,
// as the plan says (R14). Before the fix y went Active on 100 too.
func TestR20RollbackGoesBackOnlyWhereTheTargetWasActiveLast(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(e *env, y lifecycle.BotID)
	}{
		{"target-never-active-there", func(e *env, y lifecycle.BotID) {
			e.must(e.m.Activate(e.ctx, manager, y, lifecycle.Immediate(), lifecycle.Ack{}, sms("200")))
		}},
		{"target-left-before-another-bot-was-active-there", func(e *env, y lifecycle.BotID) {
			e.activate(y, lifecycle.Immediate())
			e.clk.Add(time.Minute)
			e.must(e.m.Deactivate(e.ctx, manager, y, 0, sms("100")))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			y := e.draft("y", "100", "200")
			tc.setup(e, y.ID)
			e.clk.Add(time.Minute)
			x := e.live("x", "100")
			e.clk.Add(time.Minute)
			c := e.draft("c", "100", "200")
			e.must(e.m.Activate(e.ctx, manager, c.ID, lifecycle.Immediate(), lifecycle.Ack{}, sms("100"))) // x leaves 100
			e.clk.Add(time.Minute)
			e.must(e.m.Activate(e.ctx, manager, c.ID, lifecycle.Immediate(), lifecycle.Ack{}, sms("200"))) // y leaves 200, last
			e.clk.Add(time.Minute)

			plan, err := e.m.Plan(e.ctx, manager, lifecycle.Rollback{Bot: c.ID, Decision: lifecycle.Immediate()})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.m.ApplyPlan(e.ctx, plan); err != nil {
				t.Fatal(err)
			}
			if got := activeOn(e.get(y.ID)); !cmp.Equal(got, []lifecycle.Sender{sms("200")}) {
				t.Errorf("R20: y is Active on %v after the rollback; want only 200, the sender it was Active on before c", got)
			}
			if got := e.states(x.ID, c.ID); !cmp.Equal(got, []lifecycle.State{lifecycle.Inactive, lifecycle.Inactive}) {
				t.Errorf("R20: x, c are %v; want Inactive, Inactive", got)
			}
			if !cmp.Equal(plan.DarkSenders, []lifecycle.Sender{sms("100")}) {
				t.Errorf("R14: the plan's dark senders are %v; want [sms:100]", plan.DarkSenders)
			}
		})
	}
}

// R27, errors (core review): an error of no operation - a bad workspace
// name, a Config without a Store, a nil command - reads as the sentence
// it is, not ": invalid ...".
func TestErrorsOfNoOperationDoNotStartWithAColon(t *testing.T) {
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	_, wsErr := m.Workspace("a b")
	_, newErr := lifecycle.New(lifecycle.Config{})
	_, nilErr := lifecycle.Decide(lifecycle.Snapshot{}, nil, time.Time{})
	for name, err := range map[string]error{"Workspace": wsErr, "New": newErr, "Decide(nil)": nilErr} {
		if !errors.Is(err, lifecycle.ErrInvalidInput) || strings.HasPrefix(err.Error(), ":") || strings.HasPrefix(err.Error(), " ") {
			t.Errorf("%s: %q (%v); want an ErrInvalidInput whose message starts with what is wrong", name, err, errors.Is(err, lifecycle.ErrInvalidInput))
		}
	}
}

// rolesCtxStore is a store whose role reads honour ctx, as a SQL store's
// do.
type rolesCtxStore struct{ lifecycle.Store }

func (c rolesCtxStore) Roles(ctx context.Context, ws lifecycle.Workspace, user string) (roles.Set, int, error) {
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	return c.Store.Roles(ctx, ws, user)
}

// R24 (core review): Watch and Backlog say the end of ctx ends them
// without an error. With ctx over before the permission check, a store
// that honours ctx failed the check, and the follow yielded "context
// canceled" as its error.
func TestR24FollowEndsWithoutAnErrorWhenCtxEndedBeforeTheCheck(t *testing.T) {
	e := newEnv(t)
	m, err := lifecycle.New(lifecycle.Config{Store: rolesCtxStore{e.st}, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(e.ctx)
	cancel()
	for name, follow := range map[string]iter.Seq2[lifecycle.AuditEntry, error]{"Watch": m.Watch(ctx, admin, 0), "Backlog": m.Backlog(ctx, admin, 0)} {
		for _, err := range follow {
			if err != nil {
				t.Errorf("R24: %s with its context over yielded %v; want it to end without an error", name, err)
			}
		}
	}
}

// R13 (core review): an import document that is empty, cut short, not
// JSON, of the wrong JSON type or with a field of the wrong type is
// refused as invalid input that changes nothing, with a message that says
// what is wrong in the document's words and what to do - not "EOF" or
// "cannot unmarshal number 2.5 into Go struct field exportDoc.version of
// type int".
func TestR13ImportDecodeErrorsSayWhatToDo(t *testing.T) {
	e := newEnv(t)
	doc, err := e.m.Export(e.ctx, designer, e.draft("b", "100").ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, data, says string }{
		{"empty", "", "is empty"},
		{"blank", " \n", "is empty"},
		{"cut-short", string(doc[:len(doc)/2]), "cut short"},
		{"not-json", "format: botlife.chatbot", "is not JSON"},
		{"an-array", "[]", "is a JSON array"},
		{"version-not-whole", strings.Replace(string(doc), `"version": 2`, `"version": 2.5`, 1), `as "version", which Export writes as a whole number`},
		{"senders-not-a-list", strings.Replace(string(doc), `"senders": [`, `"senders": 1, "x": [`, 1), `as "senders", which Export writes as a list`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.refused(lifecycle.ErrInvalidInput, false, func() error {
				_, err := e.m.Import(e.ctx, designer, []byte(tc.data))
				return err
			})
			var ie *lifecycle.InputError
			if !errors.As(err, &ie) {
				t.Fatalf("R13: %v is not an *InputError", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.says) || !strings.Contains(msg, "import a document written by Export") {
				t.Errorf("R13: %q; want it to say %q and what to do", msg, tc.says)
			}
			for _, internal := range []string{"EOF", "Go ", "exportDoc", "lifecycle."} {
				if strings.Contains(msg, internal) {
					t.Errorf("R13: %q speaks of %q", msg, internal)
				}
			}
		})
	}
}

// R27, R21 (core review): a workspace name is printable text without
// spaces, as Manager.Workspace says: a zero-width space or another
// invisible format character would make a second workspace that reads as
// "acme"; a no-break space is a space; a private-use character prints as
// nothing in particular.
func TestR27WorkspaceNamesArePrintable(t *testing.T) {
	e := newEnv(t)
	for _, bad := range []lifecycle.Workspace{"acme\u200b", "\u2060acme", "ac\u00adme", "ac\u00a0me", "acme\ue000", "acme\u2028"} {
		if _, err := e.m.Workspace(bad); !errors.Is(err, lifecycle.ErrInvalidInput) {
			t.Errorf("R27: Workspace(%+q) = %v, want ErrInvalidInput", bad, err)
		}
	}
	for _, good := range []lifecycle.Workspace{"acme", "ACME-2", "société", "客户_7", "a.b:c"} {
		if _, err := e.m.Workspace(good); err != nil {
			t.Errorf("R27: Workspace(%q) = %v, want it accepted", good, err)
		}
	}
}
