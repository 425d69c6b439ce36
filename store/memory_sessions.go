package store

import (
	"cmp"
	"context"
	"hash/maphash"
	"maps"
	"math"
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
// recorded closed, oldest first, until the retention has passed. Its
// mutex guards all of that and every sessRec and group in it.
type shard struct {
	mu      sync.Mutex
	senders map[lifecycle.Sender]*senderRec // written under Memory.mu too
	open    map[uint64]*sessRec
	peak    int // the most sessions open has held since it was made
	stats   map[statKey]*statRec
	due     minHeap[*group]
	closed  struct{ head, tail *sessRec } // linked by sessRec.next
	run     runClock                      // times the retention of closed
	_       [64]byte                      // keeps shards on separate cache lines
}

// runClock measures how long the clock has run forward, as one shard saw
// it, so that the retention of closed sessions holds whatever the clock
// does: a step back counts for nothing, and the clock runs on from where
// it stepped to. (Timed by now alone, a session recorded closed before a
// step back waited for the clock to pass its time again, and every
// session closed after it with it: memory pinned for as long as the step.)
// A now late by at most stale is taken for a caller that read the clock
// before another reached the shard: it counts for nothing. A now late by
// more may be a step back, or a caller that read the clock long ago
// (ExpireDue sweeps with the now it read before settling drains and
// schedules): it counts for nothing either, and the clock runs on from
// it only while no now comes back within stale of the latest, so that a
// late caller does not make the time since its now count twice (but for
// one late while the clock is stepped back: the time it is late by).
type runClock struct {
	last time.Time     // the latest now: the clock runs on from it
	back time.Time     // since a step back, the now it runs on from; else zero
	ran  time.Duration // how long it has run forward
}

const stale = time.Second

// at returns how long the clock has run forward by now.
func (c *runClock) at(now time.Time) time.Duration {
	switch d := now.Sub(c.last); {
	case c.last.IsZero():
		c.last = now
	case d > 0:
		c.last, c.back, c.ran = now, time.Time{}, c.ran+min(d, math.MaxInt64-c.ran)
	case d >= -stale: // not a step back: whatever came before was late
		c.back = time.Time{}
	default: // stepped back, or late: count from here on, below last
		if d := now.Sub(c.back); !c.back.IsZero() && d > 0 {
			c.ran += min(d, math.MaxInt64-c.ran)
		}
		c.back = now
	}
	return c.ran
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
	s    lifecycle.Session
	grp  *group
	coll *sessRec // the next open session with the same sessHash
	// key is the session's key in its group's heap: its LastActivityAt
	// when last keyed (never later); pos its index there. Until until,
	// while the group's columns are those of epoch, routing continues the
	// session by comparing them alone (keyed).
	key, until time.Time
	pos        int
	epoch      uint64
	stats      *statRec
	sh         *shard
	// recorded is when the store recorded the session closed, by its
	// shard's runClock; next the session recorded closed after it there.
	recorded time.Duration
	next     *sessRec
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
// sender, which end together, in a heap by key: the least recently active
// first, lazily. Routing forward in time only stamps a session's
// LastActivityAt, leaving its key behind, until a rekeyEvery-th of the
// idle timeout has passed since the key (sessRec.until): that message, a
// message before its key (the clock stepped back), and a sweep that meets
// it re-key it - a message at most rekeyEvery times per idle timeout, a
// sweep only a session over within a rekeyEvery-th of the timeout. A sweep
// stops at the first session neither over nor re-keyed: no session behind
// it can be over.
type group struct {
	minHeap[*sessRec]
	bot        *botRec
	sender     lifecycle.Sender
	activation uint64
	// at is the group's key in its shard's heap: no session of it can be
	// over before at (the key of its first session may only be behind).
	at     time.Time
	heapAt int // index in the shard's heap, -1 when not in it
	// until and idle are the columns routing compares (serve): the slot
	// serves the activation until until (the latest time while active,
	// ServesUntil while draining, the zero time once over). epoch counts
	// their changes.
	until time.Time
	idle  time.Duration
	epoch uint64
}

// serve sets the columns of g from its bot's row on its sender and idle
// timeout, and reports whether the row's slot serves g's activation (not
// once the bot is deleted).
func (g *group) serve() bool {
	row, b := g.bot.rowOn(g.sender), g.bot.bot()
	g.until, g.epoch = minTime, g.epoch+1
	if b == nil || row.Activation != g.activation || (row.Slot != lifecycle.SlotActive && row.Slot != lifecycle.SlotDraining) {
		return false
	}
	g.until, g.idle = row.ServesUntil, b.IdleTimeout
	if row.Slot == lifecycle.SlotActive {
		g.until = maxTime
	}
	return true
}

// keyed keys rec by its LastActivityAt and sets until when, by g's columns
// alone, it may next be over - the comparison SQLite's route makes: the
// slot serves the activation and the session is not idle. Routing before
// then (and not before the key) continues rec where lifecycle.DecideRoute
// would; after, DecideRoute decides.
func (g *group) keyed(rec *sessRec) {
	rec.key, rec.until, rec.epoch = rec.s.LastActivityAt, g.until, g.epoch
	if end := rec.key.Add(g.idle / rekeyEvery); g.idle > 0 && end.Before(g.until) {
		rec.until = end
	}
}

// rekeyEvery bounds how far a session's key may fall behind: a message
// rekeyEvery-th of the idle timeout or more after the key re-keys it. So
// a sweep re-keys only sessions over within that fraction of the timeout
// from its now - what is about to be due, never every active session -
// as PostgreSQL's sweep reads only the sessions of the buckets due
// (activity_floor), and a message pays a heap fix at most rekeyEvery
// times per idle timeout.
const rekeyEvery = 16

var (
	minTime = time.Time{}
	maxTime = time.Unix(1<<62, 0)
)

// newGroup returns the empty group of activation of rec on sender.
func newGroup(rec *botRec, sender lifecycle.Sender, activation uint64) *group {
	g := &group{bot: rec, sender: sender, activation: activation, heapAt: -1}
	g.less = func(a, b *sessRec) bool { return cmp.Or(a.key.Compare(b.key), cmp.Compare(a.s.ID, b.s.ID)) < 0 }
	g.moved = func(r *sessRec, i int) { r.pos = i }
	g.serve()
	return g
}

// reschedule puts g in the heap at the earliest instant its first session
// can be over by its key (lifecycle.NextSessionEnd), or takes it out when
// it is empty. The caller holds sh.
func (sh *shard) reschedule(g *group) {
	if g.len() == 0 {
		if g.heapAt >= 0 {
			sh.due.remove(g.heapAt)
		}
		return
	}
	at, ok := lifecycle.NextSessionEnd(g.bot.bot(), g.sender, g.activation, g.items[0].key)
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
// Routing to a session its columns say is served (group.keyed) costs one
// lookup by a hash, stamps the session and does not allocate.
func (m *Memory) Route(ctx context.Context, ws lifecycle.Workspace, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	sp := m.read(ws)
	ha := maphash.String(shardSeed, sender.Address)
	sh := &sp.shards[ha&(shardCount-1)]
	h := sessHash(ha, endUser)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	rec := sh.find(h, sender, endUser)
	if rec != nil && rec.epoch == rec.grp.epoch && now.Before(rec.until) && !now.Before(rec.key) {
		rec.s.LastActivityAt = now
		rec.s.Messages++
		rec.stats.messages++
		return rec.s, nil
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
		rec.s = step.Session
		rec.stats.messages++
		sh.place(rec)
		return rec.s, nil
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

// place keys rec in its group by its LastActivityAt, and reschedules the
// group when rec comes first or the group is not in the heap. The caller
// holds sh.
func (sh *shard) place(rec *sessRec) {
	g := rec.grp
	if g.keyed(rec); rec.pos < 0 {
		g.push(rec)
	} else {
		g.fix(rec.pos)
	}
	if rec.pos == 0 || g.heapAt < 0 {
		sh.reschedule(g)
	}
}

// open records a new session s in the active slot's group of sr. The
// caller holds sh.
func (m *space) open(sh *shard, sr *senderRec, h uint64, s lifecycle.Session) lifecycle.Session {
	g := sr.activeGroup
	if g == nil || g.bot != sr.active || g.activation != s.Activation {
		g = newGroup(sr.active, s.Sender, s.Activation)
		sr.activeGroup = g
	}
	st := sh.stats[statKey{s.Bot, s.Sender}]
	if st == nil {
		st = &statRec{closed: map[lifecycle.CloseReason]uint64{}}
		sh.stats[statKey{s.Bot, s.Sender}] = st
	}
	rec := &sessRec{stats: st, sh: sh, s: s, coll: sh.open[h], grp: g, pos: -1}
	m.number(rec)
	st.opened++
	st.open++
	st.messages += s.Messages // a test session opens with none (R26)
	sh.open[h] = rec
	sh.peak = max(sh.peak, len(sh.open))
	if g.len() == 0 {
		g.bot.countGroup(g.activation, 1)
	}
	sh.place(rec)
	return rec.s
}

// number gives rec the workspace's next session id and indexes it, then
// publishes the id to Sessions, under m.numbering: ids become visible in
// order, so that a reader paging after the last id it saw skips none
// (storetest SessionsPagingWhileOpening). Only openings take the lock.
func (m *space) number(rec *sessRec) {
	m.numbering.Lock()
	defer m.numbering.Unlock()
	id := m.nextSession.Load() + 1
	rec.s.ID = lifecycle.SessionID(id)
	m.sessions.put(id, rec)
	m.nextSession.Store(id)
}

// closeLocked records rec closed at at with reason; now is when. The
// caller holds rec's shard.
func (m *space) closeLocked(rec *sessRec, reason lifecycle.CloseReason, at, now time.Time) {
	sh := rec.sh
	rec.s.ClosedAt, rec.s.CloseReason = at, reason
	sh.unindex(sessHash(maphash.String(shardSeed, rec.s.Sender.Address), rec.s.EndUser), rec)
	rec.grp.remove(rec.pos)
	if rec.grp.len() == 0 {
		rec.grp.bot.countGroup(rec.grp.activation, -1)
	}
	rec.grp = nil
	rec.stats.open--
	rec.stats.closed[reason]++
	if m.retention > 0 {
		rec.recorded = sh.run.at(now)
		if sh.closed.tail == nil {
			sh.closed.head = rec
		} else {
			sh.closed.tail.next = rec
		}
		sh.closed.tail = rec
	}
}

// purgeLocked removes up to limit sessions recorded closed longer than the
// retention ago (the shard's runClock), oldest first, and returns how many
// it removed. The caller holds sh.
func (m *space) purgeLocked(sh *shard, now time.Time, limit int) int {
	if sh.closed.head == nil {
		return 0 // the clock is read only when needed: m.none stays unwritten
	}
	n, ran := 0, sh.run.at(now)
	for ; n < limit; n++ {
		rec := sh.closed.head
		if rec == nil || ran-rec.recorded < m.retention {
			break
		}
		if sh.closed.head, rec.next = rec.next, nil; sh.closed.head == nil {
			sh.closed.tail = nil
		}
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
// (each shard's heap) and in each the sessions whose key is due: those it
// closes, and those it re-keys, each over within a rekeyEvery-th of the
// idle timeout from now (group). Its cost is what is due or about to be,
// never the active sessions or what is stored. It also removes closed
// sessions past the retention, purgeBudget per session it may close; with
// a limit of zero or below it does nothing, as every Store method given a
// limit (storetest LimitsNotPositive).
func (m *Memory) SweepSessions(ctx context.Context, ws lifecycle.Workspace, now time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
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
	sp.purge(now, purgeAllowance(limit))
	return closed, nil
}

// purgeAllowance is how many closed sessions a sweep given limit (at
// least 1) may remove: purgeBudget per session it may close, and
// math.MaxInt for a limit that many would overflow.
func purgeAllowance(limit int) int {
	if limit > math.MaxInt/purgeBudget {
		return math.MaxInt
	}
	return purgeBudget * limit
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
// due first, re-keying the sessions it meets that were active since they
// were keyed and are due by their key (group). The caller holds sh.
func (m *space) sweepLocked(sh *shard, now time.Time, limit int) int {
	closed := 0
	for closed < limit && sh.due.len() > 0 && !sh.due.items[0].at.After(now) {
		g := sh.due.items[0]
		b := g.bot.bot()
		for closed < limit && g.len() > 0 {
			rec := g.items[0]
			if at := lifecycle.SessionAt(rec.s, b, now); !at.Open() {
				m.closeLocked(rec, at.CloseReason, at.ClosedAt, now)
				closed++
			} else if rec.key.Before(rec.s.LastActivityAt) && (g.idle <= 0 || !rec.key.Add(g.idle).After(now)) { // due by its key
				g.keyed(rec)
				g.fix(0)
			} else {
				break
			}
		}
		sh.reschedule(g)
		if closed < limit && g.heapAt >= 0 && !g.at.After(now) {
			// The group says it is due but SessionAt disagrees about its
			// first session: look again at the next sweep rather than spin.
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
	if uint64(after) >= last || limit <= 0 {
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
