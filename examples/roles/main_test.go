package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	var b strings.Builder
	if err := run(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Activate and deactivate chatbots   -          -          -          x          -\n",
		"allowed: ada (Admin) grants Manager to dan (Designer) -> dan holds Manager",
		`refused: mia (Manager) lacks permission "Manage user roles"`,
		"refused: cannot revoke Admin from \"ada\": they are the last Admin",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
