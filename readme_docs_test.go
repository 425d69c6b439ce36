package botlife_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
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

// The README says what is, with the command that measures it; how things
// were before a change, and the issues and rounds that changed them, are
// CHANGELOG.md's. The Performance section and the mutation-testing row of
// the Reliability table are left out: they are rewritten as a whole when
// remeasured.
func TestREADMESaysWhatIsNotWhatWas(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	history := regexp.MustCompile(`(?i)\bissues? \d+|× before\b|as fast as before|\d before\)|\b(this|earlier|next) round\b|\bround before\b|for the code before it`)
	section := ""
	for i, line := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(line, "## ") {
			section = line
		}
		if section == "## Performance" || strings.HasPrefix(line, "| mutation testing |") {
			continue
		}
		for _, m := range history.FindAllString(line, -1) {
			t.Errorf("README.md:%d says %q: history, for CHANGELOG.md", i+1, m)
		}
	}
}

// A figure is given in one place, so that a rerun updates it once: "Many
// customers" sends the reader to Performance for what other workspaces
// cost, rather than copying its ratios.
func TestREADMEWorkspaceFiguresOnce(t *testing.T) {
	section := readmeSection(t, "## Many customers")
	if m := regexp.MustCompile(`\d×`).FindString(section); m != "" {
		t.Errorf(`README.md's "Many customers" repeats a ratio of Performance's (%q)`, m)
	}
	if !strings.Contains(section, "[Performance](#performance)") {
		t.Error(`README.md's "Many customers" does not point to Performance for its figures`)
	}
}

// The rule table lists the rules in their order (S, then R, then P, each
// by number), so that a reader finds a rule where its number says.
func TestREADMERuleTableInOrder(t *testing.T) {
	section := readmeSection(t, "## Rules and where they are enforced")
	row := regexp.MustCompile(`(?m)^\| ([SRP])(\d+)[ ,]`)
	order := map[string]int{"S": 0, "R": 1, "P": 2}
	lastLetter, lastNumber, lastRule := -1, 0, ""
	for _, m := range row.FindAllStringSubmatch(section, -1) {
		letter := order[m[1]]
		number, err := strconv.Atoi(m[2])
		if err != nil {
			t.Fatal(err)
		}
		if letter < lastLetter || letter == lastLetter && number < lastNumber {
			t.Errorf("README.md's rule table lists %s%s after %s", m[1], m[2], lastRule)
		}
		lastLetter, lastNumber, lastRule = letter, number, m[1]+m[2]
	}
	if lastRule == "" {
		t.Fatal("README.md's rule table has no rows")
	}
}

// The HTTP service's settings the README names are fields of api.Config,
// and the 24 hours a kept answer is replayed for are named by the field
// that sets them (IdempotencyTTL), not only by KeepLimits, which bounds
// sizes.
func TestREADMEServiceConfigFields(t *testing.T) {
	section := readmeSection(t, "## HTTP service")
	cfg := reflect.TypeFor[api.Config]()
	for _, m := range regexp.MustCompile("`Config\\.(\\w+)`").FindAllStringSubmatch(section, -1) {
		if _, ok := cfg.FieldByName(m[1]); !ok {
			t.Errorf("README.md names Config.%s, which api.Config does not have", m[1])
		}
	}
	text := strings.Join(strings.Fields(section), " ")
	if !regexp.MustCompile("younger than 24 hours \\([^)]*`Config\\.IdempotencyTTL`").MatchString(text) {
		t.Error("README.md gives the 24 hours a kept answer is replayed for without Config.IdempotencyTTL, the field that sets them")
	}
}

// The keeper's bounds are given once, where the Keeper is described: the
// service's database keeper has the same per-user and gateway bounds.
func TestREADMEKeeperBoundsOnce(t *testing.T) {
	text := strings.Join(strings.Fields(readmeSection(t, "## HTTP service")), " ")
	for _, bound := range []string{" 8 MiB", " 64 MiB", " 17 minutes"} { // not 128 MiB
		if n := strings.Count(text, bound); n != 1 {
			t.Errorf("README.md's HTTP service section gives %q %d times", bound, n)
		}
	}
}

// The package documentation says what is, as the README does: no issue
// numbers or rounds a reader of godoc cannot look up.
func TestPackageDocsSayWhatIs(t *testing.T) {
	history := regexp.MustCompile(`(?i)\bissues? \d+|\b(this|earlier|next) round\b|\bround before\b`)
	for _, file := range []string{"doc.go", "lifecycle/doc.go", "validate/doc.go", "roles/doc.go", "store/memory.go", "store/storetest/storetest.go", "store/sqlite/doc.go", "store/postgres/postgres.go"} {
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ParseComments|parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		if f.Doc == nil {
			continue
		}
		for _, m := range history.FindAllString(f.Doc.Text(), -1) {
			t.Errorf("%s's package documentation says %q: history, for CHANGELOG.md", file, m)
		}
	}
}

// The README's Go version paragraph names every module that needs a newer
// Go than the root module, with the version its go.mod says.
func TestREADMENamesEveryModuleNeedingANewerGo(t *testing.T) {
	section := strings.Join(strings.Fields(readmeSection(t, "## Install")), " ")
	start := strings.Index(section, "**Go version.**")
	if start < 0 {
		t.Fatal(`README.md's Install section has no "**Go version.**" paragraph`)
	}
	paragraph := section[start:]
	goLine := regexp.MustCompile(`(?m)^go (\d+)\.(\d+)`)
	minor := func(path string) (string, int) {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		m := goLine.FindStringSubmatch(string(b))
		if m == nil {
			t.Fatalf("%s has no go line", path)
		}
		n, err := strconv.Atoi(m[2])
		if err != nil {
			t.Fatal(err)
		}
		return m[1] + "." + m[2], n
	}
	_, root := minor("go.mod")
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Name() != "go.mod" || path == "go.mod" {
			return err
		}
		version, n := minor(path)
		if n <= root {
			return nil
		}
		dir := filepath.ToSlash(filepath.Dir(path))
		i := strings.Index(paragraph, "`"+dir+"`")
		if i < 0 {
			t.Errorf("README.md does not say that %s needs Go %s", dir, version)
			return nil
		}
		if j := strings.Index(paragraph[i:], "Go "); j < 0 || !strings.HasPrefix(paragraph[i+j:], "Go "+version) {
			t.Errorf("README.md does not say that %s needs Go %s", dir, version)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The rule table's rows cover the rule families the README says it
// states, and a file the README names that is not in the repository
// (the specification's rules.md) is said to be elsewhere.
func TestREADMERulesSourceAndFamilies(t *testing.T) {
	section := readmeSection(t, "## Rules and where they are enforced")
	if _, err := os.Stat("rules.md"); err != nil {
		i := strings.Index(section, "`rules.md`")
		if i < 0 || !strings.Contains(strings.Join(strings.Fields(section[i:min(len(section), i+200)]), " "), "not part of this repository") {
			t.Error("README.md names rules.md without saying it is not in the repository")
		}
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(readme), "the rules.md matrix") {
		t.Error("README.md sends the reader to rules.md's matrix; roles' documentation has it")
	}
	rows := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\| ([SRP]\d+(?:, [SRP]\d+)*) \|`).FindAllStringSubmatch(section, -1) {
		for _, r := range strings.Split(m[1], ", ") {
			rows[r] = true
		}
	}
	for family, last := range map[string]int{"S": 2, "R": 27, "P": 4} {
		for n := 1; n <= last; n++ {
			if r := family + strconv.Itoa(n); !rows[r] {
				t.Errorf("README.md's rule table has no row for %s", r)
			}
		}
	}
}

// The package map in doc.go names both of storetest's entry points, as
// the README's Packages table does: a store author runs both.
func TestDocMapNamesStoretestEntryPoints(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "doc.go", nil, parser.ParseComments|parser.PackageClauseOnly)
	if err != nil {
		t.Fatal(err)
	}
	text := f.Doc.Text()
	i := strings.Index(text, "store/storetest]")
	if i < 0 {
		t.Fatal("doc.go does not list store/storetest")
	}
	entry := text[i:]
	if j := strings.Index(entry, "\n  - "); j >= 0 {
		entry = entry[:j]
	}
	for _, name := range []string{"Run", "RunParity"} {
		if !regexp.MustCompile(`\b` + name + `\b`).MatchString(entry) {
			t.Errorf("doc.go's storetest entry does not name %s", name)
		}
	}
}

// The README's example of a sender Route does not normalise is the first
// program's sender, written as a person would: it finds no bot only
// because it is not normalised. (On another channel it would find none
// anyway, and show nothing.)
func TestREADMEUnnormalisedSenderExample(t *testing.T) {
	section := readmeSection(t, "## A first program")
	decl := regexp.MustCompile(`lifecycle\.NewSender\("(\w+)", "([^"]+)"\)`).FindStringSubmatch(section)
	if decl == nil {
		t.Fatal("README.md's first program makes no sender with lifecycle.NewSender")
	}
	text := strings.Join(strings.Fields(section), " ")
	example := regexp.MustCompile("a message on `([^`]+)` finds no bot").FindStringSubmatch(text)
	if example == nil {
		t.Fatal("README.md gives no example of a sender Route does not normalise")
	}
	if want := decl[1] + ":" + decl[2]; example[1] != want {
		t.Errorf("README.md's example of an unnormalised sender is %s; the first program's sender is %s", example[1], want)
	}
}

// "Implementing your own Store" shows both tests every store passes, as
// lifecycle.Store's documentation asks: storetest.Run and
// storetest.RunParity against the memory store.
func TestREADMEStoreAuthorRunsBothSuites(t *testing.T) {
	section := readmeSection(t, "## Implementing your own Store")
	for _, call := range []string{"storetest.Run(t,", "storetest.RunParity(t,"} {
		if !strings.Contains(section, call) {
			t.Errorf(`README.md's "Implementing your own Store" does not show %s`, strings.TrimSuffix(call, "(t,"))
		}
	}
}
