package postgres_test

import (
	"testing"

	"github.com/botlife/botlife/lifecycle"
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
