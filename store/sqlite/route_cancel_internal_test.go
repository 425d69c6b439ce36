package sqlite

import (
	"context"
	"testing"
	"time"
)

// A Route whose context ends while it runs either fails having counted
// nothing or returns the session that counted its message: never an error
// for a message taken, which a caller would route again and count twice.
// The driver and database/sql report a context that ended during the fast
// path's statement, or before its row was read, even when SQLite took the
// message. Contexts end here at every point of a Route, a few
// microseconds in; with the fix no ending gives an error for a message
// counted, whatever the timing.
func TestRouteEndedUnderWayCountsWhatItReturns(t *testing.T) {
	ctx := context.Background()
	st, _, clk, _, snd := groupsFixture(t)
	now := clk.Now()
	if _, err := st.Route(ctx, "", snd, "u", now); err != nil {
		t.Fatal(err)
	}
	messages := func() uint64 {
		t.Helper()
		s, err := st.session(ctx, 1)
		if err != nil {
			t.Fatal(err)
		}
		return s.Messages
	}
	before, failed := messages(), 0
	for i := range 3000 {
		rctx, cancel := context.WithTimeout(ctx, time.Duration(i%100)*time.Microsecond)
		now = now.Add(time.Second)
		_, err := st.Route(rctx, "", snd, "u", now)
		cancel()
		after := messages()
		if counted := after - before; err == nil && counted != 1 || err != nil && counted != 0 {
			t.Fatalf("Route %d: error %v, messages counted %d", i, err, counted)
		}
		if err != nil {
			failed++
		}
		before = after
	}
	t.Logf("%d of 3000 Routes failed, counting nothing", failed)
}
