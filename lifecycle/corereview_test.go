package lifecycle_test

import (
	"context"
	"errors"
	"iter"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
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
