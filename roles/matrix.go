package roles

import (
	"fmt"
	"strings"
)

// Matrix says which permissions each role grants. It is immutable once built
// and safe for concurrent use. Build one with [NewMatrix], or use [Default].
type Matrix struct {
	grants [numRoles + 1]uint16 // bit p set: the role grants permission p
	// bySet holds the union of grants of every possible Set (a Set uses
	// bits 1 to 5), so Can is one load and one bit test.
	bySet [64]uint16
}

var defaultMatrix = func() *Matrix {
	m, err := NewMatrix(map[Role][]Permission{
		Analyzer:   {ViewAnalytics, ViewDashboard},
		Supervisor: {ViewDetails, TestChatbots},
		Designer:   {EditChatbots},
		Manager:    {ActivateChatbots},
		Admin:      {ManageRoles, ViewAuditLog},
	})
	if err != nil {
		panic(err) // unreachable: the literal above is valid
	}
	return m
}()

// Default returns the vendor's published matrix (see the package
// documentation). The returned matrix is shared and immutable.
func Default() *Matrix { return defaultMatrix }

// NewMatrix builds a matrix from the permissions each role is given. The
// ladder is applied for you: every chatbot role also receives the permissions
// given to the chatbot roles below it, so a Manager given {ActivateChatbots,
// ViewAuditLog} holds everything below it too. Admin inherits nothing. The
// matrix is built whole from grants, not from the default: a cell left out
// is not granted (list TestChatbots for Supervisor to keep the default's
// "Test chatbots"; see the example). Invalid roles or permissions are errors.
func NewMatrix(grants map[Role][]Permission) (*Matrix, error) {
	var m Matrix
	for r, ps := range grants {
		if !r.Valid() {
			return nil, &ParseError{Input: r.String(), Err: ErrUnknownRole}
		}
		for _, p := range ps {
			if !p.Valid() {
				return nil, &ParseError{Input: p.String(), Err: ErrUnknownPermission}
			}
			m.grants[r] |= 1 << p
		}
	}
	for r := Supervisor; r <= Manager; r++ {
		m.grants[r] |= m.grants[r-1]
	}
	for s := range m.bySet {
		for r := Analyzer; r <= Admin; r++ {
			if s&(1<<r) != 0 {
				m.bySet[s] |= m.grants[r]
			}
		}
	}
	return &m, nil
}

// Can reports whether a user holding the roles in s has permission p: whether
// any role in s grants it. It does not allocate.
func (m *Matrix) Can(s Set, p Permission) bool {
	return p.Valid() && m.bySet[s&63]&(1<<p) != 0
}

// Grants reports whether role r alone grants permission p.
func (m *Matrix) Grants(r Role, p Permission) bool {
	return r.Valid() && p.Valid() && m.grants[r]&(1<<p) != 0
}

// Permissions lists the permissions of the roles in s, in the order of
// [AllPermissions].
func (m *Matrix) Permissions(s Set) []Permission {
	var out []Permission
	for _, p := range AllPermissions {
		if m.Can(s, p) {
			out = append(out, p)
		}
	}
	return out
}

// Check returns nil if s has permission p, and otherwise a [*PermissionError]
// naming actor, its roles and the missing permission (P1).
func (m *Matrix) Check(actor string, s Set, p Permission) error {
	if m.Can(s, p) {
		return nil
	}
	return &PermissionError{Actor: actor, Roles: s, Missing: p}
}

// RolesWith lists the roles that grant p, in the order of [AllRoles].
func (m *Matrix) RolesWith(p Permission) []Role {
	var out []Role
	for _, r := range AllRoles {
		if m.Grants(r, p) {
			out = append(out, r)
		}
	}
	return out
}

// String draws the matrix as a text table, one permission a row.
func (m *Matrix) String() string {
	var b strings.Builder
	row := func(first string, cells func(r Role) string) {
		line := fmt.Sprintf("%-34s", first)
		for _, r := range AllRoles {
			line += fmt.Sprintf(" %-10s", cells(r))
		}
		b.WriteString(strings.TrimRight(line, " "))
		b.WriteString("\n")
	}
	row("permission", Role.String)
	for _, p := range AllPermissions {
		row(p.String(), func(r Role) string {
			if m.Grants(r, p) {
				return "x"
			}
			return "-"
		})
	}
	return b.String()
}

// PermissionError reports an actor that lacks a permission. It wraps
// [ErrForbidden].
type PermissionError struct {
	Actor   string     // who tried
	Roles   Set        // what they hold
	Missing Permission // what they needed
}

// Error implements the error interface.
func (e *PermissionError) Error() string {
	who := e.Actor
	if who == "" {
		who = "an anonymous actor"
	}
	return fmt.Sprintf("%s (%v) lacks permission %q; ask an Admin for a role that grants it", who, e.Roles, e.Missing.String())
}

// Unwrap returns [ErrForbidden].
func (e *PermissionError) Unwrap() error { return ErrForbidden }
