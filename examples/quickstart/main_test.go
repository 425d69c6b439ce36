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
	want := `validation: warning fallback.missing at fallback_dialog: no fallback dialog is set; messages the bot does not understand get no answer
refused: activate: cannot activate bot `
	if !strings.HasPrefix(b.String(), want) {
		t.Errorf("output starts %q", b.String())
	}
	for _, line := range []string{"1 warning(s) not acknowledged (fallback.missing)", `activated: Hello bot`, `routed: message from +15557654321 -> session 1 on "Hello bot"`} {
		if !strings.Contains(b.String(), line) {
			t.Errorf("output lacks %q:\n%s", line, b.String())
		}
	}
}
