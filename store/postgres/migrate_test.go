package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/postgres"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// Migrate is safe to race: four processes migrating one empty database at
// once all succeed, and the schema is there once.
func TestMigrateRace(t *testing.T) {
	url := newDatabase(t)
	ctx := context.Background()
	stores := make([]*postgres.Store, 4)
	for i := range stores {
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		stores[i] = st
	}
	var wg sync.WaitGroup
	errs := make([]error, len(stores))
	for i, st := range stores {
		wg.Add(1)
		go func(i int, st *postgres.Store) {
			defer wg.Done()
			errs[i] = st.Migrate(ctx)
		}(i, st)
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
	}
	var versions []int32
	rows, _ := stores[0].Pool().Query(ctx, `SELECT version FROM botlife_schema_migrations ORDER BY version`)
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int32{1, 2, 3}, versions); diff != "" {
		t.Fatalf("applied migrations (-want +got):\n%s", diff)
	}
}

// R20: a database written by schema version 1 (documents in jsonb, no
// left_at) migrates to the latest version with every bot readable as it was and
// LastActive answering from the backfilled column, to the nanosecond.
func TestMigrateFromVersion1(t *testing.T) {
	url := newDatabase(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	v1, err := os.ReadFile("migrations/001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, string(v1)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE botlife_schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
		INSERT INTO botlife_schema_migrations (version) VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	sender := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	east := time.FixedZone("", 2*60*60)
	base := lifecycle.Bot{Name: "v1", Channel: "sms", Senders: []lifecycle.Sender{sender}, Definition: definition(), Revision: 3, Activations: 1,
		CreatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), UpdatedAt: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	older, newer, live := base, base, base
	older.ID, older.State, older.DeactivatedAt = "older", lifecycle.Inactive, time.Date(2026, 1, 2, 9, 0, 0, 123456789, east)
	newer.ID, newer.State, newer.DeactivatedAt = "newer", lifecycle.Inactive, time.Date(2026, 1, 2, 9, 0, 0, 123456790, east)
	live.ID, live.State, live.DeactivatedAt = "live", lifecycle.Active, time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)
	for _, b := range []lifecycle.Bot{older, newer, live} {
		doc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO bots (id, state, revision, activations, idle_timeout, doc) VALUES ($1, $2, 3, 1, 0, $3::jsonb);
			`, string(b.ID), int16(b.State), string(doc)); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO bot_senders (bot_id, channel, address, state) VALUES ($1, 'sms', '+15550100', $2)`, string(b.ID), int16(b.State)); err != nil {
			t.Fatal(err)
		}
	}
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// A live bot stored before R22 reads as live on all its senders, in
	// its current activation.
	live.Live = []lifecycle.SenderState{{Sender: sender, State: lifecycle.Active, Activation: 1}}
	for _, want := range []lifecycle.Bot{older, newer, live} {
		got, err := st.Bot(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("bot %s after migrating (-before +after):\n%s", want.ID, diff)
		}
	}
	for _, tc := range []struct {
		except lifecycle.BotID
		want   lifecycle.BotID
	}{{"", "newer"}, {"newer", "older"}} {
		got, err := st.LastActive(ctx, []lifecycle.Sender{sender}, tc.except)
		if err != nil || got.ID != tc.want {
			t.Errorf("R20: LastActive(except %q) = %q, %v; want %q (one nanosecond later)", tc.except, got.ID, err, tc.want)
		}
	}
}

// schemaAt returns a connection to a fresh database with the migrations up
// to version applied, as the store of that version left it.
func schemaAt(t *testing.T, version int) (*pgx.Conn, string) {
	t.Helper()
	url := newDatabase(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(ctx) })
	if _, err := conn.Exec(ctx, `CREATE TABLE botlife_schema_migrations (version int PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		t.Fatal(err)
	}
	names, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names[:version] {
		sql, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO botlife_schema_migrations (version) SELECT generate_series(1, $1::int)`, version); err != nil {
		t.Fatal(err)
	}
	return conn, url
}

// R22, R10: a database written by schema version 2 (one state per bot, no
// per-sender activation or deadline, no schedules) migrates to version 3
// and goes on as it was: its Active bots keep routing - the open sessions
// of their current activation take messages and new sessions open in it -
// a draining bot serves its sessions until its deadline and is due then,
// sessions of an earlier activation are swept, and a Manager can take an
// old bot off one of its senders (its stored document has no Bot.Live: the
// store derives it).
func TestMigrateFromVersion2(t *testing.T) {
	conn, url := schemaAt(t, 2)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	snd := func(a string) lifecycle.Sender { return lifecycle.Sender{Channel: "sms", Address: "+1555010" + a} }
	base := lifecycle.Bot{Channel: "sms", Definition: definition(), Revision: 5, CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0.Add(-time.Hour),
		FirstActivatedAt: t0.Add(-time.Hour), IdleTimeout: 30 * time.Minute}
	active, drainer, successor := base, base, base
	active.ID, active.Name, active.Senders, active.State, active.Activations = "active", "active", []lifecycle.Sender{snd("1"), snd("2")}, lifecycle.Active, 2
	active.ActivatedAt, active.DeactivatedAt = t0.Add(-30*time.Minute), t0.Add(-40*time.Minute)
	drainer.ID, drainer.Name, drainer.Senders, drainer.State, drainer.Activations = "drainer", "drainer", []lifecycle.Sender{snd("3")}, lifecycle.Deactivated, 1
	drainer.ActivatedAt, drainer.DeactivatedAt, drainer.GraceDeadline = t0.Add(-time.Hour), t0.Add(-time.Minute), t0.Add(time.Hour)
	successor.ID, successor.Name, successor.Senders, successor.State, successor.Activations = "successor", "successor", []lifecycle.Sender{snd("3")}, lifecycle.Active, 1
	successor.ActivatedAt = t0.Add(-time.Minute)
	for _, b := range []lifecycle.Bot{active, drainer, successor} {
		insertVersion2Bot(t, conn, b)
	}
	// Open sessions: u1 in active's current activation, u0 in its earlier
	// one, u3 on the draining bot.
	var ids [3]int64
	for i, s := range []struct {
		addr, user, bot string
		activation      int64
	}{{"1", "u1", "active", 2}, {"1", "u0", "active", 1}, {"3", "u3", "drainer", 1}} {
		at := t0.Add(-5 * time.Minute).UnixNano()
		if err := conn.QueryRow(ctx, `INSERT INTO sessions (channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages)
			VALUES ('sms', $1, $2, $3, $4, $5, $5, 1) RETURNING id`, snd(s.addr).Address, s.user, s.bot, s.activation, at).Scan(&ids[i]); err != nil {
			t.Fatal(err)
		}
	}

	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// The bots read as they were, live on every sender at once.
	active.Live = []lifecycle.SenderState{{Sender: snd("1"), State: lifecycle.Active, Activation: 2}, {Sender: snd("2"), State: lifecycle.Active, Activation: 2}}
	drainer.Live = []lifecycle.SenderState{{Sender: snd("3"), State: lifecycle.Deactivated, Activation: 1, GraceDeadline: t0.Add(time.Hour)}}
	successor.Live = []lifecycle.SenderState{{Sender: snd("3"), State: lifecycle.Active, Activation: 1}}
	// With the activations their open sessions belong to (R9).
	active.OpenActivations, drainer.OpenActivations = []uint64{1, 2}, []uint64{1}
	for _, want := range []lifecycle.Bot{active, drainer, successor} {
		got, err := st.Bot(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("bot %s after migrating (-want +got):\n%s", want.ID, diff)
		}
	}
	now := t0.Add(time.Minute)
	route := func(addr, user string) lifecycle.Session {
		t.Helper()
		s, err := st.Route(ctx, snd(addr), user, now)
		if err != nil {
			t.Fatalf("R10: routing %s on %s after migrating: %v", user, addr, err)
		}
		return s
	}
	if s := route("1", "u1"); int64(s.ID) != ids[0] || s.Messages != 2 {
		t.Errorf("R10: the open session of the Active bot did not take the message: %+v", s)
	}
	if s := route("2", "u9"); s.Bot != "active" || s.Activation != 2 || s.Messages != 1 {
		t.Errorf("R10/R22: a new session on the Active bot's other sender = %+v, want activation 2", s)
	}
	if s := route("3", "u3"); int64(s.ID) != ids[2] || s.Bot != "drainer" {
		t.Errorf("R9: the draining bot's session before its deadline = %+v", s)
	}
	if s := route("3", "u4"); s.Bot != "successor" || s.Activation != 1 {
		t.Errorf("R10: a new session on the drained sender = %+v, want the successor", s)
	}
	if n, err := st.SweepSessions(ctx, now, -1); err != nil || n != 1 {
		t.Errorf("R9: the sweep closed %d sessions (%v), want 1: the one of the earlier activation", n, err)
	}
	if s, _ := st.Session(ctx, lifecycle.SessionID(ids[1])); s.CloseReason != lifecycle.CloseDeactivated {
		t.Errorf("R9: the session of the earlier activation = %+v", s)
	}
	if due, err := st.DueDrains(ctx, t0.Add(time.Hour), 10); err != nil || len(due) != 1 || due[0].ID != "drainer" {
		t.Errorf("DueDrains at the deadline = %v, %v; want the draining bot", due, err)
	}
	// A Manager takes the old Active bot off sender 2 (R22): the plan built
	// on the derived Live passes, and sender 1 keeps its session.
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: fixedClock{now}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, lifecycle.System("migration test"), lifecycle.Deactivate{Bot: "active", Senders: []lifecycle.Sender{snd("2")}}); err != nil {
		t.Fatalf("R22: deactivating a bot stored by version 2 on one sender: %v", err)
	}
	if s := route("1", "u1"); int64(s.ID) != ids[0] || s.Messages != 3 {
		t.Errorf("R22: the session on the sender the bot kept = %+v", s)
	}
	if _, err := st.Route(ctx, snd("2"), "u9", now); !errors.Is(err, lifecycle.ErrNoBot) {
		t.Errorf("R22: after leaving sender 2, routing there = %v, want ErrNoBot", err)
	}
	if live, err := st.LiveBots(ctx, []lifecycle.Sender{snd("2")}); err != nil || len(live) != 0 {
		t.Errorf("R22: LiveBots on the sender it left = %v, %v", live, err)
	}
}

// fixedClock is a clock that stands still.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// insertVersion2Bot writes b as the store of schema version 2 did: its
// document (with no Bot.Live) and one bot_senders row per sender with the
// bot's state.
func insertVersion2Bot(t *testing.T, conn *pgx.Conn, b lifecycle.Bot) {
	t.Helper()
	ctx := context.Background()
	doc, err := postgres.EncodeBot(b)
	if err != nil {
		t.Fatal(err)
	}
	var grace, left *int64
	if !b.GraceDeadline.IsZero() {
		n := b.GraceDeadline.UnixNano()
		grace = &n
	}
	if b.State != lifecycle.Active {
		n := b.DeactivatedAt.UnixNano()
		left = &n
	}
	if _, err := conn.Exec(ctx, `INSERT INTO bots (id, state, revision, activations, grace_deadline, idle_timeout, doc) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		string(b.ID), int16(b.State), int64(b.Revision), int64(b.Activations), grace, int64(b.IdleTimeout), doc); err != nil {
		t.Fatal(err)
	}
	for _, s := range b.Senders {
		if _, err := conn.Exec(ctx, `INSERT INTO bot_senders (bot_id, channel, address, state, left_at) VALUES ($1, $2, $3, $4, $5)`,
			string(b.ID), s.Channel, s.Address, int16(b.State), left); err != nil {
			t.Fatal(err)
		}
	}
}
