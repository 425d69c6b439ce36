package lifecycle

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"time"
)

// watchPage is how many entries Watch reads from the store at a time.
const watchPage = 256

// Watch follows the audit log (R24): it yields every entry with a sequence
// number greater than after, exactly in Seq order and none skipped, and then
// waits for new entries as they are committed, until ctx ends or the loop
// stops. Errors are yielded once and end the iteration; the end of ctx ends
// it without an error.
//
// The actor needs "View audit log" (P1), checked before the first read of
// the store and again after each read that found entries, before any of
// them is yielded (P2: a revoked watcher gets nothing committed after the
// revocation); a refusal is audited (R16), yielded and ends the watch.
//
// An after that no entry of the log has (past its end, as after a restore
// from an older backup) is an ErrInvalidInput, yielded before anything
// else: waiting for it would skip every entry up to it.
//
// Delivery is at least once across restarts: keep the Seq of the last entry
// you handled and pass it as after when you start again; consumers that act
// on entries should be idempotent per Seq. A watcher reads the store in
// pages and holds no lock while it waits or while the loop body runs, so a
// slow consumer costs memory for one page only.
//
//	for e, err := range m.Watch(ctx, admin, lastSeq) {
//		if err != nil {
//			return err
//		}
//		handle(e)
//		lastSeq = e.Seq
//	}
//
// To read what is there and stop instead of waiting, use [Manager.Backlog].
func (m *Manager) Watch(ctx context.Context, actor Actor, after uint64) iter.Seq2[AuditEntry, error] {
	return m.follow(ctx, actor, after, true)
}

// Backlog is [Manager.Watch] for a batch reader: it yields every entry
// with a sequence number greater than after that is in the log, in Seq
// order and none skipped, and ends - without an error - once it has caught
// up, instead of waiting for more. Entries committed while it reads may be
// yielded too. The same permission applies ("View audit log").
func (m *Manager) Backlog(ctx context.Context, actor Actor, after uint64) iter.Seq2[AuditEntry, error] {
	return m.follow(ctx, actor, after, false)
}

// follow reads the log after after in pages; once caught up it waits for
// more if wait is set, and otherwise ends.
func (m *Manager) follow(ctx context.Context, actor Actor, after uint64, wait bool) iter.Seq2[AuditEntry, error] {
	return func(yield func(AuditEntry, error) bool) {
		var idle int // polls in a row that found nothing, for a store that cannot wait
		if err := m.authorize(ctx, actor, OpReadAudit); err != nil {
			m.deny(ctx, err, yield)
			return
		}
		if err := m.inLog(ctx, after); err != nil {
			m.failed(ctx, err, yield)
			return
		}
		for {
			page, err := m.store.AuditLog(ctx, m.ws, after, watchPage)
			if err != nil {
				m.failed(ctx, err, yield)
				return
			}
			if len(page) > 0 {
				idle = 0
				// P2: a role change takes effect on the next read - a
				// watcher whose "View audit log" was revoked gets nothing
				// committed since; the refusal is audited and ends the
				// watch. Checked after the read, before any of it is
				// yielded: a revocation committed before the read is
				// seen here, and the page holds only what was committed
				// before it.
				if err := m.authorize(ctx, actor, OpReadAudit); err != nil {
					m.deny(ctx, err, yield)
					return
				}
			}
			for _, e := range page {
				if e.Seq != after+1 {
					err := opError(OpReadAudit, &ConflictError{Reason: fmt.Sprintf("the store returned entry %d after %d; a store's entries must be gap-free", e.Seq, after)})
					m.event(ctx, OpWatch, err, time.Time{})
					yield(AuditEntry{}, err)
					return
				}
				m.event(ctx, OpWatch, nil, e.Time)
				if !yield(e, nil) {
					return
				}
				after = e.Seq
			}
			if len(page) == watchPage {
				continue
			}
			if !wait {
				return
			}
			if err := m.waitAudit(ctx, after, &idle); err != nil {
				m.failed(ctx, err, yield)
				return
			}
		}
	}
}

// deny yields err, a refusal of the follow, unless ctx has ended: the end
// of ctx ends a follow without an error.
func (m *Manager) deny(ctx context.Context, err error, yield func(AuditEntry, error) bool) {
	if ctx.Err() == nil {
		m.event(ctx, OpWatch, err, time.Time{})
		yield(AuditEntry{}, err)
	}
}

// inLog refuses an after that no entry of the log has (R24): waiting for
// it would skip every entry up to it. 0 is the start of the log.
func (m *Manager) inLog(ctx context.Context, after uint64) error {
	if after == 0 {
		return nil
	}
	page, err := m.store.AuditLog(ctx, m.ws, after-1, 1)
	if err == nil && len(page) == 0 {
		err = &InputError{Field: "after", Value: strconv.FormatUint(after, 10),
			Problem: "is past the end of the audit log; resume after the sequence number of an entry this log gave you, or 0 to read it from the start"}
	}
	return err
}

// failed ends a follower with err, traced and yielded - unless ctx ended,
// which ends it without an error.
func (m *Manager) failed(ctx context.Context, err error, yield func(AuditEntry, error) bool) {
	if ctx.Err() == nil {
		err = opError(OpReadAudit, err)
		m.event(ctx, OpWatch, err, time.Time{})
		yield(AuditEntry{}, err)
	}
}

// waitAudit waits for an entry after after: through the store if it is an
// AuditWaiter, else by polling, backing off from 10ms to 1s as polls find
// nothing (idle counts them).
func (m *Manager) waitAudit(ctx context.Context, after uint64, idle *int) error {
	if w, ok := m.store.(AuditWaiter); ok {
		return w.WaitAudit(ctx, m.ws, after)
	}
	d := min(10*time.Millisecond<<min(*idle, 7), time.Second)
	*idle++
	return sleep(ctx, d)
}

// Sessions returns up to limit sessions with ids greater than after, sorted
// by id, each as seen now (a session whose bot no longer serves it reads as
// closed, R9). Test sessions (R26), their testers' own, are left out.
// Needs "View chatbots (detailed)": sessions name end users.
func (m *Manager) Sessions(ctx context.Context, actor Actor, after SessionID, limit int) (_ []Session, err error) {
	ctx, sp := m.trace(ctx, OpSessions)
	defer sp.end(&err)
	if err := m.authorize(ctx, actor, OpSessions); err != nil {
		return nil, err
	}
	if err := checkLimit(OpSessions, limit, MaxPage); err != nil {
		return nil, err
	}
	out, err := m.endUserSessions(ctx, after, limit)
	if err != nil {
		return nil, opError(OpSessions, err)
	}
	now := m.clock.Now()
	bots := map[BotID]*Bot{}
	for i := range out {
		s := &out[i]
		if !s.Open() {
			continue
		}
		b, ok := bots[s.Bot]
		if !ok {
			if b, err = m.botOrNil(ctx, s.Bot); err != nil {
				return nil, opError(OpSessions, err)
			}
			bots[s.Bot] = b
		}
		*s = SessionAt(*s, b, now)
	}
	return out, nil
}

// endUserSessions reads up to limit sessions after after, leaving test
// sessions out (R26): it reads on past them, in pages that double while
// it finds only test sessions, up to MaxPage - a run of closed test
// sessions costs reads in the logarithm of its length, and memory for one
// page.
func (m *Manager) endUserSessions(ctx context.Context, after SessionID, limit int) ([]Session, error) {
	var out []Session
	for want := limit; ; want = min(2*want, MaxPage) {
		page, err := m.store.Sessions(ctx, m.ws, after, want)
		if err != nil {
			return nil, err
		}
		for _, s := range page {
			if !s.Sender.IsTest() {
				if out = append(out, s); len(out) == limit {
					return out, nil
				}
			}
		}
		if len(page) < want {
			return out, nil
		}
		after = page[len(page)-1].ID
	}
}
