package store

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Route implements lifecycle.SessionStore. Routing to an existing session
// costs one map lookup under the mutex and does not allocate.
func (m *Memory) Route(ctx context.Context, sender lifecycle.Sender, endUser string, now time.Time) (lifecycle.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := sessKey{sender: sender, user: endUser}
	if rec, ok := m.open[k]; ok {
		reason, at, over := lifecycle.SessionEnd(&rec.s, rec.botOrNil(), now)
		if !over {
			rec.s.LastActivityAt = now
			rec.s.Messages++
			rec.stats.messages++
			rec.bot.moveToBack(rec)
			return rec.s, nil
		}
		m.closeLocked(rec, reason, at)
	}
	var b *botRec
	if sr := m.senders[sender]; sr != nil {
		b = sr.active
	}
	if b == nil {
		return lifecycle.Session{}, &lifecycle.NoBotError{Sender: sender}
	}
	m.nextSession++
	st := m.statsFor(b.bot.ID, sender)
	rec := &sessRec{bot: b, stats: st, s: lifecycle.Session{
		ID: m.nextSession, Sender: sender, EndUser: endUser, Bot: b.bot.ID, Activation: b.bot.Activations,
		OpenedAt: now, LastActivityAt: now, Messages: 1,
	}}
	st.opened++
	st.open++
	st.messages++
	m.open[k] = rec
	m.sessions[rec.s.ID] = rec
	b.pushBack(rec)
	return rec.s, nil
}

func (m *Memory) statsFor(bot lifecycle.BotID, sender lifecycle.Sender) *statRec {
	k := statKey{bot: bot, sender: sender}
	st := m.stats[k]
	if st == nil {
		st = &statRec{closed: map[lifecycle.CloseReason]uint64{}}
		m.stats[k] = st
	}
	return st
}

func (r *sessRec) botOrNil() *lifecycle.Bot {
	if r.bot.deleted {
		return nil
	}
	return &r.bot.bot
}

func (m *Memory) closeLocked(rec *sessRec, reason lifecycle.CloseReason, at time.Time) {
	rec.s.ClosedAt, rec.s.CloseReason = at, reason
	delete(m.open, sessKey{sender: rec.s.Sender, user: rec.s.EndUser})
	rec.bot.unlink(rec)
	rec.stats.open--
	rec.stats.closed[reason]++
}

func (b *botRec) pushBack(r *sessRec) {
	r.prev, r.next = b.tail, nil
	if b.tail != nil {
		b.tail.next = r
	} else {
		b.head = r
	}
	b.tail = r
}

func (b *botRec) unlink(r *sessRec) {
	if r.prev != nil {
		r.prev.next = r.next
	} else {
		b.head = r.next
	}
	if r.next != nil {
		r.next.prev = r.prev
	} else {
		b.tail = r.prev
	}
	r.prev, r.next = nil, nil
}

func (b *botRec) moveToBack(r *sessRec) {
	if b.tail == r {
		return
	}
	b.unlink(r)
	b.pushBack(r)
}

// Session implements lifecycle.SessionStore.
func (m *Memory) Session(ctx context.Context, id lifecycle.SessionID) (lifecycle.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.sessions[id]
	if !ok {
		return lifecycle.Session{}, sessionNotFound(id)
	}
	return rec.s, nil
}

func sessionNotFound(id lifecycle.SessionID) error {
	return &lifecycle.NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
}

// CloseSession implements lifecycle.SessionStore.
func (m *Memory) CloseSession(ctx context.Context, id lifecycle.SessionID, reason lifecycle.CloseReason, now time.Time) (lifecycle.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	rec, ok := m.sessions[id]
	if !ok {
		return lifecycle.Session{}, sessionNotFound(id)
	}
	if !rec.s.Open() {
		return rec.s, nil
	}
	if r, at, over := lifecycle.SessionEnd(&rec.s, rec.botOrNil(), now); over {
		reason, now = r, at
	}
	m.closeLocked(rec, reason, now)
	return rec.s, nil
}

// SweepSessions implements lifecycle.SessionStore. It visits each bot's open
// sessions from the least recently active and stops at the first that is not
// over, so its cost is proportional to the sessions it closes plus the
// number of bots.
func (m *Memory) SweepSessions(ctx context.Context, now time.Time, limit int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	closed := 0
	for _, b := range m.bots {
		for closed < limit && b.head != nil {
			rec := b.head
			reason, at, over := lifecycle.SessionEnd(&rec.s, &b.bot, now)
			if !over {
				break
			}
			m.closeLocked(rec, reason, at)
			closed++
		}
		if closed >= limit {
			break
		}
	}
	return closed, nil
}

// Sessions implements lifecycle.SessionStore. Ids are assigned in order, so
// a page costs the sessions it returns.
func (m *Memory) Sessions(ctx context.Context, after lifecycle.SessionID, limit int) ([]lifecycle.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []lifecycle.Session
	for id := after + 1; id <= m.nextSession && len(out) < limit; id++ {
		if rec, ok := m.sessions[id]; ok {
			out = append(out, rec.s)
		}
	}
	return out, nil
}

// SessionStats implements lifecycle.SessionStore.
func (m *Memory) SessionStats(ctx context.Context) ([]lifecycle.SessionStats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]lifecycle.SessionStats, 0, len(m.stats))
	for k, st := range m.stats {
		closed := make(map[lifecycle.CloseReason]uint64, len(st.closed))
		for r, n := range st.closed {
			closed[r] = n
		}
		out = append(out, lifecycle.SessionStats{Bot: k.bot, Sender: k.sender, Opened: st.opened, Open: st.open, Closed: closed, Messages: st.messages})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bot != out[j].Bot {
			return out[i].Bot < out[j].Bot
		}
		return out[i].Sender.String() < out[j].Sender.String()
	})
	return out, nil
}
