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
		`refused: activate: cannot activate bot bot-2 without a decision: bot-1 ("Pizza bot") is Active on whatsapp:+15550100`,
		"09:10:00  v1: Active -> Deactivated",
		"09:10:00  v2: Draft -> Active",
		"09:15:00  alice  writes -> session 1 on v1 (continues)",
		"09:15:00  dave   writes -> session 4 on v2 (opens)",
		"09:25:00  at the deadline v1 reads Inactive, before any sweep",
		"09:25:00  alice  writes -> session 5 on v2 (opens)",
		"ExpireDue: 1 drain(s) ended, 2 session(s) closed",
		"v1   Pizza bot     Inactive  grace_expired",
		"v2   Pizza bot v2  Active",
		"1   alice     v1   2         09:25:00  grace_expired",
		"expire_grace  v1 Deactivated->Inactive",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
}
