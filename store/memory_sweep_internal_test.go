package store

import (
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Cost rule (issue 25): a sweep re-keys only sessions over within a
// rekeyEvery-th of the idle timeout from its now (group): it stops at the
// first session whose key is not due, even one stamped since it was keyed,
// as no session behind it can be over. The sessions close when SessionAt
// says, all the same (R9).
func TestSweepReKeysOnlyWhatIsDueByItsKey(t *testing.T) {
	f := newMemFixture(t)
	s := smsSender("1")
	idle := rekeyEvery * time.Minute // a sixteenth: a minute
	f.commit(activeBot("a", idle, s))
	u1 := f.route(s, "u1", tm)
	u2 := f.route(s, "u2", tm.Add(30*time.Second))
	f.route(s, "u1", tm.Add(59*time.Second)) // stamped: keyed at tm, over at tm+59s+idle
	f.route(s, "u2", tm.Add(89*time.Second)) // stamped: keyed at tm+30s, over at tm+89s+idle
	now := tm.Add(idle)
	if n, _ := f.m.SweepSessions(f.ctx, "", now, 10); n != 0 {
		t.Fatalf("R9: sweep at %v closed %d, want 0", now, n)
	}
	sp := f.m.def()
	for _, c := range []struct {
		name    string
		id      lifecycle.SessionID
		wantKey time.Time
	}{
		{"u1, due by its key and over within a minute: re-keyed", u1.ID, tm.Add(59 * time.Second)},
		{"u2, not due by its key (over 89s from now): left for a later sweep", u2.ID, tm.Add(30 * time.Second)},
	} {
		if got := sp.sessions.get(uint64(c.id)).key; !got.Equal(c.wantKey) {
			t.Errorf("%s: key %v, want %v", c.name, got, c.wantKey)
		}
	}
	for _, c := range []struct {
		at   time.Time
		want int
	}{{tm.Add(59*time.Second + idle), 1}, {tm.Add(89*time.Second + idle - time.Nanosecond), 0}, {tm.Add(89*time.Second + idle), 1}} {
		if n, _ := f.m.SweepSessions(f.ctx, "", c.at, 10); n != c.want {
			t.Errorf("R9: sweep at %v closed %d, want %d", c.at, n, c.want)
		}
	}
}
