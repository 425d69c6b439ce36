package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/internal/binarydoc"
	"github.com/google/go-cmp/cmp"
)

// everything is a limit above what any test stores: a limit below zero
// reads nothing (lifecycle.Store).
const everything = 1 << 30

var (
	v2Start    = time.Date(2026, 9, 1, 9, 0, 0, 0, time.UTC)
	v2Deadline = v2Start.Add(time.Hour)
	v2One      = lifecycle.Sender{Channel: "sms", Address: "+15550201"}
	v2Two      = lifecycle.Sender{Channel: "sms", Address: "+15550202"}
)

// v2Bots are bots as schema version 2 kept them (R22: each with Live):
// cur Active on both senders, old draining on the first until
// v2Deadline, gone Inactive since it left the second, and a draft.
func v2Bots() []lifecycle.Bot {
	mk := func(id lifecycle.BotID, st lifecycle.State, acts uint64, senders ...lifecycle.Sender) lifecycle.Bot {
		b := lifecycle.Bot{ID: id, Name: string(id), Channel: "sms", Senders: senders, Definition: historyDefinition(),
			IdleTimeout: time.Hour, State: st, Revision: 3, Activations: acts, CreatedAt: v2Start.Add(-time.Hour), UpdatedAt: v2Start}
		if acts > 0 {
			b.FirstActivatedAt, b.ActivatedAt = v2Start.Add(-time.Hour), v2Start.Add(-time.Hour)
		}
		return b
	}
	cur := mk("cur", lifecycle.Active, 2, v2One, v2Two)
	cur.Live = []lifecycle.SenderState{{Sender: v2One, State: lifecycle.Active, Activation: 2}, {Sender: v2Two, State: lifecycle.Active, Activation: 2}}
	old := mk("old", lifecycle.Deactivated, 1, v2One)
	old.DeactivatedAt, old.GraceDeadline = v2Start, v2Deadline
	old.Live = []lifecycle.SenderState{{Sender: v2One, State: lifecycle.Deactivated, Activation: 1, GraceDeadline: v2Deadline}}
	gone := mk("gone", lifecycle.Inactive, 1, v2Two)
	gone.DeactivatedAt, gone.EndedAt, gone.EndReason = v2Start.Add(-time.Minute), v2Start.Add(-time.Minute), lifecycle.CloseReplaced
	return []lifecycle.Bot{cur, mk("draft", lifecycle.Draft, 0, v2One), gone, old}
}

// v2Sessions: one open session on cur and on old, one closed on gone.
func v2Sessions() []lifecycle.Session {
	at := v2Start.Add(time.Minute)
	return []lifecycle.Session{
		{ID: 1, Sender: v2One, EndUser: "u1", Bot: "cur", Activation: 2, OpenedAt: at, LastActivityAt: at, Messages: 3},
		{ID: 2, Sender: v2One, EndUser: "u2", Bot: "old", Activation: 1, OpenedAt: at, LastActivityAt: at, Messages: 1},
		{ID: 3, Sender: v2Two, EndUser: "u3", Bot: "gone", Activation: 1, OpenedAt: v2Start.Add(-time.Hour), LastActivityAt: v2Start.Add(-30 * time.Minute),
			ClosedAt: v2Start.Add(-time.Minute), CloseReason: lifecycle.CloseReplaced, Messages: 2},
	}
}

func v2Schedule() lifecycle.Schedule {
	return lifecycle.Schedule{ID: "sc", Seq: 1, At: v2Deadline.Add(time.Hour), Action: lifecycle.ScheduledAction{Op: lifecycle.OpDeactivate, Bot: "cur"},
		CreatedBy: "mia", CreatedAt: v2Start, Edition: "e", Revision: 1, Status: lifecycle.SchedulePending}
}

func v2Audit() []lifecycle.AuditEntry {
	return []lifecycle.AuditEntry{{Seq: 1, Time: v2Start, Actor: "mia", Roles: roles.MustSet(roles.Manager)}, {Seq: 2, Time: v2Start, Actor: "ada", Roles: roles.MustSet(roles.Admin)}}
}

// writeV2 creates a file at schema version 2, today's before version 3,
// with the rows version 2 of this package wrote for v2Bots, v2Sessions,
// v2Schedule, v2Audit and two users.
func writeV2(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	exec, done := rawExec(t, ctx, path)
	defer done()
	for _, name := range []string{"migrations/001_init.sql", "migrations/002_senders_schedules.sql"} {
		script, err := migrations.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		exec(string(script))
	}
	exec(`PRAGMA user_version = 2`)
	for _, b := range v2Bots() {
		writeV2Bot(t, exec, b)
	}
	for _, s := range v2Sessions() {
		// Opened, then closed, as version 2 did: the triggers count both.
		exec(`INSERT INTO sessions (id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			int64(s.ID), s.Sender.Channel, s.Sender.Address, s.EndUser, string(s.Bot), int64(s.Activation), s.OpenedAt.UnixNano(), s.LastActivityAt.UnixNano(), int64(s.Messages))
		if !s.Open() {
			exec(`UPDATE sessions SET closed_at = ?, close_reason = ? WHERE id = ?`, s.ClosedAt.UnixNano(), string(s.CloseReason), int64(s.ID))
		}
	}
	sc := v2Schedule()
	doc, err := binarydoc.Encode(sc)
	if err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO schedules (id, seq, at, status, revision, doc) VALUES (?, ?, ?, ?, ?, ?)`, string(sc.ID), int64(sc.Seq), sc.At.UnixNano(), string(sc.Status), int64(sc.Revision), doc)
	for _, e := range v2Audit() {
		doc, err := binarydoc.Encode(e)
		if err != nil {
			t.Fatal(err)
		}
		exec(`INSERT INTO audit_log (seq, entry) VALUES (?, ?)`, int64(e.Seq), doc)
	}
	exec(`INSERT INTO role_assignments (user_id, roles) VALUES ('mia', ?), ('ada', ?)`, int64(roles.MustSet(roles.Manager)), int64(roles.MustSet(roles.Admin)))
}

func v2Nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// writeV2Bot writes b as version 2's Commit did: the bot's state and
// copies of its fields in bots, and in bot_senders its state on each
// sender (Inactive where it is off), activation and deadline there, and
// when it left Active.
func writeV2Bot(t *testing.T, exec func(string, ...any), b lifecycle.Bot) {
	t.Helper()
	doc, err := binarydoc.Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	exec(`INSERT INTO bots (id, state, revision, activations, idle_timeout, grace_deadline, ended_at, end_reason, doc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		string(b.ID), int64(b.State), int64(b.Revision), int64(b.Activations), int64(b.IdleTimeout), v2Nanos(b.GraceDeadline), v2Nanos(b.EndedAt), string(b.EndReason), doc)
	var left any
	if b.State != lifecycle.Active {
		left = v2Nanos(b.DeactivatedAt)
	}
	for _, snd := range b.Senders {
		on, ok := b.On(snd)
		if !ok {
			on.State = lifecycle.Inactive
		}
		exec(`INSERT INTO bot_senders (bot_id, channel, address, state, activation, grace_deadline, left_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			string(b.ID), snd.Channel, snd.Address, int64(on.State), int64(on.Activation), v2Nanos(on.GraceDeadline), left)
	}
}

// A file written by schema version 2 migrates to the latest version
// without losing a bot, session, schedule, audit entry or role, with the
// rows the core computes for its bots, everything in the default workspace
// (R27: version 4), and goes on routing, draining and rolling back.
func TestMigrateFromV2(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v2.db")
	writeV2(t, path)
	st := openMigrated(t, path)
	checkV2Kept(t, st)
	checkV2Rows(t, st)
	checkDefaultWorkspace(t, st, v2One, 3)
	if s, err := st.Route(ctx, "", v2Two, "u4", v2Start.Add(2*time.Minute)); err != nil || s.ID != 4 || s.Bot != "cur" {
		t.Fatalf("R27: a new session after migrating = %+v, %v; want session 4 of the default workspace, on cur", s, err)
	}

	// The open sessions go on (the fast path: one statement), the drain is
	// due at its deadline, a rollback from cur finds gone.
	if s, err := st.Route(ctx, "", v2One, "u1", v2Start.Add(2*time.Minute)); err != nil || s.ID != 1 || s.Messages != 4 {
		t.Fatalf("R10: cur's open session after migrating = %+v, %v; want session 1 with 4 messages", s, err)
	}
	if s, err := st.Route(ctx, "", v2One, "u2", v2Start.Add(2*time.Minute)); err != nil || s.ID != 2 || s.Bot != "old" {
		t.Fatalf("R9: old's session before its deadline = %+v, %v; want session 2", s, err)
	}
	if due, err := st.Due(ctx, "", v2Deadline, 10); err != nil || len(due.Drains) != 1 || due.Drains[0].ID != "old" || len(due.Schedules) != 0 {
		t.Fatalf("Due at old's deadline = %+v, %v; want old's drain", due, err)
	}
	if _, last, err := st.SenderBots(ctx, "", []lifecycle.Sender{v2One, v2Two}, "cur"); err != nil || last == nil || last.ID != "old" {
		t.Fatalf("R20: the last bot to leave Active after migrating = %v, %v; want old (left at %v, after gone)", last, err, v2Start)
	}
	if _, last, err := st.SenderBots(ctx, "", []lifecycle.Sender{v2Two}, "cur"); err != nil || last == nil || last.ID != "gone" {
		t.Fatalf("R20: the last bot to leave Active on %v after migrating = %v, %v; want gone", v2Two, last, err)
	}
	if n, err := st.SweepSessions(ctx, "", v2Deadline, 10); err != nil || n != 1 {
		t.Fatalf("SweepSessions at old's deadline = %d, %v; want 1", n, err)
	}
	if s, err := st.session(ctx, 2); err != nil || s.CloseReason != lifecycle.CloseGraceExpired || !s.ClosedAt.Equal(v2Deadline) {
		t.Fatalf("R9: old's session after the sweep = %+v, %v; want grace_expired at the deadline", s, err)
	}
}

// checkV2Kept checks that every bot, session, schedule, audit entry and
// role of writeV2 reads back as written.
func checkV2Kept(t *testing.T, st *Store) {
	t.Helper()
	ctx := context.Background()
	want := v2Bots()
	want[0].OpenActivations, want[3].OpenActivations = []uint64{2}, []uint64{1}
	if got, err := st.Bots(ctx, "", "", everything); err != nil || !cmp.Equal(want, got) {
		t.Errorf("bots after migrating: %v (-want +got):\n%s", err, cmp.Diff(want, got))
	}
	if got, err := st.Sessions(ctx, "", 0, 10); err != nil || !cmp.Equal(v2Sessions(), got) {
		t.Errorf("sessions after migrating: %v (-want +got):\n%s", err, cmp.Diff(v2Sessions(), got))
	}
	if got, err := st.Schedules(ctx, "", 0, everything); err != nil || !cmp.Equal([]lifecycle.Schedule{v2Schedule()}, got) {
		t.Errorf("schedules after migrating: %v %+v", err, got)
	}
	if got, err := st.AuditLog(ctx, "", 0, everything); err != nil || !cmp.Equal(v2Audit(), got) {
		t.Errorf("audit log after migrating: %v (-want +got):\n%s", err, cmp.Diff(v2Audit(), got))
	}
	if rs, admins, err := st.Roles(ctx, "", "mia"); err != nil || rs != roles.MustSet(roles.Manager) || admins != 1 {
		t.Errorf("mia's roles after migrating = %v, %d Admins, %v; want Manager, 1", rs, admins, err)
	}
	stats, err := st.SessionStats(ctx, "")
	wantStats := []lifecycle.SessionStats{
		{Bot: "cur", Sender: v2One, Opened: 1, Open: 1, Messages: 3, Closed: map[lifecycle.CloseReason]uint64{}},
		{Bot: "gone", Sender: v2Two, Opened: 1, Messages: 2, Closed: map[lifecycle.CloseReason]uint64{lifecycle.CloseReplaced: 1}},
		{Bot: "old", Sender: v2One, Opened: 1, Open: 1, Messages: 1, Closed: map[lifecycle.CloseReason]uint64{}},
	}
	if err != nil || !cmp.Equal(wantStats, stats) {
		t.Errorf("session counts after migrating: %v (-want +got):\n%s", err, cmp.Diff(wantStats, stats))
	}
}

// checkV2Rows checks that bot_senders and bots.due hold what the core
// computes for each bot (Change.Rows, Change.Due).
func checkV2Rows(t *testing.T, st *Store) {
	t.Helper()
	type row struct {
		Bot, Slot                   string
		Activation, Until, Left, At int64
	}
	read := func(q string) []row {
		rows, err := st.w.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.Bot, &r.Slot, &r.Activation, &r.Until, &r.Left, &r.At); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
		return out
	}
	var want []row
	for _, b := range v2Bots() {
		c := lifecycle.Change{Bot: b.ID, After: &b}
		for _, r := range c.Rows() {
			want = append(want, row{string(b.ID), string(r.Slot), int64(r.Activation), zeroNanos(r.ServesUntil), zeroNanos(r.LeftActive), zeroNanos(c.Due())})
		}
	}
	got := read(`SELECT bot_id, coalesce(slot, ''), activation, coalesce(serves_until, 0), coalesce(left_active, 0), coalesce(b.due, 0)
		FROM bot_senders JOIN bots AS b ON b.id = bot_id ORDER BY bot_id = 'cur' DESC, bot_id = 'draft' DESC, bot_id = 'gone' DESC, bot_id, channel, address`)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows after migrating are not the core's (-want +got):\n%s", diff)
	}
}

func zeroNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// checkDefaultWorkspace checks that a migrated file keeps its rows in the
// default workspace (R27): another workspace reads none of them, cannot
// name claimed, a sender of the migrated bots, and numbers its audit log
// from 1, while the default one goes on from nextAudit.
func checkDefaultWorkspace(t *testing.T, st *Store, claimed lifecycle.Sender, nextAudit uint64) {
	t.Helper()
	ctx := context.Background()
	bots, err := st.Bots(ctx, "acme", "", everything)
	sessions, err2 := st.Sessions(ctx, "acme", 0, 10)
	audit, err3 := st.AuditLog(ctx, "acme", 0, 10)
	_, admins, err4 := st.Roles(ctx, "acme", "mia")
	if len(bots)+len(sessions)+len(audit)+admins != 0 || errors.Join(err, err2, err3, err4) != nil {
		t.Errorf("R27: another workspace reads migrated rows: %d bots, %d sessions, %d entries, %d Admins, %v", len(bots), len(sessions), len(audit), admins, errors.Join(err, err2, err3, err4))
	}
	b := lifecycle.Bot{ID: "x", Workspace: "acme", State: lifecycle.Draft, Name: "x", Channel: claimed.Channel, Senders: []lifecycle.Sender{claimed}, Revision: 1}
	_, err = st.Commit(ctx, lifecycle.Plan{Workspace: "acme", Changes: []lifecycle.Change{{Bot: "x", To: lifecycle.Draft, After: &b}}})
	var ce *lifecycle.ClaimError
	if !errors.As(err, &ce) || ce.Sender != claimed {
		t.Errorf("R27: another workspace naming %v, a migrated bot's sender = %v; want a ClaimError", claimed, err)
	}
	for ws, want := range map[lifecycle.Workspace]uint64{"": nextAudit, "acme": 1} {
		out, err := st.Commit(ctx, lifecycle.Plan{Workspace: ws, Audit: []lifecycle.AuditEntry{{Time: v2Start, Actor: "ada", Action: lifecycle.OpGet}}})
		if err != nil || len(out) != 1 || out[0].Seq != want {
			t.Errorf("R27: the next audit entry of workspace %q after migrating = %+v, %v; want seq %d", ws, out, err, want)
		}
	}
}
