package lifecycle_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botlife/botlife/lifecycle"
)

// S2: the diagrams in README.md and in the lifecycle package documentation
// are the one drawn from the transition table.
func TestREADMEDiagram(t *testing.T) {
	want := lifecycle.Diagram()
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```mermaid\n"+want+"```") {
		t.Errorf("README.md's mermaid block differs from the table's diagram:\n%s", want)
	}
	if s := lifecycle.SenderDiagram(); !strings.Contains(string(readme), "```mermaid\n"+s+"```") {
		t.Errorf("R22: README.md's per-sender mermaid block differs from the sender table's diagram:\n%s", s)
	}
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var indented strings.Builder
	for _, line := range strings.SplitAfter(strings.TrimSuffix(want, "\n"), "\n") {
		indented.WriteString("//\t" + line)
	}
	if !strings.Contains(string(doc), indented.String()) {
		t.Errorf("doc.go's diagram differs from the table's diagram:\n%s", indented.String())
	}
}
