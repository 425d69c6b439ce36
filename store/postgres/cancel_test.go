package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/postgres"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// R10, R15: a write whose context ends once it is sent runs to its end
// and reports what it did: a Route that took the message returns its
// session, a CloseSession the session closed. Ended during the statement
// (here while it waits for a lock another connection holds), the driver
// cancelled it, and Route reported ErrUnavailable - also when PostgreSQL
// had committed it, so that a caller routing the message again counted it
// twice. The grace here is an hour, so that it never runs out; the test
// releases the lock once the store has seen the context end.
func TestWriteSentRunsToItsEnd(t *testing.T) {
	f := newFixture(t)
	snd := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	if _, err := f.liveBot(snd); err != nil {
		t.Fatal(err)
	}
	now := f.clk.Now()
	open, err := f.st.Route(f.ctx, "", snd, "u1", now)
	if err != nil {
		t.Fatal(err)
	}
	ended := make(chan struct{}, 1)
	defer postgres.SetWriteGrace(time.Hour, func() { ended <- struct{}{} })()
	lockSession := fmt.Sprintf(`UPDATE sessions SET messages = messages WHERE workspace = '' AND id = %d`, open.ID)
	for _, tc := range []struct {
		name string
		op   func(ctx context.Context) (lifecycle.Session, error)
		want lifecycle.Session
	}{
		{"R10/a message", func(ctx context.Context) (lifecycle.Session, error) {
			return f.st.Route(ctx, "", snd, "u1", now.Add(time.Second))
		}, func() lifecycle.Session {
			s := open
			s.Messages, s.LastActivityAt = 2, now.Add(time.Second)
			return s
		}()},
		{"R15/a close", func(ctx context.Context) (lifecycle.Session, error) {
			return f.st.CloseSession(ctx, "", open.ID, "done", now.Add(2*time.Second))
		}, func() lifecycle.Session {
			s := open
			s.Messages, s.LastActivityAt = 2, now.Add(time.Second)
			s.ClosedAt, s.CloseReason = now.Add(2*time.Second), "done"
			return s
		}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			holder, tx := holdLock(t, f.url, lockSession)
			s, err := endWhileWaiting(t, holder, tx, ended, tc.op)
			if err != nil {
				t.Fatalf("failed with %v (unavailable %t) after its statement was sent", err, errors.Is(err, lifecycle.ErrUnavailable))
			}
			stored, err := f.st.Sessions(f.ctx, "", 0, everything)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]lifecycle.Session{tc.want}, stored); diff != "" {
				t.Errorf("stored sessions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.want, s); diff != "" {
				t.Errorf("returned (-want +got):\n%s", diff)
			}
		})
	}
}

// R15, R27: a write that fails after its context ended - here a commit
// that waited for another workspace's claim on its sender, lost it, and
// was refused - is rolled back all the same, and its connection goes back
// to the pool idle. The rollback ran with the caller's ended context, was
// never sent, and the pool closed the connection, left in the failed
// transaction (a pool of busy replicas whose callers give up reconnected
// after every such write). The grace is an hour, so that it never runs
// out; the other workspace commits its claim once the store has seen the
// context end.
func TestFailedWriteAfterItsContextEndedKeepsItsConnection(t *testing.T) {
	f := newFixture(t)
	snd := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	p, err := f.m.Plan(f.ctx, f.mia, lifecycle.Create{Name: "b", Channel: snd.Channel, Senders: []lifecycle.Sender{snd}, Definition: definition()})
	if err != nil {
		t.Fatal(err)
	}
	before := f.contents()
	ended := make(chan struct{}, 1)
	defer postgres.SetWriteGrace(time.Hour, func() { ended <- struct{}{} })()
	holder, tx := holdLock(t, f.url, `INSERT INTO sender_claims VALUES ($1, $2, 'other', 1)`, snd.Channel, snd.Address)
	type pooled struct{ Total, Idle int32 }
	stat := func() pooled {
		s := f.st.Pool().Stat()
		return pooled{s.TotalConns(), s.IdleConns()}
	}
	idle := stat()
	if idle.Idle != idle.Total {
		t.Fatalf("pool before the commit: %+v; want every connection idle", idle)
	}
	_, err = endWhileWaiting(t, holder, tx, ended, func(ctx context.Context) ([]lifecycle.AuditEntry, error) { return f.st.Commit(ctx, p) })
	if !errors.Is(err, lifecycle.ErrSenderClaimed) {
		t.Fatalf("commit of a sender another workspace claimed first: %v; want ErrSenderClaimed", err)
	}
	if diff := cmp.Diff(idle, stat()); diff != "" {
		t.Errorf("pool after the failed commit (-want +got): its connection did not come back idle\n%s", diff)
	}
	if diff := cmp.Diff(before, f.contents()); diff != "" {
		t.Errorf("R15: the refused commit changed the store (-before +after):\n%s", diff)
	}
}

// endWhileWaiting runs op with a context that ends while op's statement
// waits for the lock tx holds (on holder), and returns what op returns.
// Once the store has seen the context end (ended, the func given to
// SetWriteGrace, with a grace that does not run out), while op still
// waits, it commits tx, releasing the lock; op returning before that
// fails the test.
func endWhileWaiting[T any](t *testing.T, holder *pgx.Conn, tx pgx.Tx, ended <-chan struct{}, op func(context.Context) (T, error)) (T, error) {
	t.Helper()
	type result struct {
		v   T
		err error
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan result, 1)
	go func() {
		v, err := op(ctx)
		done <- result{v, err}
	}()
	waitForWaiters(t, holder, `locktype = 'transactionid'`, 1)
	cancel()
	select {
	case <-ended: // the store saw the context end; its statement still waits
	case r := <-done:
		t.Fatalf("returned %+v, %v while its statement waited for the lock; want it to wait", r.v, r.err)
	}
	if err := tx.Commit(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := <-done
	return r.v, r.err
}
