package validate

import (
	"regexp"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// The placeholder scanner (braces, placeholderName, fillPlaceholders) is
// the regular expressions it replaced, written out for speed: on every
// text it finds what they found, in order, and fills what they filled
// (R4: attribute.undeclared, placeholder.invalid and webhook.invalid_url
// read placeholders through it).
func TestR4PlaceholderScannerIsTheExpressions(t *testing.T) {
	bracesRE := regexp.MustCompile(`\{\{[^{}]*\}\}`)
	placeholderRE := regexp.MustCompile(`\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}`)
	check := func(t interface{ Fatalf(string, ...any) }, s string) {
		var gotBraces []string
		braces(s, func(at int, m string) {
			if s[at:at+len(m)] != m {
				t.Fatalf("braces(%q) gave %q at %d", s, m, at)
			}
			gotBraces = append(gotBraces, m)
		})
		if want := bracesRE.FindAllString(s, -1); !slices.Equal(gotBraces, want) {
			t.Fatalf("braces(%q) = %q, want %q", s, gotBraces, want)
		}
		var want []string
		for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
			want = append(want, m[1])
		}
		if got := Placeholders(s); !slices.Equal(got, want) {
			t.Fatalf("Placeholders(%q) = %q, want %q", s, got, want)
		}
		if got, want := fillPlaceholders(s, "0"), placeholderRE.ReplaceAllString(s, "0"); got != want {
			t.Fatalf("fillPlaceholders(%q) = %q, want %q", s, got, want)
		}
	}
	for _, s := range []string{"", "{{", "}}", "{{}}", "{{name}}", "Hi {{name}}!", "{{{name}}}", "{{a}b}}", "{{ first name }}",
		"{{\tx\n}}", "{{\vx}}", "{{x}}{{y}}", "{{x}}}}{{", "https://h:{{port}}/{{ path }}", "{{é}}", "{{a-b.c_d}} {{}} {{ }}",
		// each end of each range of name characters, and the byte past it
		"{{a}}", "{{z}}", "{{A}}", "{{Z}}", "{{0}}", "{{9}}", "{{`}}", "{{@}}", "{{[}}", "{{/}}", "{{:}}", "{{,}}", "{{^}}"} {
		check(t, s)
	}
	rapid.Check(t, func(t *rapid.T) {
		s := rapid.StringOfN(rapid.SampledFrom([]rune("{}{} \t\v\nabzAZ09._-é/:@[`")), 0, 40, -1).Draw(t, "s")
		check(t, s)
	})
}
