package store

import (
	"slices"
	"sync"
	"sync/atomic"
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
