package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
)

// keeperScript runs the same operations on a keeper and writes down every
// answer: claims, replays, finishing, releasing, plans (taken once, by
// their own Scope only), expiry, and the per-Scope bounds (4 entries, 2 KiB
// a Scope here) with a Scope over its bounds dropping its own oldest
// finished entries and never another Scope's.
func keeperScript(t *testing.T, k api.Keeper) []string {
	ctx := context.Background()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	ada, ida := api.Scope{User: "ada"}, api.Scope{Workspace: "acme", User: "ada"}
	var log []string
	note := func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }
	claim := func(s api.Scope, key, req string, now int) {
		kept, err := k.Claim(ctx, s, key, []byte(req), at(now), at(now+60))
		switch {
		case err != nil:
			note("claim %s %s: %v", s.User+"@"+string(s.Workspace), key, errors.Is(err, api.ErrNotKept))
		case kept == nil:
			note("claim %s %s: mine", s.User+"@"+string(s.Workspace), key)
		default:
			note("claim %s %s: held by %q, answer %q", s.User+"@"+string(s.Workspace), key, kept.Request, kept.Response)
		}
	}
	finish := func(s api.Scope, key, req, resp string, now int) {
		err := k.Finish(ctx, s, key, []byte(req), []byte(resp), at(now), at(now+60))
		note("finish %s %s: not kept %v, err %v", s.User, key, errors.Is(err, api.ErrNotKept), err != nil && !errors.Is(err, api.ErrNotKept))
	}
	plan := func(s api.Scope, id, p string, now int) {
		err := k.KeepPlan(ctx, s, id, []byte(p), at(now), at(now+10))
		note("keep plan %s %s: not kept %v, err %v", s.User, id, errors.Is(err, api.ErrNotKept), err != nil && !errors.Is(err, api.ErrNotKept))
	}
	take := func(s api.Scope, id string, now int) {
		p, err := k.TakePlan(ctx, s, id, at(now))
		note("take plan %s@%s %s: %q %v", s.User, s.Workspace, id, p, err)
	}

	claim(ada, "k1", "req-1", 0)
	claim(ada, "k1", "req-1", 1) // in flight
	claim(ida, "k1", "req-1", 1) // another Scope: its own key
	finish(ada, "k1", "req-1", "201 bot-1", 2)
	claim(ada, "k1", "req-2", 3) // replay (the Server compares the request)
	finish(ada, "k1", "req-2", "other", 3)
	claim(ada, "k2", "req-1", 4)
	_ = k.Release(ctx, ada, "k2", []byte("req-other")) // not its claim: stays
	claim(ada, "k2", "req-1", 5)
	_ = k.Release(ctx, ada, "k2", []byte("req-1"))
	claim(ada, "k2", "req-3", 6) // free again
	claim(ada, "k3", "req-1", 10)
	finish(ada, "k3", "req-1", "late", 80) // its claim expired at 70
	claim(ada, "k3", "req-4", 81)
	claim(ada, "k1", "req-5", 200) // k1's answer expired at 62

	plan(ada, "p1", "plan one", 300)
	take(ida, "p1", 301) // another Scope's: not found, not used up
	take(ada, "p1", 302)
	take(ada, "p1", 303) // used
	plan(ada, "p2", "plan two", 304)
	take(ada, "p2", 315) // expired at 314

	// Bounds: 4 items, 2 KiB a Scope.
	for i := range 5 {
		plan(ida, fmt.Sprintf("q%d", i), "x", 400+i) // the fifth drops q0
	}
	take(ida, "q0", 406)
	take(ida, "q1", 406)
	plan(ida, "big", strings.Repeat("y", 2048), 407) // larger than a share
	claim(ida, "big", "req", 408)
	finish(ida, "big", "req", strings.Repeat("z", 2048), 409) // refused: the key is free again
	claim(ida, "big", "req-again", 410)
	for i := range 4 {
		claim(ida, fmt.Sprintf("c%d", i), "r", 411) // claims in flight are never dropped
	}
	claim(ida, "c9", "r", 412) // every item in flight: refused
	take(ida, "q4", 413)       // dropped to make room for the claims
	claim(ada, "k3", "req-4", 414)

	// A claim of a key held evicts nothing; a finished entry is the newest.
	zed := api.Scope{User: "zed"}
	claim(zed, "a", "r", 500)
	claim(zed, "b", "r", 500)
	finish(zed, "b", "r", "B", 501)
	finish(zed, "a", "r", "A", 502) // order now: b, a
	plan(zed, "p1", "x", 503)
	plan(zed, "p2", "x", 504) // full: b, a, p1, p2
	claim(zed, "a", "r2", 505)
	take(zed, "p1", 506) // still there
	plan(zed, "p1", "x", 507)
	plan(zed, "p3", "x", 508) // drops b, the oldest
	claim(zed, "b", "r3", 509)
	claim(zed, "a", "r3", 510)

	// One id of three kinds is three Scopes: the gateway's key is not the
	// key of a user named "gateway", nor the system's of one named so.
	for i, s := range []api.Scope{{Kind: api.KindGateway, User: "gw"}, {User: "gw"}, {Kind: api.KindSystem, User: "gw"}} {
		claim(s, "m1", fmt.Sprint("r-", s.Kind), 600+i)
		finish(s, "m1", fmt.Sprint("r-", s.Kind), fmt.Sprint("answer to ", s.Kind), 600+i)
	}
	for i, s := range []api.Scope{{Kind: api.KindGateway, User: "gw"}, {User: "gw"}, {Kind: api.KindSystem, User: "gw"}} {
		claim(s, "m1", "r-again", 610+i)
		plan(s, "p", fmt.Sprint("plan of ", s.Kind), 610+i)
	}
	take(api.Scope{User: "gw"}, "p", 615)
	take(api.Scope{Kind: api.KindGateway, User: "gw"}, "p", 615)

	// The gateway's share is its own, larger one (8 items here, a user's
	// 4): its ninth answer drops its first, and only then.
	gw := api.Scope{Kind: api.KindGateway, Workspace: "acme", User: "gateway"}
	for i := range 9 {
		claim(gw, fmt.Sprint("msg-", i), "route", 700+i)
		finish(gw, fmt.Sprint("msg-", i), "route", fmt.Sprint("session ", i), 700+i)
		if i >= 7 {
			claim(gw, "msg-0", "route", 700+i) // replayed at 7; dropped at 8, and its claim then drops msg-1
			claim(gw, "msg-1", "route", 700+i)
		}
	}
	return log
}

// newTestKeeper returns the database keeper of a new store with the
// script's bounds.
func newTestKeeper(t *testing.T, store string) *sqlKeeper {
	b, err := openStore(t.Context(), store, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.close)
	k := b.keeper()
	k.userBytes, k.userItems = 2048, 4
	k.gatewayBytes, k.gatewayItems = 4096, 8
	return k
}

// The database keepers (SQLite, PostgreSQL) answer the script exactly as
// the Server's MemoryKeeper does, whose bounds the issue's attack test
// holds (issue 28).
func TestKeeperParity(t *testing.T) {
	want := keeperScript(t, api.NewMemoryKeeper(api.KeepLimits{Bytes: 1 << 30, UserBytes: 2048, UserItems: 4, GatewayBytes: 4096, GatewayItems: 8}))
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) string
	}{{"sqlite", sqliteStore}, {"postgres", func(t *testing.T) string { return newDatabase(t) }}} {
		t.Run(tc.name, func(t *testing.T) {
			got := keeperScript(t, newTestKeeper(t, tc.store(t)))
			for i := range max(len(got), len(want)) {
				g, w := "", ""
				if i < len(got) {
					g = got[i]
				}
				if i < len(want) {
					w = want[i]
				}
				if g != w {
					t.Errorf("step %d: %s\n   the memory keeper: %s", i, g, w)
				}
			}
		})
	}
	if testing.Verbose() {
		t.Log(strings.Join(want, "\n"))
	}
}

// Replicas racing with one Idempotency-Key: exactly one claims it, on
// either database.
func TestKeeperClaimRace(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) string
	}{{"sqlite", sqliteStore}, {"postgres", func(t *testing.T) string { return newDatabase(t) }}} {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.store(t)
			keepers := []*sqlKeeper{newTestKeeper(t, st), newTestKeeper(t, st)}
			now := time.Now()
			for round := range 10 {
				var wins sync.WaitGroup
				var mu sync.Mutex
				mine := 0
				for i := range 8 {
					wins.Go(func() {
						kept, err := keepers[i%2].Claim(context.Background(), api.Scope{User: fmt.Sprint("dan-", round)}, "key", []byte("req"), now, now.Add(time.Hour))
						if err != nil {
							t.Error(err)
						}
						if kept == nil && err == nil {
							mu.Lock()
							mine++
							mu.Unlock()
						}
					})
				}
				wins.Wait()
				if mine != 1 {
					t.Errorf("round %d: %d of 8 racing claims won, want 1", round, mine)
				}
			}
		})
	}
}

// sweep deletes what has expired, everyone's, and nothing else.
func TestKeeperSweep(t *testing.T) {
	k := newTestKeeper(t, sqliteStore(t))
	ctx := t.Context()
	now := time.Now()
	for i, s := range []api.Scope{{User: "a"}, {User: "b"}, {Workspace: "acme", User: "a"}} {
		if err := k.KeepPlan(ctx, s, "old", []byte("p"), now, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := k.KeepPlan(ctx, s, "new", []byte("p"), now, now.Add(time.Duration(i+2)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := k.sweep(ctx, now.Add(time.Hour)); n != 3 || err != nil {
		t.Errorf("sweep: %d %v, want the 3 expired", n, err)
	}
	if p, _ := k.TakePlan(ctx, api.Scope{User: "b"}, "new", now); string(p) != "p" {
		t.Errorf("a live plan after the sweep: %q", p)
	}
}

// Issue 28's attack on the service: a Designer's dry-run creates of a 0.9
// MB definition under fresh Idempotency-Keys keep at most the Designer's
// share (8 MiB) in the database, and the Manager's plan and keyed response,
// made before, still work after.
func TestIssue28AttackOnTheDatabaseKeeper(t *testing.T) {
	st := sqliteStore(t)
	base, _ := start(t, st)
	_, h, _ := send(t, "POST", base+"/bots", "mia-token", pizza, "Idempotency-Key", "mine")
	made := h.Get("Location")
	_, h, _ = send(t, "DELETE", base+made+"?dry_run=true", "mia-token", "")
	plan := h.Get("Location")
	big := fmt.Sprintf(`{"name":"Big","channel":"sms","definition":{"text":%q}}`, strings.Repeat("x", 900_000))
	for i := range 12 {
		if code, _, body := send(t, "POST", base+"/bots?dry_run=true", "dan-token", big, "Idempotency-Key", fmt.Sprint("attack-", i)); code != 200 {
			t.Fatalf("dry run %d: %d %.200s", i, code, body)
		}
	}
	b, err := openStore(t.Context(), st, true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	var dan, all int64
	if err := b.db.QueryRow(`SELECT coalesce(sum(CASE WHEN principal = 'dan' THEN size END), 0), sum(size) FROM service_kept`).Scan(&dan, &all); err != nil {
		t.Fatal(err)
	}
	t.Logf("kept after the attack: dan %.1f MiB, in all %.1f MiB", float64(dan)/(1<<20), float64(all)/(1<<20))
	if dan > keepUserBytes || dan < 4<<20 {
		t.Errorf("dan keeps %d bytes: over the share of %d, or the attack kept little", dan, keepUserBytes)
	}
	if code, h, _ := send(t, "POST", base+"/bots", "mia-token", pizza, "Idempotency-Key", "mine"); code != 201 || h.Get("Location") != made {
		t.Errorf("mia's key after the attack: %d %s", code, h.Get("Location"))
	}
	if code, _, body := send(t, "POST", base+plan+"/apply", "mia-token", ""); code != 200 {
		t.Errorf("mia's plan after the attack: %d %.300s", code, body)
	}
}
