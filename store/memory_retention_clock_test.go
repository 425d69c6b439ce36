package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// WithRetention when the clock steps back: a closed session leaves memory
// once the clock has run forward for the retention since the store
// recorded it closed, counting no step back, in the order the sessions
// closed. A session recorded closed before a step back used to wait until
// the clock passed its time again, and every session closed after it
// with it; a now late by less than a second (callers racing to a shard)
// is no step and counts for nothing, and a now late by more (a sweep with
// the now ExpireDue read before it settled what was due) counts the time
// since it once, not twice.
func TestRetentionAfterClockStepsBack(t *testing.T) {
	type op struct {
		close bool // route a new end user and close the session; else sweep
		at    time.Duration
	}
	for _, tc := range []struct {
		name string
		ops  []op
		want int // sessions still held
	}{
		{"forward: within the retention", []op{{true, 0}, {false, time.Minute - time.Nanosecond}}, 1},
		{"forward: past the retention", []op{{true, 0}, {false, time.Minute}}, 0},
		{"stepped back an hour: past the retention run since", []op{{true, time.Hour}, {true, 0}, {false, 2 * time.Minute}}, 0},
		{"stepped back an hour: within the retention run since", []op{{true, time.Hour}, {true, 0}, {false, 30 * time.Second}}, 2},
		{"stepped back a day, then forward past the retention", []op{{true, 24 * time.Hour}, {false, 0}, {false, time.Minute}}, 0},
		{"stepped back: a session closed later leaves a retention after it", []op{{true, time.Hour}, {true, 0}, {true, 30 * time.Second}, {false, time.Minute}}, 1},
		{"a now late by half a second is no step", []op{{true, 10 * time.Second}, {false, 9500 * time.Millisecond}, {false, 10*time.Second + time.Minute - time.Nanosecond}}, 1},
		{"a now late by half a second, then past the retention", []op{{true, 10 * time.Second}, {false, 9500 * time.Millisecond}, {false, 10*time.Second + time.Minute}}, 0},
		// ExpireDue sweeps with the now it read before settling drains and
		// schedules, which may take seconds: that now, late, is taken for a
		// step back, but the time since it is not counted twice once a now
		// on time comes - 40s have run, not 60s.
		{"a sweep late by 20s counts no time twice", []op{{true, 0}, {true, 30 * time.Second}, {false, 10 * time.Second}, {false, 40 * time.Second}}, 2},
		{"sweeps late by 20s, one after another, count no time twice", []op{{true, 0}, {true, 30 * time.Second}, {false, 10 * time.Second}, {false, 10 * time.Second}, {false, 40 * time.Second}}, 2},
		{"a sweep late by 20s, then past the retention", []op{{true, 0}, {true, 30 * time.Second}, {false, 10 * time.Second}, {false, time.Minute}}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newMemFixture(t, WithRetention(time.Minute))
			s := smsSender("1")
			f.commit(activeBot("a", 0, s))
			for i, o := range tc.ops {
				at := tm.Add(o.at)
				if !o.close {
					if _, err := f.m.SweepSessions(f.ctx, "", at, 100); err != nil {
						t.Fatal(err)
					}
					continue
				}
				sess := f.route(s, fmt.Sprintf("u%d", i), at)
				if _, err := f.m.CloseSession(f.ctx, "", sess.ID, lifecycle.CloseCompleted, at); err != nil {
					t.Fatal(err)
				}
			}
			if got := f.m.retained(); got != tc.want {
				t.Errorf("%d closed sessions held; want %d", got, tc.want)
			}
		})
	}
}
