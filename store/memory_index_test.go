package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/botlife/botlife/lifecycle"
)

// TestBotIDs pages through ids added, deleted and added again in random
// order, against a sorted copy.
func TestBotIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var x botIDs
	live := map[lifecycle.BotID]*botRec{}
	for step := 0; step < 20_000; step++ {
		id := lifecycle.BotID(fmt.Sprintf("bot-%05d", r.IntN(3000)))
		if _, ok := live[id]; ok && r.IntN(3) == 0 {
			delete(live, id)
			x.deleted(live)
		} else if !ok {
			live[id] = &botRec{}
			x.add(id, live)
		}
		if step%997 != 0 {
			continue
		}
		var want []lifecycle.BotID
		for id := range live {
			want = append(want, id)
		}
		slices.Sort(want)
		for _, after := range []lifecycle.BotID{"", "bot-01500", "bot-02999", "zzz"} {
			var got []lifecycle.BotID
			x.page(after, func(id lifecycle.BotID) bool {
				if _, ok := live[id]; ok {
					got = append(got, id)
				}
				return true
			})
			i, _ := slices.BinarySearch(want, after)
			if i < len(want) && want[i] == after {
				i++
			}
			if !slices.Equal(got, want[i:]) {
				t.Fatalf("step %d, after %q: got %d ids, want %d", step, after, len(got), len(want[i:]))
			}
		}
	}
}
