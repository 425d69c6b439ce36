package store_test

import (
	"fmt"
	"testing"

	"github.com/botlife/botlife/lifecycle"
)

// R26, parity: a session's count of messages routed (SessionStats.Messages)
// adds up the Messages of its sessions, as SQLite's triggers keep it: a
// test session opens with no message (the Manager's opening route at the
// lease's OpenedAt), so its opening counts none.
func TestR26TestSessionOpeningCountsNoMessage(t *testing.T) {
	o := newOracle(t, 1)
	b, err := o.m.Create(o.ctx, dan, lifecycle.Create{Name: "b", Channel: "sms", Senders: oracleSenders, Definition: o.definition()})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := o.m.OpenTestSession(o.ctx, dan, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, sends := range []int{0, 1, 2} {
		t.Run(fmt.Sprintf("%d sent", sends), func(t *testing.T) {
			if sends > 0 {
				if _, err := o.m.SendTest(o.ctx, dan, ts.ID); err != nil {
					t.Fatal(err)
				}
			}
			var routed, counted uint64
			for _, s := range o.sessions() {
				routed += s.Messages
			}
			stats, err := o.st.SessionStats(o.ctx, "")
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range stats {
				counted += st.Messages
			}
			if routed != counted {
				t.Errorf("R26: sessions hold %d messages, SessionStats counts %d", routed, counted)
			}
		})
	}
}
