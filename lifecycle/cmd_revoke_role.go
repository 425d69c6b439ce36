package lifecycle

import "github.com/botlife/botlife/roles"

// RevokeRole takes a role from a user (P2); the last Admin stays.
type RevokeRole struct {
	User string
	Role roles.Role
}

// op returns OpRevokeRole.
func (RevokeRole) op() Op { return OpRevokeRole }

func (c RevokeRole) reads() reads { return reads{user: &c.User} }

func (c RevokeRole) decide(d *decider) error { return d.changeRole(c.User, c.Role, roles.Revoke) }
