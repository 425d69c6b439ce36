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
// order, against a sorted copy; once every id is deleted the tree is gone.
func TestBotIDs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var x botIDs
	live := map[lifecycle.BotID]*botRec{}
	for step := 0; step < 20_000; step++ {
		id := lifecycle.BotID(fmt.Sprintf("bot-%05d", r.IntN(3000)))
		if _, ok := live[id]; ok && r.IntN(3) == 0 {
			delete(live, id)
			x.deleted(id)
		} else if !ok {
			live[id] = &botRec{}
			x.add(id)
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
				got = append(got, id)
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
	for id := range live {
		x.deleted(id)
	}
	x.page("", func(id lifecycle.BotID) bool { t.Fatalf("%s paged after every id was deleted", id); return false })
	if x.root != nil {
		t.Fatalf("every id deleted, yet the tree keeps %d ids or kids at its root", len(x.root.ids))
	}

}

// TestMinHeapAscend adds, moves and removes items at random and checks
// ascend against a sort of what is held: the heap behind every time order
// of the memory store (drains, session groups, schedules, departures).
func TestMinHeapAscend(t *testing.T) {
	type item struct {
		at  time.Time
		id  lifecycle.BotID
		pos int
	}
	r := rand.New(rand.NewPCG(3, 4))
	h := minHeap[*item]{
		less: func(a, b *item) bool {
			if !a.at.Equal(b.at) {
				return a.at.Before(b.at)
			}
			return a.id < b.id
		},
		moved: func(x *item, i int) { x.pos = i },
	}
	held := map[*item]bool{}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for step := 0; step < 1500; step++ {
		switch op := r.IntN(4); {
		case len(held) > 0 && op == 0:
			for it := range held {
				h.remove(it.pos)
				delete(held, it)
				if it.pos != -1 {
					t.Fatalf("step %d: a removed item says it is at %d", step, it.pos)
				}
				break
			}
		case len(held) > 0 && op == 1:
			for it := range held {
				it.at = base.Add(time.Duration(r.IntN(100)) * time.Minute)
				h.fix(it.pos)
				break
			}
		default:
			it := &item{at: base.Add(time.Duration(r.IntN(100)) * time.Minute), id: lifecycle.BotID(fmt.Sprintf("b%05d", step))}
			h.push(it)
			held[it] = true
		}
		now, limit := base.Add(time.Duration(r.IntN(100))*time.Minute), r.IntN(20)
		var want []*item
		for it := range held {
			if !it.at.After(now) {
				want = append(want, it)
			}
		}
		slices.SortFunc(want, func(a, b *item) int {
			if c := a.at.Compare(b.at); c != 0 {
				return c
			}
			return strings.Compare(string(a.id), string(b.id))
		})
		want = want[:min(limit, len(want))]
		var got []*item
		h.ascend(func(x *item) bool { return !x.at.After(now) }, func(x *item) bool {
			if len(got) >= limit {
				return false
			}
			got = append(got, x)
			return true
		})
		if !slices.Equal(got, want) {
			t.Fatalf("step %d: ascend gives %d items, want the %d earliest in order", step, len(got), len(want))
		}
		for i, x := range h.items {
			if x.pos != i {
				t.Fatalf("step %d: item at %d says it is at %d", step, i, x.pos)
			}
		}
	}
}
