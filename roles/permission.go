package roles

import (
	"fmt"
	"strings"
)

// Permission is one of the eight permissions of the matrix. The zero value is
// no permission.
type Permission uint8

// The eight permissions. Their numbers are stable: TestChatbots, the
// vendor's newer row (R26), comes last here; AllPermissions lists them in
// the order of the vendor's table.
const (
	ViewAnalytics    Permission = iota + 1 // view analytics (session counts per bot and sender)
	ViewDashboard                          // view chatbots in the dashboard (summaries)
	ViewDetails                            // view a chatbot in detail (its definition)
	EditChatbots                           // create, edit, duplicate, import, export and delete chatbots
	ActivateChatbots                       // activate and deactivate chatbots, decide grace periods, end grace, roll back
	ManageRoles                            // grant and revoke user roles
	ViewAuditLog                           // read the audit log
	TestChatbots                           // open, use and close test sessions on any chatbot (R26)

	numPermissions = int(TestChatbots)
)

// AllPermissions lists the eight permissions in the order of the vendor's
// table, "Test chatbots" after "Activate and deactivate chatbots".
var AllPermissions = [...]Permission{ViewAnalytics, ViewDashboard, ViewDetails, EditChatbots, ActivateChatbots, TestChatbots, ManageRoles, ViewAuditLog}

var permissionLabels = [...]string{"",
	"View analytics",
	"View chatbots (dashboard)",
	"View chatbots (detailed)",
	"Create and edit chatbots",
	"Activate and deactivate chatbots",
	"Manage user roles",
	"View audit log",
	"Test chatbots",
}

var permissionCodes = [...]string{"",
	"view_analytics",
	"view_dashboard",
	"view_details",
	"edit_chatbots",
	"activate_chatbots",
	"manage_roles",
	"view_audit_log",
	"test_chatbots",
}

// Valid reports whether p is one of the eight permissions.
func (p Permission) Valid() bool { return p >= ViewAnalytics && int(p) <= numPermissions }

// String returns the permission's label as the vendor's table writes it
// ("Create and edit chatbots"), or "Permission(N)" for an invalid value.
func (p Permission) String() string {
	if p.Valid() {
		return permissionLabels[p]
	}
	return fmt.Sprintf("Permission(%d)", uint8(p))
}

// Code returns the permission's stable snake_case identifier ("edit_chatbots").
func (p Permission) Code() string {
	if p.Valid() {
		return permissionCodes[p]
	}
	return ""
}

// MarshalText encodes the permission as its code.
func (p Permission) MarshalText() ([]byte, error) {
	if !p.Valid() {
		return nil, &ParseError{Input: p.String(), Err: ErrUnknownPermission}
	}
	return []byte(permissionCodes[p]), nil
}

// UnmarshalText decodes a code or a label, as [ParsePermission] does.
func (p *Permission) UnmarshalText(b []byte) error {
	v, err := ParsePermission(string(b))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ParsePermission reads a permission by its code ("edit_chatbots") or its
// label ("Create and edit chatbots"), case-insensitively.
func ParsePermission(s string) (Permission, error) {
	norm := strings.ToLower(strings.Join(strings.Fields(s), " "))
	for _, p := range AllPermissions {
		if norm == permissionCodes[p] || norm == strings.ToLower(permissionLabels[p]) {
			return p, nil
		}
	}
	return 0, &ParseError{Input: s, Err: ErrUnknownPermission}
}

func permissionList() string {
	return strings.Join(permissionCodes[1:], ", ")
}
