package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/postgres"
)

// R10, R27, issue 25: two replicas open sessions at once in two workspaces,
// many of them for the same end users (first messages racing each other),
// while the Active bot of one workspace is replaced again and again (the
// open sessions stop being served: a close and a new opening, compare-and-
// swap against the bot change). Each workspace's session ids are 1..n,
// without a gap or a duplicate, whatever the other workspace did; every
// session a message was routed to is stored, on the bot that was Active
// when it opened; and an end user has at most one session open at a time.
func TestConcurrentOpenings(t *testing.T) {
	const routers, messages = 6, 30
	_, url := newStore(t)
	ctx := context.Background()
	clk := &stepClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	var managers [2]*lifecycle.Manager
	for i := range managers {
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		if managers[i], err = lifecycle.New(lifecycle.Config{Store: st, Clock: clk}); err != nil {
			t.Fatal(err)
		}
	}
	type space struct {
		ws     lifecycle.Workspace
		sender lifecycle.Sender
		bots   []lifecycle.BotID
		m      [2]*lifecycle.Manager
	}
	spaces := []*space{{ws: "", sender: lifecycle.Sender{Channel: "sms", Address: "+15550100"}}, {ws: "acme", sender: lifecycle.Sender{Channel: "sms", Address: "+15550200"}}}
	mia := lifecycle.User("mia")
	for _, sp := range spaces {
		for i := range managers {
			sp.m[i] = managers[i]
			if sp.ws != "" {
				m, err := managers[i].Workspace(sp.ws)
				if err != nil {
					t.Fatal(err)
				}
				sp.m[i] = m
			}
		}
		if _, err := sp.m[0].GrantRole(ctx, lifecycle.System("test"), "mia", roles.Manager); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 2; i++ {
			b, err := sp.m[0].Create(ctx, mia, lifecycle.Create{Name: fmt.Sprint("b", i), Channel: "sms", Senders: []lifecycle.Sender{sp.sender}, Definition: definition()})
			if err != nil {
				t.Fatal(err)
			}
			sp.bots = append(sp.bots, b.ID)
		}
		if _, err := sp.m[0].Activate(ctx, mia, sp.bots[0], lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
			t.Fatal(err)
		}
	}

	var mu sync.Mutex
	routed := map[lifecycle.Workspace][]lifecycle.Session{}
	var wg sync.WaitGroup
	errs := make(chan error, routers+1)
	for g := 0; g < routers; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			sp, m := spaces[g%2], spaces[g%2].m[g/2%2]
			for i := 0; i < messages; i++ {
				s, err := m.Route(ctx, sp.sender, fmt.Sprint("u", i/2)) // a new end user every other message
				if errors.Is(err, lifecycle.ErrConflict) {
					continue // refused, changing nothing: the retries kept losing races
				}
				if err != nil {
					errs <- fmt.Errorf("router %d: %w", g, err)
					return
				}
				mu.Lock()
				routed[sp.ws] = append(routed[sp.ws], s)
				mu.Unlock()
			}
		}(g)
	}
	wg.Add(1)
	go func() { // replaces the default workspace's Active bot at once, over and over
		defer wg.Done()
		sp := spaces[0]
		for k := 1; k <= 6; k++ {
			if _, err := sp.m[k%2].Activate(ctx, mia, sp.bots[k%2], lifecycle.Immediate(), lifecycle.Ack{}); err != nil {
				errs <- fmt.Errorf("activating: %w", err)
				return
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	for _, sp := range spaces {
		stored, err := sp.m[0].Sessions(ctx, mia, 0, 1000)
		if err != nil {
			t.Fatal(err)
		}
		byID := map[lifecycle.SessionID]lifecycle.Session{}
		open := map[string]int{}
		for i, s := range stored {
			if s.ID != lifecycle.SessionID(i+1) {
				t.Fatalf("R27: workspace %q: session %d has id %d; want ids 1..%d without gaps or duplicates", sp.ws, i+1, s.ID, len(stored))
			}
			byID[s.ID] = s
			if s.Open() {
				open[s.EndUser]++
			}
		}
		for u, n := range open {
			if n > 1 {
				t.Errorf("R10: workspace %q: end user %s has %d sessions open", sp.ws, u, n)
			}
		}
		for _, r := range routed[sp.ws] {
			s, ok := byID[r.ID]
			if !ok || s.EndUser != r.EndUser || s.Bot != r.Bot || s.Activation != r.Activation || !s.OpenedAt.Equal(r.OpenedAt) {
				t.Errorf("workspace %q: routed to %+v, stored %+v (%v)", sp.ws, r, s, ok)
			}
		}
		if len(routed[sp.ws]) == 0 || len(stored) < messages/2 {
			t.Errorf("workspace %q: %d messages routed, %d sessions stored", sp.ws, len(routed[sp.ws]), len(stored))
		}
	}
}

// R21, R26: a tester with an id of 256 bytes opens a test session on a
// bot with an id of 256 bytes and sends on it: the virtual sender and key
// the Manager makes of them are longer than an id, and Route's check of
// its input (DecideRoute's) takes them as the Manager's own text.
func TestR26TestSessionOnLongIDs(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: &stepClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("t", lifecycle.MaxIDBytes)
	if _, err := m.GrantRole(ctx, lifecycle.System("test"), long, roles.Manager); err != nil {
		t.Fatal(err)
	}
	u := lifecycle.User(long)
	b, err := m.Create(ctx, u, lifecycle.Create{ID: lifecycle.BotID(strings.Repeat("b", lifecycle.MaxIDBytes)), Name: "x", Channel: "sms",
		Senders: []lifecycle.Sender{{Channel: "sms", Address: "+15550100"}}, Definition: definition()})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := m.OpenTestSession(ctx, u, b.ID)
	if err != nil {
		t.Fatalf("R26: opening a test session: %v", err)
	}
	if got, err := m.SendTest(ctx, u, ts.ID); err != nil || got.Messages != 1 {
		t.Fatalf("R26: a message on it: %+v, %v", got, err)
	}
}

// R9, issue 24: a sweep visits only the groups of open sessions that
// session_groups says are due, and removes a group once none of its
// sessions is open. Openings race sweeps here (half the sessions closed at
// once, so that groups empty and are removed while others open in them):
// afterwards every open session's group has its row, and a sweep at the
// end of the idle timeout closes every session still open.
func TestSweepKeepsTheGroupsOfOpenings(t *testing.T) {
	const openers, each = 4, 40
	f := newFixture(t)
	ctx := f.ctx
	snd := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	_, err := f.liveBot(snd)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	done := make(chan struct{})
	errs := make(chan error, openers+1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			if _, err := f.st.SweepSessions(ctx, "", f.clk.Now(), 100); err != nil {
				errs <- err
				return
			}
		}
	}()
	var openWG sync.WaitGroup
	for o := 0; o < openers; o++ {
		openWG.Add(1)
		go func() {
			defer openWG.Done()
			for i := 0; i < each; i++ {
				s, err := f.m.Route(ctx, snd, fmt.Sprintf("u%d-%d", o, i))
				if err == nil && i%2 == 0 {
					_, err = f.m.CloseSession(ctx, s.ID)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	openWG.Wait()
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var orphans, open int
	if err := f.st.Pool().QueryRow(ctx, `SELECT count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM session_groups g
			WHERE (g.workspace, g.bot_id, g.channel, g.address, g.activation) = (s.workspace, s.bot_id, s.channel, s.address, s.activation))),
		count(*) FROM sessions s WHERE closed_at IS NULL`).Scan(&orphans, &open); err != nil {
		t.Fatal(err)
	}
	if orphans != 0 || open != openers*each/2 {
		t.Fatalf("%d sessions open (want %d), %d of them in a group session_groups lost: no sweep would close them", open, openers*each/2, orphans)
	}
	n, err := f.st.SweepSessions(ctx, "", f.clk.Now().Add(2*time.Hour), everything)
	if err != nil || n != open {
		t.Fatalf("a sweep past the idle timeout closed %d, %v; want all %d", n, err, open)
	}
}

// R9, issue 24: a session opening in a group whose sessions are all closed
// holds the group's row until it commits, so a sweep at that moment, which
// would remove the row of an empty group, skips it: the new session stays
// in a group a sweep visits.
func TestSweepSkipsAGroupBeingOpenedIn(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	snd := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	bot, err := f.liveBot(snd)
	var s lifecycle.Session
	if err == nil {
		s, err = f.m.Route(ctx, snd, "u1")
	}
	if err == nil {
		_, err = f.m.CloseSession(ctx, s.ID) // the group is empty, and due
	}
	if err == nil {
		bot, err = f.st.Bot(ctx, "", bot.ID)
	}
	if err != nil {
		t.Fatal(err)
	}
	tx, err := f.st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var id int64
	if err := tx.QueryRow(ctx, `SELECT botlife_open_session('', $1, $2, 'u2', $3, $4, $5, $6)`, snd.Channel, snd.Address,
		f.clk.Now().UnixNano(), string(bot.ID), int64(bot.Revision), int64(s.Activation)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.SweepSessions(ctx, "", f.clk.Now(), 100); err != nil { // while the opening has not committed
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	var groups int
	if err := f.st.Pool().QueryRow(ctx, `SELECT count(*) FROM session_groups WHERE bot_id = $1`, string(bot.ID)).Scan(&groups); err != nil || groups != 1 {
		t.Fatalf("%d rows for the group of session %d, %v; want 1: no sweep would close it", groups, id, err)
	}
	if n, err := f.st.SweepSessions(ctx, "", f.clk.Now().Add(2*time.Hour), 100); err != nil || n != 1 {
		t.Fatalf("a sweep past the idle timeout closed %d, %v; want session %d", n, err, id)
	}
}

// R9, issue 24: a session opening in a group a sweep holds waits for the
// sweep before it counts the session (session_stats), so the sweep, closing
// a session of the same bot and sender in the same counter shard, never
// waits for the opening: no deadlock, which would fail one of them after
// deadlock_timeout. The sweep's close here must not wait at all.
func TestSweepHoldingAGroupNeverWaitsForAnOpeningInIt(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	snd := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	bot, err := f.liveBot(snd)
	var first lifecycle.Session
	for i := 1; i <= 16 && err == nil; i++ { // sessions 1-16: the next, 17, counts in the shard of session 1
		var s lifecycle.Session
		if s, err = f.m.Route(ctx, snd, fmt.Sprint("u", i)); i == 1 {
			first = s
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	sweep, err := f.st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer sweep.Rollback(ctx)
	var groups int
	if err := sweep.QueryRow(ctx, `SELECT count(*) FROM (SELECT 1 FROM session_groups WHERE bot_id = $1 FOR UPDATE) AS g`, string(bot.ID)).Scan(&groups); err != nil || groups != 1 {
		t.Fatalf("the sweep locked %d groups, %v; want 1", groups, err)
	}
	routed := make(chan error, 1)
	go func() {
		_, err := f.m.Route(ctx, snd, "u17")
		routed <- err
	}()
	for waiting := 0; waiting == 0; { // until the opening waits for the group
		if err := f.st.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-routed:
			t.Fatalf("the opening did not wait for the sweep holding its group: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
	if _, err := sweep.Exec(ctx, `SET LOCAL lock_timeout = '500ms'`); err != nil {
		t.Fatal(err)
	}
	if _, err := sweep.Exec(ctx, `UPDATE sessions SET closed_at = $1, close_reason = 'idle_timeout' WHERE workspace = '' AND id = $2`,
		f.clk.Now().UnixNano(), int64(first.ID)); err != nil {
		t.Fatalf("the sweep closing session %d waited for the opening it holds back: %v", first.ID, err)
	}
	if err := sweep.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-routed; err != nil {
		t.Fatalf("the opening after the sweep: %v", err)
	}
}

// R9, issue 24: a session opening in a group holds the group's row only
// against its removal: a sweep still closes the group's sessions that are
// over meanwhile. (On a busy sender some opening nearly always holds the
// group, so a sweep that skipped it would leave its idle sessions open.)
func TestSweepClosesAGroupBeingOpenedIn(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	snd := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	bot, err := f.liveBot(snd)
	var s lifecycle.Session
	if err == nil {
		s, err = f.m.Route(ctx, snd, "u1")
	}
	if err == nil {
		bot, err = f.st.Bot(ctx, "", bot.ID)
	}
	if err != nil {
		t.Fatal(err)
	}
	now := f.clk.Now().Add(time.Hour) // u1's session is over
	tx, err := f.st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var id int64
	if err := tx.QueryRow(ctx, `SELECT botlife_open_session('', $1, $2, 'u2', $3, $4, $5, $6)`, snd.Channel, snd.Address,
		now.UnixNano(), string(bot.ID), int64(bot.Revision), int64(s.Activation)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if n, err := f.st.SweepSessions(ctx, "", now, 100); err != nil || n != 1 { // while u2's opening has not committed
		t.Fatalf("a sweep while a session opens in the group closed %d, %v; want session %d, over", n, err, s.ID)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := f.st.SweepSessions(ctx, "", now.Add(time.Hour), 100); err != nil || n != 1 {
		t.Fatalf("a sweep past u2's idle timeout closed %d, %v; want session %d", n, err, id)
	}
}

// R9, issue 24: a session opening in a group while a sweep visits it, at
// an instant before the group's sessions' last activity (the clock stepped
// back), can end before any of them; the sweep, which cannot see it yet,
// must not leave the group due later than that end.
func TestSweepLeavesAGroupBeingOpenedInDue(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	snd := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	bot, err := f.liveBot(snd)
	var s lifecycle.Session
	if err == nil {
		s, err = f.m.Route(ctx, snd, "u1")
	}
	if err == nil {
		bot, err = f.st.Bot(ctx, "", bot.ID)
	}
	if err != nil {
		t.Fatal(err)
	}
	now := f.clk.Now()
	back := now.Add(-30 * time.Minute)
	tx, err := f.st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var id int64
	if err := tx.QueryRow(ctx, `SELECT botlife_open_session('', $1, $2, 'u2', $3, $4, $5, $6)`, snd.Channel, snd.Address,
		back.UnixNano(), string(bot.ID), int64(bot.Revision), int64(s.Activation)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if n, err := f.st.SweepSessions(ctx, "", now, 100); err != nil || n != 0 { // while u2's opening has not committed
		t.Fatalf("a sweep while a session opens in the group closed %d, %v; want 0", n, err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	at := back.Add(time.Hour)
	if n, err := f.st.SweepSessions(ctx, "", at, 100); err != nil || n != 1 {
		t.Fatalf("a sweep at %v, when u2's session idles out, closed %d, %v; want session %d", at, n, err, id)
	}
}

// R9, issue 24: a session that a process of a version before schema 11
// opens (during a rolling upgrade: it inserts the session and knows no
// session_groups) still has its group, by the trigger session_group, so a
// sweep closes it when it is over.
func TestSweepClosesASessionAnEarlierVersionOpened(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	snd := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	bot, err := f.liveBot(snd)
	if err != nil {
		t.Fatal(err)
	}
	at := f.clk.Now().UnixNano()
	if _, err := f.st.Pool().Exec(ctx, `INSERT INTO sessions (workspace, id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages, activity_floor)
		VALUES ('', 1, $1, $2, 'u', $3, 1, $4, $4, 1, $4)`, snd.Channel, snd.Address, string(bot.ID), at); err != nil {
		t.Fatal(err)
	}
	if n, err := f.st.SweepSessions(ctx, "", f.clk.Now().Add(2*time.Hour), 100); err != nil || n != 1 {
		t.Fatalf("a sweep past the idle timeout closed %d, %v; want the session an earlier version opened", n, err)
	}
}

// liveBot creates a bot on snd with an hour's idle timeout and activates
// it.
func (f *fixture) liveBot(snd lifecycle.Sender) (lifecycle.Bot, error) {
	bot, err := f.m.Create(f.ctx, f.mia, lifecycle.Create{Name: "b", Channel: "sms", Senders: []lifecycle.Sender{snd}, Definition: definition(), IdleTimeout: time.Hour})
	if err == nil {
		_, err = f.m.Activate(f.ctx, f.mia, bot.ID, lifecycle.Immediate(), lifecycle.Ack{})
	}
	return bot, err
}
