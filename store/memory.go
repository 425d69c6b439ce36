// Package store holds Store implementations for package lifecycle. Memory is
// the in-memory reference implementation: what every other Store is measured
// against by the conformance suite in store/storetest.
package store

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// Memory is an in-memory lifecycle.Store. It is safe for concurrent use: one
// mutex serialises every operation, so a Commit is atomic and its invariant
// checks (R1, R2, the last Admin) see exactly the state it changes. Its
// contents are lost when the process ends. Closed sessions are kept, so
// memory grows with the number of sessions ever opened.
//
// The zero value is not usable; call NewMemory.
type Memory struct {
	mu      sync.Mutex
	bots    map[lifecycle.BotID]*botRec
	senders map[lifecycle.Sender]*senderRec
	roles   map[string]roles.Set
	audit   []lifecycle.AuditEntry
	// auditWake is closed and replaced whenever entries are appended.
	auditWake chan struct{}

	open        map[sessKey]*sessRec // sessions recorded open
	sessions    map[lifecycle.SessionID]*sessRec
	nextSession lifecycle.SessionID
	stats       map[statKey]*statRec
}

type botRec struct {
	bot     lifecycle.Bot
	deleted bool
	// Open sessions, least recently active first: an intrusive list, so
	// routing moves a session to the back without allocating and a sweep
	// finds idle sessions at the front.
	head, tail *sessRec
}

// senderRec is what the store keeps per sender: the live bots on it (R1
// and R2 allow one of each), and the bots that left Active on it, for
// LastActive. Neither grows with the bots that merely used the sender.
type senderRec struct {
	active, draining *botRec
	// left lists bots that left Active while on this sender, ordered by
	// the time they left, then by id descending, so the last valid entry
	// answers LastActive. Stale entries (the bot left again since, was
	// re-activated, or lost the sender) are dropped when met at the end.
	left []leftEntry
}

type leftEntry struct {
	rec *botRec
	at  time.Time
}

// valid reports whether e still says "rec left Active at at and is on s".
func (e leftEntry) valid(s lifecycle.Sender) bool {
	b := &e.rec.bot
	return !e.rec.deleted && b.State != lifecycle.Active && b.DeactivatedAt.Equal(e.at) && b.HasSender(s)
}

// before orders entries: earlier departures first, then larger ids first.
func (e leftEntry) before(o leftEntry) bool {
	if !e.at.Equal(o.at) {
		return e.at.Before(o.at)
	}
	return e.rec.bot.ID > o.rec.bot.ID
}

type sessRec struct {
	s          lifecycle.Session
	bot        *botRec
	prev, next *sessRec
	stats      *statRec
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

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		bots:      map[lifecycle.BotID]*botRec{},
		senders:   map[lifecycle.Sender]*senderRec{},
		roles:     map[string]roles.Set{},
		auditWake: make(chan struct{}),
		open:      map[sessKey]*sessRec{},
		sessions:  map[lifecycle.SessionID]*sessRec{},
		stats:     map[statKey]*statRec{},
	}
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
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.bots[id]
	if !ok {
		return lifecycle.Bot{}, notFound(id)
	}
	return rec.bot.Clone(), nil
}

// LiveBots implements lifecycle.BotStore. It reads at most two bots per
// sender.
func (m *Memory) LiveBots(ctx context.Context, senders []lifecycle.Sender) ([]lifecycle.Bot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []lifecycle.Bot
	seen := map[lifecycle.BotID]bool{}
	for _, s := range senders {
		sr := m.senders[s]
		if sr == nil {
			continue
		}
		for _, rec := range [2]*botRec{sr.active, sr.draining} {
			if rec != nil && !seen[rec.bot.ID] {
				seen[rec.bot.ID] = true
				out = append(out, rec.bot.Clone())
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// LastActive implements lifecycle.BotStore. Each sender keeps the bots that
// left Active on it in order; stale entries met at the end are dropped, so
// the cost is amortised constant per sender.
func (m *Memory) LastActive(ctx context.Context, senders []lifecycle.Sender, except lifecycle.BotID) (lifecycle.Bot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var best *leftEntry
	for _, s := range senders {
		sr := m.senders[s]
		if sr == nil {
			continue
		}
		for i := len(sr.left) - 1; i >= 0; i-- {
			e := sr.left[i]
			if e.rec.bot.ID == except {
				continue
			}
			if !e.valid(s) {
				if i == len(sr.left)-1 {
					sr.left = sr.left[:i]
				}
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
	return best.rec.bot.Clone(), nil
}

// Bots implements lifecycle.BotStore.
func (m *Memory) Bots(ctx context.Context, after lifecycle.BotID, limit int) ([]lifecycle.Bot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ids := make([]lifecycle.BotID, 0, len(m.bots))
	for id := range m.bots {
		if id > after {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if limit >= 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]lifecycle.Bot, len(ids))
	for i, id := range ids {
		out[i] = m.bots[id].bot.Clone()
	}
	return out, nil
}

// DueDrains implements lifecycle.BotStore.
func (m *Memory) DueDrains(ctx context.Context, now time.Time, limit int) ([]lifecycle.Bot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []lifecycle.Bot
	for _, rec := range m.bots {
		if rec.bot.State == lifecycle.Deactivated && !now.Before(rec.bot.GraceDeadline) {
			out = append(out, rec.bot.Clone())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].GraceDeadline.Equal(out[j].GraceDeadline) {
			return out[i].GraceDeadline.Before(out[j].GraceDeadline)
		}
		return out[i].ID < out[j].ID
	})
	if limit >= 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// UserRoles implements lifecycle.RoleStore.
func (m *Memory) UserRoles(ctx context.Context, user string) (roles.Set, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.roles[user], nil
}

// RoleAssignments implements lifecycle.RoleStore.
func (m *Memory) RoleAssignments(ctx context.Context) ([]lifecycle.RoleAssignment, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]lifecycle.RoleAssignment, 0, len(m.roles))
	for u, rs := range m.roles {
		out = append(out, lifecycle.RoleAssignment{User: u, Roles: rs})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].User < out[j].User })
	return out, nil
}

// AuditLog implements lifecycle.AuditStore.
func (m *Memory) AuditLog(ctx context.Context, after uint64, limit int) ([]lifecycle.AuditEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if after >= uint64(len(m.audit)) {
		return nil, nil
	}
	entries := m.audit[after:] // Seq n is at index n-1
	if limit >= 0 && len(entries) > limit {
		entries = entries[:limit]
	}
	out := make([]lifecycle.AuditEntry, len(entries))
	for i, e := range entries {
		out[i] = cloneEntry(e)
	}
	return out, nil
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
	if err := m.check(p); err != nil {
		return nil, err
	}
	// Everything checked: apply.
	for _, c := range p.Changes {
		m.applyChange(c)
	}
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
		e.Seq = uint64(len(m.audit)) + 1
		m.audit = append(m.audit, e)
		out[i] = cloneEntry(e)
	}
	if len(out) > 0 {
		close(m.auditWake)
		m.auditWake = make(chan struct{})
	}
	return out, nil
}

// WaitAudit implements lifecycle.AuditStore: waiters sleep on a channel
// closed by the next commit that appends entries; nothing polls.
func (m *Memory) WaitAudit(ctx context.Context, after uint64) error {
	for {
		m.mu.Lock()
		n, wake := uint64(len(m.audit)), m.auditWake
		m.mu.Unlock()
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
// invariant, changing nothing.
func (m *Memory) check(p lifecycle.Plan) error {
	if err := p.Check(); err != nil {
		return err
	}
	after := map[lifecycle.BotID]*lifecycle.Bot{} // nil: deleted
	var touched []lifecycle.Sender
	for _, c := range p.Changes {
		rec, exists := m.bots[c.Bot]
		switch {
		case c.Revision == 0 && exists:
			return conflict("bot %s already exists", c.Bot)
		case c.Revision != 0 && !exists:
			return conflict("bot %s no longer exists", c.Bot)
		case exists && rec.bot.Revision != c.Revision:
			return conflict("bot %s changed (revision %d, the plan read %d)", c.Bot, rec.bot.Revision, c.Revision)
		}
		after[c.Bot] = c.After
		if exists {
			touched = append(touched, rec.bot.Senders...)
		}
		if c.After != nil {
			touched = append(touched, c.After.Senders...)
		}
	}
	// R1, R2: at most one Active and one Deactivated bot per touched sender.
	for _, s := range touched {
		var active, draining int
		count := func(st lifecycle.State) {
			switch st {
			case lifecycle.Active:
				active++
			case lifecycle.Deactivated:
				draining++
			}
		}
		if sr := m.senders[s]; sr != nil {
			for _, rec := range [2]*botRec{sr.active, sr.draining} {
				if _, changed := after[rec.botID()]; rec != nil && !changed {
					count(rec.bot.State)
				}
			}
		}
		for _, b := range after {
			if b != nil && b.HasSender(s) {
				count(b.State)
			}
		}
		if active > 1 {
			return conflict("the plan would leave %d Active bots on %s", active, s)
		}
		if draining > 1 {
			return conflict("the plan would leave %d Deactivated bots on %s", draining, s)
		}
	}
	// Role changes: stale reads and the last Admin.
	if len(p.Roles) > 0 {
		next := map[string]roles.Set{}
		for _, rc := range p.Roles {
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
	}
	return nil
}

func (r *botRec) botID() lifecycle.BotID {
	if r == nil {
		return ""
	}
	return r.bot.ID
}

func (m *Memory) sender(s lifecycle.Sender) *senderRec {
	sr := m.senders[s]
	if sr == nil {
		sr = &senderRec{}
		m.senders[s] = sr
	}
	return sr
}

func (m *Memory) applyChange(c lifecycle.Change) {
	rec := m.bots[c.Bot]
	var before lifecycle.Bot
	if rec != nil {
		before = rec.bot
		for _, s := range rec.bot.Senders {
			sr := m.senders[s]
			if sr.active == rec {
				sr.active = nil
			}
			if sr.draining == rec {
				sr.draining = nil
			}
		}
	}
	if c.After == nil {
		rec.deleted = true
		delete(m.bots, c.Bot)
		return
	}
	if rec == nil {
		rec = &botRec{}
		m.bots[c.Bot] = rec
	}
	rec.bot = c.After.Clone()
	b := &rec.bot
	left := b.State != lifecycle.Active && !b.DeactivatedAt.IsZero()
	for _, s := range b.Senders {
		sr := m.sender(s)
		switch b.State {
		case lifecycle.Active:
			sr.active = rec
		case lifecycle.Deactivated:
			sr.draining = rec
		}
		// A bot that just left Active, or that left before and gained this
		// sender, is a candidate for LastActive on it.
		if left && (before.State == lifecycle.Active || !before.HasSender(s)) {
			sr.insertLeft(leftEntry{rec: rec, at: b.DeactivatedAt})
		}
	}
}

// insertLeft adds e in order; it almost always goes at the end.
func (sr *senderRec) insertLeft(e leftEntry) {
	i := len(sr.left)
	for i > 0 && e.before(sr.left[i-1]) {
		i--
	}
	sr.left = append(sr.left, leftEntry{})
	copy(sr.left[i+1:], sr.left[i:])
	sr.left[i] = e
}
