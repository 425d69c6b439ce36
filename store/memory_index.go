package store

import (
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

type sessTable struct {
	base   uint64 // chunk number of chunks[0]
	chunks []*sessChunk
}

type sessChunk struct {
	slots [indexChunk]atomic.Pointer[sessRec]
	gone  atomic.Int32 // slots whose session was removed
}

func (t *sessTable) chunk(id uint64) *sessChunk {
	if t == nil {
		return nil
	}
	c := id / indexChunk
	if c < t.base || c-t.base >= uint64(len(t.chunks)) {
		return nil
	}
	return t.chunks[c-t.base]
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
		c = x.grow(id)
	}
	c.slots[id%indexChunk].Store(r)
}

// grow adds the chunk of id (and any before it that are missing).
func (x *sessIndex) grow(id uint64) *sessChunk {
	x.mu.Lock()
	defer x.mu.Unlock()
	t := x.tab.Load()
	if c := t.chunk(id); c != nil {
		return c
	}
	n := &sessTable{base: id / indexChunk}
	if t != nil {
		n.base = t.base
		n.chunks = append(n.chunks, t.chunks...)
	}
	for n.base+uint64(len(n.chunks)) <= id/indexChunk {
		c := new(sessChunk)
		if n.base+uint64(len(n.chunks)) == 0 {
			c.gone.Store(1) // id 0 is never used
		}
		n.chunks = append(n.chunks, c)
	}
	x.tab.Store(n)
	return n.chunks[id/indexChunk-n.base]
}

// remove takes the session with id out of the index.
func (x *sessIndex) remove(id uint64) {
	c := x.tab.Load().chunk(id)
	if c == nil || c.slots[id%indexChunk].Swap(nil) == nil {
		return
	}
	if c.gone.Add(1) == indexChunk {
		x.drop(id / indexChunk)
	}
}

// drop removes a chunk whose every session is gone, and the empty chunks
// at the front of the table.
func (x *sessIndex) drop(chunk uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	t := x.tab.Load()
	n := &sessTable{base: t.base, chunks: append([]*sessChunk(nil), t.chunks...)}
	n.chunks[chunk-n.base] = nil
	for len(n.chunks) > 0 && n.chunks[0] == nil {
		n.chunks = n.chunks[1:]
		n.base++
	}
	x.tab.Store(n)
}

// next returns the first id from id on, up to last, whose chunk is still
// held; last+1 if none.
func (x *sessIndex) next(id, last uint64) uint64 {
	t := x.tab.Load()
	if t == nil {
		return last + 1
	}
	for id <= last {
		c := id / indexChunk
		switch {
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
