package botlife_test

import (
	"fmt"
	"go/ast"
	"go/format"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

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
// reference format's rules, the roles and permissions, the defaults and
// limits it quotes, and the size of a Session.
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
	sessionBytes := unsafe.Sizeof(lifecycle.Session{})
	if strconv.IntSize != 64 {
		sessionBytes = 176 // the README gives the size on a 64-bit machine
	}
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
		fmt.Sprintf("stores keeping the rows the core computes (%d row operations)", methods),
		fmt.Sprintf("copying the %d-byte `Session` out", sessionBytes),
	} {
		if !strings.Contains(strings.Join(strings.Fields(string(readme)), " "), want) { // across line breaks
			t.Errorf("README.md does not say %q", want)
		}
	}
}

// The sizes the README's Reliability table gives for the tests it names,
// and the batch of groups a SQLite sweep commits, stay those of the code:
// read from its source, so a test made larger or smaller fails here until
// the README says so.
func TestREADMETestSizes(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Join(strings.Fields(string(readme)), " ") // across line breaks
	workers := testInt(t, "lifecycle/stress_test.go", "TestStress", "workers")
	rounds := testInt(t, "lifecycle/stress_test.go", "TestStress", "rounds")
	committers := testInt(t, "store/storetest/storetest.go", "testFollowUnderConcurrentCommits", "committers")
	kills := testInt(t, "store/sqlite/process_test.go", "TestCrash", "runs")
	races := testInt(t, "store/sqlite/process_test.go", "", "raceRounds")
	groups := testInt(t, "store/sqlite/sessions.go", "", "sweepGroups")
	minSteps, maxSteps := testRange(t, "lifecycle/model_test.go", "TestModel", "steps")
	users := testElems(t, "lifecycle/permissions_test.go", "TestEveryRoleEveryOperation", "matrix")
	ops := testElems(t, "lifecycle/permissions_test.go", "TestEveryRoleEveryOperation", "ops")
	for _, want := range []string{
		fmt.Sprintf("`TestStress` under `-race`: %d goroutines", workers),
		fmt.Sprintf("| %s operations |", thousands(workers*rounds)),
		fmt.Sprintf("R24 order under %d concurrent committers", committers),
		fmt.Sprintf("| %d kill points per run (%d per setting)", kills, kills/3),
		fmt.Sprintf("; %d rounds, one winner each |", races),
		fmt.Sprintf("| %d users × %d operations |", users, ops),
		fmt.Sprintf("SQLite commits every %d groups", groups),
		fmt.Sprintf("`TestModel`: random sequences (%d–%d steps)", minSteps, maxSteps),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("README.md does not say %q", want)
		}
	}
}

// testFunc returns the body of function fn in file, or the file itself
// for fn "".
func testFunc(t *testing.T, file, fn string) ast.Node {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if fn == "" {
		return f
	}
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == fn {
			return fd.Body
		}
	}
	t.Fatalf("%s has no func %s", file, fn)
	return nil
}

// testValue returns the expression name is declared or first assigned
// with in function fn of file.
func testValue(t *testing.T, file, fn, name string) ast.Expr {
	t.Helper()
	var found ast.Expr
	ast.Inspect(testFunc(t, file, fn), func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.ValueSpec:
			for i, id := range n.Names {
				if id.Name == name && i < len(n.Values) && found == nil {
					found = n.Values[i]
				}
			}
		case *ast.AssignStmt:
			for i, e := range n.Lhs {
				if id, ok := e.(*ast.Ident); ok && id.Name == name && i < len(n.Rhs) && found == nil {
					found = n.Rhs[i]
				}
			}
		}
		return found == nil
	})
	if found == nil {
		t.Fatalf("%s: %s declares no %s", file, fn, name)
	}
	return found
}

// testInt returns the integer literal name is declared with.
func testInt(t *testing.T, file, fn, name string) int {
	t.Helper()
	lit, ok := testValue(t, file, fn, name).(*ast.BasicLit)
	if !ok || lit.Kind != token.INT {
		t.Fatalf("%s: %s's %s is not an integer literal", file, fn, name)
	}
	n, err := strconv.Atoi(strings.ReplaceAll(lit.Value, "_", ""))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// testRange returns the bounds of the rapid.IntRange name is drawn from.
func testRange(t *testing.T, file, fn, name string) (lo, hi int) {
	t.Helper()
	draw, ok := testValue(t, file, fn, name).(*ast.CallExpr) // rapid.IntRange(lo, hi).Draw(t, name)
	if ok {
		if sel, isSel := draw.Fun.(*ast.SelectorExpr); isSel {
			if call, isCall := sel.X.(*ast.CallExpr); isCall && len(call.Args) == 2 {
				a, aok := call.Args[0].(*ast.BasicLit)
				b, bok := call.Args[1].(*ast.BasicLit)
				if aok && bok {
					lo, err1 := strconv.Atoi(a.Value)
					hi, err2 := strconv.Atoi(b.Value)
					if err1 == nil && err2 == nil {
						return lo, hi
					}
				}
			}
		}
	}
	t.Fatalf("%s: %s's %s is not drawn from rapid.IntRange(lo, hi) with literal bounds", file, fn, name)
	return 0, 0
}

// testElems returns how many elements the composite literal name is
// declared with has.
func testElems(t *testing.T, file, fn, name string) int {
	t.Helper()
	lit, ok := testValue(t, file, fn, name).(*ast.CompositeLit)
	if !ok {
		t.Fatalf("%s: %s's %s is not a composite literal", file, fn, name)
	}
	return len(lit.Elts)
}

// thousands writes n with commas, as the README does: 2,560.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
