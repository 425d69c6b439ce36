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

// TestBotIDsEmptiedNodes deletes runs of ids that empty whole leaves and
// inner nodes, or leave one id in a leaf, then adds ids into the emptied
// ranges, below a node's first kept separator: pages match a sorted copy
// throughout.
func TestBotIDsEmptiedNodes(t *testing.T) {
	id := func(i int) lifecycle.BotID { return lifecycle.BotID(fmt.Sprintf("b%06d", i)) }
	var x botIDs
	live := map[int]bool{}
	check := func(what string) {
		t.Helper()
		want := make([]int, 0, len(live))
		for i := range live {
			want = append(want, i)
		}
		slices.Sort(want)
		for _, from := range []int{-1, 0, 9_999, 20_001, 39_999} {
			after := lifecycle.BotID("")
			if from >= 0 {
				after = id(from)
			}
			var got []lifecycle.BotID
			x.page(after, func(id lifecycle.BotID) bool { got = append(got, id); return true })
			k, _ := slices.BinarySearch(want, from+1)
			if !slices.EqualFunc(got, want[k:], func(g lifecycle.BotID, w int) bool { return g == id(w) }) {
				t.Fatalf("%s: page after %q: %d ids, want %d", what, after, len(got), len(want[k:]))
			}
		}
		if x.root != nil {
			checkIDTree(t, x.root, "", "\xff")
		}
	}
	for i := 0; i < 40_000; i += 2 {
		x.add(id(i))
		live[i] = true
	}
	check("even ids added")
	for i := 0; i < 40_000; i += 2 {
		if i%6000 != 14 && i%2048 != 2046 { // 2046: the last id of an inner node, as the ids were added
			x.deleted(id(i))
			delete(live, i)
		}
	}
	check("all but one or two in 1000 deleted")
	for i := 1; i < 40_000; i += 6 {
		x.add(id(i))
		live[i] = true
	}
	check("odd ids added into the emptied ranges")
	for i := range live {
		x.deleted(id(i))
		delete(live, i)
	}
	check("every id deleted")
	if x.root != nil {
		t.Fatal("every id deleted, yet the tree has a root")
	}
}

// checkIDTree checks the B-tree below n, whose ids are all in [lo, hi):
// ids sorted and in range, an inner node's ids[0] "" and every other a
// separator of its kids, and no node empty.
func checkIDTree(t *testing.T, n *idNode, lo, hi lifecycle.BotID) {
	t.Helper()
	if len(n.ids) == 0 || !slices.IsSorted(n.ids) || (n.kids != nil && (len(n.kids) != len(n.ids) || n.ids[0] != "")) {
		t.Fatalf("bad node: ids %q, %d kids", n.ids, len(n.kids))
	}
	if n.kids == nil {
		if n.ids[0] < lo || n.ids[len(n.ids)-1] >= hi {
			t.Fatalf("leaf %q outside [%q, %q)", n.ids, lo, hi)
		}
		return
	}
	for i, k := range n.kids {
		klo, khi := max(lo, n.ids[i]), hi
		if i+1 < len(n.ids) {
			khi = n.ids[i+1]
		}
		checkIDTree(t, k, klo, khi)
	}
}
