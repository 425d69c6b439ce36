package store

import (
	"context"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// shardCount is the number of session shards; a power of two.
const shardCount = 64

var shardSeed = maphash.MakeSeed()

func shardIndex(s lifecycle.Sender) int {
	h := maphash.String(shardSeed, s.Address) // channels are few; addresses spread
	return int(h & (shardCount - 1))
}

func (m *Memory) shardOf(s lifecycle.Sender) *shard { return &m.shards[shardIndex(s)] }

// shard holds the senders whose address hashes to it, their open sessions,
// session counts, and the groups of open sessions by when they can next
// end. Its mutex guards all of that and every sessRec and group in it.
type shard struct {
	mu      sync.Mutex
	senders map[lifecycle.Sender]*senderRec // written under Memory.mu too
	open    map[sessKey]*sessRec
	peak    int // the most sessions open has held since it was made
	stats   map[statKey]*statRec
	// due holds the groups with open sessions, a min-heap by the earliest
	// instant any of their sessions can be over.
	due groupHeap
	// closed holds sessions recorded closed, in the order they were, until
	// the retention has passed.
	closed fifo
	_      [64]byte // keeps shards on separate cache lines
}

func (sh *shard) init() {
	sh.senders = map[lifecycle.Sender]*senderRec{}
	sh.open = map[sessKey]*sessRec{}
	sh.stats = map[statKey]*statRec{}
}

type sessRec struct {
	s          lifecycle.Session
	grp        *group
	prev, next *sessRec
	stats      *statRec
	sh         *shard
	// recorded is when the store recorded the session closed.
	recorded time.Time
}

type sessKey struct {
	sender lifecycle.Sender
	user   string
}

type statKey struct {
	bot    lifecycle.BotID
	sender lifecycle.Sender
}

type statRec struct {
	opened, open, messages uint64
	closed                 map[lifecycle.CloseReason]uint64
}

// group holds the open sessions of one activation of one bot on one
// sender, least recently active first (by LastActivityAt, ties in the
// order they were routed to): an intrusive list, so routing moves a
// session to the back without allocating and a sweep finds idle sessions
// at the front. All of them end together when the activation ends.
//
// The order is by LastActivityAt, not by when Route was called: after the
// clock steps back (an NTP correction, a test clock) a message may be
// earlier than the last one routed, and then its session goes before the
// sessions active after it (place). Otherwise a session could idle out
// behind one that does not yet, and sweeps, which stop at the first
// session not over, would leave it open.
type group struct {
	bot        *botRec
	sender     lifecycle.Sender
	activation uint64
	head, tail *sessRec
	// at is the group's key in its shard's heap: no session of the group
	// can be over before at. Routing forward in time only moves it later,
	// so the heap may hold an earlier key than the truth; a sweep fixes
	// that when it meets it. A route that moves it earlier (the clock
	// stepped back) reschedules the group.
	at     time.Time
	heapAt int // index in the shard's heap, -1 when not in it
}

var (
	minTime = time.Time{}
	maxTime = time.Unix(1<<62, 0)
)

// nextEnd returns the earliest instant a session of g can be over: at once
// if its bot no longer serves this activation, else the first of the grace
// deadline and the idle deadline of its least recently active session.
func (g *group) nextEnd() time.Time {
	b := g.bot.bot()
	if b == nil {
		return minTime
	}
	on, live := b.On(g.sender)
	if !live || on.Activation != g.activation {
		return minTime
	}
	end := maxTime
	if on.State == lifecycle.Deactivated {
		end = on.GraceDeadline
	}
	if b.IdleTimeout > 0 && g.head != nil {
		if idle := g.head.s.LastActivityAt.Add(b.IdleTimeout); idle.Before(end) {
			end = idle
		}
	}
	return end
}

// place links r, not in any list, into g after every session active at or
// before r.s.LastActivityAt: at the back, unless the clock stepped back
// since a message to a session of g. Then it walks back past the sessions
// active after r, so its cost is those sessions, none while the clock
// moves forward.
func (g *group) place(r *sessRec) {
	after := g.tail
	for after != nil && r.s.LastActivityAt.Before(after.s.LastActivityAt) {
		after = after.prev
	}
	r.grp = g
	r.prev = after
	if after != nil {
		r.next = after.next
		after.next = r
	} else {
		r.next = g.head
		g.head = r
	}
	if r.next != nil {
		r.next.prev = r
	} else {
		g.tail = r
	}
}

func (g *group) unlink(r *sessRec) {
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		g.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		g.tail = r.prev
	}
	r.prev, r.next = nil, nil
}

// replace puts r, already in g, where its LastActivityAt, just set, now
// belongs: at the back while the clock moves forward.
func (g *group) replace(r *sessRec) {
	if g.tail == r && (r.prev == nil || !r.s.LastActivityAt.Before(r.prev.s.LastActivityAt)) {
		return
	}
	g.unlink(r)
	g.place(r)
}

// reschedule puts g in the heap at its true key, or takes it out when it
// is empty. The caller holds sh.mu.
func (sh *shard) reschedule(g *group) {
	if g == nil {
		return
	}
	if g.head == nil {
		sh.due.remove(g)
		return
	}
	g.at = g.nextEnd()
	if g.heapAt < 0 {
		sh.due.push(g)
	} else {
		sh.due.fix(g.heapAt)
	}
}

// Route implements lifecycle.SessionStore. Routing to an existing session
// locks the sender's shard only, costs one map lookup and does not
// allocate.
func (m *Memory) Route(ctx context.Context, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	sh := m.shardOf(sender)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	k := sessKey{sender: sender, user: endUser}
	if rec, ok := sh.open[k]; ok {
		reason, at, over := lifecycle.SessionEnd(&rec.s, rec.grp.bot.bot(), now)
		if !over {
			g := rec.grp
			first := g.head.s.LastActivityAt
			rec.s.LastActivityAt = now
			rec.s.Messages++
			rec.stats.messages++
			g.replace(rec)
			if g.head == rec && now.Before(first) {
				// The clock stepped back: the group's first session is
				// now less recently active than it was scheduled for, so
				// it may idle out before the group's key.
				sh.reschedule(g)
			}
			return rec.s, nil
		}
		m.closeLocked(rec, reason, at, now)
	}
	m.purgeLocked(sh, now, 2)
	sr := sh.senders[sender]
	if sr == nil || sr.active == nil {
		return lifecycle.Session{}, &lifecycle.NoBotError{Sender: sender}
	}
	b := sr.active.bot()
	on, _ := b.On(sender)
	g := sr.activeGroup
	if g == nil || g.bot != sr.active || g.activation != on.Activation {
		g = &group{bot: sr.active, sender: sender, activation: on.Activation, heapAt: -1}
		sr.activeGroup = g
	}
	st := sh.statsFor(b.ID, sender)
	rec := &sessRec{stats: st, sh: sh, s: lifecycle.Session{
		ID: lifecycle.SessionID(m.nextSession.Add(1)), Sender: sender, EndUser: endUser, Bot: b.ID, Activation: on.Activation,
		OpenedAt: now, LastActivityAt: now, Messages: 1,
	}}
	st.opened++
	st.open++
	st.messages++
	sh.open[k] = rec
	sh.peak = max(sh.peak, len(sh.open))
	m.sessions.put(uint64(rec.s.ID), rec)
	first := maxTime
	if g.head == nil {
		g.bot.groupOpened(g.activation)
	} else {
		first = g.head.s.LastActivityAt
	}
	g.place(rec)
	if g.heapAt < 0 || (g.head == rec && now.Before(first)) {
		// A group new or emptied (its key, if still in the heap, is its
		// last session's), or the clock stepped back behind its first
		// session: the key may be later than rec's end.
		sh.reschedule(g)
	}
	return rec.s, nil
}

func (sh *shard) statsFor(bot lifecycle.BotID, sender lifecycle.Sender) *statRec {
	k := statKey{bot: bot, sender: sender}
	st := sh.stats[k]
	if st == nil {
		st = &statRec{closed: map[lifecycle.CloseReason]uint64{}}
		sh.stats[k] = st
	}
	return st
}

// closeLocked records rec closed at at with reason; now is when. The
// caller holds rec's shard.
func (m *Memory) closeLocked(rec *sessRec, reason lifecycle.CloseReason, at, now time.Time) {
	sh := rec.sh
	rec.s.ClosedAt, rec.s.CloseReason = at, reason
	delete(sh.open, sessKey{sender: rec.s.Sender, user: rec.s.EndUser})
	rec.grp.unlink(rec)
	if rec.grp.head == nil {
		rec.grp.bot.groupClosed(rec.grp.activation)
	}
	rec.grp = nil
	rec.stats.open--
	rec.stats.closed[reason]++
	if m.retention > 0 {
		rec.recorded = now
		sh.closed.push(rec)
	}
}

// purgeLocked removes up to limit sessions recorded closed longer than the
// retention ago, and returns how many it removed. The caller holds sh.
func (m *Memory) purgeLocked(sh *shard, now time.Time, limit int) int {
	n := 0
	for ; n < limit; n++ {
		rec := sh.closed.peek()
		if rec == nil || now.Sub(rec.recorded) < m.retention {
			break
		}
		sh.closed.pop()
		m.sessions.remove(uint64(rec.s.ID))
	}
	return n
}

// lockSession returns the session with id, its shard locked; the caller
// unlocks it.
func (m *Memory) lockSession(id lifecycle.SessionID) (*sessRec, error) {
	rec := m.sessions.get(uint64(id))
	if rec == nil {
		return nil, sessionNotFound(id)
	}
	rec.sh.mu.Lock()
	return rec, nil
}

// Session implements lifecycle.SessionStore.
func (m *Memory) Session(ctx context.Context, id lifecycle.SessionID) (lifecycle.Session, error) {
	rec, err := m.lockSession(id)
	if err != nil {
		return lifecycle.Session{}, err
	}
	defer rec.sh.mu.Unlock()
	return rec.s, nil
}

func sessionNotFound(id lifecycle.SessionID) error {
	return &lifecycle.NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
}

// CloseSession implements lifecycle.SessionStore.
func (m *Memory) CloseSession(ctx context.Context, id lifecycle.SessionID, reason lifecycle.CloseReason, now time.Time) (lifecycle.Session, error) {
	rec, err := m.lockSession(id)
	if err != nil {
		return lifecycle.Session{}, err
	}
	defer rec.sh.mu.Unlock()
	if !rec.s.Open() {
		return rec.s, nil
	}
	at := now
	if r, end, over := lifecycle.SessionEnd(&rec.s, rec.grp.bot.bot(), now); over {
		reason, at = r, end
	}
	m.closeLocked(rec, reason, at, now)
	return rec.s, nil
}

// SweepSessions implements lifecycle.SessionStore. Each shard keeps its
// groups of open sessions by when the first of them can be over, so a sweep
// visits only groups with something due and, in each, the sessions it
// closes: its cost is what is due, not what is stored. It also removes
// closed sessions past the retention.
func (m *Memory) SweepSessions(ctx context.Context, now time.Time, limit int) (int, error) {
	closed := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		closed += m.sweepLocked(sh, now, limit-closed)
		sh.mu.Unlock()
		if closed >= limit {
			break
		}
	}
	m.purge(now, purgeBudget*max(limit, 1))
	return closed, nil
}

// purgeBudget is how many closed sessions past the retention a sweep may
// remove per session it may close; purgeHold how many it removes per
// shard before letting routing in.
const (
	purgeBudget = 64
	purgeHold   = 1024
)

// purge removes up to budget sessions recorded closed longer than the
// retention ago, holding each shard for at most purgeHold of them.
func (m *Memory) purge(now time.Time, budget int) {
	for more := true; more && budget > 0; {
		more = false
		for i := range m.shards {
			sh := &m.shards[i]
			sh.mu.Lock()
			n := m.purgeLocked(sh, now, min(budget, purgeHold))
			sh.shrink()
			sh.mu.Unlock()
			budget -= n
			more = more || n == purgeHold
		}
	}
}

// shrink rebuilds the shard's map of open sessions once it holds a
// quarter of what it once did: Go maps do not give memory back.
func (sh *shard) shrink() {
	if sh.peak < 4096 || len(sh.open) > sh.peak/4 {
		return
	}
	open := make(map[sessKey]*sessRec, len(sh.open))
	for k, v := range sh.open {
		open[k] = v
	}
	sh.open, sh.peak = open, len(open)
}

func (m *Memory) sweepLocked(sh *shard, now time.Time, limit int) int {
	closed := 0
	for closed < limit && len(sh.due) > 0 && !sh.due[0].at.After(now) {
		g := sh.due[0]
		if g.head == nil {
			sh.due.remove(g)
			continue
		}
		if at := g.nextEnd(); at.After(now) {
			// Routing moved the group's first session on since it was
			// scheduled: put it where it belongs now.
			g.at = at
			sh.due.fix(0)
			continue
		}
		b := g.bot.bot()
		n := 0
		for closed < limit && g.head != nil {
			rec := g.head
			reason, at, over := lifecycle.SessionEnd(&rec.s, b, now)
			if !over {
				break
			}
			m.closeLocked(rec, reason, at, now)
			closed++
			n++
		}
		sh.reschedule(g)
		if n == 0 && g.heapAt >= 0 && !g.at.After(now) {
			// The group says it is due but SessionEnd disagrees: look again
			// at the next sweep rather than spin.
			g.at = now.Add(time.Nanosecond)
			sh.due.fix(g.heapAt)
		}
	}
	return closed
}

// Sessions implements lifecycle.SessionStore. Ids are assigned in order
// and indexed, so a page costs the sessions it returns.
func (m *Memory) Sessions(ctx context.Context, after lifecycle.SessionID, limit int) ([]lifecycle.Session, error) {
	var out []lifecycle.Session
	last := m.nextSession.Load()
	if uint64(after) >= last {
		return nil, nil
	}
	for id := m.sessions.next(uint64(after)+1, last); id <= last && len(out) < limit; id = m.sessions.next(id+1, last) {
		rec := m.sessions.get(id)
		if rec == nil {
			continue
		}
		rec.sh.mu.Lock()
		out = append(out, rec.s)
		rec.sh.mu.Unlock()
	}
	return out, nil
}

// SessionStats implements lifecycle.SessionStore.
func (m *Memory) SessionStats(ctx context.Context) ([]lifecycle.SessionStats, error) {
	var out []lifecycle.SessionStats
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		for k, st := range sh.stats {
			closed := make(map[lifecycle.CloseReason]uint64, len(st.closed))
			for r, n := range st.closed {
				closed[r] = n
			}
			out = append(out, lifecycle.SessionStats{Bot: k.bot, Sender: k.sender, Opened: st.opened, Open: st.open, Closed: closed, Messages: st.messages})
		}
		sh.mu.Unlock()
	}
	lifecycle.SortSessionStats(out)
	if out == nil {
		out = []lifecycle.SessionStats{}
	}
	return out, nil
}

// groupHeap is a min-heap of groups by at.
type groupHeap []*group

func (h groupHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapAt, h[j].heapAt = i, j
}

func (h groupHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h[i].at.Before(h[p].at) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h groupHeap) down(i int) {
	for {
		l, s := 2*i+1, i
		if l < len(h) && h[l].at.Before(h[s].at) {
			s = l
		}
		if r := l + 1; r < len(h) && h[r].at.Before(h[s].at) {
			s = r
		}
		if s == i {
			return
		}
		h.swap(i, s)
		i = s
	}
}

func (h *groupHeap) push(g *group) {
	*h = append(*h, g)
	g.heapAt = len(*h) - 1
	h.up(g.heapAt)
}

func (h groupHeap) fix(i int) {
	h.down(i)
	h.up(i)
}

func (h *groupHeap) remove(g *group) {
	i := g.heapAt
	if i < 0 {
		return
	}
	last := len(*h) - 1
	h.swap(i, last)
	(*h)[last] = nil
	*h = (*h)[:last]
	g.heapAt = -1
	if i < last {
		h.fix(i)
	}
}

// fifo is a queue of sessions.
type fifo struct {
	q    []*sessRec
	head int
}

func (f *fifo) push(r *sessRec) { f.q = append(f.q, r) }

func (f *fifo) peek() *sessRec {
	if f.head == len(f.q) {
		return nil
	}
	return f.q[f.head]
}

func (f *fifo) pop() {
	f.q[f.head] = nil
	f.head++
	switch {
	case f.head == len(f.q):
		if cap(f.q) > 4096 {
			f.q = nil // let a burst's queue go
		}
		f.q, f.head = f.q[:0], 0
	case f.head >= 1024 && f.head*2 >= len(f.q):
		n := copy(f.q, f.q[f.head:])
		clear(f.q[n:])
		f.q, f.head = f.q[:n], 0
	}
}
