package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/internal/sqlrows"
	"github.com/jackc/pgx/v5"
)

// auditChannel carries "<audit head>:<workspace>", which Commit notifies
// inside its transaction: PostgreSQL delivers it if, and when, the
// transaction commits.
const auditChannel = "botlife_audit"

var (
	// pollInterval is the safety net: a waiter checks the audit head this
	// often even without a notification (one lost with its connection).
	pollInterval = 2 * time.Second
	// listenLinger keeps the connection this long after the last waiter
	// leaves, so that a watcher looping over pages does not reconnect.
	listenLinger = 10 * time.Second
	// reconnectDelay is the pause before reconnecting after a failure.
	reconnectDelay = 500 * time.Millisecond
)

// listener holds one dedicated connection that LISTENs on auditChannel and
// wakes the waiters of a workspace when a notification for it arrives.
type listener struct {
	cfg    *pgx.ConnConfig
	waits  *sqlrows.Waiters // the Store's
	cancel context.CancelFunc
	done   chan struct{} // closed when run returns
	ready  chan struct{} // closed after the first LISTEN, or the first failure

	mu    sync.Mutex
	users int         // waiters holding the listener
	idle  *time.Timer // stops the listener when it has had no user for listenLinger
}

func (l *listener) stop() {
	l.cancel()
	<-l.done
}

// run keeps a connection listening until ctx ends. After each connection it
// wakes the waiters to check the audit head: notifications sent meanwhile
// are lost.
func (l *listener) run(ctx context.Context) {
	defer close(l.done)
	var readyOnce sync.Once
	markReady := func() { readyOnce.Do(func() { close(l.ready) }) }
	defer markReady()
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, l.cfg)
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN "+auditChannel); err == nil {
				markReady()
				l.waits.WakeAll()
				for {
					n, err := conn.WaitForNotification(ctx)
					if err != nil {
						break
					}
					head, ws, _ := strings.Cut(n.Payload, ":")
					seq, _ := strconv.ParseUint(head, 10, 64)
					l.waits.Wake(lifecycle.Workspace(ws), seq)
				}
			}
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(closeCtx)
			cancel()
		}
		markReady() // waiters poll while there is no connection
		t := time.NewTimer(reconnectDelay)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
	}
}

// errClosed is WaitAudit's answer once the Store is closed.
var errClosed = &Error{Kind: lifecycle.ErrUnavailable, Op: "waiting for the audit log", Err: errors.New("the store is closed")}

// acquireListener returns the Store's listener, starting it if needed, and
// counts the caller as its user; nil once the Store is closed.
func (s *Store) acquireListener() *listener {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	l := s.listener
	if l == nil {
		ctx, cancel := context.WithCancel(context.Background())
		l = &listener{cfg: s.pool.Config().ConnConfig.Copy(), waits: &s.waits, cancel: cancel,
			done: make(chan struct{}), ready: make(chan struct{})}
		s.listener = l
		go l.run(ctx)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.users++
	if l.idle != nil {
		l.idle.Stop()
		l.idle = nil
	}
	return l
}

// releaseListener ends a user's hold on l; the last one leaving schedules
// the listener's stop after listenLinger (at once, and waiting for it, when
// listenLinger is 0).
func (s *Store) releaseListener(l *listener) {
	l.mu.Lock()
	l.users--
	last := l.users == 0
	if last && listenLinger > 0 {
		l.idle = time.AfterFunc(listenLinger, func() { s.stopIdle(l) })
	}
	l.mu.Unlock()
	if last && listenLinger <= 0 {
		s.stopIdle(l)
	}
}

// stopIdle stops l if it is still the Store's and has no user.
func (s *Store) stopIdle(l *listener) {
	s.mu.Lock()
	l.mu.Lock()
	idle := l.users == 0 && s.listener == l
	l.mu.Unlock()
	if idle {
		s.listener = nil
	}
	s.mu.Unlock()
	if idle {
		l.stop()
	}
}

// WaitAudit implements lifecycle.AuditWaiter. Waiters share one listening
// connection per Store, woken by any process's commit in their workspace,
// with a poll every few seconds as the safety net. It starts no goroutine:
// it returns when ctx ends, or with an error wrapping
// lifecycle.ErrUnavailable once the Store is closed.
func (s *Store) WaitAudit(ctx context.Context, ws lifecycle.Workspace, after uint64) error {
	l := s.acquireListener()
	if l == nil {
		return errClosed
	}
	defer s.releaseListener(l)
	// Listen before reading the head, or a commit in between would go
	// unnoticed until the next poll.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-s.done:
		return errClosed
	case <-l.ready:
	}
	return s.waits.Wait(ctx, ws, after, pollInterval, func() (uint64, error) {
		select {
		case <-s.done: // Close woke every waiter
			return 0, errClosed
		default:
		}
		var head int64
		if !holdable(ws) {
			return 0, nil // it holds no entry, and never will: wait for ctx
		}
		err := s.pool.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM workspace_heads WHERE workspace = $1 AND head = 'audit'`, string(ws)).Scan(&head)
		return uint64(head), fail(ctx, "waiting for the audit log", err)
	})
}
