package postgres_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Issue 25: a message on an open session changes no indexed column of
// sessions, so PostgreSQL updates the row on its page without touching an
// index (a heap-only update). The store's one connection reads its own
// counters after flushing them; 10 sessions and 30 messages fit one page,
// so the outcome does not depend on when PostgreSQL prunes it.
func TestMessageIsHeapOnlyUpdate(t *testing.T) {
	_, url := newStore(t)
	st := openStore(t, url, func(c *pgxpool.Config) { c.MaxConns = 1 })
	ctx := context.Background()
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: &stepClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	sender := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	setupRouting(t, m, sender)
	route := func(user string) {
		t.Helper()
		if _, err := m.Route(ctx, sender, user); err != nil {
			t.Fatal(err)
		}
	}
	updates := func() (all, hot int64) {
		t.Helper()
		if _, err := st.Pool().Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
			t.Fatal(err)
		}
		if err := st.Pool().QueryRow(ctx, `SELECT pg_stat_clear_snapshot(), n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'sessions'`).Scan(nil, &all, &hot); err != nil {
			t.Fatal(err)
		}
		return all, hot
	}
	const users, messages = 10, 3
	for u := 0; u < users; u++ {
		route(fmt.Sprint("u", u)) // opens a session
	}
	all0, hot0 := updates()
	for i := 0; i < messages; i++ {
		for u := 0; u < users; u++ {
			route(fmt.Sprint("u", u))
		}
	}
	all, hot := updates()
	if all-all0 != users*messages || hot-hot0 != users*messages {
		t.Fatalf("%d messages on open sessions: %d updates of sessions, %d of them heap-only; want all heap-only", users*messages, all-all0, hot-hot0)
	}
}

// R9, issue 25: activity_floor is never after the last activity, so the
// sweep's candidates hold every session that is due, and it is less than a
// step (idle_timeout / 16) before it, so the sweep reads little more than
// what is due; at the ends of the time range it does not overflow.
func TestActivityFloor(t *testing.T) {
	st, _ := newStore(t)
	const minNs, maxNs = -1 << 63, 1<<63 - 1
	for _, tc := range []struct{ at, idle, want int64 }{
		{1000, 0, minNs}, // never idles out: the floor never moves
		{1000, -5, minNs},
		{1000, 160, 1000},
		{1009, 160, 1000},
		{-1, 160, -10},
		{-10, 160, -10},
		{-11, 160, -20},
		{5, 15, 5}, // a step of at least 1
		{maxNs, 160, maxNs - 7},
		{maxNs, maxNs, maxNs - maxNs%(maxNs/16)},
		{minNs, 160, minNs},
		{minNs + 9, 160, minNs},
		{minNs + 5, maxNs, minNs},
	} {
		var got int64
		if err := st.Pool().QueryRow(context.Background(), `SELECT botlife_activity_floor($1, $2)`, tc.at, tc.idle).Scan(&got); err != nil || got != tc.want {
			t.Errorf("activity_floor(%d, idle %d) = %d, %v; want %d", tc.at, tc.idle, got, err, tc.want)
		}
	}
}
