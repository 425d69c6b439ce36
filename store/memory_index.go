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
type sessIndex struct {
	mu  sync.Mutex
	tab atomic.Pointer[sessTable]
}

const indexChunk = 4096

// sessTable holds the chunk of ids from (base+i)*indexChunk at chunks[i],
// nil once dropped. A table is replaced, never changed, but for its slots.
type sessTable struct {
	base   uint64
	chunks []*sessChunk
}

type sessChunk struct {
	slots [indexChunk]atomic.Pointer[sessRec]
	gone  atomic.Int32 // slots whose session was removed
}

func (t *sessTable) chunk(id uint64) *sessChunk {
	if c := id / indexChunk; t != nil && c >= t.base && c-t.base < uint64(len(t.chunks)) {
		return t.chunks[c-t.base]
	}
	return nil
}

func (x *sessIndex) get(id uint64) *sessRec {
	if c := x.tab.Load().chunk(id); c != nil {
		return c.slots[id%indexChunk].Load()
	}
	return nil
}

func (x *sessIndex) put(id uint64, r *sessRec) {
	c := x.tab.Load().chunk(id)
	if c == nil {
		x.edit(func(t *sessTable) { // add the chunk of id, and any before it missing
			if t.base == 0 && t.chunks == nil {
				t.base = id / indexChunk // the first
			}
			for t.base+uint64(len(t.chunks)) <= id/indexChunk {
				c := new(sessChunk)
				if t.base+uint64(len(t.chunks)) == 0 {
					c.gone.Store(1) // id 0 is never used
				}
				t.chunks = append(t.chunks, c)
			}
		})
		c = x.tab.Load().chunk(id)
	}
	c.slots[id%indexChunk].Store(r)
}

// remove takes the session with id out of the index, and drops its chunk
// once every session in it is gone, with the dropped chunks at the front.
func (x *sessIndex) remove(id uint64) {
	c := x.tab.Load().chunk(id)
	if c == nil || c.slots[id%indexChunk].Swap(nil) == nil || c.gone.Add(1) != indexChunk {
		return
	}
	x.edit(func(t *sessTable) {
		t.chunks[id/indexChunk-t.base] = nil
		for len(t.chunks) > 0 && t.chunks[0] == nil {
			t.chunks, t.base = t.chunks[1:], t.base+1
		}
	})
}

// edit replaces the table by a copy f changes, under the lock.
func (x *sessIndex) edit(f func(*sessTable)) {
	x.mu.Lock()
	defer x.mu.Unlock()
	n := &sessTable{}
	if t := x.tab.Load(); t != nil {
		n.base, n.chunks = t.base, slices.Clone(t.chunks)
	}
	f(n)
	x.tab.Store(n)
}

// next returns the first id from id on, up to last, whose chunk is still
// held; last+1 if none.
func (x *sessIndex) next(id, last uint64) uint64 {
	for t := x.tab.Load(); t != nil && id <= last; {
		switch c := id / indexChunk; {
		case c < t.base:
			id = t.base * indexChunk
		case c-t.base >= uint64(len(t.chunks)):
			return last + 1
		case t.chunks[c-t.base] == nil:
			id = (c + 1) * indexChunk
		default:
			return id
		}
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
