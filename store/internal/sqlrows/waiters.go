package sqlrows

import (
	"context"
	"sync"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Waiters are the WaitAudit calls in progress, per workspace: only the
// workspaces waited on now are kept, and a commit wakes its workspace's
// waiters by key. The zero value is ready to use.
type Waiters struct {
	mu sync.Mutex
	m  map[lifecycle.Workspace]*waiting
}

// waiting are the waiters of one workspace.
type waiting struct {
	n    int           // how many
	seen uint64        // the highest audit sequence number a Wake gave
	wake chan struct{} // closed and replaced by each Wake
}

// Wait returns once head, the last audit sequence number of workspace ws,
// or a Wake of ws says an entry after after is stored: it calls head, then
// waits for a Wake, every poll if poll is positive, and again. It returns
// head's error (ctx's if ctx ended) and ctx's error when ctx ends.
func (w *Waiters) Wait(ctx context.Context, ws lifecycle.Workspace, after uint64, poll time.Duration, head func() (uint64, error)) error {
	var tick <-chan time.Time
	if poll > 0 {
		t := time.NewTicker(poll)
		defer t.Stop()
		tick = t.C
	}
	me := w.join(ws, 1)
	defer w.join(ws, -1)
	for {
		w.mu.Lock()
		seen, wake := me.seen, me.wake
		w.mu.Unlock()
		if seen > after {
			return nil
		}
		last, err := head()
		if err != nil && ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil || last > after {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wake:
		case <-tick:
		}
	}
}

// join counts n more waiters in ws, made on the first and forgotten after
// the last.
func (w *Waiters) join(ws lifecycle.Workspace, n int) *waiting {
	w.mu.Lock()
	defer w.mu.Unlock()
	me := w.m[ws]
	if me == nil {
		if w.m == nil {
			w.m = map[lifecycle.Workspace]*waiting{}
		}
		me = &waiting{wake: make(chan struct{})}
		w.m[ws] = me
	}
	if me.n += n; me.n <= 0 {
		delete(w.m, ws)
	}
	return me
}

// Wake wakes the waiters of ws, telling them that the audit entries up to
// seq are stored (0: look).
func (w *Waiters) Wake(ws lifecycle.Workspace, seq uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if me := w.m[ws]; me != nil {
		me.wakeUp(seq)
	}
}

// WakeAll wakes every waiter, to look again.
func (w *Waiters) WakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, me := range w.m {
		me.wakeUp(0)
	}
}

func (me *waiting) wakeUp(seq uint64) {
	me.seen = max(me.seen, seq)
	close(me.wake)
	me.wake = make(chan struct{})
}
