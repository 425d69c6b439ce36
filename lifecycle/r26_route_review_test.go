package lifecycle_test

import (
	"testing"
	"time"
)

// R26: a test session carries only its tester's messages, addressed by the
// test session, never by a sender: Manager.Route - the end users' path,
// which checks no actor - on a test session's virtual sender takes no
// message and leaves the test session as it was.
func TestR26RouteNeverReachesATestSession(t *testing.T) {
	e := newEnv(t)
	b := e.draft("d")
	ts, err := e.m.OpenTestSession(e.ctx, designer, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	before, err := storedSession(e.ctx, e.st, 1)
	if err != nil || !before.Sender.IsTest() {
		t.Fatalf("the test session as stored: %+v, %v", before, err)
	}
	e.clk.Add(time.Minute)
	if s, err := e.m.Route(e.ctx, before.Sender, before.EndUser); err == nil {
		t.Errorf("R26: Route on the virtual sender of test session %s took the message: %+v", ts.ID, s)
	}
	if after, err := storedSession(e.ctx, e.st, 1); err != nil || after != before {
		t.Errorf("R26: a refused Route changed the test session:\nbefore %+v\nafter  %+v (%v)", before, after, err)
	}
}
