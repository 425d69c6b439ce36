package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// groupsFixture is a store with one bot Active on snd, idle timeout an
// hour, and its Manager on a mock clock.
func groupsFixture(t *testing.T) (*Store, *lifecycle.Manager, *clock.Mock, lifecycle.BotID, lifecycle.Sender) {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "groups.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewMock()
	clk.Set(v1Start)
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	mia := lifecycle.User("mia")
	if _, err := m.GrantRole(ctx, lifecycle.System("test"), "mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
	snd := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	b, err := m.Create(ctx, mia, lifecycle.Create{Name: "b", Channel: "sms", Senders: []lifecycle.Sender{snd}, Definition: historyDefinition(), IdleTimeout: time.Hour})
	if err == nil {
		_, err = m.Activate(ctx, mia, b.ID, lifecycle.Immediate(), lifecycle.Ack{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return st, m, clk, b.ID, snd
}

// R9, several processes: a session that a process of a version before
// schema 6 opens - during a rolling upgrade it still runs on the file
// another process migrated, inserting the session and knowing no
// session_groups - has its group all the same, so a sweep closes it once
// it idles out.
func TestSweepClosesASessionAnEarlierVersionOpened(t *testing.T) {
	ctx := context.Background()
	st, _, clk, bot, snd := groupsFixture(t)
	at := clk.Now().UnixNano()
	if _, err := st.w.ExecContext(ctx, `INSERT INTO sessions (workspace, id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages)
		VALUES ('', 1, ?, ?, 'u', ?, 1, ?, ?, 1)`, snd.Channel, snd.Address, string(bot), at, at); err != nil {
		t.Fatal(err)
	}
	if n, err := st.SweepSessions(ctx, "", clk.Now().Add(2*time.Hour), 100); err != nil || n != 1 {
		t.Fatalf("a sweep past the idle timeout closed %d, %v; want the session an earlier version opened", n, err)
	}
}

// R9: a write of a bot makes its groups due, by the triggers of schema 7,
// whoever writes it: after a sweep left the group due an hour later (when
// its session idles out), the next sweep closes the session at once -
// whether a process of a version before schema 6 deleted the bot (it
// writes bots and bot_senders, and knows no session_groups: orphaned), or
// this version committed it (an upsert of its row: a deactivation).
func TestWritingABotMakesItsGroupsDue(t *testing.T) {
	for _, tc := range []struct {
		name  string
		write func(context.Context, *Store, *lifecycle.Manager, lifecycle.BotID) error
		want  lifecycle.CloseReason
	}{
		{"an earlier version deletes the bot", func(ctx context.Context, st *Store, _ *lifecycle.Manager, bot lifecycle.BotID) error {
			for _, q := range []string{`DELETE FROM bot_senders WHERE workspace = '' AND bot_id = ?`, `DELETE FROM bots WHERE workspace = '' AND id = ?`} {
				if _, err := st.w.ExecContext(ctx, q, string(bot)); err != nil {
					return err
				}
			}
			return nil
		}, lifecycle.CloseOrphaned},
		{"a commit deactivates it", func(ctx context.Context, _ *Store, m *lifecycle.Manager, bot lifecycle.BotID) error {
			_, err := m.Deactivate(ctx, lifecycle.User("mia"), bot, 0)
			return err
		}, lifecycle.CloseDeactivated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st, m, clk, bot, snd := groupsFixture(t)
			s, err := m.Route(ctx, snd, "u")
			if err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Minute)
			if n, err := st.SweepSessions(ctx, "", clk.Now(), 100); err != nil || n != 0 { // leaves the group due when s idles out
				t.Fatalf("first sweep: %d, %v", n, err)
			}
			if err := tc.write(ctx, st, m, bot); err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Minute)
			if n, err := st.SweepSessions(ctx, "", clk.Now(), 100); err != nil || n != 1 {
				t.Fatalf("a sweep after the write closed %d, %v; want the session", n, err)
			}
			if got, err := st.session(ctx, s.ID); err != nil || got.CloseReason != tc.want {
				t.Fatalf("session after the sweep: %+v, %v; want closed %s", got, err, tc.want)
			}
		})
	}
}

// R9: a sweep commits every sweepGroups groups and goes on in a new
// transaction (so that the write lock is never held for every group due
// at once), until it has closed its limit or no group is due: with five
// groups due and two a transaction, one SweepSessions closes all five.
func TestSweepGoesOnPastAGroupBatch(t *testing.T) {
	defer func(n int) { sweepGroups = n }(sweepGroups)
	sweepGroups = 2
	ctx := context.Background()
	st, m, clk, _, snd := groupsFixture(t)
	mia := lifecycle.User("mia")
	senders := []lifecycle.Sender{snd}
	for i := 1; i < 5; i++ {
		s := lifecycle.Sender{Channel: "sms", Address: fmt.Sprintf("+1555020%d", i)}
		b, err := m.Create(ctx, mia, lifecycle.Create{Name: s.Address, Channel: "sms", Senders: []lifecycle.Sender{s}, Definition: historyDefinition(), IdleTimeout: time.Hour})
		if err == nil {
			_, err = m.Activate(ctx, mia, b.ID, lifecycle.Immediate(), lifecycle.Ack{})
		}
		if err != nil {
			t.Fatal(err)
		}
		senders = append(senders, s)
	}
	for _, s := range senders {
		if _, err := m.Route(ctx, s, "u"); err != nil {
			t.Fatal(err)
		}
	}
	clk.Add(2 * time.Hour)
	if n, err := st.SweepSessions(ctx, "", clk.Now(), 100); err != nil || n != len(senders) {
		t.Fatalf("a sweep with %d groups due, %d a transaction, closed %d, %v; want every session", len(senders), sweepGroups, n, err)
	}
	if n, err := st.SweepSessions(ctx, "", clk.Now(), 100); err != nil || n != 0 {
		t.Fatalf("a second sweep closed %d, %v; want none left", n, err)
	}
}
