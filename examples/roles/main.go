// Command roles prints the role/permission matrix and shows one allowed role
// change and two refused: by a Manager, who may not manage roles, and of the
// last Admin's Admin role.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/botlife/botlife/roles"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	m := roles.Default()
	fmt.Fprintln(w, "The role/permission matrix (x: granted):")
	fmt.Fprintln(w)
	fmt.Fprint(w, m)
	fmt.Fprintln(w)

	admin := roles.MustSet(roles.Admin)
	if err := m.Check("ada", admin, roles.ManageRoles); err != nil {
		return fmt.Errorf("an Admin may not manage roles: %w", err)
	}
	next, err := roles.Grant(roles.Change{User: "dan", UserRoles: roles.MustSet(roles.Designer), Role: roles.Manager, Admins: 1})
	if err != nil {
		return fmt.Errorf("the allowed grant was refused: %w", err)
	}
	fmt.Fprintf(w, "allowed: ada (Admin) grants Manager to dan (Designer) -> dan holds %v\n", next)

	err = m.Check("mia", roles.MustSet(roles.Manager), roles.ManageRoles)
	if err == nil {
		return fmt.Errorf("a Manager was allowed to grant a role")
	}
	fmt.Fprintf(w, "refused: %v\n", err)

	_, err = roles.Revoke(roles.Change{User: "ada", UserRoles: admin, Role: roles.Admin, Admins: 1})
	if err == nil {
		return fmt.Errorf("the last Admin was removed")
	}
	fmt.Fprintf(w, "refused: %v\n", err)
	return nil
}
