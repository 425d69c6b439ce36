package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
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
	scripts, _ := filepath.Glob("migrations/*.sql")
	want := make([]int32, len(scripts))
	for i := range want {
		want[i] = int32(i + 1)
	}
	if diff := cmp.Diff(want, versions); diff != "" {
		t.Fatalf("applied migrations (-want +got):\n%s", diff)
	}
}

// R20: a database written by schema version 1 (documents in jsonb, no
// left_at) migrates to the latest version with every bot readable as it was and
// SenderBots finding the last active bot from the backfilled column, to the
// nanosecond.
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
	st := openMigrated(t, ctx, url)
	// A live bot stored before R22 reads as live on all its senders, in
	// its current activation.
	live.Live = []lifecycle.SenderState{{Sender: sender, State: lifecycle.Active, Activation: 1}}
	for _, want := range []lifecycle.Bot{older, newer, live} {
		got, err := st.Bot(ctx, "", want.ID)
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
	}{{"live", "newer"}, {"newer", "older"}} {
		_, got, err := st.SenderBots(ctx, "", []lifecycle.Sender{sender}, tc.except)
		if err != nil || got == nil || got.ID != tc.want {
			t.Errorf("R20: SenderBots(except %q) = %v, %v; want %q (one nanosecond later)", tc.except, got, err, tc.want)
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

	st := openMigrated(t, ctx, url)
	// The bots read as they were, live on every sender at once.
	active.Live = []lifecycle.SenderState{{Sender: snd("1"), State: lifecycle.Active, Activation: 2}, {Sender: snd("2"), State: lifecycle.Active, Activation: 2}}
	drainer.Live = []lifecycle.SenderState{{Sender: snd("3"), State: lifecycle.Deactivated, Activation: 1, GraceDeadline: t0.Add(time.Hour)}}
	successor.Live = []lifecycle.SenderState{{Sender: snd("3"), State: lifecycle.Active, Activation: 1}}
	// With the activations their open sessions belong to (R9).
	active.OpenActivations, drainer.OpenActivations = []uint64{1, 2}, []uint64{1}
	for _, want := range []lifecycle.Bot{active, drainer, successor} {
		got, err := st.Bot(ctx, "", want.ID)
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
		s, err := st.Route(ctx, "", snd(addr), user, now)
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
	if n, err := st.SweepSessions(ctx, "", now, everything); err != nil || n != 1 {
		t.Errorf("R9: the sweep closed %d sessions (%v), want 1: the one of the earlier activation", n, err)
	}
	if s, _ := st.Sessions(ctx, "", lifecycle.SessionID(ids[1]-1), 1); len(s) != 1 || s[0].CloseReason != lifecycle.CloseDeactivated {
		t.Errorf("R9: the session of the earlier activation = %+v", s)
	}
	if due, err := st.Due(ctx, "", t0.Add(time.Hour), 10); err != nil || len(due.Drains) != 1 || due.Drains[0].ID != "drainer" {
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
	if _, err := st.Route(ctx, "", snd("2"), "u9", now); !errors.Is(err, lifecycle.ErrNoBot) {
		t.Errorf("R22: after leaving sender 2, routing there = %v, want ErrNoBot", err)
	}
	if live, _, err := st.SenderBots(ctx, "", []lifecycle.Sender{snd("2")}, ""); err != nil || len(live) != 0 {
		t.Errorf("R22: SenderBots on the sender it left = %v, %v", live, err)
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

// insertVersion3Bot writes b as the store of schema version 3 did: what
// version 2 wrote, and on each bot_senders row the bot's state on that
// sender (Bot.Live, R22) with its activation and deadline there.
func insertVersion3Bot(t *testing.T, conn *pgx.Conn, b lifecycle.Bot) {
	t.Helper()
	insertVersion2Bot(t, conn, b)
	for _, s := range b.Senders {
		on, live := b.On(s)
		var act, grace *int64
		state := lifecycle.Inactive
		if live {
			n := int64(on.Activation)
			act, state = &n, on.State
		}
		if !on.GraceDeadline.IsZero() {
			n := on.GraceDeadline.UnixNano()
			grace = &n
		}
		if _, err := conn.Exec(context.Background(), `UPDATE bot_senders SET state = $4, activation = $5, grace_deadline = $6
			WHERE bot_id = $1 AND channel = $2 AND address = $3`, string(b.ID), s.Channel, s.Address, int16(state), act, grace); err != nil {
			t.Fatal(err)
		}
	}
}

// Issue 24: a database written by schema version 3 (a state number per bot
// and sender) migrates to version 4 (the rows the core computes: slots,
// serves_until, due_at; session counters) without losing a bot, session,
// schedule, role or audit entry, and goes on: the slots hold R1 and R2, the
// open sessions route and sweep as before, SessionStats reads the counters
// migrated from the sessions, and a Manager commits on the old bots.
func TestMigrateFromVersion3(t *testing.T) {
	conn, url := schemaAt(t, 3)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	a := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	base := lifecycle.Bot{Channel: "sms", Senders: []lifecycle.Sender{a}, Definition: definition(), Revision: 4, CreatedAt: t0.Add(-3 * time.Hour),
		UpdatedAt: t0.Add(-time.Minute), FirstActivatedAt: t0.Add(-3 * time.Hour), IdleTimeout: 30 * time.Minute}
	cur, prev, old := base, base, base
	cur.ID, cur.Name, cur.State, cur.Activations, cur.ActivatedAt = "cur", "cur", lifecycle.Active, 2, t0.Add(-time.Minute)
	cur.DeactivatedAt = t0.Add(-2 * time.Hour)
	cur.Live = []lifecycle.SenderState{{Sender: a, State: lifecycle.Active, Activation: 2}}
	prev.ID, prev.Name, prev.State, prev.Activations, prev.ActivatedAt = "prev", "prev", lifecycle.Deactivated, 1, t0.Add(-time.Hour)
	prev.DeactivatedAt, prev.GraceDeadline = t0.Add(-time.Minute), t0.Add(time.Hour)
	prev.Live = []lifecycle.SenderState{{Sender: a, State: lifecycle.Deactivated, Activation: 1, GraceDeadline: t0.Add(time.Hour)}}
	old.ID, old.Name, old.State, old.Activations, old.DeactivatedAt = "old", "old", lifecycle.Inactive, 1, t0.Add(-3*time.Hour)
	for _, b := range []lifecycle.Bot{cur, prev, old} {
		insertVersion3Bot(t, conn, b)
	}
	at := t0.Add(-5 * time.Minute)
	var want storeDump
	for i, x := range []struct {
		user, bot  string
		activation uint64
		messages   uint64
		closed     bool
	}{{"u1", "cur", 2, 2, false}, {"u2", "prev", 1, 1, false}, {"u3", "cur", 1, 4, false}, {"u4", "prev", 1, 3, true}} {
		s := lifecycle.Session{ID: lifecycle.SessionID(i + 1), Sender: a, EndUser: x.user, Bot: lifecycle.BotID(x.bot), Activation: x.activation,
			OpenedAt: at, LastActivityAt: at, Messages: x.messages}
		var closed *int64
		if x.closed {
			s.ClosedAt, s.CloseReason = at.Add(time.Nanosecond), lifecycle.CloseCompleted
			n := s.ClosedAt.UnixNano()
			closed = &n
		}
		want.Sessions = append(want.Sessions, s)
		if _, err := conn.Exec(ctx, `INSERT INTO sessions (channel, address, end_user, bot_id, activation, opened_at, last_activity_at, closed_at, close_reason, messages)
			VALUES ('sms', '+15550100', $1, $2, $3, $4, $4, $5, $6, $7)`, x.user, x.bot, int64(x.activation), at.UnixNano(), closed, string(s.CloseReason), int64(x.messages)); err != nil {
			t.Fatal(err)
		}
	}
	want.Mia = roles.MustSet(roles.Admin, roles.Manager)
	want.Audit = []lifecycle.AuditEntry{{Seq: 1, Time: t0, Actor: "system:x", Action: lifecycle.OpGrantRole}, {Seq: 2, Time: t0, Actor: "mia", Action: lifecycle.OpActivate}}
	for _, e := range want.Audit {
		doc, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO audit_log VALUES ($1, $2::jsonb)`, int64(e.Seq), string(doc)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := conn.Exec(ctx, `INSERT INTO role_assignments VALUES ('mia', $1)`, int16(want.Mia)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `UPDATE audit_head SET seq = 2`); err != nil {
		t.Fatal(err)
	}
	for i, status := range []lifecycle.ScheduleStatus{lifecycle.SchedulePending, lifecycle.ScheduleDone} {
		sc := lifecycle.Schedule{ID: lifecycle.ScheduleID(fmt.Sprint("s", i+1)), Seq: uint64(i + 1), At: t0.Add(time.Duration(i) * time.Hour),
			Action: lifecycle.ScheduledAction{Op: lifecycle.OpDeactivate, Bot: "cur"}, Status: status, Revision: 1, CreatedBy: "mia", CreatedAt: t0.Add(-time.Hour)}
		doc, err := postgres.EncodeSchedule(sc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schedules (id, seq, at, status, revision, doc) VALUES ($1, $2, $3, $4, 1, $5)`,
			string(sc.ID), i+1, sc.At.UnixNano(), string(sc.Status), doc); err != nil {
			t.Fatal(err)
		}
		want.Schedules = append(want.Schedules, sc)
	}
	if _, err := conn.Exec(ctx, `UPDATE schedule_head SET seq = 2`); err != nil {
		t.Fatal(err)
	}

	st := openMigrated(t, ctx, url)
	// Nothing lost: bots, sessions, schedules, roles and the audit log read
	// as they were written.
	cur.OpenActivations, prev.OpenActivations = []uint64{1, 2}, []uint64{1}
	want.Bots = []lifecycle.Bot{cur, old, prev}
	if diff := cmp.Diff(want, dump(t, st, "")); diff != "" {
		t.Errorf("after migrating (-written +read):\n%s", diff)
	}
	checkStats(t, st)
	// The slots: cur active, prev draining, the last active bot is prev.
	live, last, err := st.SenderBots(ctx, "", []lifecycle.Sender{a}, "cur")
	if err != nil || len(live) != 2 || live[0].ID != "cur" || live[1].ID != "prev" || last == nil || last.ID != "prev" {
		t.Fatalf("R1, R2, R20: SenderBots after migrating = %v, %v, %v", live, last, err)
	}
	now := t0.Add(time.Minute)
	for user, bot := range map[string]lifecycle.BotID{"u1": "cur", "u2": "prev", "u5": "cur"} {
		if s, err := st.Route(ctx, "", a, user, now); err != nil || s.Bot != bot {
			t.Errorf("R9, R10: routing %s after migrating = %+v, %v; want bot %s", user, s, err, bot)
		}
	}
	if n, err := st.SweepSessions(ctx, "", now, everything); err != nil || n != 1 {
		t.Errorf("R9: the sweep closed %d sessions (%v), want 1: u3's, of an earlier activation", n, err)
	}
	if due, err := st.Due(ctx, "", t0.Add(time.Hour), 10); err != nil || len(due.Drains) != 1 || due.Drains[0].ID != "prev" || len(due.Schedules) != 1 {
		t.Errorf("Due at the deadline = %+v, %v; want prev and schedule s1", due, err)
	}
	checkStats(t, st)
	// A Manager ends the drain and takes cur off the sender (R22).
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: fixedClock{t0.Add(2 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.ExpireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Apply(ctx, lifecycle.User("mia"), lifecycle.Deactivate{Bot: "cur"}); err != nil {
		t.Fatalf("deactivating a bot stored by version 3: %v", err)
	}
	if _, err := st.Route(ctx, "", a, "u9", t0.Add(2*time.Hour)); !errors.Is(err, lifecycle.ErrNoBot) {
		t.Errorf("R10: routing with no bot left = %v, want ErrNoBot", err)
	}
	checkStats(t, st)
}

// R27: a database written by schema version 6 (no workspaces) migrates to
// version 7 with everything in the default workspace: its reads return what
// was written and workspace acme holds nothing; its sequences go on where
// they were (audit Seq, schedule Seq, session ids) while acme's start at 1;
// the senders of its bots are claimed by it, so acme cannot name them.
func TestMigrateFromVersion6(t *testing.T) {
	conn, url := schemaAt(t, 6)
	ctx := context.Background()
	o := newOlderContent(t)
	t0, a := o.t0, o.bot.Senders[0]
	// As the store of version 6 wrote them, sessions numbered by their sequence.
	execAll(t, conn, []stmt{
		{`INSERT INTO bots (id, revision, idle_timeout, doc) VALUES ('cur', 2, $1, $2)`, []any{int64(o.bot.IdleTimeout), o.doc}},
		{`INSERT INTO bot_senders (bot_id, channel, address, slot, activation) VALUES ('cur', 'sms', '+15550100', 'active', 1)`, nil},
		{`INSERT INTO role_assignments VALUES ('mia', $1)`, []any{int16(o.want.Mia)}},
		{`INSERT INTO audit_log SELECT ord, e::jsonb FROM unnest($1::text[]) WITH ORDINALITY AS x(e, ord)`, []any{o.audit}},
		{`UPDATE audit_head SET seq = 2`, nil},
		{`INSERT INTO schedules (id, seq, at, status, revision, doc) VALUES ('s1', 1, $1, 'pending', 1, $2)`, []any{t0.Add(time.Hour).UnixNano(), o.schedule}},
		{`UPDATE schedule_head SET seq = 1`, nil},
		{`INSERT INTO sessions (channel, address, end_user, bot_id, activation, opened_at, last_activity_at, activity_floor, messages, closed_at, close_reason)
			VALUES ('sms', '+15550100', 'u1', 'cur', 1, $1, $1, $1, 2, NULL, ''), ('sms', '+15550100', 'u2', 'cur', 1, $1, $1, $1, 1, $1 + 1, 'completed')`, []any{o.at}},
	})

	st := openMigrated(t, ctx, url)
	if diff := cmp.Diff(o.want, dump(t, st, "")); diff != "" {
		t.Errorf("R27: the default workspace after migrating (-written +read):\n%s", diff)
	}
	checkStats(t, st)
	if d := dump(t, st, "acme"); len(d.Bots)+len(d.Sessions)+len(d.Schedules)+len(d.Audit) != 0 || !d.Mia.Empty() {
		t.Errorf("R27: workspace acme after migrating = %+v, want nothing", d)
	}
	now := t0.Add(time.Minute)
	if s, err := st.Route(ctx, "", a, "u3", now); err != nil || s.ID != 3 {
		t.Errorf("R27: a new session in the default workspace = %+v, %v; want id 3, after the migrated ones", s, err)
	}
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: fixedClock{now}})
	if err != nil {
		t.Fatal(err)
	}
	mia := lifecycle.User("mia")
	if _, err := m.Create(ctx, mia, lifecycle.Create{Name: "next", Channel: "sms", Senders: []lifecycle.Sender{a}, Definition: definition()}); err != nil {
		t.Fatalf("R27: the default workspace names its own sender again: %v", err)
	}
	if log, err := st.AuditLog(ctx, "", 2, everything); err != nil || len(log) != 1 || log[0].Seq != 3 {
		t.Errorf("R27: the default workspace's audit log after one more commit = %+v, %v; want Seq 3", log, err)
	}
	acme, err := m.Workspace("acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acme.GrantRole(ctx, lifecycle.System("migration test"), "mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
	if _, err := acme.Create(ctx, mia, lifecycle.Create{Name: "x", Channel: "sms", Senders: []lifecycle.Sender{a}, Definition: definition()}); !errors.Is(err, lifecycle.ErrSenderClaimed) {
		t.Errorf("R27: acme naming the migrated bot's sender = %v, want ErrSenderClaimed", err)
	}
	b := lifecycle.Sender{Channel: "sms", Address: "+15550101"}
	own, err := acme.Create(ctx, mia, lifecycle.Create{Name: "own", Channel: "sms", Senders: []lifecycle.Sender{b}, Definition: definition()})
	if err == nil {
		_, err = acme.Activate(ctx, mia, own.ID, lifecycle.Decision{}, lifecycle.Ack{})
	}
	if err != nil {
		t.Fatal(err)
	}
	if s, err := st.Route(ctx, "acme", b, "u1", now); err != nil || s.ID != 1 {
		t.Errorf("R27: acme's first session = %+v, %v; want id 1", s, err)
	}
	if log, err := st.AuditLog(ctx, "acme", 0, 1); err != nil || len(log) != 1 || log[0].Seq != 1 {
		t.Errorf("R27: acme's audit log = %+v, %v; want it to start at Seq 1", log, err)
	}
}

// activeCur returns bot cur, Active on sms +15550100 since an hour before
// t0 (its first activation) with idle timeout idle, as the migration tests
// write it into a database of an earlier schema, and its document.
func activeCur(t *testing.T, t0 time.Time, idle time.Duration) (lifecycle.Bot, []byte) {
	t.Helper()
	a := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	bot := lifecycle.Bot{ID: "cur", Name: "cur", Channel: "sms", Senders: []lifecycle.Sender{a}, Definition: definition(), State: lifecycle.Active,
		Revision: 2, Activations: 1, CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0.Add(-time.Hour), FirstActivatedAt: t0.Add(-time.Hour),
		ActivatedAt: t0.Add(-time.Hour), IdleTimeout: idle, Live: []lifecycle.SenderState{{Sender: a, State: lifecycle.Active, Activation: 1}}}
	doc, err := postgres.EncodeBot(bot)
	if err != nil {
		t.Fatal(err)
	}
	return bot, doc
}

// olderContent is what TestMigrateFromVersion6 and
// TestMigrateFromEveryVersion write as a store of an earlier schema did,
// each in the rows of its version: bot cur (activeCur, idle timeout 30
// minutes) with u1's session open and u2's completed, both opened at at, a
// pending schedule s1, two audit entries and mia's roles. want is what the
// latest version reads of it; bot, doc, schedule and audit are what the
// rows hold.
type olderContent struct {
	t0            time.Time
	bot           lifecycle.Bot
	doc, schedule []byte
	audit         []string // JSON
	at            int64    // Unix nanoseconds
	want          storeDump
}

// newOlderContent returns the content, its rows encoded.
func newOlderContent(t *testing.T) olderContent {
	t.Helper()
	o := olderContent{t0: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	t0 := o.t0
	o.bot, o.doc = activeCur(t, t0, 30*time.Minute)
	o.want = storeDump{Mia: roles.MustSet(roles.Admin, roles.Manager), Schedules: []lifecycle.Schedule{{ID: "s1", Seq: 1, At: t0.Add(time.Hour),
		Action: lifecycle.ScheduledAction{Op: lifecycle.OpDeactivate, Bot: "cur"}, Status: lifecycle.SchedulePending, Revision: 1, CreatedBy: "mia", CreatedAt: t0}},
		Audit: []lifecycle.AuditEntry{{Seq: 1, Time: t0, Actor: "system:x", Action: lifecycle.OpGrantRole}, {Seq: 2, Time: t0, Actor: "mia", Action: lifecycle.OpActivate}}}
	var err error
	if o.schedule, err = postgres.EncodeSchedule(o.want.Schedules[0]); err != nil {
		t.Fatal(err)
	}
	for _, e := range o.want.Audit {
		j, _ := json.Marshal(e)
		o.audit = append(o.audit, string(j))
	}
	o.at = t0.Add(-5 * time.Minute).UnixNano()
	open := lifecycle.Session{ID: 1, Sender: o.bot.Senders[0], EndUser: "u1", Bot: "cur", Activation: 1, OpenedAt: time.Unix(0, o.at).UTC(), LastActivityAt: time.Unix(0, o.at).UTC(), Messages: 2}
	closed := open
	closed.ID, closed.EndUser, closed.Messages, closed.ClosedAt, closed.CloseReason = 2, "u2", 1, open.OpenedAt.Add(time.Nanosecond), lifecycle.CloseCompleted
	o.want.Sessions = []lifecycle.Session{open, closed}
	read := o.bot
	read.OpenActivations = []uint64{1}
	o.want.Bots = []lifecycle.Bot{read}
	return o
}

// stmt is a statement and its arguments.
type stmt struct {
	sql  string
	args []any
}

// execAll runs stmts on conn in order, as a test writes the rows an
// earlier version of the store wrote; one that fails fails the test.
func execAll(t *testing.T, conn *pgx.Conn, stmts []stmt) {
	t.Helper()
	for _, x := range stmts {
		if _, err := conn.Exec(context.Background(), x.sql, x.args...); err != nil {
			t.Fatalf("%s: %v", x.sql, err)
		}
	}
}

// storeDump is what a store holds, as its reads return it.
type storeDump struct {
	Bots      []lifecycle.Bot
	Sessions  []lifecycle.Session
	Schedules []lifecycle.Schedule
	Audit     []lifecycle.AuditEntry
	Mia       roles.Set
}

// dump reads what st holds in workspace ws.
func dump(t *testing.T, st *postgres.Store, ws lifecycle.Workspace) storeDump {
	t.Helper()
	ctx := context.Background()
	var d storeDump
	var err error
	if d.Bots, err = st.Bots(ctx, ws, "", everything); err == nil {
		if d.Sessions, err = st.Sessions(ctx, ws, 0, everything); err == nil {
			if d.Schedules, err = st.Schedules(ctx, ws, 0, everything); err == nil {
				if d.Audit, err = st.AuditLog(ctx, ws, 0, everything); err == nil {
					d.Mia, _, err = st.Roles(ctx, ws, "mia")
				}
			}
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// checkStats compares SessionStats, read from the counters, with a count
// over every session.
func checkStats(t *testing.T, st *postgres.Store) {
	t.Helper()
	ctx := context.Background()
	got, err := st.SessionStats(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	all, err := st.Sessions(ctx, "", 0, everything)
	if err != nil {
		t.Fatal(err)
	}
	var want []lifecycle.SessionStats
	for _, s := range all {
		i := slices.IndexFunc(want, func(w lifecycle.SessionStats) bool { return w.Bot == s.Bot && w.Sender == s.Sender })
		if i < 0 {
			want, i = append(want, lifecycle.SessionStats{Bot: s.Bot, Sender: s.Sender, Closed: map[lifecycle.CloseReason]uint64{}}), len(want)
		}
		want[i].Opened++
		want[i].Messages += s.Messages
		if s.Open() {
			want[i].Open++
		} else {
			want[i].Closed[s.CloseReason]++
		}
	}
	slices.SortFunc(want, func(a, b lifecycle.SessionStats) int { // the order SessionStats returns: bot, then sender
		if c := strings.Compare(string(a.Bot), string(b.Bot)); c != 0 {
			return c
		}
		return strings.Compare(a.Sender.String(), b.Sender.String())
	})
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SessionStats from the counters (-counted +read):\n%s", diff)
	}
}

// openMigrated opens the store at url, closed when the test ends, and runs
// the migrations the database lacks.
func openMigrated(t *testing.T, ctx context.Context, url string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}
