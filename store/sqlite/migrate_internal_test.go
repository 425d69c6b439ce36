package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/internal/binarydoc"
	"github.com/google/go-cmp/cmp"
)

var (
	v1Start = time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	v1SMS   = []lifecycle.Sender{{Channel: "sms", Address: "+15550101"}, {Channel: "sms", Address: "+15550102"}}
	v1Other = lifecycle.Sender{Channel: "sms", Address: "+15550103"}
)

// v1Bot is a bot as the store kept it before R22: no Live.
func v1Bot(id lifecycle.BotID, st lifecycle.State, senders ...lifecycle.Sender) lifecycle.Bot {
	b := lifecycle.Bot{ID: id, Name: string(id), Channel: "sms", Senders: senders, Definition: historyDefinition(),
		IdleTimeout: time.Hour, State: st, Revision: 2, CreatedAt: v1Start, UpdatedAt: v1Start}
	if st != lifecycle.Draft {
		b.Activations, b.FirstActivatedAt, b.ActivatedAt = 1, v1Start, v1Start
	}
	if st == lifecycle.Deactivated {
		b.DeactivatedAt, b.GraceDeadline = v1Start, v1Start.Add(time.Hour)
	}
	return b
}

// writeV1 creates a file at schema version 1 holding bots, sessions and
// roles exactly as version 1 of this package wrote them: bot_senders rows
// carrying the bot's own state, bot documents without Live.
func writeV1(t *testing.T, path string, bots []lifecycle.Bot) {
	t.Helper()
	ctx := context.Background()
	script, err := migrations.ReadFile("migrations/001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	exec, done := rawExec(t, ctx, path)
	defer done()
	exec(string(script))
	exec(`PRAGMA user_version = 1`)
	for _, b := range bots {
		doc, err := binarydoc.Encode(b)
		if err != nil {
			t.Fatal(err)
		}
		var grace, left any
		if b.State == lifecycle.Deactivated {
			grace = b.GraceDeadline.UnixNano()
		}
		if b.State != lifecycle.Active && !b.DeactivatedAt.IsZero() {
			left = b.DeactivatedAt.UnixNano()
		}
		exec(`INSERT INTO bots (id, state, revision, activations, idle_timeout, grace_deadline, ended_at, end_reason, doc) VALUES (?, ?, ?, ?, ?, ?, NULL, '', ?)`,
			string(b.ID), int64(b.State), int64(b.Revision), int64(b.Activations), int64(b.IdleTimeout), grace, doc)
		for _, snd := range b.Senders {
			exec(`INSERT INTO bot_senders (bot_id, channel, address, state, left_at) VALUES (?, ?, ?, ?, ?)`, string(b.ID), snd.Channel, snd.Address, int64(b.State), left)
		}
	}
	at := v1Start.Add(time.Minute).UnixNano()
	for _, s := range []struct {
		snd lifecycle.Sender
		bot string
	}{{v1SMS[0], "active"}, {v1Other, "draining"}} {
		exec(`INSERT INTO sessions (channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages) VALUES (?, ?, 'u', ?, 1, ?, ?, 1)`,
			s.snd.Channel, s.snd.Address, s.bot, at, at)
	}
	exec(`INSERT INTO role_assignments (user_id, roles) VALUES ('mia', ?)`, int64(roles.MustSet(roles.Manager)))
}

// A file written before R22 and R23 migrates (to the latest schema, in the
// default workspace: R27): its live
// bots gain their per-sender states as they were, its Active bot keeps
// routing to the sessions it had and opens new ones in its activation, its
// drain stays due at its deadline, and a Manager can move the bots per
// sender and schedule.
func TestMigrateFromV1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	bots := []lifecycle.Bot{
		v1Bot("active", lifecycle.Active, v1SMS...),
		v1Bot("draft", lifecycle.Draft, v1SMS...),
		v1Bot("draining", lifecycle.Deactivated, v1Other),
	}
	writeV1(t, path, bots)
	st := openMigrated(t, path)
	checkMigratedBots(t, st, bots)
	checkDefaultWorkspace(t, st, v1Other, 1)

	// Routing: the open session goes on (the fast path serves it), a new end
	// user opens one in the bot's activation on that sender.
	now := v1Start.Add(2 * time.Minute)
	s, err := st.Route(ctx, "", v1SMS[0], "u", now)
	if err != nil || s.ID != 1 || s.Messages != 2 || s.Bot != "active" {
		t.Fatalf("R10: the open session after migrating = %+v, %v; want session 1 with 2 messages", s, err)
	}
	if s, err = st.Route(ctx, "", v1SMS[1], "v", now); err != nil || s.Bot != "active" || s.Activation != 1 {
		t.Fatalf("R10: a new session after migrating = %+v, %v; want one on active in activation 1", s, err)
	}
	if s, err = st.Route(ctx, "", v1Other, "u", now); err != nil || s.ID != 2 {
		t.Fatalf("R9: the draining bot's session before its deadline = %+v, %v; want session 2", s, err)
	}
	deadline := v1Start.Add(time.Hour)
	if due, err := st.Due(ctx, "", deadline, 10); err != nil || len(due.Drains) != 1 || due.Drains[0].ID != "draining" || len(due.Schedules) != 0 {
		t.Fatalf("Due at the deadline after migrating = %v, %v; want the drain of draining", due, err)
	}
	runMigratedManager(t, st, deadline)
}

// checkMigratedBots checks the bots of a migrated file: the live ones on
// each sender in their state, activation and deadline; the others on none.
func checkMigratedBots(t *testing.T, st *Store, bots []lifecycle.Bot) {
	t.Helper()
	for _, want := range bots {
		for _, snd := range want.Senders {
			e := lifecycle.SenderState{Sender: snd, State: want.State, Activation: want.Activations}
			if want.State == lifecycle.Deactivated {
				e.GraceDeadline = want.GraceDeadline
			}
			if want.State.Live() {
				want.Live = append(want.Live, e)
			}
		}
		if want.State.Live() {
			want.OpenActivations = []uint64{1} // writeV1's sessions (R9)
		}
		got, err := st.Bot(context.Background(), "", want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("bot %s after migrating (-want +got):\n%s", want.ID, diff)
		}
	}
	type senderRow struct {
		Bot, Slot            string
		Activation, Deadline int64
	}
	rows, err := st.w.Query(`SELECT bot_id, coalesce(slot, ''), activation, coalesce(serves_until, 0) FROM bot_senders ORDER BY bot_id, channel, address`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []senderRow
	for rows.Next() {
		var r senderRow
		if err := rows.Scan(&r.Bot, &r.Slot, &r.Activation, &r.Deadline); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	dl := v1Start.Add(time.Hour).UnixNano()
	want := []senderRow{{"active", "active", 1, 0}, {"active", "active", 1, 0}, {"draft", "", 0, 0}, {"draft", "", 0, 0}, {"draining", "draining", 1, dl}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bot_senders after migrating (-want +got):\n%s", diff)
	}
}

// runMigratedManager drives a Manager on a migrated file: a deactivation
// on one sender (R22), a schedule (R23), and the drain that ends at its
// deadline.
func runMigratedManager(t *testing.T, st *Store, deadline time.Time) {
	t.Helper()
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(v1Start.Add(3 * time.Minute))
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	mia := lifecycle.User("mia")
	if _, err := m.Apply(ctx, mia, lifecycle.Deactivate{Bot: "active", Senders: v1SMS[1:]}); err != nil {
		t.Fatalf("R22: deactivating a migrated bot on one sender: %v", err)
	}
	if _, err := st.Route(ctx, "", v1SMS[1], "v", clk.Now()); err == nil {
		t.Errorf("R22: the sender the migrated bot left still routes")
	}
	if s, err := st.Route(ctx, "", v1SMS[0], "u", clk.Now()); err != nil || s.ID != 1 {
		t.Errorf("R22: the sender the migrated bot kept = %+v, %v; want session 1", s, err)
	}
	if _, err := m.Apply(ctx, mia, lifecycle.CreateSchedule{ID: "later", At: deadline.Add(time.Hour), Do: lifecycle.Deactivate{Bot: "active"}}); err != nil {
		t.Fatalf("R23: scheduling in a migrated file: %v", err)
	}
	if sc, err := st.Schedule(ctx, "", "later"); err != nil || sc.Seq != 1 || sc.Status != lifecycle.SchedulePending {
		t.Fatalf("R23: the schedule = %+v, %v", sc, err)
	}
	clk.Set(deadline)
	x, err := m.ExpireDue(ctx)
	if err != nil || len(x.DrainsEnded) != 1 || x.DrainsEnded[0] != "draining" {
		t.Fatalf("R9: ExpireDue at the migrated drain's deadline = %+v, %v", x, err)
	}
	if s, err := st.session(ctx, 2); err != nil || s.CloseReason != lifecycle.CloseGraceExpired || !s.ClosedAt.Equal(deadline) {
		t.Fatalf("R9: the migrated drain's session = %+v, %v; want grace_expired at the deadline", s, err)
	}
}

// rawExec opens the file at path with the driver alone, to write it as an
// older version of this package did: exec runs one statement or fails the
// test, done closes the file.
func rawExec(t *testing.T, ctx context.Context, path string) (exec func(q string, args ...any), done func()) {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	return func(q string, args ...any) {
		t.Helper()
		if _, err := db.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}, func() { db.Close() }
}

// openMigrated opens the file at path, which a test wrote at an older
// schema, and checks that Open migrated it to the last version; the store
// closes when the test ends.
func openMigrated(t *testing.T, path string) *Store {
	t.Helper()
	ctx := context.Background()
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var version int
	if err := st.w.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil || version != latestVersion(t) {
		t.Fatalf("user_version = %d, %v; want %d, the last migration's", version, err, latestVersion(t))
	}
	return st
}
