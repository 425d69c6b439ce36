// Package roles models who may do what to a chatbot.
//
// # The model
//
// There are five roles. Four of them are chatbot roles and form a ladder:
//
//	Analyzer < Supervisor < Designer < Manager
//
// Each rung has every permission of the rungs below it. The fifth role, Admin
// (spelled "Infobip admin" in the product documentation this package follows),
// stands beside the ladder: it manages user roles and reads the audit log, and
// has no chatbot permission at all.
//
// A user holds at most one chatbot role and, independently, may hold Admin. A
// [Set] is that pair as a small value; the user's permissions are the union of
// the permissions of the roles in the set. A user with no role (including a user
// the service has never heard of) has no permission.
//
// The default [Matrix] is the vendor's published table:
//
//	permission                  Analyzer Supervisor Designer Manager Admin
//	View analytics                 x         x         x        x
//	View chatbots (dashboard)      x         x         x        x
//	View chatbots (detailed)                 x         x        x
//	Create and edit chatbots                           x        x
//	Activate and deactivate                                     x
//	Test chatbots                            x         x        x
//	Manage user roles                                                   x
//	View audit log                                                      x
//
// "Test chatbots" is the vendor's newer row (early access): opening, using
// and closing test sessions on any chatbot (R26 in package lifecycle).
//
// The matrix is data: a service may build its own with [NewMatrix] (for
// example to let Manager read the audit log) without changing code.
//
// # Granting and revoking
//
// Only a holder of [ManageRoles] may change roles: ask [Matrix.Check] first.
// [Grant] and [Revoke] are pure functions that then decide the role change: a
// user never holds two chatbot roles (granting one replaces the other), and
// the last Admin can never be removed. Refusals are typed errors
// ([*PermissionError] from Check, [*GrantError] from Grant and Revoke) that
// wrap the sentinels of this package, so callers test them with [errors.Is]
// and read their details with [errors.As].
//
// This package imports only the standard library.
package roles
