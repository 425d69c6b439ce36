package store

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/botlife/botlife/lifecycle"
)

// chunksHeld is the test hook on the session index's size: how many
// chunks its table holds.
func (x *sessIndex) chunksHeld() int {
	if t := x.tab.Load(); t != nil {
		return len(t.chunks)
	}
	return 0
}

// Memory for closed things is bounded: one session kept open while whole
// chunks of others open, close and pass the retention leaves the session
// index holding the open session's chunk and the newest, not one entry
// per chunk of ids since it opened (every chunk added or dropped copied
// those, and Sessions stepped over them). Paging still finds every
// session held, in order.
func TestSessIndexBoundedBehindAnOpenSession(t *testing.T) {
	const rounds = 24
	f := newMemFixture(t, WithRetention(time.Minute))
	s := smsSender("1")
	f.commit(activeBot("a", 0, s))
	keeper := f.route(s, "keeper", tm)
	at := tm
	for r := 0; r < rounds; r++ {
		for i := 0; i < indexChunk; i++ {
			sess := f.route(s, fmt.Sprintf("u%d-%d", r, i), at)
			if _, err := f.m.CloseSession(f.ctx, "", sess.ID, lifecycle.CloseCompleted, at); err != nil {
				t.Fatal(err)
			}
		}
		at = at.Add(2 * time.Minute)
		if _, err := f.m.SweepSessions(f.ctx, "", at, 1<<20); err != nil {
			t.Fatal(err)
		}
		if n := f.m.def().sessions.chunksHeld(); n > 3 {
			t.Fatalf("after %d chunks of sessions opened and purged behind one open session, the index holds %d chunks; want at most 3", r+1, n)
		}
	}
	last := f.route(s, "last", at)
	page, err := f.m.Sessions(f.ctx, "", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	want := []lifecycle.Session{keeper, last}
	if diff := cmp.Diff(want, page); diff != "" {
		t.Errorf("Sessions after the purge (-want +got):\n%s", diff)
	}
	if page, _ := f.m.Sessions(f.ctx, "", keeper.ID, 10); len(page) != 1 || page[0].ID != last.ID {
		t.Errorf("Sessions after the open one = %d sessions; want the last one, %d", len(page), last.ID)
	}
}

// The session index against a map: ids put in order and removed at
// random, a few of them kept for long. get finds what is held, next skips
// only chunks holding none, and the table holds exactly the chunks with a
// session left (or a slot not yet put), in order.
func TestSessIndexAgainstAMap(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var x sessIndex
	held := map[uint64]*sessRec{}
	var last uint64
	for step := 0; step < 40; step++ {
		for i := 0; i < 1000+r.IntN(3*indexChunk); i++ {
			last++
			rec := &sessRec{}
			x.put(last, rec)
			held[last] = rec
		}
		for id := range held {
			if r.IntN(1000) != 0 { // one in a thousand stays long
				x.remove(id)
				delete(held, id)
			}
		}
		wantChunks := map[uint64]bool{last / indexChunk: last%indexChunk != indexChunk-1}
		for id := range held {
			wantChunks[id/indexChunk] = true
		}
		var want []uint64
		for c, ok := range wantChunks {
			if ok {
				want = append(want, c)
			}
		}
		slices.Sort(want)
		if got := x.tab.Load().nums; !slices.Equal(got, want) {
			t.Fatalf("step %d: the table holds chunks %v; want %v", step, got, want)
		}
		var ids []uint64 // held, ascending
		for id := range held {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for id := uint64(0); id <= last+1; id++ {
			if got := x.get(id); got != held[id] {
				t.Fatalf("step %d: get(%d) = %p; want %p", step, id, got, held[id])
			}
			if id > last {
				continue
			}
			n := x.next(id, last)
			if n < id || (n != id && x.tab.Load().chunk(id) != nil) {
				t.Fatalf("step %d: next(%d) = %d; want %d, its chunk held, or later", step, id, n, id)
			}
			if i, _ := slices.BinarySearch(ids, id); i < len(ids) && ids[i] < n {
				t.Fatalf("step %d: next(%d) = %d skips %d, held", step, id, n, ids[i])
			}
		}
	}
}

// The session index under concurrent use, as the store uses it: ids put
// in order by one writer (space.number), removed by others (each shard's
// purge), while a reader pages with next and get. Run with -race: slots
// and tables are read without a lock. A page never goes back nor finds
// another id's session, and once all are done the index holds exactly
// the ids kept, and their chunks.
func TestSessIndexConcurrent(t *testing.T) {
	const n, removers = 6 * indexChunk, 2
	var x sessIndex
	recs := make([]*sessRec, n+1)
	for i := range recs {
		recs[i] = &sessRec{}
	}
	var put atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1 + removers)
	go func() {
		defer wg.Done()
		for id := uint64(1); id <= n; id++ {
			x.put(id, recs[id])
			put.Store(id)
		}
	}()
	for r := range uint64(removers) {
		go func() {
			defer wg.Done()
			for id := r + 1; id <= n; {
				if id > put.Load() {
					runtime.Gosched()
					continue
				}
				if id%7 != 0 { // every seventh id stays
					x.remove(id)
				}
				id += removers
			}
		}()
	}
	for pass := 0; pass < 20; pass++ {
		last, prev := put.Load(), uint64(0)
		for id := x.next(1, last); id <= last; id = x.next(id+1, last) {
			if id <= prev {
				t.Fatalf("pass %d: next went back from %d to %d", pass, prev, id)
			}
			if got := x.get(id); got != nil && got != recs[id] {
				t.Fatalf("pass %d: get(%d) is another id's session", pass, id)
			}
			prev = id
		}
	}
	wg.Wait()
	last := uint64(n)
	var got []uint64
	for id := x.next(1, last); id <= last; id = x.next(id+1, last) {
		if x.get(id) != nil {
			got = append(got, id)
		}
	}
	var want []uint64
	for id := uint64(7); id <= n; id += 7 {
		want = append(want, id)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ids held once every writer is done (-want +got):\n%s", diff)
	}
	if held := x.chunksHeld(); held != n/indexChunk+1 {
		t.Errorf("the table holds %d chunks; want %d, each with an id kept", held, n/indexChunk+1)
	}
}
