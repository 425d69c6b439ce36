package store

import (
	"cmp"
	"context"
	"hash/maphash"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// shardCount is the number of session shards; a power of two.
const shardCount = 64

var shardSeed = maphash.MakeSeed()

func shardIndex(s lifecycle.Sender) int {
	return int(maphash.String(shardSeed, s.Address) & (shardCount - 1)) // channels are few; addresses spread
}

func (m *space) shardOf(s lifecycle.Sender) *shard { return &m.shards[shardIndex(s)] }

// sessHash hashes an open session's key from the hash of its sender's
// address (as shardIndex takes it) and its end user; the channel, one of
// few, is left to the comparison of the keys.
func sessHash(address uint64, user string) uint64 {
	return address ^ maphash.String(shardSeed, user)*0x9e3779b97f4a7c15
}

// shard holds the senders whose address hashes to it, their open sessions
// (by sessHash, chained by sessRec.coll), session counts, the groups of
// open sessions by when one can next be over (due), and the sessions
// recorded closed, in that order, until the retention has passed (through
// the links a session frees when it leaves its group: no memory of their
// own). Its mutex guards all of that and every sessRec and group in it.
type shard struct {
	mu      sync.Mutex
	senders map[lifecycle.Sender]*senderRec // written under Memory.mu too
	open    map[uint64]*sessRec
	peak    int // the most sessions open has held since it was made
	stats   map[statKey]*statRec
	due     minHeap[*group]
	closed  sessList
	_       [64]byte // keeps shards on separate cache lines
}

func (sh *shard) init() {
	sh.senders = map[lifecycle.Sender]*senderRec{}
	sh.open = map[uint64]*sessRec{}
	sh.stats = map[statKey]*statRec{}
	sh.due = minHeap[*group]{
		less:  func(a, b *group) bool { return a.at.Before(b.at) },
		moved: func(g *group, i int) { g.heapAt = i },
	}
}

type sessRec struct {
	s          lifecycle.Session
	grp        *group
	prev, next *sessRec // in its group's list; once closed, its shard's
	coll       *sessRec // the next open session with the same sessHash
	stats      *statRec
	sh         *shard
	// recorded is when the store recorded the session closed.
	recorded time.Time
}

// find returns the open session of user on sender, hashed h, or nil.
func (sh *shard) find(h uint64, sender lifecycle.Sender, user string) *sessRec {
	r := sh.open[h]
	for r != nil && (r.s.EndUser != user || r.s.Sender != sender) {
		r = r.coll
	}
	return r
}

// unindex takes r, hashed h, out of the open sessions.
func (sh *shard) unindex(h uint64, r *sessRec) {
	at := sh.open[h]
	if at == r {
		if r.coll == nil {
			delete(sh.open, h)
		} else {
			sh.open[h] = r.coll
		}
		return
	}
	for at.coll != r {
		at = at.coll
	}
	at.coll = r.coll
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
// sender, which end together, least recently active first: an intrusive
// list, so routing moves a session to the back without allocating and a
// sweep finds idle sessions at the front. The order is by LastActivityAt
// (ties: routing order), not by when Route was called: after the clock
// steps back (NTP, a test clock) a session goes before those active after
// it (link); else it could idle out behind one that does not yet, and
// sweeps, which stop at the first session not over, would leave it open.
type group struct {
	sessList
	bot        *botRec
	sender     lifecycle.Sender
	activation uint64
	// at is the group's key in its shard's heap: no session of it can be
	// over before at. Routing forward in time only moves it later, so the
	// heap may hold an earlier key, which a sweep fixes when it meets it;
	// routing that moves it earlier (the clock stepped back) reschedules.
	at     time.Time
	heapAt int // index in the shard's heap, -1 when not in it
	// until and idle are the columns routing compares (serve): the slot
	// serves the activation until until (the latest time while active,
	// ServesUntil while draining, the zero time once over).
	until time.Time
	idle  time.Duration
}

// serve sets the columns of g from its bot's row on its sender and idle
// timeout, and reports whether the row's slot serves g's activation (not
// once the bot is deleted).
func (g *group) serve() bool {
	row, b := g.bot.rowOn(g.sender), g.bot.bot()
	g.until = minTime
	if b == nil || row.Activation != g.activation || (row.Slot != lifecycle.SlotActive && row.Slot != lifecycle.SlotDraining) {
		return false
	}
	g.until, g.idle = row.ServesUntil, b.IdleTimeout
	if row.Slot == lifecycle.SlotActive {
		g.until = maxTime
	}
	return true
}

// serves reports whether a session of g last active at last takes a
// message at now by the columns alone - the comparison SQLite's route
// makes: the slot serves the activation and the session is not idle. It
// says yes only where lifecycle.DecideRoute continues the session; where
// it says no, DecideRoute decides.
func (g *group) serves(last, now time.Time) bool {
	return now.Before(g.until) && (g.idle <= 0 || now.Before(last.Add(g.idle)))
}

var (
	minTime = time.Time{}
	maxTime = time.Unix(1<<62, 0)
)

// sessList is an intrusive list of sessions, linked by sessRec.prev and
// next: a group's open sessions, or a shard's closed ones.
type sessList struct{ head, tail *sessRec }

// insertAfter links r, in no list, after at; first if at is nil.
func (l *sessList) insertAfter(at, r *sessRec) {
	r.prev, r.next = at, l.head
	if at != nil {
		r.next, at.next = at.next, r
	} else {
		l.head = r
	}
	if r.next != nil {
		r.next.prev = r
	} else {
		l.tail = r
	}
}

func (l *sessList) unlink(r *sessRec) {
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		l.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		l.tail = r.prev
	}
	r.prev, r.next = nil, nil
}

// reschedule puts g in the heap at its true key, the earliest instant a
// session of g can be over (lifecycle.NextSessionEnd of its least recently
// active session), or takes it out when it is empty. The caller holds sh.
func (sh *shard) reschedule(g *group) {
	if g.head == nil {
		if g.heapAt >= 0 {
			sh.due.remove(g.heapAt)
		}
		return
	}
	at, ok := lifecycle.NextSessionEnd(g.bot.bot(), g.sender, g.activation, g.head.s.LastActivityAt)
	if g.at = at; !ok {
		g.at = maxTime
	}
	if g.heapAt < 0 {
		sh.due.push(g)
	} else {
		sh.due.fix(g.heapAt)
	}
}

// Route implements lifecycle.Store: under the sender's shard lock it
// reads the RouteView and applies what lifecycle.DecideRoute decides.
// Routing to a session its group's columns say is served (group.serves)
// costs one lookup by a hash and does not allocate.
func (m *Memory) Route(ctx context.Context, ws lifecycle.Workspace, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	sp := m.read(ws)
	ha := maphash.String(shardSeed, sender.Address)
	sh := &sp.shards[ha&(shardCount-1)]
	h := sessHash(ha, endUser)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	rec := sh.find(h, sender, endUser)
	if rec != nil && rec.grp.serves(rec.s.LastActivityAt, now) {
		was := rec.s.LastActivityAt
		rec.s.LastActivityAt = now
		rec.s.Messages++
		return sh.touched(rec, was), nil
	}
	var v lifecycle.RouteView
	if rec != nil {
		v.Open, v.OpenBot = &rec.s, rec.grp.bot.bot()
	}
	sr := sh.senders[sender]
	if sr != nil && sr.active != nil {
		v.Active = sr.active.bot()
	}
	step, err := lifecycle.DecideRoute(v, sender, endUser, now)
	if err == nil && !step.New {
		was := rec.s.LastActivityAt
		rec.s = step.Session
		return sh.touched(rec, was), nil
	}
	if step.Closed.ID != 0 {
		sp.closeLocked(rec, step.Closed.CloseReason, step.Closed.ClosedAt, now)
	}
	sp.purgeLocked(sh, now, 2)
	if err != nil {
		return lifecycle.Session{}, err
	}
	return sp.open(sh, sr, h, step.Session), nil
}

// touched counts the message routed to rec and moves rec to the back of
// its group. The caller holds sh.
func (sh *shard) touched(rec *sessRec, was time.Time) lifecycle.Session {
	rec.stats.messages++
	sh.link(rec.grp, rec, was)
	return rec.s
}

// link puts rec, new in g or just active again, after every session of g
// active at or before it: at the back, unless the clock stepped back (then
// it walks back past the sessions active after rec: none while the clock
// moves forward). It reschedules g when its key may now be too late: g is
// not in the heap, or is keyed by the last session it lost, or rec went
// first, less recently active than g's first session was (the clock
// stepped back). was is when rec was last active before this message
// (unused for a new session): g's first session may be rec itself, whose
// time the caller has just moved. The caller holds sh.
func (sh *shard) link(g *group, rec *sessRec, was time.Time) {
	first := maxTime
	if g.head == rec {
		first = was
	} else if g.head != nil {
		first = g.head.s.LastActivityAt
	}
	if rec.grp == g {
		g.unlink(rec)
	}
	after := g.tail
	for after != nil && rec.s.LastActivityAt.Before(after.s.LastActivityAt) {
		after = after.prev
	}
	rec.grp = g
	g.insertAfter(after, rec)
	if g.heapAt < 0 || (g.head == rec && rec.s.LastActivityAt.Before(first)) {
		sh.reschedule(g)
	}
}

// open records a new session s in the active slot's group of sr. The
// caller holds sh.
func (m *space) open(sh *shard, sr *senderRec, h uint64, s lifecycle.Session) lifecycle.Session {
	g := sr.activeGroup
	if g == nil || g.bot != sr.active || g.activation != s.Activation {
		g = &group{bot: sr.active, sender: s.Sender, activation: s.Activation, heapAt: -1}
		g.serve()
		sr.activeGroup = g
	}
	s.ID = lifecycle.SessionID(m.nextSession.Add(1))
	st := sh.stats[statKey{s.Bot, s.Sender}]
	if st == nil {
		st = &statRec{closed: map[lifecycle.CloseReason]uint64{}}
		sh.stats[statKey{s.Bot, s.Sender}] = st
	}
	rec := &sessRec{stats: st, sh: sh, s: s, coll: sh.open[h]}
	st.opened++
	st.open++
	st.messages++
	sh.open[h] = rec
	sh.peak = max(sh.peak, len(sh.open))
	m.sessions.put(uint64(rec.s.ID), rec)
	if g.head == nil {
		g.bot.countGroup(g.activation, 1)
	}
	sh.link(g, rec, time.Time{})
	return rec.s
}

// closeLocked records rec closed at at with reason; now is when. The
// caller holds rec's shard.
func (m *space) closeLocked(rec *sessRec, reason lifecycle.CloseReason, at, now time.Time) {
	sh := rec.sh
	rec.s.ClosedAt, rec.s.CloseReason = at, reason
	sh.unindex(sessHash(maphash.String(shardSeed, rec.s.Sender.Address), rec.s.EndUser), rec)
	rec.grp.unlink(rec)
	if rec.grp.head == nil {
		rec.grp.bot.countGroup(rec.grp.activation, -1)
	}
	rec.grp = nil
	rec.stats.open--
	rec.stats.closed[reason]++
	if m.retention > 0 {
		rec.recorded = now
		sh.closed.insertAfter(sh.closed.tail, rec)
	}
}

// purgeLocked removes up to limit sessions recorded closed longer than the
// retention ago, and returns how many it removed. The caller holds sh.
func (m *space) purgeLocked(sh *shard, now time.Time, limit int) int {
	n := 0
	for ; n < limit; n++ {
		rec := sh.closed.head
		if rec == nil || now.Sub(rec.recorded) < m.retention {
			break
		}
		sh.closed.unlink(rec)
		m.sessions.remove(uint64(rec.s.ID))
	}
	return n
}

// CloseSession implements lifecycle.Store.
func (m *Memory) CloseSession(ctx context.Context, ws lifecycle.Workspace, id lifecycle.SessionID, reason lifecycle.CloseReason, now time.Time) (lifecycle.Session, error) {
	sp := m.read(ws)
	rec := sp.sessions.get(uint64(id))
	if rec == nil {
		return lifecycle.Session{}, &lifecycle.NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
	}
	rec.sh.mu.Lock()
	defer rec.sh.mu.Unlock()
	if !rec.s.Open() {
		return rec.s, nil
	}
	c := lifecycle.DecideClose(rec.s, rec.grp.bot.bot(), reason, now)
	sp.closeLocked(rec, c.CloseReason, c.ClosedAt, now)
	return rec.s, nil
}

// SweepSessions implements lifecycle.Store. It visits only the groups due
// (each shard's heap) and in each the sessions it closes: its cost is what
// is due, not what is stored. It also removes closed sessions past the
// retention.
func (m *Memory) SweepSessions(ctx context.Context, ws lifecycle.Workspace, now time.Time, limit int) (int, error) {
	sp, closed := m.read(ws), 0
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		closed += sp.sweepLocked(sh, now, limit-closed)
		sh.mu.Unlock()
		if closed >= limit {
			break
		}
	}
	sp.purge(now, purgeBudget*max(limit, 1))
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
func (m *space) purge(now time.Time, budget int) {
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
	open := make(map[uint64]*sessRec, len(sh.open))
	maps.Copy(open, sh.open)
	sh.open, sh.peak = open, len(open)
}

// sweepLocked closes up to limit sessions of sh over at now, the groups
// due first. The caller holds sh.
func (m *space) sweepLocked(sh *shard, now time.Time, limit int) int {
	closed := 0
	for closed < limit && sh.due.len() > 0 && !sh.due.items[0].at.After(now) {
		// A group emptied, or whose first session routing moved on since
		// it was scheduled, closes nothing: reschedule puts it where it
		// belongs now.
		g := sh.due.items[0]
		b := g.bot.bot()
		n := 0
		for closed < limit && g.head != nil {
			rec := g.head
			at := lifecycle.SessionAt(rec.s, b, now)
			if at.Open() {
				break
			}
			m.closeLocked(rec, at.CloseReason, at.ClosedAt, now)
			closed++
			n++
		}
		sh.reschedule(g)
		if n == 0 && g.heapAt >= 0 && !g.at.After(now) {
			// The group says it is due but SessionAt disagrees: look again
			// at the next sweep rather than spin.
			g.at = now.Add(time.Nanosecond)
			sh.due.fix(g.heapAt)
		}
	}
	return closed
}

// Sessions implements lifecycle.Store. Ids are assigned in order
// and indexed, so a page costs the sessions it returns.
func (m *Memory) Sessions(ctx context.Context, ws lifecycle.Workspace, after lifecycle.SessionID, limit int) ([]lifecycle.Session, error) {
	var out []lifecycle.Session
	sp := m.read(ws)
	last := sp.nextSession.Load()
	if uint64(after) >= last {
		return nil, nil
	}
	for id := sp.sessions.next(uint64(after)+1, last); id <= last && len(out) < limit; id = sp.sessions.next(id+1, last) {
		rec := sp.sessions.get(id)
		if rec == nil {
			continue
		}
		rec.sh.mu.Lock()
		out = append(out, rec.s)
		rec.sh.mu.Unlock()
	}
	return out, nil
}

// SessionStats implements lifecycle.Store.
func (m *Memory) SessionStats(ctx context.Context, ws lifecycle.Workspace) ([]lifecycle.SessionStats, error) {
	out, sp := []lifecycle.SessionStats{}, m.read(ws)
	for i := range sp.shards {
		sh := &sp.shards[i]
		sh.mu.Lock()
		for k, st := range sh.stats {
			out = append(out, lifecycle.SessionStats{Bot: k.bot, Sender: k.sender, Opened: st.opened, Open: st.open, Closed: maps.Clone(st.closed), Messages: st.messages})
		}
		sh.mu.Unlock()
	}
	slices.SortFunc(out, func(a, b lifecycle.SessionStats) int { // by bot, then sender as text
		return cmp.Or(strings.Compare(string(a.Bot), string(b.Bot)), strings.Compare(a.Sender.String(), b.Sender.String()))
	})
	return out, nil
}
