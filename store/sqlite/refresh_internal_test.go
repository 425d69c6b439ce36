package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/internal/sqlrows"
	"github.com/google/go-cmp/cmp"
)

// R20, R22: a file whose rows an earlier version wrote - no departure rows
// for a sender a bot was edited to drop, no LeftActive for a bot that left
// a sender while Active on another - gets, when this version opens it
// (migration 5), exactly the rows this version's commits write: a rollback
// is then refused naming the bot that dropped the sender, not sent back to
// an older bot.
func TestMigrateRefreshesRows(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rows.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
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
	s := func(a string) lifecycle.Sender { return lifecycle.Sender{Channel: "sms", Address: a} }
	bot := func(senders ...lifecycle.Sender) lifecycle.BotID {
		b, err := m.Create(ctx, mia, lifecycle.Create{Name: "b", Channel: "sms", Senders: senders, Definition: historyDefinition()})
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
	step(lifecycle.Activate{Bot: older, Decision: lifecycle.Immediate()})
	step(lifecycle.Activate{Bot: x, Decision: lifecycle.Immediate()})
	step(lifecycle.Activate{Bot: cur, Decision: lifecycle.Immediate()})
	step(lifecycle.Update{Bot: x, Senders: &[]lifecycle.Sender{s("200")}}) // a departure row on 100
	wide, narrow := bot(s("300"), s("400")), bot(s("300"))
	step(lifecycle.Activate{Bot: wide, Decision: lifecycle.Immediate()})
	step(lifecycle.Activate{Bot: narrow, Decision: lifecycle.Immediate()}) // wide leaves 300, Active on 400
	want := senderRows(t, path)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	// As the previous version left them.
	exec, done := rawExec(t, ctx, path)
	exec(`DELETE FROM bot_senders WHERE channel = '` + lifecycle.TestChannel + `'`)
	exec(`UPDATE bot_senders SET left_active = NULL WHERE bot_id = ?`, string(wide))
	exec(`DROP TRIGGER session_group`) // schema 7's
	exec(`DROP TRIGGER bot_groups_due_updated`)
	exec(`DROP TRIGGER bot_groups_due_deleted`)
	exec(`DROP TABLE session_groups`) // schema 6's
	exec(`PRAGMA user_version = 4`)
	done()
	if cmp.Equal(want, senderRows(t, path)) {
		t.Fatal("the rows as the previous version left them are those of this one: the test shows nothing")
	}

	if st, err = Open(ctx, path); err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if d := cmp.Diff(want, senderRows(t, path)); d != "" {
		t.Errorf("rows after migration 5 (-this version's commits +refreshed):\n%s", d)
	}
	if m, err = lifecycle.New(lifecycle.Config{Store: st, Clock: clk}); err != nil {
		t.Fatal(err)
	}
	var re *lifecycle.RollbackError
	if _, err := m.Rollback(ctx, mia, cur, lifecycle.Immediate(), lifecycle.Ack{}); !errors.As(err, &re) || re.Target != x {
		t.Errorf("R20: rollback of %s after the migration = %v; want refused naming %s (not %s)", cur, err, x, older)
	}
}

// senderRows reads every row of bot_senders in the file at path, in key
// order.
func senderRows(t *testing.T, path string) [][]any {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT workspace, bot_id, channel, address, slot, activation, serves_until, left_active FROM bot_senders ORDER BY 1, 2, 3, 4`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		r := make([]any, 8)
		ptrs := make([]any, 8)
		for i := range r {
			ptrs[i] = &r[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// latestVersion is the number of the last embedded migration.
func latestVersion(t *testing.T) int {
	t.Helper()
	scripts, err := sqlrows.Migrations(migrations)
	if err != nil || len(scripts) == 0 {
		t.Fatal(scripts, err)
	}
	return scripts[len(scripts)-1].Version
}
