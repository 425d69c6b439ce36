package main

import (
	"strings"
	"testing"
)

// TestRun: the example's story holds (R27).
func TestRun(t *testing.T) {
	var b strings.Builder
	if err := run(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		`acme: "acme support" is Active on sms:+15550100`,
		"globex: refused: create: sender sms:+15550100 is registered to another account",
		"acme: message -> session 1 of \"acme support\"",
		"globex: get: bot ",
		"globex: route: no bot is Active on sms:+15550100",
		"acme lists 1 bot(s)",
		"globex lists 0 bot(s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	refusal, _, _ := strings.Cut(out[strings.Index(out, "globex: refused"):], "\n")
	if strings.Contains(refusal, "acme") {
		t.Errorf("R27: globex's refusal names acme's bot:\n%s", out)
	}
}
