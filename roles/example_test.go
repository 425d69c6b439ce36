package roles_test

import (
	"errors"
	"fmt"

	"github.com/botlife/botlife/roles"
)

func ExampleMatrix_Can() {
	m := roles.Default()
	designer := roles.MustSet(roles.Designer)
	fmt.Println(m.Can(designer, roles.EditChatbots))
	fmt.Println(m.Can(designer, roles.ActivateChatbots))
	// Output:
	// true
	// false
}

func ExampleParseRole() {
	r, err := roles.ParseRole("Infobip admin")
	fmt.Println(r, err)
	_, err = roles.ParseRole("owner")
	fmt.Println(errors.Is(err, roles.ErrUnknownRole))
	// Output:
	// Admin <nil>
	// true
}

func ExampleGrant() {
	// An Admin promotes a Designer to Manager: the chatbot role is replaced.
	// (Whether the one asking may manage roles is the matrix's question:
	// Matrix.Check with ManageRoles, asked first.)
	next, err := roles.Grant(roles.Change{User: "dan", UserRoles: roles.MustSet(roles.Designer), Role: roles.Manager, Admins: 1})
	fmt.Println(next, err)

	// A Manager may not grant roles.
	err = roles.Default().Check("mia", roles.MustSet(roles.Manager), roles.ManageRoles)
	fmt.Println(err)

	// Nobody removes the last Admin.
	_, err = roles.Revoke(roles.Change{User: "ada", UserRoles: roles.MustSet(roles.Admin), Role: roles.Admin, Admins: 1})
	fmt.Println(err)
	// Output:
	// Manager <nil>
	// mia (Manager) lacks permission "Manage user roles"; ask an Admin for a role that grants it
	// cannot revoke Admin from "ada": they are the last Admin; grant Admin to someone else first
}

func ExampleNewMatrix() {
	// Give Manager the audit log; the ladder below it is inherited. The
	// matrix is built whole: every other cell of the default is listed.
	m, _ := roles.NewMatrix(map[roles.Role][]roles.Permission{
		roles.Analyzer:   {roles.ViewAnalytics, roles.ViewDashboard},
		roles.Supervisor: {roles.ViewDetails, roles.TestChatbots},
		roles.Designer:   {roles.EditChatbots},
		roles.Manager:    {roles.ActivateChatbots, roles.ViewAuditLog},
		roles.Admin:      {roles.ManageRoles, roles.ViewAuditLog},
	})
	fmt.Println(m.Permissions(roles.MustSet(roles.Manager)))
	// Output:
	// [View analytics View chatbots (dashboard) View chatbots (detailed) Create and edit chatbots Activate and deactivate chatbots Test chatbots View audit log]
}
