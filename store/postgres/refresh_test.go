package postgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// R20, R22: a database whose rows an earlier version wrote - no departure
// rows for a sender a bot was edited to drop, no left_at for a bot that
// left a sender while Active on another - gets, when this version
// migrates it (migration 10), exactly the rows this version's commits
// write: a rollback is then refused naming the bot that dropped the
// sender, not sent back to an older bot.
func TestMigrateRefreshesRows(t *testing.T) {
	ctx := context.Background()
	st, url := newStore(t)
	m, clk := refreshManager(t, st)
	s := func(a string) lifecycle.Sender { return lifecycle.Sender{Channel: "sms", Address: a} }
	bot := func(senders ...lifecycle.Sender) lifecycle.BotID {
		b, err := m.Create(ctx, mia, lifecycle.Create{Name: "b", Channel: "sms", Senders: senders, Definition: definition()})
		if err != nil {
			t.Fatal(err)
		}
		return b.ID
	}
	step := func(cmd lifecycle.Command) {
		t.Helper()
		clk.Add(time.Minute)
		if _, err := m.Apply(ctx, mia, cmd); err != nil {
			t.Fatalf("%T: %v", cmd, err)
		}
	}
	older, x, cur := bot(s("100")), bot(s("100")), bot(s("100"))
	for _, id := range []lifecycle.BotID{older, x, cur} {
		step(lifecycle.Activate{Bot: id, Decision: lifecycle.Immediate()})
	}
	step(lifecycle.Update{Bot: x, Senders: &[]lifecycle.Sender{s("200")}}) // a departure row on 100
	wide, narrow := bot(s("300"), s("400")), bot(s("300"))
	step(lifecycle.Activate{Bot: wide, Decision: lifecycle.Immediate()})
	step(lifecycle.Activate{Bot: narrow, Decision: lifecycle.Immediate()}) // wide leaves 300, Active on 400

	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	want := senderRows(t, conn)
	// As the previous version left them.
	if _, err := conn.Exec(ctx, `DELETE FROM bot_senders WHERE channel = '`+lifecycle.TestChannel+`';
		UPDATE bot_senders SET left_at = NULL WHERE bot_id = '`+string(wide)+`';
		DELETE FROM botlife_schema_migrations WHERE version = 10`); err != nil {
		t.Fatal(err)
	}
	if cmp.Equal(want, senderRows(t, conn)) {
		t.Fatal("the rows as the previous version left them are those of this one: the test shows nothing")
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, senderRows(t, conn)); d != "" {
		t.Errorf("rows after migration 10 (-this version's commits +refreshed):\n%s", d)
	}
	var re *lifecycle.RollbackError
	if _, err := m.Rollback(ctx, mia, cur, lifecycle.Immediate(), lifecycle.Ack{}); !errors.As(err, &re) || re.Target != x {
		t.Errorf("R20: rollback of %s after the migration = %v; want refused naming %s (not %s)", cur, err, x, older)
	}
}

// senderRows reads every row of bot_senders, in key order.
func senderRows(t *testing.T, conn *pgx.Conn) [][]any {
	t.Helper()
	rows, _ := conn.Query(context.Background(), `SELECT workspace, bot_id, channel, address, slot, activation, serves_until, left_at FROM bot_senders ORDER BY 1, 2, 3, 4`)
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]any, error) { return r.Values() })
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Migration 10 rewrites each bot's rows from the document it read at the
// start of its page; a commit that changes a bot between that read and
// the rewrite (another process, not waiting for the migration's advisory
// lock) must not get its rows replaced by those of the document it
// replaced: here a bot deactivated meanwhile would keep its active slot,
// and take new sessions while Inactive (R10, R1).
func TestMigrateRefreshKeepsConcurrentCommits(t *testing.T) {
	ctx := context.Background()
	st, url := newStore(t)
	m, _ := refreshManager(t, st)
	s := func(a string) lifecycle.Sender { return lifecycle.Sender{Channel: "sms", Address: a} }
	for _, c := range []lifecycle.Create{{ID: "a", Senders: []lifecycle.Sender{s("100")}}, {ID: "b", Senders: []lifecycle.Sender{s("200")}}} {
		c.Name, c.Channel, c.Definition = "b", "sms", definition()
		if _, err := m.Create(ctx, mia, c); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Apply(ctx, mia, lifecycle.Activate{Bot: c.ID, Decision: lifecycle.Immediate()}); err != nil {
			t.Fatal(err)
		}
	}
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `DELETE FROM botlife_schema_migrations WHERE version = 10`); err != nil {
		t.Fatal(err)
	}
	// Hold the refresh at bot a, after it read its page (a and b).
	hold, err := admin.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hold.Exec(ctx, `SELECT 1 FROM bot_senders WHERE bot_id = 'a' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	migrated := make(chan error, 1)
	go func() { migrated <- st.Migrate(ctx) }()
	waitBlocked(t, url, "DELETE FROM bot_senders")
	// Meanwhile another process deactivates b.
	deactivated := make(chan error, 1)
	go func() {
		_, err := m.Apply(ctx, mia, lifecycle.Deactivate{Bot: "b"})
		deactivated <- err
	}()
	select {
	case err := <-deactivated:
		deactivated <- err
	case <-time.After(300 * time.Millisecond): // waits for the migration: fine
	}
	if err := hold.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-migrated; err != nil {
		t.Fatal(err)
	}
	if err := <-deactivated; err != nil {
		t.Fatal(err)
	}
	var slot *string
	if err := admin.QueryRow(ctx, `SELECT slot FROM bot_senders WHERE bot_id = 'b' AND address = '200'`).Scan(&slot); err != nil {
		t.Fatal(err)
	}
	if slot != nil {
		t.Errorf("bot b, Inactive, holds the %s slot of sms:200 after the migration: its rows are those of the document the refresh read before b was deactivated", *slot)
	}
	if sess, err := m.Route(ctx, s("200"), "u1"); !errors.Is(err, lifecycle.ErrNoBot) {
		t.Errorf("R10: a message on sms:200, whose bot b is Inactive, = %+v, %v; want ErrNoBot", sess, err)
	}
}

// waitBlocked waits until a backend runs a statement starting with prefix
// and waits for a lock. The deadline only bounds a hang (a count of 500
// polls bounded it at about 5 s, which a migration started under -race on
// a loaded machine can take to reach the lock).
func waitBlocked(t *testing.T, url, prefix string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		var n int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, prefix+"%").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no statement %q waits for a lock", prefix)
}

// mia holds the Manager role in refreshManager's Manager.
var mia = lifecycle.User("mia")

// refreshManager is a Manager on st, on a mock clock, with mia a Manager.
func refreshManager(t *testing.T, st lifecycle.Store) (*lifecycle.Manager, *clock.Mock) {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GrantRole(context.Background(), lifecycle.System("test"), "mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
	return m, clk
}
