package postgres_test

import (
	"context"
	"encoding/json"
	"os"
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
	if diff := cmp.Diff([]int32{1, 2}, versions); diff != "" {
		t.Fatalf("applied migrations (-want +got):\n%s", diff)
	}
}

// R20: a database written by schema version 1 (documents in jsonb, no
// left_at) migrates to version 2 with every bot readable as it was and
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
