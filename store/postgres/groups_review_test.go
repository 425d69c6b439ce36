package postgres_test

import (
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/postgres"
)

// R9, issue 24: a commit that changes a bot makes the bot's groups of open
// sessions due, even when a sweep visits them while the commit is under
// way. Here the group is due already (new), so the commit's trigger found
// nothing to change; the sweep, reading the bot as it was (the commit has
// not committed), left the group due at its session's idle deadline, and
// the deactivation that ended the session at once went unswept: a sweep
// after it closed nothing.
func TestSweepDuringACommitLeavesItsGroupsDue(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	snd := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	bot, err := f.liveBot(snd)
	var s lifecycle.Session
	if err == nil {
		s, err = f.m.Route(ctx, snd, "u1") // its group is new: due at once
	}
	if err != nil {
		t.Fatal(err)
	}
	// Hold the workspace's audit head: the deactivation's commit updates
	// the bot (its trigger runs) and then waits, uncommitted.
	hold, err := f.st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback(ctx)
	if _, err := hold.Exec(ctx, `SELECT 1 FROM workspace_heads WHERE workspace = '' AND head = 'audit' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := f.m.Deactivate(ctx, f.mia, bot.ID, 0)
		done <- err
	}()
	waitBlocked(t, f.url, "%WITH h AS (INSERT INTO workspace_heads")
	// A sweep meanwhile: the session is not over as the bot reads now.
	sweepErr := make(chan error, 1)
	go func() {
		n, err := f.st.SweepSessions(ctx, "", f.clk.Now(), 100)
		if err == nil && n != 0 {
			t.Errorf("a sweep during the commit closed %d; want 0", n)
		}
		sweepErr <- err
	}()
	select {
	case err := <-sweepErr:
		if err != nil {
			t.Fatal(err)
		}
	case <-done:
		t.Fatal("the commit did not wait for the audit head")
	}
	if err := hold.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	b, err := f.st.Bot(ctx, "", bot.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := f.st.Sessions(ctx, "", s.ID-1, 1)
	if err != nil || len(stored) != 1 {
		t.Fatal(stored, err)
	}
	now := f.clk.Now()
	if at := lifecycle.SessionAt(stored[0], &b, now); at.Open() {
		t.Fatalf("session %d is not over after the deactivation: %+v", s.ID, at)
	}
	if n, err := f.st.SweepSessions(ctx, "", now, 100); err != nil || n != 1 {
		t.Fatalf("a sweep after the deactivation closed %d, %v; want session %d, which it ended", n, err, s.ID)
	}
}

// R9, issue 24: a message at an instant before its session's last activity
// (the clock stepped back: replicas' clocks differ) makes the session's
// group due by its new idle deadline, even when a sweep visits the group
// while the message is under way. Here the group is due already (new), so
// the message found nothing to lower; the sweep, which could not see the
// message yet, left the group due at the idle deadline of the session's
// later activity, and a sweep when the session idled out closed nothing.
func TestSweepDuringAStepBackLeavesItsGroupDue(t *testing.T) {
	f := newFixture(t)
	ctx := f.ctx
	snd := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	_, err := f.liveBot(snd) // an hour's idle timeout
	var s lifecycle.Session
	if err == nil {
		s, err = f.m.Route(ctx, snd, "u1") // its group is new: due at once
	}
	if err != nil {
		t.Fatal(err)
	}
	back := s.LastActivityAt.Add(-30 * time.Minute)
	msg, err := f.st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer msg.Rollback(ctx)
	var id int64
	var ignore any
	if err := msg.QueryRow(ctx, postgres.SQLStepBack, back.UnixNano(), snd.Channel, snd.Address, "u1", "", int64(s.ID), s.LastActivityAt.UnixNano()).
		Scan(&id, &ignore, &ignore, &ignore, &ignore, &ignore); err != nil {
		t.Fatal(err)
	}
	// A sweep while the message has not committed.
	if n, err := f.st.SweepSessions(ctx, "", f.clk.Now(), 100); err != nil || n != 0 {
		t.Fatalf("a sweep during the message closed %d, %v; want 0", n, err)
	}
	if err := msg.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	at := back.Add(time.Hour)
	if n, err := f.st.SweepSessions(ctx, "", at, 100); err != nil || n != 1 {
		t.Fatalf("a sweep at %v, when session %d idles out after the message at %v, closed %d, %v; want it", at, s.ID, back, n, err)
	}
}
