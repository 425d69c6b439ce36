package lifecycle

import "github.com/botlife/botlife/roles"

// GrantRole gives a user a role (P2).
type GrantRole struct {
	User string
	Role roles.Role
}

// op returns OpGrantRole.
func (GrantRole) op() Op { return OpGrantRole }

func (c GrantRole) reads() reads { return reads{user: &c.User} }

func (c GrantRole) decide(d *decider) error { return d.changeRole(c.User, c.Role, roles.Grant) }

// changeRole applies a grant rule (roles.Grant or roles.Revoke) to user's
// roles as the snapshot read them (P2).
func (d *decider) changeRole(user string, role roles.Role, rule func(roles.Change) (roles.Set, error)) error {
	if err := checkID("user", user); err != nil {
		return err
	}
	next, err := rule(roles.Change{User: user, UserRoles: d.s.UserRoles, Role: role, Admins: d.s.Admins})
	if err != nil {
		return err
	}
	d.plan.Roles = append(d.plan.Roles, RoleChange{User: user, From: d.s.UserRoles, To: next})
	d.entry.User, d.entry.Role = user, role
	return nil
}
