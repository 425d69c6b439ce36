package lifecycle_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// R9: a drain that cannot be settled does not cut ExpireDue's batch
// short: with more drains due than one batch holds and the first of them
// failing, every other one ends in the same run.
func TestR9ExpireDueSettlesEveryBatchPastAFailure(t *testing.T) {
	e := newEnv(t)
	const n = 101 // one more than ExpireDue reads at a time
	var first lifecycle.BotID
	for i := range n {
		b := e.live(fmt.Sprint("b", i), fmt.Sprint(1000+i))
		e.must(e.m.Deactivate(e.ctx, manager, b.ID, time.Minute+time.Duration(i)*time.Second))
		if i == 0 {
			first = b.ID // the earliest deadline: the first ExpireDue tries
		}
	}
	e.clk.Add(time.Hour)
	m, err := lifecycle.New(lifecycle.Config{Store: failingStore{Store: e.st, bot: first}, Clock: e.clk})
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.ExpireDue(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.DrainsEnded) != n-1 || len(got.Failed) != 1 || got.Failed[0] != first {
		t.Errorf("R9: ExpireDue ended %d drains and failed %v; want %d ended and %s failed", len(got.DrainsEnded), got.Failed, n-1, first)
	}
}
