package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

var (
	actStart  = time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC)
	actSender = lifecycle.Sender{Channel: "sms", Address: "1"}
)

// activeBot is a bot Active on actSender in activation 1.
func activeBot(id lifecycle.BotID, idle time.Duration) lifecycle.Bot {
	return lifecycle.Bot{ID: id, Name: "b", Channel: "sms", State: lifecycle.Active, Revision: 1, Activations: 1, IdleTimeout: idle,
		Senders: []lifecycle.Sender{actSender},
		Live:    []lifecycle.SenderState{{Sender: actSender, State: lifecycle.Active, Activation: 1}}}
}

// openActivity opens a store with write-behind on a new file, with bot
// "b" Active on actSender. A flush interval of a minute leaves the flushes
// to the test (tick, FlushActivity).
func openActivity(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "act.db")
	}
	st, err := OpenWith(context.Background(), path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func commitBot(t *testing.T, st *Store, b lifecycle.Bot, rev uint64) {
	t.Helper()
	if _, err := st.Commit(context.Background(), lifecycle.Plan{Changes: []lifecycle.Change{{Bot: b.ID, To: b.State, Revision: rev, After: &b}}}); err != nil {
		t.Fatal(err)
	}
}

// onFile reads a session's messages and last activity from the file, as
// another process would.
func onFile(t *testing.T, path string, id lifecycle.SessionID) (messages int64, last time.Time, closed bool) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int64
	var c sql.NullInt64
	if err := db.QueryRow(`SELECT messages, last_activity_at, closed_at FROM sessions WHERE id = ?`, int64(id)).Scan(&messages, &n, &c); err != nil {
		t.Fatal(err)
	}
	return messages, time.Unix(0, n).UTC(), c.Valid
}

func route(t *testing.T, st *Store, user string, at time.Time) lifecycle.Session {
	t.Helper()
	s, err := st.Route(context.Background(), actSender, user, at)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestActivityFlushOption(t *testing.T) {
	for _, d := range []time.Duration{-time.Second, time.Microsecond, 2 * time.Minute} {
		if _, err := OpenWith(context.Background(), filepath.Join(t.TempDir(), "x.db"), Options{ActivityFlush: d}); !errors.Is(err, lifecycle.ErrInvalidInput) {
			t.Errorf("ActivityFlush %v: OpenWith = %v, want ErrInvalidInput", d, err)
		}
	}
}

// A message to a cached session is in memory until a flush; Session reads
// through, Sessions and SessionStats write first, Close writes the rest.
func TestActivityWrittenBehind(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "act.db")
	st, err := OpenWith(ctx, path, Options{ActivityFlush: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	commitBot(t, st, activeBot("b", time.Hour), 0)
	first := route(t, st, "u", actStart)
	for i := 1; i <= 2; i++ {
		if s := route(t, st, "u", actStart.Add(time.Duration(i)*time.Second)); s.ID != first.ID || s.Messages != uint64(1+i) {
			t.Fatalf("message %d: %+v", i+1, s)
		}
	}
	if m, _, _ := onFile(t, path, first.ID); m != 1 {
		t.Errorf("before a flush the file has %d messages, want 1 (the first, which opened the session)", m)
	}
	got, err := st.session(ctx, first.ID)
	if err != nil || got.Messages != 3 || !got.LastActivityAt.Equal(actStart.Add(2*time.Second)) {
		t.Errorf("Session = %+v, %v; want 3 messages, last at +2s", got, err)
	}
	stats, err := st.SessionStats(ctx)
	if err != nil || len(stats) != 1 || stats[0].Messages != 3 {
		t.Errorf("SessionStats = %+v, %v; want 3 messages", stats, err)
	}
	if m, last, _ := onFile(t, path, first.ID); m != 3 || !last.Equal(actStart.Add(2*time.Second)) {
		t.Errorf("after SessionStats the file has %d messages, last at %v; want 3 at +2s", m, last)
	}
	route(t, st, "u", actStart.Add(3*time.Second))
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if m, _, _ := onFile(t, path, first.ID); m != 4 {
		t.Errorf("after Close the file has %d messages, want 4", m)
	}
	if _, err := st.Route(ctx, actSender, "u", actStart.Add(4*time.Second)); !errors.Is(err, lifecycle.ErrUnavailable) {
		t.Errorf("Route after Close = %v, want ErrUnavailable", err)
	}
	if _, err := st.session(ctx, first.ID); !errors.Is(err, lifecycle.ErrUnavailable) {
		t.Errorf("Session after Close = %v, want ErrUnavailable", err)
	}
}

// The cache holds only the sessions routed to since the flusher's
// previous pass, and the bots they need.
func TestActivityCacheBounded(t *testing.T) {
	ctx := context.Background()
	st := openActivity(t, "", Options{ActivityFlush: time.Minute})
	commitBot(t, st, activeBot("b", time.Hour), 0)
	for i := 0; i < 50; i++ {
		route(t, st, fmt.Sprint(i), actStart)
		route(t, st, fmt.Sprint(i), actStart.Add(time.Second))
	}
	if n := st.act.size(); n != 50 {
		t.Fatalf("%d sessions cached, want 50", n)
	}
	if err := st.tick(ctx); err != nil {
		t.Fatal(err)
	}
	route(t, st, "7", actStart.Add(2*time.Second))
	if n := st.act.size(); n != 50 {
		t.Fatalf("after one pass %d sessions cached, want 50 (routed to since the pass before)", n)
	}
	if err := st.tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := st.act.size(); n != 1 {
		t.Fatalf("after two passes %d sessions cached, want 1 (the one routed to in between)", n)
	}
	if err := st.tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n, bots := st.act.size(), len(st.act.bots); n != 0 || bots != 0 {
		t.Fatalf("after three passes %d sessions and %d bots cached, want none", n, bots)
	}
	if s := route(t, st, "7", actStart.Add(3*time.Second)); s.Messages != 4 {
		t.Fatalf("routed again from the file: %+v, want 4 messages", s)
	}
}

// A flush that fails keeps the activity in memory; the next one writes
// it. Routes to cached sessions go on while another process holds the
// write lock.
func TestActivityFailedFlush(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "act.db")
	st := openActivity(t, path, Options{ActivityFlush: time.Minute, BusyTimeout: 50 * time.Millisecond})
	commitBot(t, st, activeBot("b", time.Hour), 0)
	s := route(t, st, "u", actStart)
	route(t, st, "u", actStart.Add(time.Second))

	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`INSERT INTO role_assignments (user_id, roles) VALUES ('x', 1)`); err != nil {
		t.Fatal(err)
	}
	if err := st.FlushActivity(ctx); !errors.Is(err, lifecycle.ErrUnavailable) {
		t.Errorf("FlushActivity while another writer holds the lock = %v, want ErrUnavailable", err)
	}
	if err := st.tick(ctx); err == nil {
		t.Errorf("a pass of the flusher while another writer holds the lock succeeded")
	}
	if got := route(t, st, "u", actStart.Add(2*time.Second)); got.Messages != 3 {
		t.Errorf("Route to a cached session while another writer holds the lock: %+v, want 3 messages", got)
	}
	if _, err := st.Sessions(ctx, 0, 10); !errors.Is(err, lifecycle.ErrUnavailable) {
		t.Errorf("Sessions while the activity cannot be written = %v, want ErrUnavailable", err)
	}
	_ = tx.Rollback()
	if err := st.FlushActivity(ctx); err != nil {
		t.Fatal(err)
	}
	if m, last, _ := onFile(t, path, s.ID); m != 3 || !last.Equal(actStart.Add(2*time.Second)) {
		t.Errorf("after the failed flushes and one that worked the file has %d messages, last at %v; want 3 at +2s", m, last)
	}
}

// Another process on the file (here another Store) sees activity once it
// is written; what it changes reaches this process's Routes at the next
// pass of the flusher, which then decides on the file again.
func TestActivityOtherProcess(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "act.db")
	a := openActivity(t, path, Options{ActivityFlush: time.Minute})
	b := openActivity(t, path, Options{})
	commitBot(t, a, activeBot("b", time.Hour), 0)
	s := route(t, a, "u", actStart)
	route(t, a, "u", actStart.Add(time.Second))
	if got, err := b.session(ctx, s.ID); err != nil || got.Messages != 1 {
		t.Fatalf("the other process before a flush: %+v, %v; want 1 message", got, err)
	}
	if err := a.tick(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := b.session(ctx, s.ID); err != nil || got.Messages != 2 {
		t.Fatalf("the other process after a flush: %+v, %v; want 2 messages", got, err)
	}
	// The other process closes the session. Until a's next pass, a still
	// routes to it in memory (the window Options.ActivityFlush documents);
	// that pass does not count the message on the closed session, and a
	// decides on the file again: a new session opens.
	if _, err := b.CloseSession(ctx, s.ID, lifecycle.CloseCompleted, actStart.Add(2*time.Second)); err != nil {
		t.Fatal(err)
	}
	if got := route(t, a, "u", actStart.Add(3*time.Second)); got.ID != s.ID {
		t.Fatalf("within the window: %+v, want session %d", got, s.ID)
	}
	if err := a.tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := a.act.size(); n != 0 {
		t.Errorf("after another process wrote, %d sessions stay cached, want 0", n)
	}
	if m, _, closed := onFile(t, path, s.ID); m != 2 || !closed {
		t.Errorf("the closed session on file: %d messages, closed %v; want 2, closed", m, closed)
	}
	next := route(t, a, "u", actStart.Add(4*time.Second))
	if next.ID == s.ID || next.Messages != 1 {
		t.Fatalf("after the pass: %+v, want a new session", next)
	}
	// The other process deactivates the bot: after a's next pass its
	// Routes see it (the session ends, and no bot is left on the sender).
	route(t, a, "u", actStart.Add(5*time.Second))
	off := activeBot("b", time.Hour)
	off.State, off.Revision, off.Live = lifecycle.Inactive, 2, nil
	commitBot(t, b, off, 1)
	if err := a.tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Route(ctx, actSender, "u", actStart.Add(6*time.Second)); !errors.Is(err, lifecycle.ErrNoBot) {
		t.Fatalf("Route after the other process deactivated the bot = %v, want ErrNoBot", err)
	}
	if m, _, closed := onFile(t, path, next.ID); m != 2 || !closed {
		t.Errorf("the session of the deactivated bot on file: %d messages, closed %v; want 2, closed", m, closed)
	}
}

// A commit in this process that changes a session's bot reaches the next
// Route at once: it drops the bot's copy before it writes.
func TestActivityCommitReachesRoute(t *testing.T) {
	st := openActivity(t, "", Options{ActivityFlush: time.Minute})
	commitBot(t, st, activeBot("b", time.Hour), 0)
	s := route(t, st, "u", actStart)
	route(t, st, "u", actStart.Add(time.Second))
	short := activeBot("b", time.Minute)
	short.Revision = 2
	commitBot(t, st, short, 1)
	// Idle for two minutes under the new timeout: the session ends a
	// minute after its last message and a new one opens.
	got := route(t, st, "u", actStart.Add(3*time.Minute))
	if got.ID == s.ID {
		t.Fatalf("Route after the commit shortened the idle timeout took the old session: %+v", got)
	}
	old, err := st.session(context.Background(), s.ID)
	if err != nil || old.Messages != 2 || old.CloseReason != lifecycle.CloseIdleTimeout || !old.ClosedAt.Equal(actStart.Add(time.Second+time.Minute)) {
		t.Fatalf("the old session: %+v, %v; want 2 messages, idle_timeout at +1m1s", old, err)
	}
}

// Many goroutines route, read, close and sweep at once with the flusher
// racing them: every message is counted once, on the session Route
// returned, and the answers agree with the file at the end. The clock
// reads differ between goroutines, as they may.
func TestActivityConcurrent(t *testing.T) {
	ctx := context.Background()
	st := openActivity(t, "", Options{ActivityFlush: time.Millisecond, Synchronous: SyncNormal})
	commitBot(t, st, activeBot("b", 20*time.Second), 0)
	const workers, per, users = 6, 150, 5
	var mu sync.Mutex
	seen := map[lifecycle.SessionID]map[uint64]bool{}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < per; i++ {
				now := actStart.Add(time.Duration(i) * time.Second)
				s, err := st.Route(ctx, actSender, fmt.Sprint((w+i)%users), now)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if seen[s.ID] == nil {
					seen[s.ID] = map[uint64]bool{}
				}
				if seen[s.ID][s.Messages] {
					mu.Unlock()
					errs <- fmt.Errorf("two Routes returned session %d with %d messages", s.ID, s.Messages)
					return
				}
				seen[s.ID][s.Messages] = true
				mu.Unlock()
				switch i % 17 {
				case 3:
					if _, err := st.CloseSession(ctx, s.ID, lifecycle.CloseCompleted, now); err != nil {
						errs <- err
						return
					}
				case 7:
					// Ahead of the Routes: it closes sessions they may be
					// routing to.
					if _, err := st.SweepSessions(ctx, now.Add(25*time.Second), 10); err != nil {
						errs <- err
						return
					}
				case 11:
					if got, err := st.session(ctx, s.ID); err != nil || got.Messages < s.Messages {
						errs <- fmt.Errorf("Session after Route: %+v, %v; Route returned %d messages", got, err, s.Messages)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	all, err := st.Sessions(ctx, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	total := uint64(0)
	for _, s := range all {
		total += s.Messages
		for m := uint64(1); m <= s.Messages; m++ {
			if !seen[s.ID][m] {
				t.Errorf("session %d has %d messages but no Route returned message %d", s.ID, s.Messages, m)
			}
		}
		if uint64(len(seen[s.ID])) != s.Messages {
			t.Errorf("session %d: Routes returned %d messages, the file has %d", s.ID, len(seen[s.ID]), s.Messages)
		}
	}
	if total != workers*per {
		t.Errorf("%d messages recorded, want %d", total, workers*per)
	}
	stats, err := st.SessionStats(ctx)
	if err != nil || len(stats) != 1 || stats[0].Messages != workers*per {
		t.Errorf("SessionStats = %+v, %v; want %d messages", stats, err, workers*per)
	}
}

// Routing to a cached session allocates nothing (lifecycle.SessionStore).
func TestActivityRouteDoesNotAllocate(t *testing.T) {
	st := openActivity(t, "", Options{ActivityFlush: time.Minute})
	commitBot(t, st, activeBot("b", time.Hour), 0)
	route(t, st, "u", actStart)
	ctx, at := context.Background(), actStart
	allocs := testing.AllocsPerRun(1000, func() {
		at = at.Add(time.Millisecond)
		if _, err := st.Route(ctx, actSender, "u", at); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Route to a cached session: %v allocations, want 0", allocs)
	}
}

// BenchmarkRouteUncached routes to open sessions that are not cached, as
// messages more than an ActivityFlush apart find them: each message reads
// its session from the file and is written with the next flush (one per
// 1000 messages here, counted in).
func BenchmarkRouteUncached(b *testing.B) {
	for _, sync := range []Synchronous{SyncFull, SyncNormal} {
		b.Run(string(sync), func(b *testing.B) {
			ctx := context.Background()
			st, err := OpenWith(ctx, filepath.Join(b.TempDir(), "act.db"), Options{Synchronous: sync, ActivityFlush: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			bot := activeBot("b", time.Hour)
			if _, err := st.Commit(ctx, lifecycle.Plan{Changes: []lifecycle.Change{{Bot: bot.ID, To: bot.State, After: &bot}}}); err != nil {
				b.Fatal(err)
			}
			const users = 1000
			names := make([]string, users)
			for i := range names {
				names[i] = fmt.Sprint(i)
			}
			at := actStart
			evict := func() {
				for i := 0; i < 2; i++ { // the second pass forgets what the first wrote
					if err := st.tick(ctx); err != nil {
						b.Fatal(err)
					}
				}
			}
			for _, u := range names {
				if _, err := st.Route(ctx, actSender, u, at); err != nil {
					b.Fatal(err)
				}
			}
			evict()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				at = at.Add(time.Millisecond)
				if s, err := st.Route(ctx, actSender, names[i%users], at); err != nil || s.Messages < 2 {
					b.Fatal(s, err)
				}
				if i%users == users-1 {
					evict()
				}
			}
			evict()
		})
	}
}
