package botlife_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readmeSection returns the text of the README section that starts with
// heading, up to the next "## " heading.
func readmeSection(t *testing.T, heading string) string {
	t.Helper()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "\n"+heading+"\n")
	if start < 0 {
		t.Fatalf("README.md has no section %q", heading)
	}
	text = text[start+1+len(heading):]
	if end := strings.Index(text, "\n## "); end >= 0 {
		text = text[:end]
	}
	return text
}

// "The two commands" shows two commands, each in a block of its own; the
// others (the HTTP service, more examples) have their own sections.
func TestREADMETwoCommands(t *testing.T) {
	if n := strings.Count(readmeSection(t, "## The two commands"), "```sh"); n != 2 {
		t.Errorf(`README.md's "The two commands" shows %d command blocks`, n)
	}
}

// The Packages table names every module of the repository: a newcomer
// finds there which directories are modules of their own.
func TestREADMEPackagesNameEveryModule(t *testing.T) {
	table := readmeSection(t, "## Packages")
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "go.mod" || path == "go.mod" {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		if !strings.Contains(table, "`"+dir+"`") && !strings.Contains(table, "`"+strings.TrimPrefix(dir, "examples/")+"`") {
			t.Errorf("README.md's Packages table does not name the module %s", dir)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
