// Package store holds Store implementations for package lifecycle. Memory is
// the in-memory reference implementation: what every other Store is measured
// against by the conformance suite in store/storetest.
package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// space is what the memory store keeps of one workspace (R27): the whole
// store of one customer. Memory holds one per workspace.
type space struct {
	// mu guards bots, roles, audit, auditWake, drains and each senderRec's
	// bot slots and left list. Commit holds it for writing; every write
	// to a senderRec also holds the sender's shard.
	mu     sync.RWMutex
	bots   map[lifecycle.BotID]*botRec
	ids    botIDs // the ids of bots, sorted
	roles  map[string]roles.Set
	admins int // users holding Admin
	audit  auditLog
	drains minHeap[*botRec] // bots with a drain, by Change.Due then id
	sched  schedules
	// auditWake is closed and replaced when entries are appended and
	// someone waits (auditWaiting, set under mu by WaitAudit).
	auditWake    chan struct{}
	auditWaiting atomic.Bool

	shards      [shardCount]shard
	sessions    sessIndex
	nextSession atomic.Uint64 // the last session id given, per workspace
	numbering   sync.Mutex    // orders openings' ids (space.number)
	retention   time.Duration
	ws          lifecycle.Workspace
	claims      *claims
}

// botRec is a stored bot. view holds the bot as last committed, never
// changed in place: routing reads it without the store's mutex.
type botRec struct {
	view atomic.Pointer[lifecycle.Bot] // nil once the bot is deleted
	// rows and due are Change.Rows and Change.Due; guarded by Memory.mu.
	rows    []lifecycle.SenderRow
	due     time.Time
	drainAt int // index in Memory.drains while due is set, else -1
	// open counts, per activation, the bot's session groups holding a
	// session recorded open (Bot.OpenActivations, R9), so routing to an
	// open session never touches it. openMu is a leaf lock: taken under a
	// shard's mutex or Memory.mu, it takes no other.
	openMu sync.Mutex
	open   map[uint64]int
	// left holds the bot's entries in its senders' departures, so that
	// taking the bot off them costs O(log n) each, never a scan.
	left []*leftEntry
}

// bot returns the bot as committed; nil if it was deleted.
func (r *botRec) bot() *lifecycle.Bot { return r.view.Load() }

// read returns a copy of the bot as committed, with the activations that
// have a session recorded open (Bot.OpenActivations). It reads the bot
// first: an activation over in that copy gets no session since, so the
// answer holds every session of it still recorded open.
func (r *botRec) read() lifecycle.Bot {
	b := r.bot().Clone()
	r.openMu.Lock()
	for k := range r.open { // not maps.Keys: no allocation for none
		b.OpenActivations = append(b.OpenActivations, k)
	}
	r.openMu.Unlock()
	slices.Sort(b.OpenActivations)
	return b
}

// countGroup counts a group of activation k that got its first session
// recorded open (d = 1), or lost its last (d = -1).
func (r *botRec) countGroup(k uint64, d int) {
	r.openMu.Lock()
	if r.open == nil {
		r.open = map[uint64]int{}
	}
	if r.open[k] += d; r.open[k] <= 0 {
		delete(r.open, k)
	}
	r.openMu.Unlock()
}

// senderRec is what the store keeps per sender, from the rows of the bots
// on it: the bots holding its slots (R1 and R2 allow one of each), the
// groups of open sessions of their current activation there (nil before
// the first opens; guarded by the sender's shard), and its rows with a
// LeftActive, latest first, for SenderBots' last active bot (R20).
type senderRec struct {
	active, draining        *botRec
	activeGroup, drainGroup *group
	left                    minHeap[*leftEntry]
}

// leftEntry is a bot's row on a sender with a LeftActive at.
type leftEntry struct {
	rec *botRec
	sr  *senderRec
	at  time.Time
	id  lifecycle.BotID
	pos int // in sr.left
}

// leftFirst orders departures latest first; ties: the smaller id (R20).
func leftFirst(a, b *leftEntry) bool {
	return cmp.Or(b.at.Compare(a.at), cmp.Compare(a.id, b.id)) < 0
}

// lastLeft returns the sender's entry with the latest LeftActive other
// than except's: the top of the heap, or the better of its children.
func (sr *senderRec) lastLeft(except lifecycle.BotID) *leftEntry {
	var best *leftEntry
	for i, e := range sr.left.items[:min(3, sr.left.len())] {
		if i == 0 && e.id != except {
			return e
		}
		if i > 0 && (best == nil || leftFirst(e, best)) {
			best = e
		}
	}
	return best
}

// newSpace returns the empty store of workspace ws.
func newSpace(ws lifecycle.Workspace, retention time.Duration, cl *claims) *space {
	m := &space{
		ws:        ws,
		claims:    cl,
		bots:      map[lifecycle.BotID]*botRec{},
		roles:     map[string]roles.Set{},
		sched:     newSchedules(),
		auditWake: make(chan struct{}),
		retention: retention,
		drains: minHeap[*botRec]{
			less: func(a, b *botRec) bool {
				return cmp.Or(a.due.Compare(b.due), cmp.Compare(a.bot().ID, b.bot().ID)) < 0
			},
			moved: func(r *botRec, i int) { r.drainAt = i },
		},
	}
	for i := range m.shards {
		m.shards[i].init()
	}
	return m
}

func conflict(format string, args ...any) error {
	return &lifecycle.ConflictError{Reason: fmt.Sprintf(format, args...)}
}

// Bot implements lifecycle.Store.
func (m *Memory) Bot(ctx context.Context, ws lifecycle.Workspace, id lifecycle.BotID) (lifecycle.Bot, error) {
	sp := m.read(ws)
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	rec, ok := sp.bots[id]
	if !ok {
		return lifecycle.Bot{}, &lifecycle.NotFoundError{Kind: "bot", ID: string(id)}
	}
	return rec.read(), nil
}

// senderRec returns the record of s, or nil. The caller holds m.mu or the
// shard of s.
func (m *space) senderRec(s lifecycle.Sender) *senderRec {
	return m.shardOf(s).senders[s]
}

// SenderBots implements lifecycle.Store. It reads at most two live bots
// per sender, and the top of each sender's departures: its cost does not
// grow with the bots that used the senders.
func (m *Memory) SenderBots(ctx context.Context, ws lifecycle.Workspace, senders []lifecycle.Sender, except lifecycle.BotID) ([]lifecycle.Bot, *lifecycle.Bot, error) {
	sp := m.read(ws)
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	var out []lifecycle.Bot
	var best *leftEntry
	seen := map[*botRec]bool{}
	for _, s := range senders {
		sr := sp.senderRec(s)
		if sr == nil {
			continue
		}
		for _, rec := range [2]*botRec{sr.active, sr.draining} {
			if rec != nil && !seen[rec] {
				seen[rec] = true
				out = append(out, rec.read())
			}
		}
		if e := sr.lastLeft(except); e != nil && except != "" && (best == nil || leftFirst(e, best)) {
			best = e
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if best == nil {
		return out, nil, nil
	}
	last := best.rec.read()
	return out, &last, nil
}

// Bots implements lifecycle.Store. Ids are kept sorted, so a page costs
// the bots it returns, not every bot stored.
func (m *Memory) Bots(ctx context.Context, ws lifecycle.Workspace, after lifecycle.BotID, limit int) ([]lifecycle.Bot, error) {
	sp := m.read(ws)
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	out := []lifecycle.Bot{}
	sp.ids.page(after, func(id lifecycle.BotID) bool {
		if len(out) >= limit {
			return false
		}
		if rec, ok := sp.bots[id]; ok {
			out = append(out, rec.read())
		}
		return true
	})
	return out, nil
}

// Due implements lifecycle.Store. Drains and pending schedules are kept
// in heaps by when they fall due, and read best-first: the cost is what
// it returns, whatever else is stored.
func (m *Memory) Due(ctx context.Context, ws lifecycle.Workspace, now time.Time, limit int) (lifecycle.Due, error) {
	sp := m.read(ws)
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	var out lifecycle.Due
	sp.drains.ascend(func(r *botRec) bool { return !r.due.After(now) }, func(r *botRec) bool {
		if len(out.Drains) >= limit {
			return false
		}
		out.Drains = append(out.Drains, r.read())
		return true
	})
	out.Schedules = sp.sched.due(now, limit)
	return out, nil
}

// Roles implements lifecycle.Store.
func (m *Memory) Roles(ctx context.Context, ws lifecycle.Workspace, user string) (roles.Set, int, error) {
	sp := m.read(ws)
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	return sp.roles[user], sp.admins, nil
}

// AuditLog implements lifecycle.Store.
func (m *Memory) AuditLog(ctx context.Context, ws lifecycle.Workspace, after uint64, limit int) ([]lifecycle.AuditEntry, error) {
	sp := m.read(ws)
	sp.mu.RLock()
	defer sp.mu.RUnlock()
	return sp.audit.read(after, limit), nil
}

func cloneEntry(e lifecycle.AuditEntry) lifecycle.AuditEntry {
	e.Transitions = append([]lifecycle.Transition(nil), e.Transitions...)
	e.Acknowledged = append([]string(nil), e.Acknowledged...)
	e.Senders = slices.Clone(e.Senders)
	if e.Test != nil {
		t := *e.Test
		e.Test = &t
	}
	return e
}

// commit is Memory.Commit in the workspace's store.
func (m *space) commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	locked := m.lockShards(p)
	defer func() {
		for _, n := range locked {
			m.shards[n].mu.Unlock()
		}
	}()
	admins, err := m.check(p)
	if err != nil {
		return nil, err
	}
	if err := m.claims.take(m.ws, m.claimDelta(p.Changes)); err != nil {
		return nil, err // R27: nothing changed
	}
	// Everything checked: apply.
	m.applyChanges(p.Changes)
	m.applySchedules(p.Schedules)
	m.admins = admins
	for _, rc := range p.Roles {
		if rc.To.Empty() {
			delete(m.roles, rc.User)
		} else {
			m.roles[rc.User] = rc.To
		}
	}
	out := make([]lifecycle.AuditEntry, len(p.Audit))
	for i, e := range p.Audit {
		e = cloneEntry(e)
		e.Seq = m.audit.len() + 1
		m.audit.append(e)
		out[i] = cloneEntry(e)
	}
	if len(out) > 0 && m.auditWaiting.Swap(false) {
		close(m.auditWake)
		m.auditWake = make(chan struct{})
	}
	return out, nil
}

// lockShards locks, in shard order, the shards of every sender the plan's
// bots have rows on before or after it, test senders (R26) included, and
// returns their indexes. The caller holds m.mu.
func (m *space) lockShards(p lifecycle.Plan) []int {
	var idx []int
	for _, c := range p.Changes {
		rows := c.Rows()
		if rec, ok := m.bots[c.Bot]; ok {
			rows = append(rows, rec.rows...)
		}
		for _, row := range rows {
			idx = append(idx, shardIndex(row.Sender))
		}
	}
	slices.Sort(idx)
	idx = slices.Compact(idx)
	for _, n := range idx {
		m.shards[n].mu.Lock()
	}
	return idx
}

// waitAudit is Memory.WaitAudit: waiters sleep on a channel closed by the
// next commit that appends entries; nothing polls.
func (m *space) waitAudit(ctx context.Context, after uint64) error {
	for {
		m.mu.RLock()
		n, wake := m.audit.len(), m.auditWake
		if n <= after {
			// Before the lock is let go: the next Commit sees it.
			m.auditWaiting.Store(true)
		}
		m.mu.RUnlock()
		if n > after {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		}
	}
}

// check refuses a plan whose reads are stale or whose result would break an
// invariant, changing nothing, and returns how many users hold Admin after
// it. Its cost is that of the plan: the bots it changes and the two live
// bots per sender they touch.
func (m *space) check(p lifecycle.Plan) (admins int, err error) {
	if err := p.Check(); err != nil {
		return 0, err
	}
	held := map[slotOf]int{} // the bots holding each slot (R1, R2)
	touched := map[lifecycle.Sender]bool{}
	changed := map[*botRec]bool{}
	for _, c := range p.Changes {
		rec, exists := m.bots[c.Bot]
		switch {
		case c.Revision == 0 && exists:
			return 0, conflict("bot %s already exists", c.Bot)
		case c.Revision != 0 && !exists:
			return 0, conflict("bot %s no longer exists", c.Bot)
		case exists && rec.bot().Revision != c.Revision:
			return 0, conflict("bot %s changed (revision %d, the plan read %d)", c.Bot, rec.bot().Revision, c.Revision)
		}
		if exists {
			changed[rec] = true
			for _, r := range rec.rows {
				touched[r.Sender] = true
			}
		}
		for _, r := range c.Rows() {
			touched[r.Sender] = true
			held[slotOf{r.Sender, r.Slot}]++
		}
	}
	for s := range touched {
		if sr := m.senderRec(s); sr != nil {
			for _, rec := range [2]*botRec{sr.active, sr.draining} {
				if rec != nil && !changed[rec] {
					held[slotOf{s, rec.rowOn(s).Slot}]++
				}
			}
		}
	}
	for k, n := range held {
		if k.slot != "" && n > 1 {
			return 0, conflict("the plan would put %d bots in the %s slot of %s", n, k.slot, k.sender)
		}
	}
	if err := m.checkSchedules(p.Schedules); err != nil {
		return 0, err
	}
	return m.checkRoles(p.Roles)
}

// slotOf is one slot of one sender.
type slotOf struct {
	sender lifecycle.Sender
	slot   lifecycle.Slot
}

// rowOn returns the bot's row on s; the zero row if it has none.
func (r *botRec) rowOn(s lifecycle.Sender) lifecycle.SenderRow {
	for _, row := range r.rows {
		if row.Sender == s {
			return row
		}
	}
	return lifecycle.SenderRow{}
}

// checkRoles refuses stale role reads and the removal of the last Admin,
// and returns how many users hold Admin after the changes.
func (m *space) checkRoles(changes []lifecycle.RoleChange) (int, error) {
	admins := m.admins
	for _, rc := range changes {
		if cur := m.roles[rc.User]; cur != rc.From {
			return 0, conflict("the roles of %q changed (now %v, the plan read %v)", rc.User, cur, rc.From)
		}
		if rc.From.IsAdmin() {
			admins--
		}
		if rc.To.IsAdmin() {
			admins++
		}
	}
	if m.admins > 0 && admins == 0 {
		return 0, conflict("the plan would remove the last Admin")
	}
	return admins, nil
}

// applyChanges stores the checked changes of a plan: every changed bot off
// its senders first, then each back as its rows say, so that their order
// does not matter. The caller holds m.mu and the shards of their senders.
func (m *space) applyChanges(changes []lifecycle.Change) {
	var was []lifecycle.Sender // the senders the changed bots had rows on
	for _, c := range changes {
		if rec := m.bots[c.Bot]; rec != nil {
			for _, row := range rec.rows {
				was = append(was, row.Sender)
			}
		}
	}
	groups := m.detach(changes)
	for _, c := range changes {
		m.put(c)
	}
	m.reattach(groups)
	m.forget(was)
}

// forget drops the records of those of senders that no bot holds a slot,
// a departure or a group of sessions on any more: a sender every bot
// dropped, a deleted bot's, a closed test session's (R26). Memory for
// senders no bot names stays bounded. The caller holds their shards.
func (m *space) forget(senders []lifecycle.Sender) {
	for _, s := range senders {
		sh := m.shardOf(s)
		if sr := sh.senders[s]; sr != nil && sr.active == nil && sr.draining == nil &&
			sr.activeGroup == nil && sr.drainGroup == nil && sr.left.len() == 0 {
			delete(sh.senders, s)
		}
	}
}

// detach takes every changed bot off its senders' slots, departures and
// the drain index, and returns their session groups (some nil).
func (m *space) detach(changes []lifecycle.Change) []*group {
	var groups []*group
	for _, c := range changes {
		rec := m.bots[c.Bot]
		if rec == nil {
			continue
		}
		for _, row := range rec.rows {
			sr := m.senderRec(row.Sender)
			if sr == nil {
				continue
			}
			if sr.active == rec {
				sr.active = nil
				groups = append(groups, sr.activeGroup)
				sr.activeGroup = nil
			}
			if sr.draining == rec {
				sr.draining = nil
				groups = append(groups, sr.drainGroup)
				sr.drainGroup = nil
			}
		}
		for _, e := range rec.left {
			e.sr.left.remove(e.pos)
		}
		rec.left = rec.left[:0]
		if rec.drainAt >= 0 {
			m.drains.remove(rec.drainAt)
		}
	}
	return groups
}

// put puts one changed bot back as its rows say: its record, the drain
// index, its senders' slots and departures.
func (m *space) put(c lifecycle.Change) {
	rec := m.bots[c.Bot]
	if c.After == nil {
		rec.view.Store(nil)
		delete(m.bots, c.Bot)
		m.ids.deleted(c.Bot)
		return
	}
	if rec == nil {
		rec = &botRec{drainAt: -1}
		m.bots[c.Bot] = rec
		m.ids.add(c.Bot)
	}
	b := c.After.Clone()
	b.OpenActivations = nil // not stored: read() counts them
	rec.view.Store(&b)
	rec.rows, rec.due = c.Rows(), c.Due()
	if !rec.due.IsZero() {
		m.drains.push(rec)
	}
	for _, row := range rec.rows {
		sh := m.shardOf(row.Sender)
		sr := sh.senders[row.Sender]
		if sr == nil { // the sender's first bot
			sr = &senderRec{left: minHeap[*leftEntry]{less: leftFirst, moved: func(e *leftEntry, i int) { e.pos = i }}}
			sh.senders[row.Sender] = sr
		}
		switch row.Slot {
		case lifecycle.SlotActive:
			sr.active = rec
		case lifecycle.SlotDraining:
			sr.draining = rec
		}
		if !row.LeftActive.IsZero() {
			e := &leftEntry{rec: rec, sr: sr, at: row.LeftActive, id: b.ID}
			sr.left.push(e)
			rec.left = append(rec.left, e)
		}
	}
}

// reattach puts back the session groups whose activation their bot's row
// still serves (group.serve); the next sweep closes the others' sessions.
func (m *space) reattach(groups []*group) {
	for _, g := range groups {
		if g == nil {
			continue
		}
		switch sr := m.senderRec(g.sender); {
		case !g.serve(): // over: routing no longer continues its sessions
		case sr.active == g.bot:
			sr.activeGroup = g
		case sr.draining == g.bot:
			sr.drainGroup = g
		}
		m.shardOf(g.sender).reschedule(g)
	}
}

// auditLog keeps entries in chunks of fixed capacity: appending never
// copies earlier entries, so no Commit stalls however long the log grows.
type auditLog struct {
	chunks [][]lifecycle.AuditEntry
	n      uint64
}

const auditChunk = 1024

func (l *auditLog) len() uint64 { return l.n }

func (l *auditLog) append(e lifecycle.AuditEntry) {
	if l.n%auditChunk == 0 {
		l.chunks = append(l.chunks, make([]lifecycle.AuditEntry, 0, auditChunk))
	}
	c := &l.chunks[len(l.chunks)-1]
	*c = append(*c, e)
	l.n++
}

// read returns copies of up to limit entries with Seq greater than after
// (Seq n is entry n-1).
func (l *auditLog) read(after uint64, limit int) []lifecycle.AuditEntry {
	if after >= l.n || limit <= 0 {
		return nil
	}
	n := l.n - after
	if uint64(limit) < n {
		n = uint64(limit)
	}
	out := make([]lifecycle.AuditEntry, 0, n)
	for i := after; i < after+n; i++ {
		out = append(out, cloneEntry(l.chunks[i/auditChunk][i%auditChunk]))
	}
	return out
}
