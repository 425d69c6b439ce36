package lifecycle_test

import (
	"errors"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// P1: every role against every Manager operation. The expectation is derived
// from rules.md alone: the permission each operation needs (the matrix's row
// labels say which operations each covers) and the matrix's columns.
func TestEveryRoleEveryOperation(t *testing.T) {
	const (
		analytics = "View analytics"
		dashboard = "View chatbots (dashboard)"
		detailed  = "View chatbots (detailed)"
		edit      = "Create and edit chatbots"
		activate  = "Activate and deactivate chatbots"
		manage    = "Manage user roles"
		audit     = "View audit log"
	)
	matrix := map[string][]string{ // rules.md, column by column
		"al":  {analytics, dashboard},
		"sue": {analytics, dashboard, detailed},
		"dan": {analytics, dashboard, detailed, edit},
		"mia": {analytics, dashboard, detailed, edit, activate},
		"ada": {manage, audit},
		"eve": nil,
	}
	type op struct {
		name string
		perm string
		run  func(e *env, a lifecycle.Actor, draft, live lifecycle.Bot) error
	}
	ops := []op{
		{"Create", edit, func(e *env, a lifecycle.Actor, _, _ lifecycle.Bot) error {
			_, err := e.m.Create(e.ctx, a, lifecycle.Create{Name: "n", Channel: "sms"})
			return err
		}},
		{"Update", edit, func(e *env, a lifecycle.Actor, d, _ lifecycle.Bot) error {
			_, err := e.m.Update(e.ctx, a, lifecycle.Update{Bot: d.ID, Name: ptr("n")})
			return err
		}},
		{"Delete", edit, func(e *env, a lifecycle.Actor, d, _ lifecycle.Bot) error { return e.m.Delete(e.ctx, a, d.ID) }},
		{"Duplicate", edit, func(e *env, a lifecycle.Actor, d, _ lifecycle.Bot) error {
			_, err := e.m.Duplicate(e.ctx, a, d.ID, "")
			return err
		}},
		{"Export", edit, func(e *env, a lifecycle.Actor, d, _ lifecycle.Bot) error {
			_, err := e.m.Export(e.ctx, a, d.ID)
			return err
		}},
		{"Import", edit, func(e *env, a lifecycle.Actor, _, _ lifecycle.Bot) error {
			_, err := e.m.Import(e.ctx, a, []byte("{}"))
			return err
		}},
		{"Activate", activate, func(e *env, a lifecycle.Actor, d, _ lifecycle.Bot) error {
			_, err := e.m.Activate(e.ctx, a, d.ID, lifecycle.Decision{}, lifecycle.Ack{})
			return err
		}},
		{"Deactivate", activate, func(e *env, a lifecycle.Actor, _, l lifecycle.Bot) error {
			_, err := e.m.Deactivate(e.ctx, a, l.ID, 0)
			return err
		}},
		{"EndGrace", activate, func(e *env, a lifecycle.Actor, _, l lifecycle.Bot) error {
			_, err := e.m.EndGrace(e.ctx, a, l.ID)
			return err
		}},
		{"Rollback", activate, func(e *env, a lifecycle.Actor, _, l lifecycle.Bot) error {
			_, err := e.m.Rollback(e.ctx, a, l.ID, lifecycle.Immediate(), lifecycle.Ack{})
			return err
		}},
		{"Plan", activate, func(e *env, a lifecycle.Actor, d, _ lifecycle.Bot) error {
			_, err := e.m.Plan(e.ctx, a, lifecycle.Activate{Bot: d.ID})
			return err
		}},
		{"Get", detailed, func(e *env, a lifecycle.Actor, d, _ lifecycle.Bot) error {
			_, err := e.m.Get(e.ctx, a, d.ID)
			return err
		}},
		{"Validate", detailed, func(e *env, a lifecycle.Actor, d, _ lifecycle.Bot) error {
			_, err := e.m.Validate(e.ctx, a, d.ID)
			return err
		}},
		{"List", dashboard, func(e *env, a lifecycle.Actor, _, _ lifecycle.Bot) error {
			_, err := e.m.List(e.ctx, a, "", 10)
			return err
		}},
		{"Analytics", analytics, func(e *env, a lifecycle.Actor, _, _ lifecycle.Bot) error {
			_, err := e.m.Analytics(e.ctx, a)
			return err
		}},
		{"GrantRole", manage, func(e *env, a lifecycle.Actor, _, _ lifecycle.Bot) error {
			_, err := e.m.GrantRole(e.ctx, a, "new", roles.Analyzer)
			return err
		}},
		{"RevokeRole", manage, func(e *env, a lifecycle.Actor, _, _ lifecycle.Bot) error {
			_, err := e.m.RevokeRole(e.ctx, a, "al", roles.Analyzer)
			return err
		}},
		{"UserRoles", manage, func(e *env, a lifecycle.Actor, _, _ lifecycle.Bot) error {
			_, err := e.m.UserRoles(e.ctx, a, "al")
			return err
		}},
		{"AuditLog", audit, func(e *env, a lifecycle.Actor, _, _ lifecycle.Bot) error {
			_, err := e.m.AuditLog(e.ctx, a, 0, 10)
			return err
		}},
	}
	allowedBy := map[string]int{}
	for user, perms := range matrix {
		for _, o := range ops {
			allowed := false
			for _, p := range perms {
				allowed = allowed || p == o.perm
			}
			if allowed {
				allowedBy[o.name]++
			}
			t.Run("P1/"+user+"/"+o.name, func(t *testing.T) {
				e := newEnv(t)
				d := e.draft("draft", "100")
				l := e.live("live", "200")
				err := o.run(e, lifecycle.User(user), d, l)
				if denied := errors.Is(err, lifecycle.ErrForbidden); denied == allowed {
					t.Errorf("%s %s: err = %v; rules.md says allowed = %v", user, o.name, err, allowed)
				}
			})
		}
	}
	// Every operation is allowed to some of the six users and refused to
	// others: a row that allowed everyone or no one would test nothing.
	for _, o := range ops {
		if n := allowedBy[o.name]; n == 0 || n == len(matrix) {
			t.Errorf("P1: %s is allowed to %d of %d users; the table must tell them apart", o.name, n, len(matrix))
		}
	}
}
