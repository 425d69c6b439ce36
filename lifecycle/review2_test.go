package lifecycle_test

import (
	"strings"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// R21, R26: ids of up to 256 bytes are valid, for bots and users alike; a
// tester opens a test session on such a bot and sends on it. The virtual
// sender and end-user key the Manager makes of them (longer than 256
// bytes) are its own, not text a caller passed.
func TestR26TestSessionOnLongIDs(t *testing.T) {
	long := strings.Repeat("b", 256)
	for _, tc := range []struct {
		name   string
		bot    lifecycle.BotID
		tester string
	}{
		{"long bot id", lifecycle.BotID(long), "sue"},
		{"long tester id", "", strings.Repeat("t", 256)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tester := supervisor
			if tc.tester != "sue" {
				tester = lifecycle.User(tc.tester)
				e.must(e.m.GrantRole(e.ctx, lifecycle.System("test"), tc.tester, roles.Supervisor))
			}
			b, err := e.m.Create(e.ctx, designer, lifecycle.Create{ID: tc.bot, Name: "d", Channel: "sms", Senders: []lifecycle.Sender{sms("100")}, Definition: cleanDef()})
			if err != nil {
				t.Fatal(err)
			}
			ts, err := e.m.OpenTestSession(e.ctx, tester, b.ID)
			if err != nil {
				t.Fatalf("R26: opening a test session on bot %.12s... for %.12s...: %v", b.ID, tc.tester, err)
			}
			if _, err := e.m.SendTest(e.ctx, tester, ts.ID); err != nil {
				t.Fatalf("R26: a message on it: %v", err)
			}
		})
	}
}
