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

// P2: every grant and revoke, for every actor role set, every target role set,
// every role, with one Admin in the service and with two.
func TestGrantRevokeExhaustive(t *testing.T) {
	m := roles.Default()
	cases := 0
	for _, actor := range allSets() {
		for _, target := range allSets() {
			for _, role := range roles.AllRoles {
				for _, admins := range []int{1, 2} {
					c := roles.Change{Actor: "actor", ActorRoles: actor, User: "user", UserRoles: target, Role: role, Admins: admins}
					cases++
					name := fmt.Sprintf("P2/%v/%v/%v/admins=%d", actor, target, role, admins)

					// Grant: only Admins (ManageRoles) may; a held role is refused;
					// a new chatbot role replaces the old one.
					got, err := m.Grant(c)
					switch {
					case !actor.IsAdmin():
						expectErr(t, name+"/grant", err, roles.ErrForbidden, got, target)
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

					// Revoke: only Admins; a role not held is refused; the last
					// Admin stays.
					got, err = m.Revoke(c)
					switch {
					case !actor.IsAdmin():
						expectErr(t, name+"/revoke", err, roles.ErrForbidden, got, target)
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
	}
	if cases != 10*10*5*2 {
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
	_, err := roles.Default().Revoke(roles.Change{Actor: "root", ActorRoles: admin, User: "root", UserRoles: admin, Role: roles.Admin, Admins: 1})
	var ge *roles.GrantError
	if !errors.As(err, &ge) || !errors.Is(err, roles.ErrLastAdmin) || ge.User != "root" {
		t.Fatalf("P2: err = %v", err)
	}
	const msg = `cannot revoke Admin from "root": they are the last Admin; grant Admin to someone else first`
	if err.Error() != msg {
		t.Errorf("message = %q", err.Error())
	}
}

// P4: with a custom matrix, whoever holds ManageRoles manages roles.
func TestGrantFollowsCustomMatrix(t *testing.T) {
	m, err := roles.NewMatrix(map[roles.Role][]roles.Permission{roles.Manager: {roles.ManageRoles}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Grant(roles.Change{Actor: "mia", ActorRoles: roles.MustSet(roles.Manager), User: "u", Role: roles.Designer, Admins: 0})
	if err != nil || got != roles.MustSet(roles.Designer) {
		t.Fatalf("P4: custom grant = %v, %v", got, err)
	}
	if _, err := m.Grant(roles.Change{Actor: "a", ActorRoles: roles.MustSet(roles.Admin), User: "u", Role: roles.Designer}); !errors.Is(err, roles.ErrForbidden) {
		t.Fatalf("P4: Admin without ManageRoles in the custom matrix: %v", err)
	}
}

func TestGrantInvalidRole(t *testing.T) {
	admin := roles.MustSet(roles.Admin)
	for _, f := range []func(roles.Change) (roles.Set, error){roles.Default().Grant, roles.Default().Revoke} {
		if _, err := f(roles.Change{Actor: "a", ActorRoles: admin, User: "u", Role: roles.Role(0), Admins: 2}); !errors.Is(err, roles.ErrUnknownRole) {
			t.Errorf("invalid role: %v", err)
		}
	}
}
