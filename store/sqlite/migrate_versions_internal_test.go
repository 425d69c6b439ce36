package sqlite

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/internal/binarydoc"
)

// writeAt creates a file at schema version v (3 to 7: after rows, not
// rules) holding what writeV2 holds, in the tables of that version as its
// Commit, Route and sweep wrote them: the bots' rows as the core computes
// them, the default workspace from version 4 on (the triggers of version
// 4 keep sender_claims), a group per open session's activation from
// version 6 on (by the triggers of version 7 from there).
func writeAt(t *testing.T, path string, v int) {
	t.Helper()
	ctx := context.Background()
	exec, done := rawExec(t, ctx, path)
	defer done()
	scripts, err := migrationScripts()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range scripts[:v] {
		exec(m)
	}
	exec(fmt.Sprintf(`PRAGMA user_version = %d`, v))
	ws, wsv := "", []any{}
	if v >= 4 {
		ws, wsv = "workspace, ", []any{""}
	}
	with := func(args ...any) []any { return append(append([]any{}, wsv...), args...) }
	marks := func(n int) string {
		q := "?"
		for i := 1; i < n+len(wsv); i++ {
			q += ", ?"
		}
		return q
	}
	encode := func(v any) []byte {
		doc, err := binarydoc.Encode(v)
		if err != nil {
			t.Fatal(err)
		}
		return doc
	}
	for _, b := range v2Bots() {
		c := lifecycle.Change{Bot: b.ID, After: &b}
		exec(`INSERT INTO bots (`+ws+`id, revision, idle_timeout, due, doc) VALUES (`+marks(5)+`)`,
			with(string(b.ID), int64(b.Revision), int64(b.IdleTimeout), v2Nanos(c.Due()), encode(b))...)
		for _, r := range c.Rows() {
			var slot any
			if r.Slot != "" {
				slot = string(r.Slot)
			}
			exec(`INSERT INTO bot_senders (`+ws+`bot_id, channel, address, slot, activation, serves_until, left_active) VALUES (`+marks(7)+`)`,
				with(string(b.ID), r.Sender.Channel, r.Sender.Address, slot, int64(r.Activation), v2Nanos(r.ServesUntil), v2Nanos(r.LeftActive))...)
		}
	}
	for _, s := range v2Sessions() {
		exec(`INSERT INTO sessions (`+ws+`id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages) VALUES (`+marks(9)+`)`,
			with(int64(s.ID), s.Sender.Channel, s.Sender.Address, s.EndUser, string(s.Bot), int64(s.Activation), s.OpenedAt.UnixNano(), s.LastActivityAt.UnixNano(), int64(s.Messages))...)
		if !s.Open() {
			exec(`UPDATE sessions SET closed_at = ?, close_reason = ? WHERE id = ?`, s.ClosedAt.UnixNano(), string(s.CloseReason), int64(s.ID))
		}
	}
	if v >= 6 {
		exec(`INSERT OR IGNORE INTO session_groups SELECT DISTINCT workspace, bot_id, channel, address, activation, ` + dueNow + ` FROM sessions WHERE closed_at IS NULL`)
	}
	sc := v2Schedule()
	exec(`INSERT INTO schedules (`+ws+`id, seq, at, status, revision, doc) VALUES (`+marks(6)+`)`,
		with(string(sc.ID), int64(sc.Seq), sc.At.UnixNano(), string(sc.Status), int64(sc.Revision), encode(sc))...)
	for _, e := range v2Audit() {
		exec(`INSERT INTO audit_log (`+ws+`seq, entry) VALUES (`+marks(2)+`)`, with(int64(e.Seq), encode(e))...)
	}
	for user, rs := range map[string]roles.Set{"mia": roles.MustSet(roles.Manager), "ada": roles.MustSet(roles.Admin)} {
		exec(`INSERT INTO role_assignments (`+ws+`user_id, roles) VALUES (`+marks(2)+`)`, with(user, int64(rs))...)
	}
}

// migrationScripts returns the embedded migrations' text, in order.
func migrationScripts() ([]string, error) {
	names, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		return nil, err
	}
	out := make([]string, len(names))
	for i, name := range names {
		b, err := migrations.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out[i] = string(b)
	}
	return out, nil
}

// A file written at every schema version after rows, not rules - 3 to 7
// (1 and 2: TestMigrateFromV1, TestMigrateFromV2) - opens at the
// latest without losing a bot, session, schedule, audit entry or role,
// with the rows the core computes, everything in the default workspace
// (R27), and goes on routing (R10), draining (R9) and sweeping.
func TestMigrateFromEveryVersion(t *testing.T) {
	for v := 3; v < latestVersion(t); v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "old.db")
			writeAt(t, path, v)
			st := openMigrated(t, path)
			checkV2Kept(t, st)
			checkV2Rows(t, st)
			checkDefaultWorkspace(t, st, v2One, 3)
			now := v2Start.Add(2 * time.Minute)
			if s, err := st.Route(ctx, "", v2One, "u1", now); err != nil || s.ID != 1 || s.Messages != 4 {
				t.Fatalf("R10: cur's open session after migrating = %+v, %v; want session 1 with 4 messages", s, err)
			}
			if s, err := st.Route(ctx, "", v2Two, "u4", now); err != nil || s.ID != 4 || s.Bot != "cur" {
				t.Fatalf("R10: a new session after migrating = %+v, %v; want session 4, on cur", s, err)
			}
			if n, err := st.SweepSessions(ctx, "", v2Deadline, 10); err != nil || n != 1 {
				t.Fatalf("R9: SweepSessions at old's deadline = %d, %v; want 1", n, err)
			}
			if s, err := st.session(ctx, 2); err != nil || s.CloseReason != lifecycle.CloseGraceExpired || !s.ClosedAt.Equal(v2Deadline) {
				t.Fatalf("R9: old's session after the sweep = %+v, %v; want grace_expired at the deadline", s, err)
			}
		})
	}
}

// R9, issue 24: a bot that a process of a version before 6 changed in a
// file at version 6, during a rolling upgrade (its commit knew no
// session_groups; version 7's triggers came later), has its sessions swept
// once they are over after opening at the latest. A sweep had left the
// group due never (the bot, Active without an idle timeout, ended none of
// its sessions); the deactivation without grace ended them, but nothing
// made the group due again.
func TestMigrateSweepsGroupsAnEarlierVersionLeftStale(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v6.db")
	exec, done := rawExec(t, ctx, path)
	scripts, err := migrationScripts()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range scripts[:6] {
		exec(m)
	}
	exec(`PRAGMA user_version = 6`)
	t0 := v2Start
	bot := lifecycle.Bot{ID: "cur", Name: "cur", Channel: "sms", Senders: []lifecycle.Sender{v2One}, Definition: historyDefinition(), State: lifecycle.Active,
		Revision: 2, Activations: 1, CreatedAt: t0.Add(-time.Hour), UpdatedAt: t0.Add(-time.Hour), FirstActivatedAt: t0.Add(-time.Hour),
		ActivatedAt: t0.Add(-time.Hour), Live: []lifecycle.SenderState{{Sender: v2One, State: lifecycle.Active, Activation: 1}}}
	off := bot
	off.State, off.Revision, off.Live, off.UpdatedAt = lifecycle.Inactive, 3, nil, t0
	off.DeactivatedAt, off.EndedAt, off.EndReason = t0, t0, lifecycle.CloseDeactivated
	doc, err := binarydoc.Encode(bot)
	if err != nil {
		t.Fatal(err)
	}
	offDoc, err := binarydoc.Encode(off)
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(-time.Minute).UnixNano()
	exec(`INSERT INTO bots (workspace, id, revision, idle_timeout, due, doc) VALUES ('', 'cur', 2, 0, NULL, ?)`, doc)
	exec(`INSERT INTO bot_senders (workspace, bot_id, channel, address, slot, activation) VALUES ('', 'cur', ?, ?, 'active', 1)`, v2One.Channel, v2One.Address)
	exec(`INSERT INTO sessions (workspace, id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages) VALUES ('', 1, ?, ?, 'u1', 'cur', 1, ?, ?, 1)`,
		v2One.Channel, v2One.Address, at, at)
	// A sweep of version 6 left the group due never: no session of it can end.
	exec(`INSERT INTO session_groups VALUES ('', 'cur', ?, ?, 1, ?)`, v2One.Channel, v2One.Address, int64(math.MaxInt64))
	// A process of version 5 deactivates the bot without grace.
	exec(`UPDATE bots SET revision = 3, doc = ? WHERE id = 'cur'`, offDoc)
	exec(`UPDATE bot_senders SET slot = NULL, activation = 0, left_active = ? WHERE bot_id = 'cur'`, t0.UnixNano())
	done()

	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.SweepSessions(ctx, "", t0.Add(time.Minute), everything); err != nil || n != 1 {
		t.Fatalf("R9: a sweep after the deactivation closed %d, %v; want the bot's session", n, err)
	}
	if s, err := st.session(ctx, 1); err != nil || s.CloseReason != lifecycle.CloseDeactivated || !s.ClosedAt.Equal(t0) {
		t.Errorf("R9: the session after the sweep = %+v, %v; want closed deactivated at %v", s, err, t0)
	}
}
