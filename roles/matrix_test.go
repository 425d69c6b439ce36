package roles_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/botlife/botlife/roles"
	"github.com/google/go-cmp/cmp"
)

// P1: every cell of the vendor's matrix, written out from rules.md rather than
// derived from the code under test.
func TestDefaultMatrixEveryCell(t *testing.T) {
	const (
		A = roles.Analyzer
		S = roles.Supervisor
		D = roles.Designer
		M = roles.Manager
		X = roles.Admin
	)
	want := map[roles.Permission][]roles.Role{
		roles.ViewAnalytics:    {A, S, D, M},
		roles.ViewDashboard:    {A, S, D, M},
		roles.ViewDetails:      {S, D, M},
		roles.EditChatbots:     {D, M},
		roles.ActivateChatbots: {M},
		roles.TestChatbots:     {S, D, M}, // R26
		roles.ManageRoles:      {X},
		roles.ViewAuditLog:     {X},
	}
	m := roles.Default()
	cells := 0
	for _, p := range roles.AllPermissions {
		for _, r := range roles.AllRoles {
			allowed := false
			for _, w := range want[p] {
				allowed = allowed || w == r
			}
			t.Run(fmt.Sprintf("P1/%v/%v", r, p.Code()), func(t *testing.T) {
				if got := m.Can(roles.MustSet(r), p); got != allowed {
					t.Errorf("Can(%v, %q) = %v, want %v", r, p, got, allowed)
				}
				if got := m.Grants(r, p); got != allowed {
					t.Errorf("Grants(%v, %q) = %v, want %v", r, p, got, allowed)
				}
			})
			cells++
		}
	}
	if cells != 40 {
		t.Fatalf("checked %d cells, want 5x8 = 40", cells)
	}
}

// P1: the ladder - each chatbot role has every permission of the one below.
func TestLadderInherits(t *testing.T) {
	m := roles.Default()
	for r := roles.Supervisor; r <= roles.Manager; r++ {
		for _, p := range m.Permissions(roles.MustSet(r - 1)) {
			if !m.Can(roles.MustSet(r), p) {
				t.Errorf("P1: %v lacks %q which %v has", r, p, r-1)
			}
		}
	}
	// Admin stands beside the ladder: no chatbot permission at all.
	if got := m.Permissions(roles.MustSet(roles.Admin)); !cmp.Equal(got, []roles.Permission{roles.ManageRoles, roles.ViewAuditLog}) {
		t.Errorf("Admin permissions = %v", got)
	}
}

// P2 and P3: permissions are the union; no role means no permission.
func TestSetUnionAndEmpty(t *testing.T) {
	m := roles.Default()
	for _, p := range roles.AllPermissions {
		if m.Can(0, p) {
			t.Errorf("P3: the empty set has %q", p)
		}
	}
	both := roles.MustSet(roles.Designer, roles.Admin)
	want := []roles.Permission{roles.ViewAnalytics, roles.ViewDashboard, roles.ViewDetails, roles.EditChatbots, roles.TestChatbots, roles.ManageRoles, roles.ViewAuditLog}
	if diff := cmp.Diff(want, m.Permissions(both)); diff != "" {
		t.Errorf("P2: Designer+Admin permissions (-want +got):\n%s", diff)
	}
	if m.Can(both, roles.ActivateChatbots) {
		t.Error("P2: Designer+Admin must not activate")
	}
	if m.Can(roles.MustSet(roles.Manager), roles.Permission(0)) || m.Can(roles.MustSet(roles.Manager), roles.Permission(99)) {
		t.Error("invalid permissions must never be granted")
	}
}

func TestCheckNamesActorRolesAndPermission(t *testing.T) {
	err := roles.Default().Check("dana", roles.MustSet(roles.Designer), roles.ActivateChatbots)
	var pe *roles.PermissionError
	if !errors.As(err, &pe) || !errors.Is(err, roles.ErrForbidden) {
		t.Fatalf("P1: Check = %v, want a *PermissionError wrapping ErrForbidden", err)
	}
	want := &roles.PermissionError{Actor: "dana", Roles: roles.MustSet(roles.Designer), Missing: roles.ActivateChatbots}
	if diff := cmp.Diff(want, pe); diff != "" {
		t.Errorf("P1: error detail (-want +got):\n%s", diff)
	}
	const msg = `dana (Designer) lacks permission "Activate and deactivate chatbots"; ask an Admin for a role that grants it`
	if err.Error() != msg {
		t.Errorf("message = %q, want %q", err.Error(), msg)
	}
	if err := roles.Default().Check("mia", roles.MustSet(roles.Manager), roles.ActivateChatbots); err != nil {
		t.Errorf("Manager may activate: %v", err)
	}
}

// P4: a service supplies its own matrix without code changes.
func TestCustomMatrix(t *testing.T) {
	m, err := roles.NewMatrix(map[roles.Role][]roles.Permission{
		roles.Analyzer:   {roles.ViewDashboard},
		roles.Supervisor: {roles.ViewAnalytics},
		roles.Manager:    {roles.ActivateChatbots, roles.ViewAuditLog},
		roles.Admin:      {roles.ManageRoles},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		role roles.Role
		p    roles.Permission
		want bool
	}{
		{roles.Analyzer, roles.ViewAnalytics, false}, // not given to Analyzer here
		{roles.Supervisor, roles.ViewAnalytics, true},
		{roles.Designer, roles.ViewAnalytics, true}, // inherited from Supervisor
		{roles.Designer, roles.EditChatbots, false}, // nobody was given it
		{roles.Manager, roles.ViewAuditLog, true},   // the customisation
		{roles.Manager, roles.ViewDashboard, true},  // inherited from Analyzer
		{roles.Admin, roles.ViewAuditLog, false},
		{roles.Admin, roles.ManageRoles, true},
	}
	for _, tt := range tests {
		if got := m.Can(roles.MustSet(tt.role), tt.p); got != tt.want {
			t.Errorf("P4: custom Can(%v, %q) = %v, want %v", tt.role, tt.p, got, tt.want)
		}
	}
	if roles.Default().Can(roles.MustSet(roles.Manager), roles.ViewAuditLog) {
		t.Error("P4: building a custom matrix changed the default")
	}
	for _, bad := range []map[roles.Role][]roles.Permission{
		{roles.Role(9): {roles.ViewAnalytics}},
		{roles.Manager: {roles.Permission(0)}},
	} {
		if _, err := roles.NewMatrix(bad); err == nil {
			t.Errorf("NewMatrix(%v) accepted invalid input", bad)
		}
	}
}

func TestMatrixString(t *testing.T) {
	got := roles.Default().String()
	want := `permission                         Analyzer   Supervisor Designer   Manager    Admin
View analytics                     x          x          x          x          -
View chatbots (dashboard)          x          x          x          x          -
View chatbots (detailed)           -          x          x          x          -
Create and edit chatbots           -          -          x          x          -
Activate and deactivate chatbots   -          -          -          x          -
Test chatbots                      -          x          x          x          -
Manage user roles                  -          -          -          -          x
View audit log                     -          -          -          -          x
`
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("String() (-want +got):\n%s", diff)
	}
}

func BenchmarkCan(b *testing.B) {
	m := roles.Default()
	s := roles.MustSet(roles.Designer, roles.Admin)
	b.ReportAllocs()
	n := 0
	for i := 0; i < b.N; i++ {
		if m.Can(s, roles.AllPermissions[i%len(roles.AllPermissions)]) {
			n++
		}
	}
	if n == 0 {
		b.Fatal("never allowed")
	}
}
