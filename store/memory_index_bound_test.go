package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
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
