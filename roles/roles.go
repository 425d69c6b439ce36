package roles

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Role is one of the five roles. The zero value is no role.
type Role uint8

// The chatbot ladder, lowest first, and Admin beside it.
const (
	Analyzer   Role = iota + 1 // views analytics and the dashboard
	Supervisor                 // also views chatbot details and tests chatbots (R26)
	Designer                   // also creates, edits, duplicates, imports, exports and deletes chatbots
	Manager                    // also activates and deactivates chatbots
	Admin                      // manages user roles and reads the audit log; no chatbot permission

	numRoles = int(Admin)
)

// AllRoles lists every role: the ladder from the bottom, then Admin.
var AllRoles = [...]Role{Analyzer, Supervisor, Designer, Manager, Admin}

var roleNames = [...]string{"", "Analyzer", "Supervisor", "Designer", "Manager", "Admin"}

// Sentinel errors. Errors returned by this package wrap one of them.
var (
	// ErrForbidden: the actor lacks the permission the operation needs.
	ErrForbidden = errors.New("forbidden")
	// ErrUnknownRole: a role name or value that is not one of the five roles.
	ErrUnknownRole = errors.New("unknown role")
	// ErrUnknownPermission: a permission name or value that is not one of the eight permissions.
	ErrUnknownPermission = errors.New("unknown permission")
	// ErrTwoChatbotRoles: a role set would hold two chatbot (ladder) roles.
	ErrTwoChatbotRoles = errors.New("a user holds at most one chatbot role")
	// ErrLastAdmin: the change would leave the service without an Admin.
	ErrLastAdmin = errors.New("cannot remove the last Admin")
	// ErrRoleHeld: granting a role the user already holds.
	ErrRoleHeld = errors.New("role already held")
	// ErrRoleNotHeld: revoking a role the user does not hold.
	ErrRoleNotHeld = errors.New("role not held")
)

// Valid reports whether r is one of the five roles.
func (r Role) Valid() bool { return r >= Analyzer && r <= Admin }

// IsChatbotRole reports whether r is on the chatbot ladder (not Admin).
func (r Role) IsChatbotRole() bool { return r >= Analyzer && r <= Manager }

// String returns the role's name ("Manager"), or "Role(N)" for an invalid value.
func (r Role) String() string {
	if r.Valid() {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// MarshalText encodes the role as its lower-case name ("manager").
func (r Role) MarshalText() ([]byte, error) {
	if !r.Valid() {
		return nil, &ParseError{Input: r.String(), Err: ErrUnknownRole}
	}
	return []byte(strings.ToLower(roleNames[r])), nil
}

// UnmarshalText decodes any spelling [ParseRole] accepts.
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ParseRole reads a role name case-insensitively, ignoring surrounding
// space (P3). It accepts exactly the names of [Role.String] - Analyzer,
// Supervisor, Designer, Manager, Admin - and the documentation's spelling
// "Infobip admin" for Admin. Anything else, including near misses such as
// "analyser" or "administrator", is a [*ParseError] wrapping
// [ErrUnknownRole].
func ParseRole(s string) (Role, error) {
	// Lower-casing, not Unicode case folding: strings.EqualFold would take
	// "\u017fupervisor" (U+017F folds to s) for Supervisor, which is not one
	// of the spellings.
	norm := strings.ToLower(strings.TrimSpace(s))
	for _, sp := range roleSpellings {
		if norm == strings.ToLower(sp.name) {
			return sp.role, nil
		}
	}
	return 0, &ParseError{Input: s, Err: ErrUnknownRole}
}

// roleSpellings are the accepted role names (P3), as data.
var roleSpellings = []struct {
	name string
	role Role
}{
	{"Analyzer", Analyzer}, {"Supervisor", Supervisor}, {"Designer", Designer},
	{"Manager", Manager}, {"Admin", Admin}, {"Infobip admin", Admin},
}

// ParseError reports a name that could not be parsed, in the manner of
// strconv.NumError. It wraps ErrUnknownRole or ErrUnknownPermission.
type ParseError struct {
	Input string // the text as given
	Err   error  // ErrUnknownRole or ErrUnknownPermission
}

// Error implements the error interface. It quotes at most the first 40
// bytes of Input: an error is logged and answered, and the input may be
// anything a client sent.
func (e *ParseError) Error() string {
	in := e.Input
	if len(in) > maxQuoted {
		cut := maxQuoted
		for cut > 0 && !utf8.RuneStart(in[cut]) {
			cut--
		}
		in = in[:cut] + "..."
	}
	if errors.Is(e.Err, ErrUnknownPermission) {
		return fmt.Sprintf("roles: %q is not a permission; use one of %s", in, permissionList())
	}
	return fmt.Sprintf("roles: %q is not a role; use one of Analyzer, Supervisor, Designer, Manager, Admin (or \"Infobip admin\")", in)
}

// maxQuoted is how many bytes of a refused input an error quotes.
const maxQuoted = 40

// Unwrap returns the sentinel.
func (e *ParseError) Unwrap() error { return e.Err }

// Set is the roles one user holds: at most one chatbot role and, independently,
// Admin. The zero value holds no role. Sets are small comparable values.
type Set uint8

// NewSet returns the set of the given roles. It fails when a role is invalid
// or when two different chatbot roles are given (P2). Duplicates are allowed.
func NewSet(rs ...Role) (Set, error) {
	var s Set
	for _, r := range rs {
		if !r.Valid() {
			return 0, &ParseError{Input: r.String(), Err: ErrUnknownRole}
		}
		if r.IsChatbotRole() {
			if c := s.ChatbotRole(); c != 0 && c != r {
				return 0, fmt.Errorf("roles: cannot hold both %v and %v: %w", c, r, ErrTwoChatbotRoles)
			}
		}
		s |= 1 << r
	}
	return s, nil
}

// MustSet is like [NewSet] but panics on error. It is meant for tests and
// package-level variables with literal roles.
func MustSet(rs ...Role) Set {
	s, err := NewSet(rs...)
	if err != nil {
		panic(err)
	}
	return s
}

// Has reports whether the set holds r.
func (s Set) Has(r Role) bool { return r.Valid() && s&(1<<r) != 0 }

// ChatbotRole returns the set's chatbot role, or 0 if it holds none.
func (s Set) ChatbotRole() Role {
	for r := Analyzer; r <= Manager; r++ {
		if s.Has(r) {
			return r
		}
	}
	return 0
}

// IsAdmin reports whether the set holds Admin.
func (s Set) IsAdmin() bool { return s.Has(Admin) }

// Empty reports whether the set holds no role.
func (s Set) Empty() bool { return s == 0 }

// Roles lists the roles in the set: the chatbot role first, then Admin.
func (s Set) Roles() []Role {
	var out []Role
	for _, r := range AllRoles {
		if s.Has(r) {
			out = append(out, r)
		}
	}
	return out
}

// String returns the roles joined with "+" ("Manager+Admin"), or "no role".
func (s Set) String() string {
	rs := s.Roles()
	if len(rs) == 0 {
		return "no role"
	}
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.String()
	}
	return strings.Join(names, "+")
}

// MarshalText encodes the set as comma-separated lower-case names
// ("manager,admin"); the empty set encodes as "".
func (s Set) MarshalText() ([]byte, error) {
	var b []byte
	for _, r := range s.Roles() {
		if len(b) > 0 {
			b = append(b, ',')
		}
		t, _ := r.MarshalText()
		b = append(b, t...)
	}
	return b, nil
}

// UnmarshalText decodes comma-separated role names, each as [ParseRole] reads
// them. An empty text is the empty set.
func (s *Set) UnmarshalText(b []byte) error {
	text := strings.TrimSpace(string(b))
	if text == "" {
		*s = 0
		return nil
	}
	var rs []Role
	for _, part := range strings.Split(text, ",") {
		r, err := ParseRole(part)
		if err != nil {
			return err
		}
		rs = append(rs, r)
	}
	v, err := NewSet(rs...)
	if err != nil {
		return err
	}
	*s = v
	return nil
}
