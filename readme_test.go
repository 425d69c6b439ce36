package botlife_test

import (
	"os"
	"strings"
	"testing"

	"github.com/botlife/botlife/lifecycle"
)

// S2: the diagrams in README.md and in the lifecycle package documentation
// are the one drawn from the transition table.
func TestREADMEDiagram(t *testing.T) {
	want := lifecycle.Diagram()
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```mermaid\n"+want+"```") {
		t.Errorf("README.md's mermaid block differs from lifecycle.Diagram():\n%s", want)
	}
	doc, err := os.ReadFile("lifecycle/doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var indented strings.Builder
	for _, line := range strings.SplitAfter(strings.TrimSuffix(want, "\n"), "\n") {
		indented.WriteString("//\t" + line)
	}
	if !strings.Contains(string(doc), indented.String()) {
		t.Errorf("lifecycle/doc.go's diagram differs from lifecycle.Diagram():\n%s", indented.String())
	}
}
