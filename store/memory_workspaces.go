package store

import (
	"context"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Memory is an in-memory lifecycle.Store, safe for concurrent use. Its
// contents are lost when the process ends.
//
// A workspace's bots, roles and audit log sit behind one read-write mutex
// that every Commit to it holds. Sessions live in shards chosen by sender, each with its own
// mutex: routing on different senders runs in parallel, and a Commit also
// locks the shards of every sender it touches, so it stays atomic with
// respect to routing (R1, R9, R10). Each bot counts its groups of open
// sessions per activation, so a read of a bot gives its
// Bot.OpenActivations (R9) without visiting any session.
//
// No operation costs time that grows with history: drains are indexed by
// grace deadline and open sessions by when they can next end (lazily: see
// SweepSessions), so ExpireDue costs what is due; the audit log grows in
// fixed-size chunks, never copied; closed sessions leave memory after a
// retention (default 24h; see WithRetention), while the session counts
// keep their figures.
//
// Workspaces (R27) are a key: each has a store of its own (bots, roles,
// audit log, schedules, session shards and counters), found by name, and
// the senders claimed by each are kept in one map, so that a sender is
// named by the bots of one workspace at a time.
//
// The zero value is not usable; call NewMemory.
type Memory struct {
	// spaces maps each workspace that has stored something to its store:
	// read with one atomic load and no lock (routing), replaced by a copy
	// under mu when a workspace stores its first row.
	spaces atomic.Pointer[map[lifecycle.Workspace]*space]
	dflt   atomic.Pointer[space] // the default workspace's, once it stored a row: no map lookup
	mu     sync.Mutex
	made   chan struct{} // closed and replaced (under mu) when a workspace's store is made
	// none answers reads of a workspace that has stored nothing: never
	// written, so that reads naming any workspace never grow the store.
	none      *space
	claims    claims
	retention time.Duration
}

// DefaultRetention is how long the memory store keeps a closed session
// unless WithRetention says otherwise.
const DefaultRetention = 24 * time.Hour

// MemoryOption configures NewMemory.
type MemoryOption func(*Memory)

// WithRetention sets how long a closed session stays readable (Session,
// Sessions) after the store recorded it closed; then ExpireDue removes it,
// and Session reports it not found. SessionStats, and so Analytics, keep
// counting it. The retention is measured as the clock runs forward: a
// step back of the clock neither ends it early nor holds it until the
// clock has caught up again. d <= 0 keeps closed sessions for as long as the store
// lives, as a persistent store does: memory then grows with every session
// ever opened.
func WithRetention(d time.Duration) MemoryOption {
	return func(m *Memory) { m.retention = d }
}

// NewMemory returns an empty in-memory store.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{claims: claims{of: map[lifecycle.Sender]claim{}}, retention: DefaultRetention, made: make(chan struct{})}
	m.spaces.Store(&map[lifecycle.Workspace]*space{})
	for _, o := range opts {
		o(m)
	}
	m.none = newSpace("", m.retention, &m.claims)
	return m
}

var _ lifecycle.Store = (*Memory)(nil)

// read returns the store of workspace ws to read (or route) in: an empty
// one, never written, if ws has stored nothing.
func (m *Memory) read(ws lifecycle.Workspace) *space {
	if ws == "" {
		if s := m.dflt.Load(); s != nil {
			return s
		}
	} else if s := (*m.spaces.Load())[ws]; s != nil {
		return s
	}
	return m.none
}

// space returns the store of workspace ws to write in, made on first use.
func (m *Memory) space(ws lifecycle.Workspace) *space {
	if s := (*m.spaces.Load())[ws]; s != nil {
		return s
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.spaces.Load()
	if s := old[ws]; s != nil {
		return s
	}
	s := newSpace(ws, m.retention, &m.claims)
	next := make(map[lifecycle.Workspace]*space, len(old)+1)
	maps.Copy(next, old)
	next[ws] = s
	m.spaces.Store(&next)
	if ws == "" {
		m.dflt.Store(s)
	}
	close(m.made)
	m.made = make(chan struct{})
	return s
}

// claims are the real senders named by bots, each with its workspace
// and how many of its bots name it (R27). Its mutex is a leaf lock.
type claims struct {
	mu sync.Mutex
	of map[lifecycle.Sender]claim
}

type claim struct {
	ws   lifecycle.Workspace
	bots int
}

// take applies delta, the change in how many bots of ws name each
// sender, or refuses it with a *lifecycle.ClaimError, changing nothing,
// if a sender it adds to is claimed by another workspace.
func (c *claims) take(ws lifecycle.Workspace, delta map[lifecycle.Sender]int) error {
	if len(delta) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.refused(ws, delta); err != nil {
		return err
	}
	for s, d := range delta {
		cl := c.of[s]
		cl.ws, cl.bots = ws, cl.bots+d
		if cl.bots <= 0 {
			delete(c.of, s)
		} else {
			c.of[s] = cl
		}
	}
	return nil
}

// check is take without taking: the *lifecycle.ClaimError take would
// refuse delta with, or nil.
func (c *claims) check(ws lifecycle.Workspace, delta map[lifecycle.Sender]int) error {
	if len(delta) == 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.refused(ws, delta)
}

// refused returns the *lifecycle.ClaimError of a sender delta adds to
// that another workspace claims, or nil. The caller holds c.mu.
func (c *claims) refused(ws lifecycle.Workspace, delta map[lifecycle.Sender]int) error {
	for s, d := range delta {
		if cl, ok := c.of[s]; d > 0 && ok && cl.ws != ws {
			return &lifecycle.ClaimError{Sender: s}
		}
	}
	return nil
}

// Claimed returns those of senders that a bot of another workspace than
// ws names (R27), in the order given.
func (m *Memory) Claimed(ctx context.Context, ws lifecycle.Workspace, senders []lifecycle.Sender) ([]lifecycle.Sender, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.claims.mu.Lock()
	defer m.claims.mu.Unlock()
	var out []lifecycle.Sender
	for _, s := range senders {
		if cl, ok := m.claims.of[s]; ok && cl.ws != ws {
			out = append(out, s)
		}
	}
	return out, nil
}

// claimDelta counts, per real sender, the bots of the plan's changes that
// name it after less those that named it before. The caller holds m.mu.
func (m *space) claimDelta(changes []lifecycle.Change) map[lifecycle.Sender]int {
	var delta map[lifecycle.Sender]int
	add := func(b *lifecycle.Bot, d int) {
		for _, s := range b.Senders {
			if !s.IsTest() {
				if delta == nil {
					delta = map[lifecycle.Sender]int{}
				}
				delta[s] += d
			}
		}
	}
	for _, c := range changes {
		if rec, ok := m.bots[c.Bot]; ok {
			add(rec.bot(), -1)
		}
		if c.After != nil {
			add(c.After, 1)
		}
	}
	for s, d := range delta {
		if d == 0 {
			delete(delta, s)
		}
	}
	return delta
}

// Commit implements lifecycle.Store. A plan for a workspace that has
// stored nothing is first checked against the empty store: one it refuses
// makes no store for the workspace.
func (m *Memory) Commit(ctx context.Context, p lifecycle.Plan) ([]lifecycle.AuditEntry, error) {
	s := m.read(p.Workspace)
	if s == m.none {
		s.mu.RLock()
		_, err := s.check(p) // none is never written: the answer of any empty store
		if err == nil {
			err = m.claims.check(p.Workspace, s.claimDelta(p.Changes)) // R27
		}
		s.mu.RUnlock()
		if err != nil {
			return nil, err
		}
		s = m.space(p.Workspace)
	}
	return s.commit(ctx, p)
}

// WaitAudit implements lifecycle.AuditWaiter. In a workspace that has
// stored nothing it waits for a workspace's store to be made, and looks
// again: a watch names any workspace without growing the store.
func (m *Memory) WaitAudit(ctx context.Context, ws lifecycle.Workspace, after uint64) error {
	for {
		m.mu.Lock()
		made := m.made
		m.mu.Unlock()
		if s := m.read(ws); s != m.none {
			return s.waitAudit(ctx, after)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-made:
		}
	}
}
