package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/postgres"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
)

// A database a newer version of botlife migrated - it records a schema
// version this one does not know - is refused by Migrate with an error
// wrapping lifecycle.ErrUnavailable that says to upgrade, as store/sqlite
// refuses such a file, and Migrate changes nothing: this version's code
// would write rows the newer schema does not expect (a column it dropped,
// a rule it moved), on every bot, session, schedule and audit entry.
func TestMigrateRefusesNewerSchema(t *testing.T) {
	st, _ := newStore(t)
	ctx := context.Background()
	scripts, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	newer := len(scripts) + 1
	if _, err := st.Pool().Exec(ctx, `INSERT INTO botlife_schema_migrations (version) VALUES ($1)`, newer); err != nil {
		t.Fatal(err)
	}
	versions := func() []int32 {
		t.Helper()
		rows, _ := st.Pool().Query(ctx, `SELECT version FROM botlife_schema_migrations ORDER BY version`)
		v, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	before := versions()
	err = st.Migrate(ctx)
	if !errors.Is(err, lifecycle.ErrUnavailable) || !strings.Contains(err.Error(), "upgrade botlife") {
		t.Fatalf("Migrate on a database of schema version %d = %v, want an error wrapping ErrUnavailable that says to upgrade botlife", newer, err)
	}
	if diff := cmp.Diff(before, versions()); diff != "" {
		t.Errorf("the applied migrations after a refused Migrate (-before +after):\n%s", diff)
	}
	// A second store of this version, as a replica starting, is refused too.
	other, err := postgres.Open(ctx, st.Pool().Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Migrate(ctx); !errors.Is(err, lifecycle.ErrUnavailable) {
		t.Errorf("Migrate of another store on the newer database = %v, want ErrUnavailable", err)
	}
}

// R9, R27, issue 24: a database at every schema version after workspaces
// (7 to 12; 1, 2, 3 and 6 have tests of their own) migrates to the latest
// without losing a bot, session, schedule, audit entry or role, and a
// sweep closes its open session once it idles out. At version 11 the
// session has no row in session_groups: a process of a version before 11,
// still running during a rolling upgrade, opened it (sqlOpen inserted it
// and knew no session_groups; version 12's trigger came later), as
// migration 007 of store/sqlite says of its own version 6.
func TestMigrateFromEveryVersion(t *testing.T) {
	scripts, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for v := 7; v < len(scripts); v++ {
		t.Run(fmt.Sprintf("v%d", v), func(t *testing.T) {
			conn, url := schemaAt(t, v)
			ctx := context.Background()
			o := newOlderContent(t)
			// As the stores of these versions wrote them, in the default workspace.
			execAll(t, conn, []stmt{
				{`INSERT INTO bots (id, revision, idle_timeout, doc) VALUES ('cur', 2, $1, $2)`, []any{int64(o.bot.IdleTimeout), o.doc}},
				{`INSERT INTO bot_senders (bot_id, channel, address, slot, activation) VALUES ('cur', 'sms', '+15550100', 'active', 1)`, nil},
				{`INSERT INTO sender_claims VALUES ('sms', '+15550100', '', 1)`, nil},
				{`INSERT INTO role_assignments (user_id, roles) VALUES ('mia', $1)`, []any{int16(o.want.Mia)}},
				{`INSERT INTO audit_log (seq, entry) SELECT ord, e::jsonb FROM unnest($1::text[]) WITH ORDINALITY AS x(e, ord)`, []any{o.audit}},
				{`INSERT INTO schedules (id, seq, at, status, revision, doc) VALUES ('s1', 1, $1, 'pending', 1, $2)`, []any{o.t0.Add(time.Hour).UnixNano(), o.schedule}},
				{`INSERT INTO sessions (id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, activity_floor, messages, closed_at, close_reason)
					VALUES (1, 'sms', '+15550100', 'u1', 'cur', 1, $1, $1, botlife_activity_floor($1, $2), 2, NULL, ''),
					(2, 'sms', '+15550100', 'u2', 'cur', 1, $1, $1, botlife_activity_floor($1, $2), 1, $1 + 1, 'completed')`, []any{o.at, int64(o.bot.IdleTimeout)}},
				{`INSERT INTO workspace_heads VALUES ('', 'audit', 2), ('', 'schedule', 1), ('', 'session', 2)`, nil},
			})

			st := openMigrated(t, ctx, url)
			if diff := cmp.Diff(o.want, dump(t, st, "")); diff != "" {
				t.Errorf("R27: the default workspace after migrating (-written +read):\n%s", diff)
			}
			checkStats(t, st)
			open := o.want.Sessions[0]
			idle := open.LastActivityAt.Add(o.bot.IdleTimeout)
			if n, err := st.SweepSessions(ctx, "", idle, everything); err != nil || n != 1 {
				t.Fatalf("R9: a sweep when session 1 idles out (%v) closed %d, %v; want 1", idle, n, err)
			}
			open.ClosedAt, open.CloseReason = idle, lifecycle.CloseIdleTimeout
			if got, err := st.Sessions(ctx, "", 0, 1); err != nil || len(got) != 1 || !cmp.Equal(open, got[0]) {
				t.Errorf("R9: session 1 after the sweep = %+v, %v; want %+v", got, err, open)
			}
		})
	}
}

// R9, issue 24: a session that a process of a version before 6 opened on
// a database at version 6, during a rolling upgrade (it knew no
// activity_floor and left it NULL), counts as open after migrating to the
// latest - in Bot.OpenActivations - and a sweep closes it once it idles
// out. open_sessions_due, which both read, holds only the open sessions
// with a floor: the session stayed recorded open for good, unseen.
func TestMigrateFloorsSessionsAnEarlierVersionOpened(t *testing.T) {
	conn, url := schemaAt(t, 6)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	bot, doc := activeCur(t, t0, 30*time.Minute)
	execAll(t, conn, []stmt{
		{`INSERT INTO bots (id, revision, idle_timeout, doc) VALUES ('cur', 2, $1, $2)`, []any{int64(bot.IdleTimeout), doc}},
		{`INSERT INTO bot_senders (bot_id, channel, address, slot, activation) VALUES ('cur', 'sms', '+15550100', 'active', 1)`, nil},
		// As a process of version 5 opened it: no activity_floor.
		{`INSERT INTO sessions (channel, address, end_user, bot_id, activation, opened_at, last_activity_at, messages) VALUES ('sms', '+15550100', 'u1', 'cur', 1, $1, $1, 1)`,
			[]any{t0.UnixNano()}},
	})
	st := openMigrated(t, ctx, url)
	if b, err := st.Bot(ctx, "", "cur"); err != nil || !cmp.Equal(b.OpenActivations, []uint64{1}) {
		t.Errorf("R9: the bot's open activations after migrating = %v, %v; want [1], its open session's", b.OpenActivations, err)
	}
	idle := t0.Add(bot.IdleTimeout)
	if n, err := st.SweepSessions(ctx, "", idle, everything); err != nil || n != 1 {
		t.Fatalf("R9: a sweep when the session idles out (%v) closed %d, %v; want 1", idle, n, err)
	}
}

// R9, issue 24: a bot that a process of a version before 11 changed on a
// database at version 11, during a rolling upgrade (its commit knew no
// session_groups; version 12's trigger came later), has its sessions swept
// once they are over after migrating to the latest. The sweep before had
// left the group due never (the bot, Active without an idle timeout, ended
// none of them); the deactivation without grace ended them, but nothing
// made the group due again.
func TestMigrateSweepsGroupsAnEarlierVersionLeftStale(t *testing.T) {
	conn, url := schemaAt(t, 11)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	bot, doc := activeCur(t, t0, 0)
	off := bot
	off.State, off.Revision, off.Live, off.UpdatedAt = lifecycle.Inactive, 3, nil, t0
	off.DeactivatedAt, off.EndedAt, off.EndReason = t0, t0, lifecycle.CloseDeactivated
	offDoc, err := postgres.EncodeBot(off)
	if err != nil {
		t.Fatal(err)
	}
	at := t0.Add(-time.Minute).UnixNano()
	execAll(t, conn, []stmt{
		{`INSERT INTO bots (id, revision, idle_timeout, doc) VALUES ('cur', 2, 0, $1)`, []any{doc}},
		{`INSERT INTO bot_senders (bot_id, channel, address, slot, activation) VALUES ('cur', 'sms', '+15550100', 'active', 1)`, nil},
		{`INSERT INTO sender_claims VALUES ('sms', '+15550100', '', 1)`, nil},
		{`INSERT INTO sessions (id, channel, address, end_user, bot_id, activation, opened_at, last_activity_at, activity_floor, messages)
			VALUES (1, 'sms', '+15550100', 'u1', 'cur', 1, $1, $1, botlife_activity_floor($1, 0), 1)`, []any{at}},
		{`INSERT INTO workspace_heads VALUES ('', 'session', 1)`, nil},
		// A sweep of version 11 left the group due never: no session of it can end.
		{`INSERT INTO session_groups VALUES ('', 'cur', 'sms', '+15550100', 1, 9223372036854775807)`, nil},
		// A process of version 10 deactivates the bot without grace.
		{`UPDATE bots SET revision = 3, doc = $1 WHERE id = 'cur'`, []any{offDoc}},
		{`UPDATE bot_senders SET slot = NULL, activation = 0, left_at = $1 WHERE bot_id = 'cur'`, []any{t0.UnixNano()}},
	})
	st := openMigrated(t, ctx, url)
	now := t0.Add(time.Minute)
	if n, err := st.SweepSessions(ctx, "", now, everything); err != nil || n != 1 {
		t.Fatalf("R9: a sweep after the deactivation closed %d, %v; want the bot's session", n, err)
	}
	if got, err := st.Sessions(ctx, "", 0, 1); err != nil || len(got) != 1 || got[0].CloseReason != lifecycle.CloseDeactivated || !got[0].ClosedAt.Equal(t0) {
		t.Errorf("R9: the session after the sweep = %+v, %v; want closed deactivated at %v", got, err, t0)
	}
}
