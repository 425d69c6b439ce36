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

func ExampleMatrix_Grant() {
	m := roles.Default()
	admin := roles.MustSet(roles.Admin)

	// An Admin promotes a Designer to Manager: the chatbot role is replaced.
	next, err := m.Grant(roles.Change{Actor: "ada", ActorRoles: admin, User: "dan", UserRoles: roles.MustSet(roles.Designer), Role: roles.Manager, Admins: 1})
	fmt.Println(next, err)

	// A Manager may not grant roles.
	_, err = m.Grant(roles.Change{Actor: "mia", ActorRoles: roles.MustSet(roles.Manager), User: "dan", Role: roles.Analyzer, Admins: 1})
	fmt.Println(err)
	// Output:
	// Manager <nil>
	// mia (Manager) lacks permission "Manage user roles"; ask an Admin for a role that grants it
}

func ExampleNewMatrix() {
	// Give Manager the audit log; the ladder below it is inherited.
	m, _ := roles.NewMatrix(map[roles.Role][]roles.Permission{
		roles.Analyzer:   {roles.ViewAnalytics, roles.ViewDashboard},
		roles.Supervisor: {roles.ViewDetails},
		roles.Designer:   {roles.EditChatbots},
		roles.Manager:    {roles.ActivateChatbots, roles.ViewAuditLog},
		roles.Admin:      {roles.ManageRoles, roles.ViewAuditLog},
	})
	fmt.Println(m.Permissions(roles.MustSet(roles.Manager)))
	// Output:
	// [View analytics View chatbots (dashboard) View chatbots (detailed) Create and edit chatbots Activate and deactivate chatbots View audit log]
}
