package lifecycle

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// R26: DecideRoute on a test sender opens a session only for the lease's
// key at its OpenedAt, never reopens one that is over, and NextSessionEnd
// keeps a test session until its idle deadline.
func TestR26DecideRouteTestSender(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := TestLease{Slot: 1, Activation: 3, Tester: "sue", OpenedAt: at}
	b := &Bot{ID: "d", State: Draft, IdleTimeout: 30 * time.Minute, Activations: 3, Tests: []TestLease{l}}
	s, key := testSender(b, 1), testEndUser("sue", 3)
	if step, err := DecideRoute(RouteView{Active: b}, s, key, at); err != nil || !step.New || step.Session.Activation != 3 {
		t.Fatalf("R26: the opening route: %+v, %v", step, err)
	}
	for name, c := range map[string]struct {
		endUser string
		now     time.Time
	}{
		"later":           {key, at.Add(time.Second)},
		"another tester":  {testEndUser("dan", 3), at},
		"another number":  {testEndUser("sue", 2), at},
		"not a test user": {"u1", at},
	} {
		if step, err := DecideRoute(RouteView{Active: b}, s, c.endUser, c.now); !errors.Is(err, ErrNotFound) || step.New {
			t.Errorf("R26: %s opened %+v, %v; want not found", name, step, err)
		}
	}
	open := Session{ID: 7, Sender: s, EndUser: key, Bot: b.ID, Activation: 3, OpenedAt: at, LastActivityAt: at}
	idle := at.Add(b.IdleTimeout)
	step, err := DecideRoute(RouteView{Open: &open, OpenBot: b, Active: b}, s, key, idle)
	var over *SessionOverError
	if !errors.As(err, &over) || over.Reason != CloseIdleTimeout || step.New || step.Closed.ID != 7 {
		t.Fatalf("R26: a message at the idle deadline: %+v, %v; want it recorded over and refused", step, err)
	}
	if end, ok := NextSessionEnd(b, s, 3, at); !ok || !end.Equal(idle) {
		t.Fatalf("R26: NextSessionEnd of an open test session = %v, %v; want %v", end, ok, idle)
	}
}

// R26: splitTestAddress reads "<slot>~<length of the bot id>~<bot
// id>~<incarnation>" and refuses what the Manager never makes, at each
// bound: slot 1 to 999, a bot id of 1 to MaxIDBytes bytes, 1 to 19 digits
// of incarnation.
func TestR26SplitTestAddress(t *testing.T) {
	id := strings.Repeat("b", MaxIDBytes)
	for _, tc := range []struct {
		in   string
		slot int
		bot  BotID
		inc  uint64
		rest string
		ok   bool
	}{
		{"1~3~bot~42~dan", 1, "bot", 42, "~dan", true},
		{"999~1~b~7", 999, "b", 7, "", true},
		{"1000~1~b~7", 0, "", 0, "", false},
		{"0~1~b~7", 0, "", 0, "", false},
		{"1~256~" + id + "~7", 1, BotID(id), 7, "", true},
		{"1~257~" + id + "b~7", 0, "", 0, "", false},
		{"1~3~bot", 0, "", 0, "", false},   // no separator after the id
		{"1~3~bo~", 0, "", 0, "", false},   // shorter than its length
		{"1~3~botx7", 0, "", 0, "", false}, // no separator where the length ends
		{"1~3~bot~", 0, "", 0, "", false},  // no incarnation
		{"1~3~bot~1234567890123456789x", 1, "bot", 1234567890123456789, "x", true},
		{"1~3~bot~12345678901234567890", 1, "bot", 1234567890123456789, "0", true}, // 19 digits read
	} {
		slot, bot, inc, rest, ok := splitTestAddress(tc.in)
		if ok != tc.ok || (ok && (slot != tc.slot || bot != tc.bot || inc != tc.inc || rest != tc.rest)) {
			t.Errorf("splitTestAddress(%.40q) = %d, %.12q, %d, %q, %v; want %d, %.12q, %d, %q, %v", tc.in, slot, bot, inc, rest, ok, tc.slot, tc.bot, tc.inc, tc.rest, tc.ok)
		}
	}
}

// R26: leadingUint, which parses a TestSessionID on every message, reads
// 1 to 19 digits then the separator, and nothing else (what it returns
// besides ok false is not used).
func TestR26LeadingUint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    uint64
		rest string
		ok   bool
	}{
		{"0~a", 0, "a", true},
		{"9~", 9, "", true},
		{"1234567890~b~c", 1234567890, "b~c", true},
		{"9999999999999999999~x", 9999999999999999999, "x", true}, // 19 digits
		{"10000000000000000000~x", 0, "", false},                  // 20 digits
		{"~a", 0, "", false},
		{"12a~", 0, "", false},
		{"/~", 0, "", false}, // the byte before '0'
		{":~", 0, "", false}, // the byte after '9'
		{"123", 0, "", false},
		{"", 0, "", false},
	} {
		n, rest, ok := leadingUint(tc.in, '~')
		if ok != tc.ok || (ok && (n != tc.n || rest != tc.rest)) {
			t.Errorf("leadingUint(%q) = %d, %q, %v; want %d, %q, %v", tc.in, n, rest, ok, tc.n, tc.rest, tc.ok)
		}
	}
}
