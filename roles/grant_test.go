package roles_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/botlife/botlife/roles"
)

// allSets lists every valid role set: no chatbot role or one of four, with or
// without Admin.
func allSets() []roles.Set {
	var out []roles.Set
	for _, c := range []roles.Role{0, roles.Analyzer, roles.Supervisor, roles.Designer, roles.Manager} {
		for _, admin := range []bool{false, true} {
			var rs []roles.Role
			if c != 0 {
				rs = append(rs, c)
			}
			if admin {
				rs = append(rs, roles.Admin)
			}
			out = append(out, roles.MustSet(rs...))
		}
	}
	return out
}

// P2: every grant and revoke, for every target role set, every role, with
// one Admin in the service and with two. Who may ask is the matrix's
// question (P1), not Grant's.
func TestGrantRevokeExhaustive(t *testing.T) {
	cases := 0
	for _, target := range allSets() {
		for _, role := range roles.AllRoles {
			for _, admins := range []int{1, 2} {
				c := roles.Change{User: "user", UserRoles: target, Role: role, Admins: admins}
				cases++
				name := fmt.Sprintf("P2/%v/%v/admins=%d", target, role, admins)

				// Grant: a held role is refused; a new chatbot role
				// replaces the old one.
				got, err := roles.Grant(c)
				switch {
				case target.Has(role):
					expectErr(t, name+"/grant", err, roles.ErrRoleHeld, got, target)
				default:
					want := target
					if role == roles.Admin {
						want = roles.MustSet(append(target.Roles(), roles.Admin)...)
					} else {
						want = roles.MustSet(role)
						if target.IsAdmin() {
							want = roles.MustSet(role, roles.Admin)
						}
					}
					if err != nil || got != want {
						t.Errorf("%s/grant = %v, %v; want %v", name, got, err, want)
					}
				}

				// Revoke: a role not held is refused; the last Admin stays.
				got, err = roles.Revoke(c)
				switch {
				case !target.Has(role):
					expectErr(t, name+"/revoke", err, roles.ErrRoleNotHeld, got, target)
				case role == roles.Admin && admins == 1:
					expectErr(t, name+"/revoke", err, roles.ErrLastAdmin, got, target)
				default:
					var rest []roles.Role
					for _, r := range target.Roles() {
						if r != role {
							rest = append(rest, r)
						}
					}
					if want := roles.MustSet(rest...); err != nil || got != want {
						t.Errorf("%s/revoke = %v, %v; want %v", name, got, err, want)
					}
				}
			}
		}
	}
	if cases != 10*5*2 {
		t.Fatalf("ran %d cases", cases)
	}
}

func expectErr(t *testing.T, name string, err, sentinel error, got, unchanged roles.Set) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Errorf("%s: err = %v, want %v", name, err, sentinel)
	}
	if got != unchanged {
		t.Errorf("%s: refused change returned %v, want the unchanged %v", name, got, unchanged)
	}
}

// P2: an Admin cannot remove their own Admin role when they are the last one.
func TestLastAdminCannotRevokeSelf(t *testing.T) {
	admin := roles.MustSet(roles.Admin)
	_, err := roles.Revoke(roles.Change{User: "root", UserRoles: admin, Role: roles.Admin, Admins: 1})
	var ge *roles.GrantError
	if !errors.As(err, &ge) || !errors.Is(err, roles.ErrLastAdmin) || ge.User != "root" {
		t.Fatalf("P2: err = %v", err)
	}
	const msg = `cannot revoke Admin from "root": they are the last Admin; grant Admin to someone else first`
	if err.Error() != msg {
		t.Errorf("message = %q", err.Error())
	}
}

func TestGrantInvalidRole(t *testing.T) {
	for _, f := range []func(roles.Change) (roles.Set, error){roles.Grant, roles.Revoke} {
		if _, err := f(roles.Change{User: "u", Role: roles.Role(0), Admins: 2}); !errors.Is(err, roles.ErrUnknownRole) {
			t.Errorf("invalid role: %v", err)
		}
	}
}
