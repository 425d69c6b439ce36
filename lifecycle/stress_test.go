package lifecycle_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/google/go-cmp/cmp"
)

// TestStress runs 64 goroutines that activate, deactivate and route on
// overlapping senders (run it with -race). Afterwards R1 and R2 hold, every
// error was one a caller expects, and replaying the audit log from empty
// reproduces every bot's final state exactly (R15, R16).
func TestStress(t *testing.T) {
	e := newEnv(t)
	addrs := []string{"101", "102", "103", "104"}
	var ids []lifecycle.BotID
	for i := 0; i < 24; i++ {
		// Each bot runs on one or two neighbouring senders: groups overlap.
		ids = append(ids, e.draft(fmt.Sprintf("b%d", i), addrs[i%4], addrs[(i+1)%4]).ID)
	}
	const workers, rounds = 64, 40
	var wg sync.WaitGroup
	var activated, deactivated, routed atomic.Int64
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; i < rounds; i++ {
				id := ids[rng.IntN(len(ids))]
				var err error
				switch rng.IntN(4) {
				case 0:
					decisions := []lifecycle.Decision{{}, lifecycle.Immediate(), lifecycle.Grace(time.Duration(1+rng.IntN(30)) * time.Minute)}
					if _, err = e.m.Activate(e.ctx, manager, id, decisions[rng.IntN(3)], lifecycle.Ack{}); err == nil {
						activated.Add(1)
					}
				case 1:
					if _, err = e.m.Deactivate(e.ctx, manager, id, time.Duration(rng.IntN(2))*time.Minute); err == nil {
						deactivated.Add(1)
					}
				default:
					if _, err = e.m.Route(e.ctx, sms(addrs[rng.IntN(4)]), fmt.Sprintf("user-%d", rng.IntN(50))); err == nil {
						routed.Add(1)
					}
				}
				switch {
				case err == nil,
					errors.Is(err, lifecycle.ErrInvalidTransition), // lost a race for the bot's state
					errors.Is(err, lifecycle.ErrSenderOccupied),    // no decision given
					errors.Is(err, lifecycle.ErrNoBot),             // nobody Active on the sender
					errors.Is(err, lifecycle.ErrConflict):          // retries exhausted under contention
				default:
					t.Errorf("worker %d: unexpected error %v", w, err)
				}
			}
		}(w)
	}
	wg.Wait()

	bots := e.dump().Bots
	active, draining := map[lifecycle.Sender][]lifecycle.BotID{}, map[lifecycle.Sender][]lifecycle.BotID{}
	for _, b := range bots {
		for _, e := range b.Live { // R1, R2 per sender (R22)
			switch e.State {
			case lifecycle.Active:
				active[e.Sender] = append(active[e.Sender], b.ID)
			case lifecycle.Deactivated:
				draining[e.Sender] = append(draining[e.Sender], b.ID)
			}
		}
	}
	for s, list := range active {
		if len(list) > 1 {
			t.Errorf("R1: %v all Active on %s", list, s)
		}
	}
	for s, list := range draining {
		if len(list) > 1 {
			t.Errorf("R2: %v all Deactivated on %s", list, s)
		}
	}

	// Replay: apply every audited transition in order, checking each starts
	// where the previous one left the bot.
	replayed := map[lifecycle.BotID]lifecycle.State{}
	for _, entry := range e.audit() {
		for _, tr := range entry.Transitions {
			if !tableStep(tr) {
				t.Fatalf("S1: audit entry %d records %s %v -> %v, a move the table does not have", entry.Seq, tr.Bot, tr.From, tr.To)
			}
			if replayed[tr.Bot] != tr.From {
				t.Fatalf("R16: audit entry %d moves %s from %v, but the log left it %v", entry.Seq, tr.Bot, tr.From, replayed[tr.Bot])
			}
			if tr.To == lifecycle.Deleted {
				delete(replayed, tr.Bot)
				continue
			}
			replayed[tr.Bot] = tr.To
		}
	}
	final := map[lifecycle.BotID]lifecycle.State{}
	for _, b := range bots {
		final[b.ID] = b.State
	}
	if diff := cmp.Diff(final, replayed); diff != "" {
		t.Errorf("R16: replaying the audit log does not reproduce the store (-store +replay):\n%s", diff)
	}
	// Every success was audited exactly once, and nothing else was (R16);
	// and the run did real work: each kind of operation succeeded.
	var changes int
	byAction := map[lifecycle.Op]int64{}
	for _, entry := range e.audit() {
		changes += len(entry.Transitions)
		byAction[entry.Action]++
	}
	if byAction[lifecycle.OpActivate] != activated.Load() || byAction[lifecycle.OpDeactivate] != deactivated.Load() {
		t.Errorf("R16: %d activations and %d deactivations succeeded, the log has %d and %d", activated.Load(), deactivated.Load(), byAction[lifecycle.OpActivate], byAction[lifecycle.OpDeactivate])
	}
	if activated.Load() == 0 || deactivated.Load() == 0 || routed.Load() == 0 {
		t.Errorf("the stress did no work: %d activations, %d deactivations, %d messages routed", activated.Load(), deactivated.Load(), routed.Load())
	}
	t.Logf("stress: %d workers x %d operations; %d audited transitions replayed", workers, rounds, changes)
}

// tableStep reports whether an audited transition is a creation or a move
// of the transition table (edits are table moves too).
func tableStep(tr lifecycle.Transition) bool {
	if tr.From == 0 && tr.To == lifecycle.Draft {
		return true
	}
	for _, e := range lifecycle.Events(tr.From) {
		if to, _ := lifecycle.Next(tr.From, e); to == tr.To {
			return true
		}
	}
	return false
}
