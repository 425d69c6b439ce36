package client_test

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	// What ogen's client of the document imports: TestOgenGenerates compiles
	// that client in a copy of this module, which needs their checksums in
	// go.sum (so the check works offline, like the rest of the module).
	_ "github.com/go-faster/errors"
	_ "github.com/go-faster/jx"
	_ "github.com/ogen-go/ogen/conv"
	_ "github.com/ogen-go/ogen/http"
	_ "github.com/ogen-go/ogen/json"
	_ "github.com/ogen-go/ogen/middleware"
	_ "github.com/ogen-go/ogen/ogenerrors"
	_ "github.com/ogen-go/ogen/ogenregex"
	_ "github.com/ogen-go/ogen/otelogen"
	_ "github.com/ogen-go/ogen/uri"
	_ "github.com/ogen-go/ogen/validate"
	_ "go.opentelemetry.io/otel"
	_ "go.opentelemetry.io/otel/attribute"
	_ "go.opentelemetry.io/otel/codes"
	_ "go.opentelemetry.io/otel/metric"
	_ "go.opentelemetry.io/otel/semconv/v1.39.0"
	_ "go.opentelemetry.io/otel/trace"
)

// document is the service's OpenAPI document, the one the server embeds.
const document = "../api/openapi.yaml"

// goCmd runs the go command in dir and returns its combined output.
func goCmd(t *testing.T, dir string, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

// generateLine returns the arguments of doc.go's //go:generate line.
func generateLine(t *testing.T) []string {
	t.Helper()
	f, err := os.Open("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "//go:generate "); ok {
			return strings.Fields(rest)
		}
	}
	t.Fatal("doc.go has no //go:generate line")
	return nil
}

// The committed client is what the pinned oapi-codegen generates from the
// document now: doc.go's //go:generate line is run with its output in a
// temporary directory, and the two must be equal byte for byte. A change
// of openapi.yaml that does not regenerate the client fails here. (The
// document is read here too, and the test binary embeds it, so go test's
// cache never keeps a pass across a change of it.)
func TestClientIsCurrent(t *testing.T) {
	args := generateLine(t)
	if len(args) < 3 || args[0] != "go" || args[1] != "tool" || args[2] != "oapi-codegen" {
		t.Fatalf("doc.go's //go:generate runs %q; want go tool oapi-codegen (the version go.mod pins)", args)
	}
	out := filepath.Join(t.TempDir(), "client.gen.go")
	committed := ""
	for i, a := range args {
		if a == "-o" && i+1 < len(args) {
			committed, args[i+1] = args[i+1], out
		}
	}
	if committed == "" {
		t.Fatalf("doc.go's //go:generate line has no -o: %q", args)
	}
	if doc, err := os.ReadFile(document); err != nil || !bytes.Equal(doc, api.OpenAPI) {
		t.Fatalf("%s is not the document the server serves (%v)", document, err)
	}
	if msg, err := goCmd(t, ".", args[1:]...); err != nil {
		t.Fatalf("oapi-codegen refuses openapi.yaml: %v\n%s", err, msg)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		i := 0
		for i < len(gl) && i < len(wl) && gl[i] == wl[i] {
			i++
		}
		at := func(l []string) string {
			if i < len(l) {
				return l[i]
			}
			return "(end of file)"
		}
		t.Errorf("%s is not what openapi.yaml generates: run go generate in examples/httpserver/client.\nline %d: committed %q, generated %q",
			committed, i+1, at(wl), at(gl))
	}
}

// The document also generates with ogen (the version go.mod pins), with no
// configuration, and what ogen generates compiles and vets: it is built in a
// copy of this module (same go.mod and go.sum, so the same versions).
func TestOgenGenerates(t *testing.T) {
	abs, err := filepath.Abs(document)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	msg, err := goCmd(t, ".", "tool", "ogen", "-target", filepath.Join(dir, "ogenclient"), "-package", "ogenclient", "-clean", abs)
	if err != nil {
		t.Fatalf("ogen refuses openapi.yaml: %v\n%s", err, msg)
	}
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"mod", "edit", "-module", "ogencheck", "-replace", "github.com/botlife/botlife=" + root},
		{"vet", "./ogenclient"},
	} {
		if msg, err := goCmd(t, dir, args...); err != nil {
			t.Fatalf("go %s on ogen's client: %v\n%s", strings.Join(args, " "), err, msg)
		}
	}
}
