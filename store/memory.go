// Package store holds Store implementations for package lifecycle. Memory is
// the in-memory reference implementation: what every other Store is measured
// against by the conformance suite in store/storetest.
package store

import (
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

// Memory is an in-memory lifecycle.Store, safe for concurrent use. Its
// contents are lost when the process ends.
//
// Bots, roles and the audit log sit behind one read-write mutex that every
// Commit holds. Sessions live in shards chosen by sender, each with its own
// mutex: routing on different senders runs in parallel, and a Commit also
// locks the shards of every sender it touches, so it stays atomic with
// respect to routing (R1, R9, R10).
//
// Each bot counts its groups of open sessions per activation, as the
// groups gain their first session and lose their last, so a read of a bot
// gives its Bot.OpenActivations (R9) without visiting any session.
//
// No operation costs time that grows with history: drains are indexed by
// grace deadline and open sessions by when they can next end, so ExpireDue
// costs what is due; the audit log grows in fixed-size chunks, never
// copied; closed sessions leave memory after a retention (default 24h;
// see WithRetention), while the session counts keep their figures.
//
// The zero value is not usable; call NewMemory.
type Memory struct {
	// mu guards bots, roles, audit, auditWake, drains and each senderRec's
	// bot slots and left list. Commit holds it for writing; every write
	// to a senderRec also holds the sender's shard.
	mu     sync.RWMutex
	bots   map[lifecycle.BotID]*botRec
	ids    botIDs // the ids of bots, sorted
	roles  map[string]roles.Set
	audit  auditLog
	drains drainHeap
	sched  schedules
	// auditWake is closed and replaced when entries are appended and
	// someone waits (auditWaiting, set under mu by WaitAudit).
	auditWake    chan struct{}
	auditWaiting atomic.Bool

	shards      [shardCount]shard
	sessions    sessIndex
	nextSession atomic.Uint64
	retention   time.Duration
}

// botRec is a stored bot. view holds the bot as last committed, never
// changed in place: routing reads it without the store's mutex.
type botRec struct {
	view atomic.Pointer[lifecycle.Bot] // nil once the bot is deleted
	// drainAt is the bot's index in Memory.drains while it is Deactivated,
	// else -1.
	drainAt int
	// open counts, per activation, the session groups of the bot that hold
	// a session recorded open (Bot.OpenActivations, R9). A group joins when
	// its first session opens and leaves when its last closes, so routing
	// to an open session never touches it. openMu is a leaf lock: taken
	// under a shard's mutex or Memory.mu, it takes no other.
	openMu sync.Mutex
	open   map[uint64]int
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
	for k := range r.open {
		b.OpenActivations = append(b.OpenActivations, k)
	}
	r.openMu.Unlock()
	slices.Sort(b.OpenActivations)
	return b
}

// groupOpened and groupClosed count a group of activation k that got its
// first session recorded open, or lost its last.
func (r *botRec) groupOpened(k uint64) {
	r.openMu.Lock()
	if r.open == nil {
		r.open = map[uint64]int{}
	}
	r.open[k]++
	r.openMu.Unlock()
}

func (r *botRec) groupClosed(k uint64) {
	r.openMu.Lock()
	if r.open[k]--; r.open[k] <= 0 {
		delete(r.open, k)
	}
	r.openMu.Unlock()
}

// senderRec is what the store keeps per sender: the live bots on it (R1
// and R2 allow one of each), the session groups of those bots, and the
// bots that left Active on it, for LastActive. None of it grows with the
// bots that merely used the sender.
type senderRec struct {
	active, draining *botRec
	// activeGroup and drainGroup hold the open sessions of the current
	// activation of active and draining on this sender (nil before the
	// first one opens). Guarded by the sender's shard.
	activeGroup, drainGroup *group
	// left lists bots that left Active while on this sender, ordered by
	// the time they left, then by id descending, so the last valid entry
	// answers LastActive. Commit drops stale entries (the bot left again
	// since, was re-activated, or lost the sender) met at the end.
	left []leftEntry
}

type leftEntry struct {
	rec *botRec
	at  time.Time
	id  lifecycle.BotID
}

// valid reports whether e still says "rec left Active at at and is on s".
func (e leftEntry) valid(s lifecycle.Sender) bool {
	b := e.rec.bot()
	return b != nil && b.State != lifecycle.Active && b.DeactivatedAt.Equal(e.at) && b.HasSender(s)
}

// before orders entries: earlier departures first, then larger ids first.
func (e leftEntry) before(o leftEntry) bool {
	if !e.at.Equal(o.at) {
		return e.at.Before(o.at)
	}
	return e.id > o.id
}

// DefaultRetention is how long the memory store keeps a closed session
// unless WithRetention says otherwise.
const DefaultRetention = 24 * time.Hour

// MemoryOption configures NewMemory.
type MemoryOption func(*Memory)

// WithRetention sets how long a closed session stays readable (Session,
// Sessions) after the store recorded it closed; then ExpireDue removes it,
// and Session reports it not found. SessionStats, and so Analytics, keep
// counting it. d <= 0 keeps closed sessions for as long as the store
// lives, as a persistent store does: memory then grows with every session
// ever opened.
func WithRetention(d time.Duration) MemoryOption {
	return func(m *Memory) { m.retention = d }
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{
		bots:      map[lifecycle.BotID]*botRec{},
		roles:     map[string]roles.Set{},
		sched:     schedules{byID: map[lifecycle.ScheduleID]*lifecycle.Schedule{}},
		auditWake: make(chan struct{}),
		retention: DefaultRetention,
	}
	for i := range m.shards {
		m.shards[i].init()
	}
	for _, o := range opts {
		o(m)
	}
	return m
}

var _ lifecycle.Store = (*Memory)(nil)

func notFound(id lifecycle.BotID) error {
	return &lifecycle.NotFoundError{Kind: "bot", ID: string(id)}
}

func conflict(format string, args ...any) error {
	return &lifecycle.ConflictError{Reason: fmt.Sprintf(format, args...)}
}

// Bot implements lifecycle.BotStore.
func (m *Memory) Bot(ctx context.Context, id lifecycle.BotID) (lifecycle.Bot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	rec, ok := m.bots[id]
	if !ok {
		return lifecycle.Bot{}, notFound(id)
	}
	return rec.read(), nil
}

// senderRec returns the record of s, or nil. The caller holds m.mu or the
// shard of s.
func (m *Memory) senderRec(s lifecycle.Sender) *senderRec {
	return m.shardOf(s).senders[s]
}

// LiveBots implements lifecycle.BotStore. It reads at most two bots per
// sender.
func (m *Memory) LiveBots(ctx context.Context, senders []lifecycle.Sender) ([]lifecycle.Bot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []lifecycle.Bot
	seen := map[*botRec]bool{}
	for _, s := range senders {
		sr := m.senderRec(s)
		if sr == nil {
			continue
		}
		for _, rec := range [2]*botRec{sr.active, sr.draining} {
			if rec != nil && !seen[rec] {
				seen[rec] = true
				out = append(out, rec.read())
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// LastActive implements lifecycle.BotStore. Each sender keeps the bots that
// left Active on it in order, and Commit drops stale entries from the end,
// so the cost is amortised constant per sender.
func (m *Memory) LastActive(ctx context.Context, senders []lifecycle.Sender, except lifecycle.BotID) (lifecycle.Bot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var best *leftEntry
	for _, s := range senders {
		sr := m.senderRec(s)
		if sr == nil {
			continue
		}
		for i := len(sr.left) - 1; i >= 0; i-- {
			e := sr.left[i]
			if e.id == except || !e.valid(s) {
				continue
			}
			if best == nil || best.before(e) {
				best = &e
			}
			break
		}
	}
	if best == nil {
		return lifecycle.Bot{}, &lifecycle.NotFoundError{Kind: "bot", ID: "that was Active before on these senders"}
	}
	return best.rec.read(), nil
}

// Bots implements lifecycle.BotStore. Ids are kept sorted, so a page costs
// the bots it returns, not every bot stored.
func (m *Memory) Bots(ctx context.Context, after lifecycle.BotID, limit int) ([]lifecycle.Bot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []lifecycle.Bot
	m.ids.page(after, func(id lifecycle.BotID) bool {
		if limit >= 0 && len(out) >= limit {
			return false
		}
		if rec, ok := m.bots[id]; ok {
			out = append(out, rec.read())
		}
		return true
	})
	if out == nil {
		out = []lifecycle.Bot{}
	}
	return out, nil
}

// DueDrains implements lifecycle.BotStore. Drains are indexed by deadline:
// the cost is that of the drains it returns, whatever else is stored.
func (m *Memory) DueDrains(ctx context.Context, now time.Time, limit int) ([]lifecycle.Bot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []lifecycle.Bot
	for _, rec := range m.drains.due(now, limit) {
		out = append(out, rec.read())
	}
	return out, nil
}

// UserRoles implements lifecycle.RoleStore.
func (m *Memory) UserRoles(ctx context.Context, user string) (roles.Set, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.roles[user], nil
}

// RoleAssignments implements lifecycle.RoleStore.
func (m *Memory) RoleAssignments(ctx context.Context) ([]lifecycle.RoleAssignment, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	out := make([]lifecycle.RoleAssignment, 0, len(m.roles))
	for u, rs := range m.roles {
		out = append(out, lifecycle.RoleAssignment{User: u, Roles: rs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out, nil
}

// AuditLog implements lifecycle.AuditStore.
func (m *Memory) AuditLog(ctx context.Context, after uint64, limit int) ([]lifecycle.AuditEntry, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.audit.read(after, limit), nil
}

func cloneEntry(e lifecycle.AuditEntry) lifecycle.AuditEntry {
	e.Transitions = append([]lifecycle.Transition(nil), e.Transitions...)
	e.Acknowledged = append([]string(nil), e.Acknowledged...)
	return e
}

// Commit implements lifecycle.Store.
func (m *Memory) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	locked := m.lockShards(p)
	defer unlockShards(locked)
	if err := m.check(p); err != nil {
		return nil, err
	}
	if err := m.checkSchedules(p.Schedules); err != nil {
		return nil, err
	}
	// Everything checked: apply.
	m.applyChanges(p.Changes)
	m.applySchedules(p.Schedules)
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
// bots have before or after it, and returns them. The caller holds m.mu.
func (m *Memory) lockShards(p lifecycle.Plan) []*shard {
	var idx []int
	add := func(ss []lifecycle.Sender) {
		for _, s := range ss {
			idx = append(idx, shardIndex(s))
		}
	}
	for _, c := range p.Changes {
		if rec, ok := m.bots[c.Bot]; ok {
			add(rec.bot().Senders)
		}
		if c.After != nil {
			add(c.After.Senders)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	sort.Ints(idx)
	out := make([]*shard, 0, len(idx))
	for i, n := range idx {
		if i > 0 && idx[i-1] == n {
			continue
		}
		sh := &m.shards[n]
		sh.mu.Lock()
		out = append(out, sh)
	}
	return out
}

func unlockShards(shards []*shard) {
	for _, sh := range shards {
		sh.mu.Unlock()
	}
}

// WaitAudit implements lifecycle.AuditStore: waiters sleep on a channel
// closed by the next commit that appends entries; nothing polls.
func (m *Memory) WaitAudit(ctx context.Context, after uint64) error {
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
// invariant, changing nothing. Its cost is that of the plan: the bots it
// changes and the two live bots per sender they touch.
func (m *Memory) check(p lifecycle.Plan) error {
	if err := p.Check(); err != nil {
		return err
	}
	after := map[lifecycle.BotID]*lifecycle.Bot{} // nil: deleted
	var touched []lifecycle.Sender
	for _, c := range p.Changes {
		rec, exists := m.bots[c.Bot]
		var cur *lifecycle.Bot
		if exists {
			cur = rec.bot()
		}
		switch {
		case c.Revision == 0 && exists:
			return conflict("bot %s already exists", c.Bot)
		case c.Revision != 0 && !exists:
			return conflict("bot %s no longer exists", c.Bot)
		case exists && cur.Revision != c.Revision:
			return conflict("bot %s changed (revision %d, the plan read %d)", c.Bot, cur.Revision, c.Revision)
		}
		after[c.Bot] = c.After
		if exists {
			touched = append(touched, cur.Senders...)
		}
		if c.After != nil {
			touched = append(touched, c.After.Senders...)
		}
	}
	for _, s := range touched {
		if err := m.checkSender(s, after); err != nil {
			return err
		}
	}
	return m.checkRoles(p.Roles)
}

// checkRoles refuses stale role reads and the removal of the last Admin.
func (m *Memory) checkRoles(changes []lifecycle.RoleChange) error {
	if len(changes) == 0 {
		return nil
	}
	next := map[string]roles.Set{}
	for _, rc := range changes {
		if cur := m.roles[rc.User]; cur != rc.From {
			return conflict("the roles of %q changed (now %v, the plan read %v)", rc.User, cur, rc.From)
		}
		next[rc.User] = rc.To
	}
	before, afterAdmins := 0, 0
	for u, rs := range m.roles {
		if rs.IsAdmin() {
			before++
		}
		if n, ok := next[u]; ok {
			rs = n
		}
		if rs.IsAdmin() {
			afterAdmins++
		}
	}
	for u, rs := range next {
		if _, existed := m.roles[u]; !existed && rs.IsAdmin() {
			afterAdmins++
		}
	}
	if before > 0 && afterAdmins == 0 {
		return conflict("the plan would remove the last Admin")
	}
	return nil
}

// checkSender refuses a plan that would leave two Active or two
// Deactivated bots on s (R1, R2), counted by their state on s (R22): the
// bots the plan leaves as after, and the live bots on s it does not change.
func (m *Memory) checkSender(s lifecycle.Sender, after map[lifecycle.BotID]*lifecycle.Bot) error {
	var n [lifecycle.Deleted + 1]int
	if sr := m.senderRec(s); sr != nil {
		for _, rec := range [2]*botRec{sr.active, sr.draining} {
			if rec == nil {
				continue
			}
			if _, changed := after[rec.bot().ID]; !changed {
				n[rec.bot().StateOn(s)]++
			}
		}
	}
	for _, b := range after {
		if b != nil {
			n[b.StateOn(s)]++
		}
	}
	if n[lifecycle.Active] > 1 {
		return conflict("the plan would leave %d Active bots on %s", n[lifecycle.Active], s)
	}
	if n[lifecycle.Deactivated] > 1 {
		return conflict("the plan would leave %d Deactivated bots on %s", n[lifecycle.Deactivated], s)
	}
	return nil
}

// sender returns the record of s, making it if need be. The caller holds
// m.mu for writing and the shard of s.
func (m *Memory) sender(s lifecycle.Sender) *senderRec {
	sh := m.shardOf(s)
	sr := sh.senders[s]
	if sr == nil {
		sr = &senderRec{}
		sh.senders[s] = sr
	}
	return sr
}

// applyChanges stores the checked changes of a plan. The caller holds m.mu
// for writing and the shards of the bots' senders before and after. It
// first takes every changed bot off its senders, then puts each back as it
// is now, so that the order of the changes does not matter.
func (m *Memory) applyChanges(changes []lifecycle.Change) {
	befores, groups := m.detach(changes)
	for i, c := range changes {
		m.put(c, &befores[i])
	}
	m.reattach(groups)
	for i, c := range changes {
		for _, s := range befores[i].Senders {
			if sr := m.senderRec(s); sr != nil {
				sr.trimLeft(s)
			}
		}
		if c.After != nil {
			for _, s := range c.After.Senders {
				m.senderRec(s).trimLeft(s)
			}
		}
	}
}

// detached is a session group taken off its sender while its bot changes.
type detached struct {
	sr *senderRec
	g  *group
}

// detach takes every changed bot off its senders' slots and the drain
// index, and returns the bots as they were and their session groups.
func (m *Memory) detach(changes []lifecycle.Change) ([]lifecycle.Bot, []detached) {
	var groups []detached
	befores := make([]lifecycle.Bot, len(changes))
	for i, c := range changes {
		rec := m.bots[c.Bot]
		if rec == nil {
			continue
		}
		befores[i] = *rec.bot()
		for _, s := range befores[i].Senders {
			sr := m.senderRec(s)
			if sr == nil {
				continue
			}
			if sr.active == rec {
				sr.active = nil
				groups = append(groups, detached{sr, sr.activeGroup})
				sr.activeGroup = nil
			}
			if sr.draining == rec {
				sr.draining = nil
				groups = append(groups, detached{sr, sr.drainGroup})
				sr.drainGroup = nil
			}
		}
		m.drains.remove(rec)
	}
	return befores, groups
}

// put puts one changed bot back as it is now: its record, the drain
// index, its senders' slots and their LastActive candidates.
func (m *Memory) put(c lifecycle.Change, before *lifecycle.Bot) {
	rec := m.bots[c.Bot]
	if c.After == nil {
		rec.view.Store(nil)
		delete(m.bots, c.Bot)
		m.ids.deleted(m.bots)
		return
	}
	if rec == nil {
		rec = &botRec{drainAt: -1}
		m.bots[c.Bot] = rec
		m.ids.add(c.Bot, m.bots)
	}
	b := c.After.Clone()
	b.OpenActivations = nil // not stored: read() counts them
	rec.view.Store(&b)
	if !b.GraceDeadline.IsZero() { // a drain on some sender (R22)
		m.drains.add(rec, b.GraceDeadline, b.ID)
	}
	left := b.State != lifecycle.Active && !b.DeactivatedAt.IsZero()
	for _, s := range b.Senders {
		sr := m.sender(s)
		switch b.StateOn(s) {
		case lifecycle.Active:
			sr.active = rec
		case lifecycle.Deactivated:
			sr.draining = rec
		}
		// A bot that just left Active, or that left before and gained
		// this sender, is a candidate for LastActive on it.
		if left && (before.State == lifecycle.Active || !before.HasSender(s)) {
			sr.insertLeft(leftEntry{rec: rec, at: b.DeactivatedAt, id: b.ID})
		}
	}
}

// reattach puts back the session groups of the activation their bot still
// serves on their sender; the others end, and the next sweep closes their
// sessions.
func (m *Memory) reattach(groups []detached) {
	for _, d := range groups {
		if d.g == nil {
			continue
		}
		b := d.g.bot.bot()
		var on lifecycle.SenderState
		if b != nil {
			on, _ = b.On(d.g.sender)
		}
		if on.Activation == d.g.activation {
			switch {
			case on.State == lifecycle.Active && d.sr.active == d.g.bot:
				d.sr.activeGroup = d.g
			case on.State == lifecycle.Deactivated && d.sr.draining == d.g.bot:
				d.sr.drainGroup = d.g
			}
		}
		m.shardOf(d.g.sender).reschedule(d.g)
	}
}

// insertLeft adds e in order; it almost always goes at the end.
//
// A bot keeps one entry per sender, its latest departure: its earlier one
// is dropped, so the list holds at most one entry per bot that used the
// sender, however often bots take turns on it. The earlier entry is found
// from the end, where a bot taking turns left it.
func (sr *senderRec) insertLeft(e leftEntry) {
	for j := len(sr.left) - 1; j >= 0; j-- {
		if sr.left[j].rec == e.rec {
			sr.left = slices.Delete(sr.left, j, j+1)
			break
		}
	}
	i := len(sr.left)
	for i > 0 && e.before(sr.left[i-1]) {
		i--
	}
	sr.left = append(sr.left, leftEntry{})
	copy(sr.left[i+1:], sr.left[i:])
	sr.left[i] = e
}

// trimLeft drops stale entries from the end of the left list.
func (sr *senderRec) trimLeft(s lifecycle.Sender) {
	n := len(sr.left)
	for n > 0 && !sr.left[n-1].valid(s) {
		n--
	}
	clear(sr.left[n:])
	sr.left = sr.left[:n]
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
	if after >= l.n {
		return nil
	}
	n := l.n - after
	if limit >= 0 && uint64(limit) < n {
		n = uint64(limit)
	}
	out := make([]lifecycle.AuditEntry, 0, n)
	for i := after; i < after+n; i++ {
		out = append(out, cloneEntry(l.chunks[i/auditChunk][i%auditChunk]))
	}
	return out
}

// drainHeap holds the Deactivated bots, a min-heap by (grace deadline, id).
type drainHeap []drainItem

type drainItem struct {
	at  time.Time
	id  lifecycle.BotID
	rec *botRec
}

func (h drainHeap) less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].id < h[j].id
}

func (h drainHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].rec.drainAt, h[j].rec.drainAt = i, j
}

func (h drainHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h drainHeap) down(i int) {
	for {
		l, s := 2*i+1, i
		if l < len(h) && h.less(l, s) {
			s = l
		}
		if r := l + 1; r < len(h) && h.less(r, s) {
			s = r
		}
		if s == i {
			return
		}
		h.swap(i, s)
		i = s
	}
}

func (h *drainHeap) add(rec *botRec, at time.Time, id lifecycle.BotID) {
	*h = append(*h, drainItem{at: at, id: id, rec: rec})
	rec.drainAt = len(*h) - 1
	h.up(rec.drainAt)
}

func (h *drainHeap) remove(rec *botRec) {
	i := rec.drainAt
	if i < 0 {
		return
	}
	last := len(*h) - 1
	h.swap(i, last)
	*h = (*h)[:last]
	rec.drainAt = -1
	if i < last {
		h.down(i)
		h.up(i)
	}
}

// due returns up to limit bots whose deadline is not after now, earliest
// first, visiting only the heap nodes it returns and their children.
func (h drainHeap) due(now time.Time, limit int) []*botRec {
	if limit < 0 {
		limit = len(h)
	}
	var out []*botRec
	// frontier is a small min-heap of candidate indices into h.
	var frontier []int
	push := func(i int) {
		if i >= len(h) || h[i].at.After(now) {
			return
		}
		frontier = append(frontier, i)
		for k := len(frontier) - 1; k > 0; {
			p := (k - 1) / 2
			if !h.less(frontier[k], frontier[p]) {
				break
			}
			frontier[k], frontier[p] = frontier[p], frontier[k]
			k = p
		}
	}
	pop := func() int {
		top := frontier[0]
		last := len(frontier) - 1
		frontier[0] = frontier[last]
		frontier = frontier[:last]
		for k := 0; ; {
			l, s := 2*k+1, k
			if l < len(frontier) && h.less(frontier[l], frontier[s]) {
				s = l
			}
			if r := l + 1; r < len(frontier) && h.less(frontier[r], frontier[s]) {
				s = r
			}
			if s == k {
				break
			}
			frontier[k], frontier[s] = frontier[s], frontier[k]
			k = s
		}
		return top
	}
	push(0)
	for len(frontier) > 0 && len(out) < limit {
		i := pop()
		out = append(out, h[i].rec)
		push(2*i + 1)
		push(2*i + 2)
	}
	return out
}

// botIDs keeps bot ids sorted for paging: a large sorted slice, and a small
// sorted slice of recent ids merged into it once it holds more than about
// 1/64 of it, so that adding an id costs amortised O(64) and a page costs
// O(log n) plus what it returns. Ids of deleted bots stay until the next
// merge; a page skips them.
type botIDs struct {
	main, recent []lifecycle.BotID
	gone         int // deleted since the last merge
}

func (x *botIDs) add(id lifecycle.BotID, live map[lifecycle.BotID]*botRec) {
	i, _ := slices.BinarySearch(x.recent, id)
	x.recent = slices.Insert(x.recent, i, id)
	x.maybeMerge(live)
}

func (x *botIDs) deleted(live map[lifecycle.BotID]*botRec) {
	x.gone++
	x.maybeMerge(live)
}

func (x *botIDs) maybeMerge(live map[lifecycle.BotID]*botRec) {
	if len(x.recent)+x.gone <= max(256, len(x.main)/64) {
		return
	}
	merged := make([]lifecycle.BotID, 0, len(x.main)+len(x.recent))
	i, j := 0, 0
	for i < len(x.main) || j < len(x.recent) {
		var id lifecycle.BotID
		if j == len(x.recent) || (i < len(x.main) && x.main[i] < x.recent[j]) {
			id, i = x.main[i], i+1
		} else {
			id, j = x.recent[j], j+1
		}
		if _, ok := live[id]; ok && (len(merged) == 0 || merged[len(merged)-1] != id) {
			merged = append(merged, id)
		}
	}
	x.main, x.recent, x.gone = merged, x.recent[:0], 0
}

// page calls f with the ids greater than after, in order, until f returns
// false.
func (x *botIDs) page(after lifecycle.BotID, f func(lifecycle.BotID) bool) {
	i, _ := slices.BinarySearch(x.main, after)
	j, _ := slices.BinarySearch(x.recent, after)
	if i < len(x.main) && x.main[i] == after {
		i++
	}
	if j < len(x.recent) && x.recent[j] == after {
		j++
	}
	prev := after
	for i < len(x.main) || j < len(x.recent) {
		var id lifecycle.BotID
		if j == len(x.recent) || (i < len(x.main) && x.main[i] < x.recent[j]) {
			id, i = x.main[i], i+1
		} else {
			id, j = x.recent[j], j+1
		}
		if id == prev {
			continue // deleted and made again: in both slices
		}
		prev = id
		if !f(id) {
			return
		}
	}
}
