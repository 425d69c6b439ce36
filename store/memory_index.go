package store

import (
	"slices"
	"sync"
	"sync/atomic"

	"github.com/botlife/botlife/lifecycle"
)

// sessIndex finds sessions by id. Ids are dense and assigned in order, so
// it is a table of fixed-size chunks: slots are read and written with
// atomics, without a lock, and a chunk whose sessions have all left memory
// (retention) is dropped. The lock is taken only to add or drop a chunk.
//
// The table lists only the chunks held, sorted: one session left open
// while millions of others open, close and leave memory keeps its chunk
// and the newest, not an entry per chunk of ids since (which every chunk
// added or dropped copied, and Sessions stepped over one by one). Its size,
// and the cost of changing it, is that of the sessions in memory, never
// of history.
type sessIndex struct {
	mu  sync.Mutex
	tab atomic.Pointer[sessTable]
}

const indexChunk = 4096

// sessTable holds the chunks held, chunks[i] the one of ids from
// nums[i]*indexChunk, nums ascending. A table is replaced, never changed,
// but for its slots.
type sessTable struct {
	nums   []uint64
	chunks []*sessChunk
}

type sessChunk struct {
	slots [indexChunk]atomic.Pointer[sessRec]
	gone  atomic.Int32 // slots whose session was removed
}

// find returns the index in t of the first chunk held from chunk number c
// on; len(t.nums) if none.
func (t *sessTable) find(c uint64) int {
	if t == nil {
		return 0
	}
	if n := len(t.nums); n > 0 && t.nums[n-1] == c { // the newest: most lookups
		return n - 1
	}
	i, _ := slices.BinarySearch(t.nums, c)
	return i
}

func (t *sessTable) chunk(id uint64) *sessChunk {
	c := id / indexChunk
	if i := t.find(c); t != nil && i < len(t.nums) && t.nums[i] == c {
		return t.chunks[i]
	}
	return nil
}

func (x *sessIndex) get(id uint64) *sessRec {
	if c := x.tab.Load().chunk(id); c != nil {
		return c.slots[id%indexChunk].Load()
	}
	return nil
}

// put indexes r at id. Ids are put in ascending order (space.number), so
// a new chunk goes at the end of the table.
func (x *sessIndex) put(id uint64, r *sessRec) {
	c := x.tab.Load().chunk(id)
	if c == nil {
		x.edit(func(t *sessTable) {
			c = new(sessChunk)
			if id/indexChunk == 0 {
				c.gone.Store(1) // id 0 is never used
			}
			t.nums, t.chunks = append(t.nums, id/indexChunk), append(t.chunks, c)
		})
	}
	c.slots[id%indexChunk].Store(r)
}

// remove takes the session with id out of the index, and drops its chunk
// from the table once every session in it is gone.
func (x *sessIndex) remove(id uint64) {
	c := x.tab.Load().chunk(id)
	if c == nil || c.slots[id%indexChunk].Swap(nil) == nil || c.gone.Add(1) != indexChunk {
		return
	}
	x.edit(func(t *sessTable) {
		if i := t.find(id / indexChunk); i < len(t.nums) && t.chunks[i] == c {
			t.nums, t.chunks = slices.Delete(t.nums, i, i+1), slices.Delete(t.chunks, i, i+1)
		}
	})
}

// edit replaces the table by a copy f changes, under the lock.
func (x *sessIndex) edit(f func(*sessTable)) {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := &sessTable{}
	if t := x.tab.Load(); t != nil {
		n.nums, n.chunks = slices.Clone(t.nums), slices.Clone(t.chunks)
	}
	f(n)
	x.tab.Store(n)
}

// next returns the first id from id on, up to last, whose chunk is still
// held; last+1 if none.
func (x *sessIndex) next(id, last uint64) uint64 {
	t := x.tab.Load()
	if i := t.find(id / indexChunk); id <= last && t != nil && i < len(t.nums) {
		return min(max(id, t.nums[i]*indexChunk), last+1)
	}
	return last + 1
}

// botIDs keeps the ids of bots sorted for paging, in a B-tree of up to
// idFan ids or children per node: adding or deleting an id costs O(log n),
// with few cache misses, and a page O(log n) plus what it returns, however
// many bots are stored. A node is not refilled when ids leave it, only
// dropped once empty: every node still holds at least one id below it.
type botIDs struct{ root *idNode }

const idFan = 64

// idNode is a leaf (kids nil) holding ids, or an inner node whose ids[i],
// for i > 0, separates kids[i-1] (ids below it) from kids[i] (ids not
// below it); ids[0] is "", below every id, so that ids stay sorted.
type idNode struct {
	ids  []lifecycle.BotID
	kids []*idNode
}

// child returns the index of the kid id belongs under.
func (n *idNode) child(id lifecycle.BotID) int {
	i, found := slices.BinarySearch(n.ids, id)
	if !found {
		i-- // ids[0] is "": i was at least 1
	}
	return i
}

func (x *botIDs) add(id lifecycle.BotID) {
	if x.root == nil {
		x.root = &idNode{}
	}
	if right, sep := x.root.add(id); right != nil {
		x.root = &idNode{ids: []lifecycle.BotID{"", sep}, kids: []*idNode{x.root, right}}
	}
}

// add adds id below n and returns, if n split, its right half and the id
// that separates the two.
func (n *idNode) add(id lifecycle.BotID) (*idNode, lifecycle.BotID) {
	if n.kids == nil {
		i, found := slices.BinarySearch(n.ids, id)
		if found {
			return nil, ""
		}
		n.ids = slices.Insert(n.ids, i, id)
	} else {
		i := n.child(id)
		right, sep := n.kids[i].add(id)
		if right == nil {
			return nil, ""
		}
		n.ids = slices.Insert(n.ids, i+1, sep)
		n.kids = slices.Insert(n.kids, i+1, right)
	}
	if len(n.ids) <= idFan {
		return nil, ""
	}
	h := len(n.ids) / 2
	right := &idNode{ids: slices.Clone(n.ids[h:])}
	n.ids = slices.Clip(n.ids[:h])
	sep := right.ids[0]
	if n.kids != nil {
		right.kids = slices.Clone(n.kids[h:])
		n.kids = slices.Clip(n.kids[:h])
		right.ids[0] = ""
	}
	return right, sep
}

func (x *botIDs) deleted(id lifecycle.BotID) {
	if x.root == nil || x.root.remove(id) {
		x.root = nil
	}
	for x.root != nil && len(x.root.kids) == 1 {
		x.root = x.root.kids[0]
	}
}

// remove removes id below n and reports whether n is left empty.
func (n *idNode) remove(id lifecycle.BotID) bool {
	if n.kids == nil {
		if i, found := slices.BinarySearch(n.ids, id); found {
			n.ids = slices.Delete(n.ids, i, i+1)
		}
		return len(n.ids) == 0
	}
	if i := n.child(id); n.kids[i].remove(id) {
		n.ids = slices.Delete(n.ids, i, i+1)
		n.kids = slices.Delete(n.kids, i, i+1)
		if i == 0 && len(n.ids) > 0 {
			n.ids[0] = ""
		}
	}
	return len(n.kids) == 0
}

// page calls f with the ids greater than after, in order, until f returns
// false.
func (x *botIDs) page(after lifecycle.BotID, f func(lifecycle.BotID) bool) {
	if x.root != nil {
		x.root.walk(after, f)
	}
}

// walk calls f with the ids below n greater than after, in order, and
// reports whether f wanted more.
func (n *idNode) walk(after lifecycle.BotID, f func(lifecycle.BotID) bool) bool {
	if n.kids == nil {
		i, found := slices.BinarySearch(n.ids, after)
		if found {
			i++
		}
		for _, id := range n.ids[i:] {
			if !f(id) {
				return false
			}
		}
		return true
	}
	for _, k := range n.kids[n.child(after):] {
		if !k.walk(after, f) {
			return false
		}
	}
	return true
}
