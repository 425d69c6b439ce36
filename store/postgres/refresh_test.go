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
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	mia := lifecycle.User("mia")
	if _, err := m.GrantRole(ctx, lifecycle.System("test"), "mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
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
