package main

import (
	"regexp"
	"strings"
	"testing"
)

// The story as printed: R5 (the decision), R9 (grace expiry, sweep or not,
// and the counts that ExpireDue reports against the session table), R5
// Immediate, R20 rollback, R22 (a bot leaves one of its senders and stays
// Active on the other), R23 (a release scheduled at 02:00 Berlin time),
// R26 (a Designer tries the copy in a test session before it is activated);
// the header that keys the story (issue 28), every end user's line naming
// the number written to, and b2 made on screen before it is scheduled.
func TestRun(t *testing.T) {
	var b strings.Builder
	if err := run(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		// The header: what the story shows, the time zone, the numbers, the
		// idle timeout and the rule codes.
		"schedule at 02:00 Berlin time. Times are UTC (hh:mm:ss) on a mock clock from 2026-11-25 09:00.",
		"  pizza   whatsapp:+15550100     Pizza Planet: v1, v2, v3\n" +
			"  berlin  whatsapp:+49301234567  the Berlin branch: b1, then b2\n" +
			"  market  whatsapp:+49307654321  the Berlin branch's Christmas market stall: b1\n",
		"A session closes after 30 minutes without a message (the idle timeout; reason idle_timeout).",
		"Rule codes: R20 rollback, R22 per-number state, R23 schedules, R26 test sessions.",
		// R5: a refusal too long for a line goes on indented continuation lines.
		`09:10:00  refused: activate: cannot activate bot bot-2 without a decision: bot-1 ("Pizza bot") is` + "\n" +
			"              Active on whatsapp:+15550100; pass Immediate() to take the old bot offline now or\n" +
			"              Grace(d) to let its open sessions finish\n",
		"09:00:00  alice  writes to pizza  -> session 1 on v1 (opens)",
		"09:10:00  v1: Active -> Deactivated",
		"09:10:00  v2: Draft -> Active",
		// R26: dan tries the Draft v2 in a test session; it uses no sender,
		// shows in no analytics and is audited when opened and closed.
		"09:10:00  dan opens a test session on the Draft v2: no number, pinned to v2's content",
		"09:10:00  dan    writes to no number -> test session on v2 (message 2)",
		"09:10:00  v2 is still Draft, live nowhere; sessions opened per bot: v1 3",
		"09:10:00  dan closes it (completed); an edit of v2 would have ended it (content_changed)",
		"8    09:10:00  dan     Designer  open_test_session   test session on v2",
		"9    09:10:00  dan     Designer  close_test_session  test session on v2",
		"(left out, R26: test session 4, which serves no end user)",
		"09:15:00  alice  writes to pizza  -> session 1 on v1 (continues)",
		"09:15:00  dave   writes to pizza  -> session 5 on v2 (opens)",
		"09:25:00  at the deadline v1 reads Inactive, before any sweep",
		"09:25:00  alice  writes to pizza  -> session 6 on v2 (opens)",
		// R9: three sessions end at the deadline; alice's message recorded one,
		// ExpireDue the other two, and the output says so.
		"09:25:00  alice's session 1 on v1 is recorded closed now, as her message is routed",
		"09:26:00  ExpireDue (a sweep, a minute late): 1 drain ended, 2 more session(s) recorded closed",
		"1   alice     v1   2         09:25:00  grace_expired  alice's message",
		"2   bob       v1   2         09:25:00  grace_expired  ExpireDue at 09:26:00",
		"3   carol     v1   1         09:25:00  grace_expired  ExpireDue at 09:26:00",
		// The expire_grace entry is written at 09:26 and says the bot ended at 09:25.
		"11   09:26:00  system  no role   expire_grace        v1 Deactivated->Inactive,\n" +
			"                                                     as of the deadline 09:25:00\n",
		"10   09:10:00  mia     Manager   activate            v1 Active->Deactivated, v2 Draft->Active,\n" +
			"                                                     grace until 09:25:00\n",
		"v1   Pizza bot     Inactive  09:25:00  grace_expired",
		// R5 Immediate: v2's sessions end at once.
		"09:35:00  v2: Active -> Inactive",
		"09:35:00  v3: Draft -> Active",
		"5   dave      v2   1         09:35:00  replaced       dave's message",
		"6   alice     v2   1         09:35:00  replaced       ExpireDue at 09:41:00",
		// R20 rollback.
		"09:40:00  v3: Active -> Inactive",
		"09:40:00  v2: Inactive -> Active",
		"09:40:00  erin   writes to pizza  -> session 9 on v2 (opens)",
		"8   erin      v3   1         09:40:00  replaced       erin's message",
		"v2   Pizza bot v2  Active",
		"v3   Pizza bot v3  Inactive  09:40:00  replaced",
		"rollback            v3 Active->Inactive, v2 Inactive->Active",
		// R22: b1 leaves the market number with a grace period and stays
		// Active on the main one; the audit lists the sender move.
		"09:50:00  frank  writes to berlin -> session 10 on b1 (opens)\n" +
			"09:50:00  gina   writes to market -> session 11 on b1 (opens)\n",
		"09:55:00  audit #18 deactivate: 0 bot transition(s) (b1 stays Active);\n" +
			"              sender moves: b1 on market Active->Deactivated\n",
		"09:55:00  b1 is Active; per number:\n" +
			"09:55:00      berlin  Active (activation 1)\n" +
			"09:55:00      market  Deactivated, draining until 10:05:00 (activation 1)\n",
		"10:00:00  gina   writes to market -> session 11 on b1 (continues)",
		"10:00:00  hans   writes to market -> refused: route: no bot is Active on whatsapp:+49307654321;\n" +
			"              activate one to answer its messages\n",
		"10:00:00  hans   writes to berlin -> session 12 on b1 (opens)",
		"10:06:00  b1 is Active; per number:\n" +
			"10:06:00      berlin  Active (activation 1)\n" +
			"10:06:00      market  off (Inactive)\n",
		"11  gina      b1   2         10:05:00  grace_expired  ExpireDue at 10:06:00",
		"deactivate          b1 on market Active->Deactivated,\n" +
			"                                                     grace until 10:05:00\n",
		"expire_grace        b1 on market Deactivated->Inactive,\n" +
			"                                                     as of the deadline 10:05:00\n",
		// R23: 02:00 in Berlin is 01:00 UTC in November; the schedule runs
		// when ExpireDue sees it due, as mia, and is audited as hers.
		// b2 is made on screen before it is scheduled.
		"10:15:00  dan duplicates b1 as b2 \"Berlin bot 2\", a Draft with a new greeting,\n" +
			"              for the berlin number only\n",
		"10:15:00  mia schedules b2's activation (Immediate) for 02:00 CET (Europe/Berlin) on 2026-11-26,\n" +
			"              that is 01:00:00 UTC: schedule #1, pending\n",
		"00:59:00  (next day, UTC) a minute before: b2 is still Draft, b1 Active",
		"01:02:00  ExpireDue (02:02 CET in Berlin) ran schedule #1 as mia: done at 01:02:00 UTC",
		"01:02:00  audit #23: mia (Manager) activate b1 Active->Inactive, b2 Draft->Active;\n" +
			"              sender moves: b1 on berlin Active->Inactive, b2 on berlin Inactive->Active\n",
		"schedule            schedule #1: activate b2 at 01:00:00",
		"23   01:02:00  mia     Manager   activate            b1 Active->Inactive, b2 Draft->Active,\n" +
			"                                                     run by schedule #1\n",
		"b1   Berlin bot    Inactive  01:02:00  replaced",
		"b2   Berlin bot 2  Active\n", // no trailing blanks
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
	// R9: every session ExpireDue reports is in the table as recorded by it.
	if n := strings.Count(out, "grace_expired  ExpireDue at 09:26:00"); n != 2 {
		t.Errorf("%d sessions recorded by the 09:26 sweep, want 2", n)
	}
}

// TestRunFits: the story reads without the spec at hand (issue 28): no line
// is wider than 100 columns or ends in blanks, and every rule code it prints
// is explained in the header's glossary, which names no code the story does
// not print.
func TestRunFits(t *testing.T) {
	var b strings.Builder
	if err := run(&b); err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, g := range glossary {
		known[g.code] = true
	}
	used := map[string]bool{}
	code := regexp.MustCompile(`\bR[0-9]+\b`)
	for i, line := range strings.Split(b.String(), "\n") {
		if len(line) > 100 {
			t.Errorf("line %d is %d columns wide, more than 100: %q", i+1, len(line), line)
		}
		if strings.TrimRight(line, " ") != line {
			t.Errorf("line %d ends in blanks: %q", i+1, line)
		}
		if strings.HasPrefix(line, "Rule codes: ") {
			continue
		}
		for _, c := range code.FindAllString(line, -1) {
			used[c] = true
			if !known[c] {
				t.Errorf("line %d names %s, which the glossary does not explain: %q", i+1, c, line)
			}
		}
	}
	for c := range known {
		if !used[c] {
			t.Errorf("the glossary explains %s, which the story never names", c)
		}
	}
}
