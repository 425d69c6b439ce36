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

	"github.com/botlife/botlife/lifecycle"
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
// decision cases, and the number of methods a store author implements.
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
	for _, want := range []string{
		fmt.Sprintf("| %d cases, every command and every refusal |", cases),
		fmt.Sprintf("`lifecycle.Store` is %d row operations", methods),
	} {
		if !strings.Contains(string(readme), want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
}
