package roles

import "fmt"

// Change is a request to grant or revoke one role, with everything the
// grant rules depend on. It is plain data: the caller reads the current role
// set and the Admin count from its store. Whether the one asking may change
// roles at all is a question for the permission matrix ([Matrix.Check] with
// [ManageRoles]), asked once by the caller before it asks Grant or Revoke.
type Change struct {
	User      string // whose roles change
	UserRoles Set    // the user's roles now
	Role      Role   // the role to grant or revoke
	Admins    int    // how many users hold Admin now
}

// Grant returns c.User's role set after receiving c.Role (P2):
//   - granting a chatbot role replaces the user's current chatbot role, since a
//     user holds at most one;
//   - granting a role the user already holds is refused with [ErrRoleHeld];
//   - an invalid role is refused with [ErrUnknownRole].
func Grant(c Change) (Set, error) {
	if !c.Role.Valid() {
		return c.UserRoles, &GrantError{Op: "grant", User: c.User, Role: c.Role, Roles: c.UserRoles, Err: ErrUnknownRole}
	}
	if c.UserRoles.Has(c.Role) {
		return c.UserRoles, &GrantError{Op: "grant", User: c.User, Role: c.Role, Roles: c.UserRoles, Err: ErrRoleHeld}
	}
	next := c.UserRoles
	if c.Role.IsChatbotRole() {
		if old := next.ChatbotRole(); old != 0 {
			next &^= 1 << old
		}
	}
	return next | 1<<c.Role, nil
}

// Revoke returns c.User's role set after losing c.Role (P2):
//   - revoking a role the user does not hold is refused with [ErrRoleNotHeld];
//   - revoking Admin from the last Admin (c.Admins <= 1) is refused with
//     [ErrLastAdmin], also when an Admin revokes their own Admin role;
//   - an invalid role is refused with [ErrUnknownRole].
func Revoke(c Change) (Set, error) {
	if !c.Role.Valid() {
		return c.UserRoles, &GrantError{Op: "revoke", User: c.User, Role: c.Role, Roles: c.UserRoles, Err: ErrUnknownRole}
	}
	if !c.UserRoles.Has(c.Role) {
		return c.UserRoles, &GrantError{Op: "revoke", User: c.User, Role: c.Role, Roles: c.UserRoles, Err: ErrRoleNotHeld}
	}
	if c.Role == Admin && c.Admins <= 1 {
		return c.UserRoles, &GrantError{Op: "revoke", User: c.User, Role: c.Role, Roles: c.UserRoles, Err: ErrLastAdmin}
	}
	return c.UserRoles &^ (1 << c.Role), nil
}

// GrantError reports a refused role change for a reason other than the
// actor's permission. It wraps [ErrRoleHeld], [ErrRoleNotHeld],
// [ErrLastAdmin] or [ErrUnknownRole].
type GrantError struct {
	Op    string // "grant" or "revoke"
	User  string // whose roles
	Role  Role   // which role
	Roles Set    // the user's roles at the time
	Err   error  // the sentinel
}

// Error implements the error interface.
func (e *GrantError) Error() string {
	switch e.Err {
	case ErrRoleHeld:
		return fmt.Sprintf("cannot grant %v to %q: they already hold it (%v)", e.Role, e.User, e.Roles)
	case ErrRoleNotHeld:
		return fmt.Sprintf("cannot revoke %v from %q: they hold %v", e.Role, e.User, e.Roles)
	case ErrLastAdmin:
		return fmt.Sprintf("cannot revoke Admin from %q: they are the last Admin; grant Admin to someone else first", e.User)
	}
	return fmt.Sprintf("cannot %s %v for %q: %v", e.Op, e.Role, e.User, e.Err)
}

// Unwrap returns the sentinel.
func (e *GrantError) Unwrap() error { return e.Err }
