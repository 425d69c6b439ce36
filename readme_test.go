package botlife_test

import (
	"fmt"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/validate"
)

// The README's first program compiles and runs as printed, errors handled.
func TestREADMEProgram(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "## A first program\n")
	if start < 0 {
		t.Fatal(`README.md has no section "## A first program"`)
	}
	block := text[start:]
	open := strings.Index(block, "```go\n")
	if open < 0 {
		t.Fatal("the section has no Go block")
	}
	block = block[open+len("```go\n"):]
	src := block[:strings.Index(block, "```\n")]
	if formatted, err := format.Source([]byte(src)); err != nil || string(formatted) != src {
		t.Errorf("the program is not gofmt-formatted (%v)", err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "main.go")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goTool, "run", file) // resolved against this module
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go run of the README program: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "session 1 on bot_") || !strings.Contains(string(out), "v1: Active -> Deactivated") || !strings.Contains(string(out), "v1 serves its open sessions until") {
		t.Errorf("the README program printed %q", out)
	}
}

// The README's figures that a test can count stay true: the number of
// decision cases, the number of methods a store author implements, the
// reference format's rules, the roles and permissions, and the defaults and
// limits it quotes.
func TestREADMECounts(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("lifecycle/testdata/decide/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	cases := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "case ") {
				cases++
			}
		}
	}
	methods := reflect.TypeFor[lifecycle.Store]().NumMethod()
	words := map[int]string{5: "five", 8: "eight"}
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	p := m.Policy() // the defaults
	for _, want := range []string{
		fmt.Sprintf("| %d cases, every command and every refusal |", cases),
		fmt.Sprintf("`lifecycle.Store` is %d row operations", methods),
		fmt.Sprintf("`botlife.reference/v1` with its %d rules", len(validate.DefaultRules())),
		fmt.Sprintf("and its %d default rules as the default checker", len(validate.DefaultRules())),
		fmt.Sprintf("| %s roles (a ladder of four plus Admin), %s permissions", words[len(roles.AllRoles)], words[len(roles.AllPermissions)]),
		fmt.Sprintf("at most %d MiB by default", p.MaxDefinition>>20),
		fmt.Sprintf("`Policy.MaxScheduleAhead` (%d days) ahead", p.MaxScheduleAhead/(24*time.Hour)),
		fmt.Sprintf("ids at most %d bytes, reasons %d characters", lifecycle.MaxIDBytes, lifecycle.MaxReasonLength),
		fmt.Sprintf("(`WithRetention`, default %s)", strings.TrimSuffix(store.DefaultRetention.String(), "0m0s")),
	} {
		if !strings.Contains(strings.Join(strings.Fields(string(readme)), " "), want) { // across line breaks
			t.Errorf("README.md does not say %q", want)
		}
	}
}
