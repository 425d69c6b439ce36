package roles_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/botlife/botlife/roles"
)

// P3: role names parse case-insensitively, surrounding space trimmed, from
// exactly the spellings rules.md lists; near misses are errors.
func TestParseRole(t *testing.T) {
	tests := []struct {
		in   string
		want roles.Role
	}{
		{"Analyzer", roles.Analyzer},
		{"SUPERVISOR", roles.Supervisor},
		{" designer ", roles.Designer},
		{"Manager", roles.Manager},
		{"Infobip admin", roles.Admin},
		{"INFOBIP ADMIN", roles.Admin},
		{"admin", roles.Admin},
		{"\tAdmin\n", roles.Admin},
	}
	for _, tt := range tests {
		t.Run("P3/"+tt.in, func(t *testing.T) {
			got, err := roles.ParseRole(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseRole(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "owner", "super visor", "managerx", "Infobip", "admin,manager", "analyser", "administrator", "infobip   admin", "man ager",
		"\u017fupervisor", "De\u017figner", "Infobip admin\u0307"} { // U+017F folds to s under Unicode case folding: not one of the spellings
		t.Run("P3/bad/"+bad, func(t *testing.T) {
			_, err := roles.ParseRole(bad)
			var pe *roles.ParseError
			if !errors.Is(err, roles.ErrUnknownRole) || !errors.As(err, &pe) || pe.Input != bad {
				t.Fatalf("ParseRole(%q) error = %v, want a *ParseError wrapping ErrUnknownRole", bad, err)
			}
		})
	}
}

func TestRoleAndPermissionText(t *testing.T) {
	for _, r := range roles.AllRoles {
		b, err := r.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back roles.Role
		if err := back.UnmarshalText(b); err != nil || back != r {
			t.Errorf("role %v round trip via %q = %v, %v", r, b, back, err)
		}
	}
	for _, p := range roles.AllPermissions {
		b, err := p.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back roles.Permission
		if err := back.UnmarshalText(b); err != nil || back != p {
			t.Errorf("permission %v round trip via %q = %v, %v", p, b, back, err)
		}
		if q, err := roles.ParsePermission(p.String()); err != nil || q != p {
			t.Errorf("ParsePermission(label %q) = %v, %v", p.String(), q, err)
		}
	}
	if _, err := roles.Role(0).MarshalText(); !errors.Is(err, roles.ErrUnknownRole) {
		t.Errorf("marshal of invalid role: %v", err)
	}
	if _, err := roles.ParsePermission("fly"); !errors.Is(err, roles.ErrUnknownPermission) {
		t.Errorf("ParsePermission(fly): %v", err)
	}
}

// P2: at most one chatbot role, plus Admin or not.
func TestSet(t *testing.T) {
	if _, err := roles.NewSet(roles.Designer, roles.Manager); !errors.Is(err, roles.ErrTwoChatbotRoles) {
		t.Errorf("P2: two chatbot roles: %v", err)
	}
	if _, err := roles.NewSet(roles.Role(7)); !errors.Is(err, roles.ErrUnknownRole) {
		t.Errorf("invalid role: %v", err)
	}
	s := roles.MustSet(roles.Admin, roles.Manager, roles.Manager)
	if s.ChatbotRole() != roles.Manager || !s.IsAdmin() || s.String() != "Manager+Admin" {
		t.Errorf("set = %v (chatbot %v, admin %v)", s, s.ChatbotRole(), s.IsAdmin())
	}
	b, _ := s.MarshalText()
	if string(b) != "manager,admin" {
		t.Errorf("MarshalText = %q", b)
	}
	var back roles.Set
	if err := back.UnmarshalText([]byte(" Manager , Infobip admin")); err != nil || back != s {
		t.Errorf("UnmarshalText = %v, %v", back, err)
	}
	if err := back.UnmarshalText([]byte("designer,manager")); !errors.Is(err, roles.ErrTwoChatbotRoles) {
		t.Errorf("P2: UnmarshalText of two chatbot roles: %v", err)
	}
	if roles.Set(0).String() != "no role" || !roles.Set(0).Empty() {
		t.Error("empty set")
	}
}

func FuzzParseRole(f *testing.F) {
	for _, s := range []string{"Manager", "Infobip admin", "", " admin ", "ädmin", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := roles.ParseRole(s)
		if err != nil {
			if r != 0 || !errors.Is(err, roles.ErrUnknownRole) || err.Error() == "" {
				t.Fatalf("ParseRole(%q) = %v, %v", s, r, err)
			}
			return
		}
		if !r.Valid() {
			t.Fatalf("ParseRole(%q) = invalid %v", s, r)
		}
		// Whatever parsed must print back to a name that parses to the same role.
		if again, err := roles.ParseRole(r.String()); err != nil || again != r {
			t.Fatalf("ParseRole(%q) = %v, but its name %q parses to %v, %v", s, r, r.String(), again, err)
		}
	})
}

// P3: a refused role is quoted in its error by at most its first 40 bytes,
// cut between characters; the error keeps the whole input.
func TestP3ParseErrorQuotesAShortenedInput(t *testing.T) {
	for _, tc := range []struct{ in, quoted string }{
		{"Wizard", `"Wizard"`},
		{strings.Repeat("x", 40), `"` + strings.Repeat("x", 40) + `"`},
		{strings.Repeat("x", 5000), `"` + strings.Repeat("x", 40) + `..."`},
		{strings.Repeat("x", 39) + "é" + strings.Repeat("y", 100), `"` + strings.Repeat("x", 39) + `..."`},
	} {
		_, err := roles.ParseRole(tc.in)
		var pe *roles.ParseError
		if !errors.As(err, &pe) || pe.Input != tc.in || !strings.Contains(err.Error(), tc.quoted+" is not a role") {
			t.Errorf("ParseRole(%d bytes) = %v; want it to quote %s", len(tc.in), err, tc.quoted)
		}
	}
}
