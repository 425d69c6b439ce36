package sqlite

import (
	"context"
	"sync"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Write-behind of session activity (Options.ActivityFlush).
//
// A message to an open session changes only its Messages and
// LastActivityAt. With write-behind on, Route keeps those two in memory
// for the sessions it has seen lately, and a flusher writes the changed
// ones in one transaction every ActivityFlush. Everything else - opening
// and closing sessions, bots, roles, the audit log, schedules - is written
// as before, before the operation returns.
//
// Within the process every answer is the one write-through would give:
//
//   - a session is cached only while it is open. Whoever closes or
//     replaces it (Route, CloseSession, SweepSessions) marks it busy, or
//     holds all routing, writes its activity in the same transaction as
//     the close, and drops it after the commit. A session that is not
//     cached has all its activity in the file.
//   - a Route applies lifecycle.DecideRoute to the cached session and a
//     cached copy of its bot. Commit drops the copies of the bots it
//     changes before it writes them, so a Route after it reads the new
//     bot from the file.
//   - a Route to a session not cached reads it from the file, holding the
//     writer (so the file has every write of this process), and caches it
//     if it is still served: a read, no write.
//   - Session reads through the cache; Sessions and SessionStats write the
//     buffered activity first and then read the file.
//
// Memory: a session stays cached until a pass of the flusher finds it not
// routed to since the pass before, so the cache holds the open sessions
// that had a message in the last one or two ActivityFlush intervals, and
// the bots they need.
//
// Locks: Store.wmu (the writer) before activity.mu, never the other way.
// A Route that finds its session cached and served takes only activity.mu;
// everything that writes the file or changes what the cache holds, other
// than a Route's increment, holds wmu.
type activity struct {
	every time.Duration

	mu    sync.Mutex
	byKey map[sessionKey]*cached
	byID  map[lifecycle.SessionID]*cached
	// bots are copies of the bots of cached sessions, as in the file.
	bots map[lifecycle.BotID]*lifecycle.Bot
	// hold > 0 sends every Route to the writer: a sweep is deciding on the
	// sessions as the file has them.
	hold   int
	closed bool
	// dataVersion is the writer connection's PRAGMA data_version when the
	// cache last checked for other processes' writes.
	dataVersion int64

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// sessionKey is what Route looks a session up by: the one open session of
// an end user on a sender.
type sessionKey struct {
	channel, address, endUser string
}

// cached is one open session as this process last routed to it.
type cached struct {
	sess lifecycle.Session // times in UTC, as the file gives them back
	// flushed is Messages as the file has it.
	flushed uint64
	// dirty: the file lacks some of this session's activity.
	dirty bool
	// touched: routed to since the flusher's last pass.
	touched bool
	// busy: a write holding the writer is closing or replacing it; a Route
	// or Session waits for the writer.
	busy bool
	// stale: another process wrote the file since the session was cached;
	// the next Route decides on the file.
	stale bool
}

// pending is one session's buffered activity, taken for a write.
type pending struct {
	e        *cached
	id       int64
	messages uint64 // to add
	last     int64  // Unix nanoseconds
}

func newActivity(every time.Duration, dataVersion int64) *activity {
	return &activity{every: every, byKey: map[sessionKey]*cached{}, byID: map[lifecycle.SessionID]*cached{},
		bots: map[lifecycle.BotID]*lifecycle.Bot{}, dataVersion: dataVersion,
		stop: make(chan struct{}), done: make(chan struct{})}
}

func keyOf(sender lifecycle.Sender, endUser string) sessionKey {
	return sessionKey{sender.Channel, sender.Address, endUser}
}

// route takes the message in memory if the end user's session is cached
// and lifecycle.DecideRoute continues it at now. It does not allocate
// when it does.
func (a *activity) route(sender lifecycle.Sender, endUser string, now time.Time, n int64) (lifecycle.Session, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.hold > 0 || a.closed {
		return lifecycle.Session{}, false
	}
	e := a.byKey[keyOf(sender, endUser)]
	if e == nil || e.busy || e.stale {
		return lifecycle.Session{}, false
	}
	b := a.bots[e.sess.Bot]
	if b == nil {
		return lifecycle.Session{}, false
	}
	step, err := lifecycle.DecideRoute(lifecycle.RouteView{Open: &e.sess, OpenBot: b}, sender, endUser, now)
	if err != nil || step.New {
		return lifecycle.Session{}, false
	}
	out := step.Session // LastActivityAt as given, as write-through's Route returns it
	e.sess = out
	e.sess.LastActivityAt = time.Unix(0, n).UTC()
	e.dirty, e.touched = true, true
	return out, true
}

// session returns the cached session with id. wait says it is being
// closed or replaced: ask again once the writer is free.
func (a *activity) session(id lifecycle.SessionID) (s lifecycle.Session, ok, wait bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.byID[id]
	switch {
	case a.closed || e == nil:
		return lifecycle.Session{}, false, false
	case e.busy:
		return lifecycle.Session{}, false, true
	}
	return e.sess, true, false
}

// take returns the buffered activity of e and counts it as written; give
// it back with restore if the write fails. Caller holds a.mu.
func (a *activity) take(e *cached, out []pending) []pending {
	if e == nil || !e.dirty {
		return out
	}
	out = append(out, pending{e: e, id: int64(e.sess.ID), messages: e.sess.Messages - e.flushed, last: e.sess.LastActivityAt.UnixNano()})
	e.flushed, e.dirty = e.sess.Messages, false
	return out
}

func (a *activity) takeAll() []pending {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []pending
	for _, e := range a.byID {
		out = a.take(e, out)
	}
	return out
}

// restore gives back activity whose write failed. Caller holds a.mu.
func (a *activity) restore(ps []pending) {
	for _, p := range ps {
		p.e.flushed -= p.messages
		p.e.dirty = true
	}
}

// claim marks the cached session of key busy and takes its activity, for a
// write that may close or replace it. Caller holds the writer.
func (a *activity) claim(key sessionKey) (*cached, []pending) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.byKey[key]
	if e == nil {
		return nil, nil
	}
	e.busy = true
	return e, a.take(e, nil)
}

func (a *activity) claimID(id lifecycle.SessionID) (*cached, []pending) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.byID[id]
	if e == nil {
		return nil, nil
	}
	e.busy = true
	return e, a.take(e, nil)
}

// settle ends a claim: after a failed write the session stays cached with
// its activity; after a committed one it is dropped (closed, or cached
// again by the caller as the file now has it).
func (a *activity) settle(e *cached, ps []pending, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err != nil {
		a.restore(ps)
		if e != nil {
			e.busy = false
		}
		return
	}
	if e != nil {
		a.drop(e)
	}
}

// drop removes e. Caller holds a.mu.
func (a *activity) drop(e *cached) {
	if a.byID[e.sess.ID] == e {
		delete(a.byID, e.sess.ID)
	}
	k := keyOf(e.sess.Sender, e.sess.EndUser)
	if a.byKey[k] == e {
		delete(a.byKey, k)
	}
}

// put caches an open session as the file has it, with its bot. Caller
// holds the writer.
func (a *activity) put(s lifecycle.Session, b *lifecycle.Bot) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || !s.Open() || b == nil {
		return
	}
	k := keyOf(s.Sender, s.EndUser)
	if old := a.byKey[k]; old != nil {
		a.drop(old)
	}
	s.OpenedAt, s.LastActivityAt = time.Unix(0, s.OpenedAt.UnixNano()).UTC(), time.Unix(0, s.LastActivityAt.UnixNano()).UTC()
	e := &cached{sess: s, flushed: s.Messages, touched: true}
	a.byKey[k], a.byID[s.ID] = e, e
	a.bots[b.ID] = b
}

// bot returns the cached copy of a bot, nil if there is none.
func (a *activity) bot(id lifecycle.BotID) *lifecycle.Bot {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bots[id]
}

func (a *activity) setBot(b *lifecycle.Bot) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.bots[b.ID] = b
	}
}

// missingBot returns the bot id of the cached, non-stale session of key
// whose bot copy is missing: a Route may take the message in memory once
// the bot is read again.
func (a *activity) missingBot(key sessionKey) (lifecycle.BotID, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e := a.byKey[key]
	if e == nil || e.stale || e.busy || a.hold > 0 || a.closed || a.bots[e.sess.Bot] != nil {
		return "", false
	}
	return e.sess.Bot, true
}

// forgetBots drops the copies of bots a commit changes, before it writes
// them. Caller holds the writer.
func (a *activity) forgetBots(changes []lifecycle.Change) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range changes {
		delete(a.bots, c.Bot)
	}
}

// holdRoutes sends every Route to the writer until releaseRoutes, and
// takes all the buffered activity, at once: no message slips in between.
// Caller holds the writer.
func (a *activity) holdRoutes() []pending {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hold++
	var out []pending
	for _, e := range a.byID {
		out = a.take(e, out)
	}
	return out
}

func (a *activity) releaseRoutes() {
	a.mu.Lock()
	a.hold--
	a.mu.Unlock()
}

// dropIDs drops the sessions a committed sweep closed.
func (a *activity) dropIDs(ids []lifecycle.SessionID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, id := range ids {
		if e := a.byID[id]; e != nil {
			a.drop(e)
		}
	}
}

// prune runs after the flusher's write: it forgets the sessions not routed
// to since the previous pass, and the bots no cached session needs; if
// another process wrote the file meanwhile (others), it forgets every
// session whose activity is written and marks the others stale, so that
// their next Route decides on the file.
func (a *activity) prune(others bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range a.byID {
		switch {
		case e.busy:
		case others && e.dirty:
			e.stale = true
		case others || !e.touched && !e.dirty:
			a.drop(e)
		default:
			e.touched = false
		}
	}
	if others {
		clear(a.bots)
		return
	}
	if len(a.bots) > 0 {
		used := make(map[lifecycle.BotID]bool, len(a.bots))
		for _, e := range a.byID {
			used[e.sess.Bot] = true
		}
		for id := range a.bots {
			if !used[id] {
				delete(a.bots, id)
			}
		}
	}
}

func (a *activity) size() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.byID)
}

// --- the Store's side -------------------------------------------------------------

const writeActivitySQL = `UPDATE sessions SET last_activity_at = ?, messages = messages + ? WHERE id = ? AND closed_at IS NULL`

// writeActivity writes buffered activity in tx. A session another process
// closed meanwhile keeps its record as closed: the messages this process
// routed to it since its last flush are not added.
func writeActivity(ctx context.Context, tx conn, ps []pending) error {
	for _, p := range ps {
		if _, err := tx.ExecContext(ctx, writeActivitySQL, p.last, int64(p.messages), p.id); err != nil {
			return err
		}
	}
	return nil
}

// flusher writes the buffered activity every ActivityFlush until Close.
// A failed write is retried at the next tick; operations that write the
// activity first (Sessions, SessionStats, SweepSessions, FlushActivity)
// return the error.
func (s *Store) flusher() {
	a := s.act
	defer close(a.done)
	t := time.NewTicker(a.every)
	defer t.Stop()
	for {
		select {
		case <-a.stop:
			return
		case <-t.C:
			_ = s.tick(context.Background())
		}
	}
}

// tick is one pass of the flusher: write the buffered activity, check
// whether another process wrote the file, prune the cache.
func (s *Store) tick(ctx context.Context) error {
	a := s.act
	if a.size() == 0 {
		return nil
	}
	release, err := s.write(ctx, false)
	if err != nil {
		return err
	}
	defer release()
	ps := a.takeAll()
	var dv int64
	if len(ps) > 0 {
		err = s.txLocked(ctx, func(tx conn) error {
			if err := writeActivity(ctx, tx, ps); err != nil {
				return err
			}
			return tx.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&dv)
		})
	} else {
		err = s.w.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&dv)
	}
	if err != nil {
		a.mu.Lock()
		a.restore(ps)
		a.mu.Unlock()
		return err
	}
	a.mu.Lock()
	others := dv != a.dataVersion
	a.dataVersion = dv
	a.mu.Unlock()
	a.prune(others)
	return nil
}

// FlushActivity writes the session activity that write-behind
// (Options.ActivityFlush) holds in memory now, in one transaction. Without
// write-behind it does nothing. Close calls it; so do Sessions,
// SessionStats and SweepSessions before they read the file.
func (s *Store) FlushActivity(ctx context.Context) error {
	if s.act == nil {
		return nil
	}
	release, err := s.write(ctx, false)
	if err != nil {
		return s.fail("writing session activity", err)
	}
	defer release()
	ps := s.act.takeAll()
	if len(ps) == 0 {
		return nil
	}
	err = s.txLocked(ctx, func(tx conn) error { return writeActivity(ctx, tx, ps) })
	if err != nil {
		s.act.mu.Lock()
		s.act.restore(ps)
		s.act.mu.Unlock()
	}
	return s.fail("writing session activity", err)
}

// closeActivity stops the flusher and writes what it holds; Routes from
// then on go to the (closed) file.
func (s *Store) closeActivity() error {
	a := s.act
	a.mu.Lock()
	a.closed = true
	a.mu.Unlock()
	a.once.Do(func() { close(a.stop) })
	<-a.done
	err := s.FlushActivity(context.Background())
	a.mu.Lock()
	clear(a.byID)
	clear(a.byKey)
	clear(a.bots)
	a.mu.Unlock()
	return err
}
