package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

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

// TestDrainHeap adds and removes drains at random and checks due against
// a sort of what is held.
func TestDrainHeap(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var h drainHeap
	held := map[*botRec]drainItem{}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for step := 0; step < 1500; step++ {
		if len(held) > 0 && r.IntN(3) == 0 {
			for rec := range held {
				h.remove(rec)
				delete(held, rec)
				break
			}
		} else {
			rec := &botRec{drainAt: -1}
			it := drainItem{at: base.Add(time.Duration(r.IntN(100)) * time.Minute), id: lifecycle.BotID(fmt.Sprintf("b%05d", step)), rec: rec}
			h.add(rec, it.at, it.id)
			held[rec] = it
		}
		now, limit := base.Add(time.Duration(r.IntN(100))*time.Minute), r.IntN(20)
		var want []drainItem
		for _, it := range held {
			if !it.at.After(now) {
				want = append(want, it)
			}
		}
		slices.SortFunc(want, func(a, b drainItem) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return strings.Compare(string(a.id), string(b.id))
		})
		want = want[:min(limit, len(want))]
		got := h.due(now, limit)
		if len(got) != len(want) {
			t.Fatalf("step %d: due gives %d, want %d", step, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i].rec {
				t.Fatalf("step %d: due[%d] is not the %d-th earliest", step, i, i)
			}
		}
	}
}
