package store

import (
	"context"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// R24: the audit log reads the same across its 1,024-entry chunks, honours
// limits (0: nothing), and has nothing after its last entry.
func TestR24AuditLogReadsAcrossChunks(t *testing.T) {
	var l auditLog
	const n = 2*auditChunk + 6
	for i := uint64(1); i <= n; i++ {
		l.append(lifecycle.AuditEntry{Seq: i})
	}
	if len(l.chunks) != 3 {
		t.Fatalf("%d entries in %d chunks, want 3", n, len(l.chunks))
	}
	for _, tc := range []struct {
		after       uint64
		limit       int
		first, want uint64 // first Seq and how many
	}{
		{auditChunk - 4, 8, auditChunk - 3, 8},
		{0, int(n), 1, n},
		{n - 10, 1 << 30, n - 9, 10},
		{0, -1, 0, 0}, // a limit below zero reads nothing (lifecycle.Store)
		{5, 0, 0, 0},
		{n - 1, 5, n, 1},
	} {
		got := l.read(tc.after, tc.limit)
		if uint64(len(got)) != tc.want {
			t.Fatalf("read(%d, %d): %d entries, want %d", tc.after, tc.limit, len(got), tc.want)
		}
		for i, e := range got {
			if e.Seq != tc.first+uint64(i) {
				t.Fatalf("read(%d, %d)[%d].Seq = %d, want %d", tc.after, tc.limit, i, e.Seq, tc.first+uint64(i))
			}
		}
	}
	for _, after := range []uint64{n, n + 1} {
		if got := l.read(after, -1); got != nil {
			t.Fatalf("read(%d) at the end = %v, want nil", after, got)
		}
	}
}

// The session index drops a chunk from its table once every session in
// it is gone (id 0, never used, counts as gone), keeps the others, and
// grows and drops right once its front has moved.
func TestSessIndexDropsWholeChunks(t *testing.T) {
	var x sessIndex
	rec := &sessRec{}
	tab := func() *sessTable { return x.tab.Load() }
	putRange := func(from, to uint64) {
		for id := from; id <= to; id++ {
			x.put(id, rec)
		}
	}
	removeRange := func(from, to uint64) {
		for id := from; id <= to; id++ {
			x.remove(id)
		}
	}
	putRange(1, 2*indexChunk-1) // chunks 0 and 1
	x.remove(2)
	if x.get(3) == nil || x.get(1) == nil {
		t.Fatal("removing one session dropped its chunk")
	}
	removeRange(indexChunk, 2*indexChunk-1) // all of chunk 1
	if x.get(1) == nil || x.get(indexChunk-1) == nil {
		t.Fatal("dropping chunk 1 lost chunk 0")
	}
	if tb := tab(); !slices.Equal(tb.nums, []uint64{0}) || len(tb.chunks) != 1 {
		t.Fatalf("after chunk 1 went: chunks %v held", tb.nums)
	}
	removeRange(1, indexChunk-1) // the rest of chunk 0
	if tb := tab(); len(tb.nums) != 0 || len(tb.chunks) != 0 {
		t.Fatalf("after chunks 0 and 1 went: chunks %v held; want none", tb.nums)
	}
	// The front has moved: grow past it, then drop a chunk behind it.
	putRange(2*indexChunk, 3*indexChunk+9) // chunks 2 and 3
	if x.get(3*indexChunk+9) == nil || x.get(2*indexChunk) == nil {
		t.Fatal("growing past a moved front lost a session")
	}
	removeRange(3*indexChunk, 3*indexChunk+8)
	if x.get(3*indexChunk+9) == nil {
		t.Fatal("a chunk with one session left was dropped")
	}
	removeRange(2*indexChunk, 3*indexChunk-1)
	if tb := tab(); !slices.Equal(tb.nums, []uint64{3}) || len(tb.chunks) != 1 || x.get(3*indexChunk+9) == nil {
		t.Fatalf("after chunk 2 went: chunks %v held; want [3]", tb.nums)
	}

	var only sessIndex // one chunk, dropped: the table is left empty
	for id := uint64(1); id < indexChunk; id++ {
		only.put(id, rec)
	}
	for id := uint64(1); id < indexChunk; id++ {
		only.remove(id)
	}
	if tb := only.tab.Load(); len(tb.nums) != 0 || len(tb.chunks) != 0 {
		t.Fatalf("after the only chunk went: chunks %v held; want none", tb.nums)
	}
	// Growing again, to chunk 2: only chunk 0 starts with a slot gone.
	for id := uint64(2 * indexChunk); id < 3*indexChunk; id++ {
		only.put(id, rec)
	}
	for id := uint64(2 * indexChunk); id < 3*indexChunk-1; id++ {
		only.remove(id)
	}
	if only.get(3*indexChunk-1) == nil {
		t.Fatal("chunk 2 was dropped with a session left")
	}
}

// shrink rebuilds a shard's map of open sessions once it holds a quarter
// of its peak of at least 4,096, and not before.
func TestShardShrinkBoundaries(t *testing.T) {
	for _, tc := range []struct {
		peak, open, want int
	}{
		{4096, 1024, 1024},
		{4096, 1025, 4096},
		{4095, 10, 4095},
		{8000, 2000, 2000},
	} {
		var sh shard
		sh.init()
		for i := 0; i < tc.open; i++ {
			sh.open[uint64(i)] = nil
		}
		sh.peak = tc.peak
		sh.shrink()
		if sh.peak != tc.want || len(sh.open) != tc.open {
			t.Errorf("shrink at peak %d with %d open: peak %d, %d open; want peak %d", tc.peak, tc.open, sh.peak, len(sh.open), tc.want)
		}
	}
}

// The sessions recorded closed wait in their shard's list in the order
// they were closed, and leave it past the retention with their links
// cleared: the list holds no memory once purged.
func TestClosedListEmptiesPastRetention(t *testing.T) {
	f := newMemFixture(t, WithRetention(time.Minute))
	s := smsSender("1")
	f.commit(activeBot("a", 0, s))
	var recs []*sessRec
	for i, u := range []string{"u1", "u2", "u3"} {
		sess := f.route(s, u, tm)
		recs = append(recs, f.m.def().sessions.get(uint64(sess.ID)))
		if _, err := f.m.CloseSession(f.ctx, "", sess.ID, lifecycle.CloseCompleted, tm.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	sh := f.m.def().shardOf(s)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.closed.head != recs[0] || recs[0].next != recs[1] || recs[1].next != recs[2] || sh.closed.tail != recs[2] {
		t.Fatal("the closed list does not hold the sessions in the order they were closed")
	}
	if n := f.m.def().purgeLocked(sh, tm.Add(time.Hour), 10); n != 3 || sh.closed.head != nil || sh.closed.tail != nil {
		t.Fatalf("purgeLocked past the retention = %d, list %p..%p; want 3, empty", n, sh.closed.head, sh.closed.tail)
	}
	for i, r := range recs {
		if r.next != nil {
			t.Errorf("purged session %d still links to another", i+1)
		}
	}
}

// Route removes at most two closed sessions past the retention, so that
// routing never pays for a backlog; purgeLocked says how many it removed.
func TestRoutePurgesAtMostTwo(t *testing.T) {
	f := newMemFixture(t, WithRetention(time.Minute))
	s := smsSender("1")
	f.commit(activeBot("a", 0, s))
	var ids []lifecycle.SessionID
	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		sess := f.route(s, u, tm)
		ids = append(ids, sess.ID)
		if _, err := f.m.CloseSession(f.ctx, "", sess.ID, lifecycle.CloseCompleted, tm); err != nil {
			t.Fatal(err)
		}
	}
	f.route(s, "u5", tm.Add(time.Hour))
	if got := f.m.retained(); got != 3 { // two of the four closed, and u5
		t.Fatalf("after one Route past the retention, %d sessions held; want 3", got)
	}
	sh := f.m.def().shardOf(s)
	sh.mu.Lock()
	n := f.m.def().purgeLocked(sh, tm.Add(time.Hour), 1)
	sh.mu.Unlock()
	if n != 1 || f.m.retained() != 2 {
		t.Fatalf("purgeLocked(limit 1) = %d, %d held; want 1, 2", n, f.m.retained())
	}
}

// A group is keyed in its shard's heap by when its least recently active
// session idles out, is there once, and leaves it with its last session.
func TestGroupHeapKeys(t *testing.T) {
	f := newMemFixture(t)
	s := smsSender("1")
	idle := 10 * time.Minute
	f.commit(activeBot("a", idle, s))
	first := f.route(s, "u1", tm)
	f.route(s, "u2", tm.Add(time.Minute))
	sh := f.m.def().shardOf(s)
	g := f.m.def().sessions.get(uint64(first.ID)).grp
	if sh.due.len() != 1 || !g.at.Equal(tm.Add(idle)) {
		t.Fatalf("two sessions: %d groups due, key %v; want 1 at %v", sh.due.len(), g.at, tm.Add(idle))
	}
	if n, _ := f.m.SweepSessions(f.ctx, "", tm.Add(idle), 10); n != 1 {
		t.Fatalf("sweep at u1's idle end closed %d, want 1", n)
	}
	if sh.due.len() != 1 || g.heapAt != 0 || !g.at.Equal(tm.Add(time.Minute+idle)) {
		t.Fatalf("one session left: %d groups due, key %v; want 1 at %v", sh.due.len(), g.at, tm.Add(time.Minute+idle))
	}
	if n, _ := f.m.SweepSessions(f.ctx, "", tm.Add(time.Hour), 10); n != 1 {
		t.Fatalf("sweep at u2's idle end closed %d, want 1", n)
	}
	if sh.due.len() != 0 || g.heapAt != -1 {
		t.Fatalf("no session left: %d groups due (heapAt %d), want none", sh.due.len(), g.heapAt)
	}
}

// A commit that leaves a bot serving the same activation on a sender keeps
// that sender's group of open sessions, found by the bot's row there (not
// another sender's): a new session joins it.
func TestCommitKeepsGroupOfSameActivation(t *testing.T) {
	f := newMemFixture(t)
	s1, s2 := smsSender("1"), smsSender("2")
	b := activeBot("a", time.Hour, s1, s2)
	b.Live = b.Live[1:] // live on s2 only: its row on s1 has no activation
	f.commit(b)
	first := f.route(s2, "u1", tm)
	b.Name = "renamed"
	f.commit(b)
	second := f.route(s2, "u2", tm)
	if g1, g2 := f.m.def().sessions.get(uint64(first.ID)).grp, f.m.def().sessions.get(uint64(second.ID)).grp; g1 != g2 {
		t.Fatal("after a commit that kept the activation, a new session went to a new group")
	}
}

// A commit takes a group emptied by CloseSession out of its shard's heap.
func TestCommitUnschedulesEmptiedGroup(t *testing.T) {
	f := newMemFixture(t)
	s := smsSender("1")
	b := activeBot("a", time.Hour, s)
	f.commit(b)
	sess := f.route(s, "u1", tm)
	if _, err := f.m.CloseSession(f.ctx, "", sess.ID, lifecycle.CloseCompleted, tm); err != nil {
		t.Fatal(err)
	}
	b.Name = "renamed"
	f.commit(b)
	if n := f.m.def().shardOf(s).due.len(); n != 0 {
		t.Fatalf("%d groups due after a commit with none open, want 0", n)
	}
}

// A Commit locks the shards of the senders its bots have: it waits for
// routing on them (R1, R9, R10).
func TestCommitLocksSendersShards(t *testing.T) {
	f := newMemFixture(t)
	s := smsSender("1")
	b := activeBot("a", 0, s)
	f.commit(b)
	sh := f.m.def().shardOf(s)
	sh.mu.Lock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Name = "renamed"
		f.commit(b)
	}()
	select {
	case <-done:
		sh.mu.Unlock()
		t.Fatal("a Commit changing a bot went through while its sender's shard was held")
	case <-time.After(50 * time.Millisecond):
	}
	sh.mu.Unlock()
	<-done
}

// R9: routing to a group's first session moves it to the back, so that a
// sweep at the next session's idle end closes that one.
func TestR9SweepClosesSessionBehindOneRoutedTo(t *testing.T) {
	f := newMemFixture(t)
	s := smsSender("1")
	idle := 10 * time.Minute
	f.commit(activeBot("a", idle, s))
	f.route(s, "u1", tm)
	second := f.route(s, "u2", tm.Add(time.Minute))
	f.route(s, "u1", tm.Add(5*time.Minute))
	if n, _ := f.m.SweepSessions(f.ctx, "", tm.Add(time.Minute+idle), 10); n != 1 {
		t.Fatalf("R9: sweep at u2's idle end closed %d, want 1", n)
	}
	if got, err := f.m.Sessions(f.ctx, "", second.ID-1, 1); err != nil || len(got) != 1 || got[0].Open() {
		t.Fatalf("R9: u2 after the sweep = %v, %v; want closed", got, err)
	}
}

// R10: sessions of one end user on two channels with the same address have
// the same hash and are told apart by their keys: each message goes to its
// own session, and closing either, first or last hashed, leaves the other.
func TestSessionsSharingAHash(t *testing.T) {
	f := newMemFixture(t)
	sms, wa := smsSender("1"), lifecycle.Sender{Channel: "whatsapp", Address: "1"}
	b := activeBot("b", 0, wa)
	b.Channel = "whatsapp"
	f.commit(activeBot("a", 0, sms), b)
	for _, closeFirst := range []bool{true, false} {
		first, second := f.route(sms, "u", tm), f.route(wa, "u", tm)
		if first.ID == second.ID {
			t.Fatalf("R10: two channels share session %d", first.ID)
		}
		shut, kept, keptOn := first, second, wa
		if !closeFirst {
			shut, kept, keptOn = second, first, sms
		}
		if _, err := f.m.CloseSession(f.ctx, "", shut.ID, lifecycle.CloseCompleted, tm); err != nil {
			t.Fatal(err)
		}
		if got := f.route(keptOn, "u", tm); got.ID != kept.ID || got.Messages != 2 {
			t.Fatalf("R10: after closing session %d, a message on %v went to %d with %d messages; want %d with 2", shut.ID, keptOn, got.ID, got.Messages, kept.ID)
		}
		if _, err := f.m.CloseSession(f.ctx, "", kept.ID, lifecycle.CloseCompleted, tm); err != nil {
			t.Fatal(err)
		}
	}
}

// R24: a WaitAudit parked on the log's end - not merely one that has not
// looked yet - wakes at the next Commit. (storetest's R24/WaitAudit cannot
// tell: its waiter may first look after the commit.)
func TestWaitAuditWakesAParkedWaiter(t *testing.T) {
	st := NewMemory()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- st.WaitAudit(ctx, "", 0) }()
	for !st.def().auditWaiting.Load() {
		if ctx.Err() != nil {
			t.Fatal("WaitAudit on an empty log never parked")
		}
		runtime.Gosched()
	}
	if _, err := st.Commit(ctx, lifecycle.Plan{Audit: []lifecycle.AuditEntry{{Time: time.Unix(0, 0), Actor: "a", Action: lifecycle.OpGet}}}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("the parked WaitAudit after a commit = %v, want nil", err)
	}
}
