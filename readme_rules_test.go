package botlife_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The rule table in README.md names the tests that prove each rule: every
// test it names must exist (a name ending in * must match at least one),
// every decision-case prefix it names must have a case, and every
// conformance case it names must be one of storetest's.
func TestREADMERuleTableNamesRealTests(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(readme), "## Rules and where they are enforced")
	end := strings.Index(string(readme), "## Packages")
	if start < 0 || end < start {
		t.Fatal("README.md has no rule table")
	}
	table := string(readme[start:end])
	var sources, cases strings.Builder
	err = filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		switch {
		case err != nil:
			return err
		case strings.HasSuffix(path, "_test.go"), strings.HasSuffix(path, ".go") && strings.Contains(path, "storetest"):
			sources.Write(data)
		case strings.Contains(path, filepath.Join("testdata", "decide")):
			cases.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("`(?:roles\\.)?(Test\\w+\\*?)`").FindAllStringSubmatch(table, -1) {
		name := m[1]
		pattern := "func " + strings.TrimSuffix(name, "*")
		if !strings.HasSuffix(name, "*") {
			pattern += "("
		}
		if !strings.Contains(sources.String(), pattern) {
			t.Errorf("README.md names %s, but no test is called that", name)
		}
	}
	// The conformance cases it names (storetest `R10/Route`, `R1/*`) must
	// be cases of the suite too.
	for _, m := range regexp.MustCompile("`([RPS]\\d+/)(\\w+|\\*)`").FindAllStringSubmatch(table, -1) {
		if m[2] == "*" {
			if !strings.Contains(sources.String(), `{"`+m[1]) && !strings.Contains(cases.String(), "case "+m[1]) {
				t.Errorf("README.md names %s*, but no conformance or decision case starts so", m[1])
			}
		} else if !strings.Contains(sources.String(), `{"`+m[1]+m[2]+`"`) {
			t.Errorf("README.md names the conformance case %s%s, but storetest has none", m[1], m[2])
		}
	}
	for _, m := range regexp.MustCompile("cases? ((?:`[A-Z]\\d*/\\*`(?:, )?)+)").FindAllStringSubmatch(table, -1) {
		for _, p := range regexp.MustCompile("`([A-Z]\\d*)/\\*`").FindAllStringSubmatch(m[1], -1) {
			if !strings.Contains(cases.String(), "case "+p[1]+"/") {
				t.Errorf("README.md names decision cases %s/*, but there are none", p[1])
			}
		}
	}
}
