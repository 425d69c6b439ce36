package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
)

// checkCounts fails t unless every Scope's counts in service_kept_scopes
// are a recount of its entries in service_kept: items, pending and bytes
// equal, made no less than the last entry's (it numbers the Scope's
// entries in order, and never goes back). A Scope with no entries may keep
// a row of zeros.
func checkCounts(t *testing.T, k *sqlKeeper, when string) {
	t.Helper()
	type counts struct{ items, pending, bytes, made int64 }
	read := func(q string) map[string]counts {
		rows, err := k.db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		m := map[string]counts{}
		for rows.Next() {
			var ws, user string
			var kind int
			var c counts
			if err := rows.Scan(&ws, &user, &kind, &c.items, &c.pending, &c.bytes, &c.made); err != nil {
				t.Fatal(err)
			}
			m[fmt.Sprintf("%s/%s/%d", ws, user, kind)] = c
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return m
	}
	kept := read(`SELECT workspace, principal, principal_kind, items, pending, bytes, made FROM service_kept_scopes`)
	recount := read(`SELECT workspace, principal, kind / 2, count(*), sum(CASE WHEN value IS NULL THEN 1 ELSE 0 END), sum(size), max(made)
		FROM service_kept GROUP BY workspace, principal, kind / 2`)
	for scope, c := range kept {
		r := recount[scope]
		if c.items != r.items || c.pending != r.pending || c.bytes != r.bytes || c.made < r.made {
			t.Fatalf("%s: Scope %s counts %+v, its entries %+v", when, scope, c, r)
		}
	}
	for scope, r := range recount {
		if _, ok := kept[scope]; !ok {
			t.Fatalf("%s: Scope %s has entries %+v and no counts", when, scope, r)
		}
	}
}

// The counts room reads stay a recount of the entries through a random
// run of every change to them - claims, finishing (kept, or refused and
// the claim dropped), releases, plans kept and taken, dropping the oldest
// over the bounds, expiry in a Scope and the sweep of all - on either
// database; and the keeper answers as the MemoryKeeper does throughout.
func TestKeeperCountsFollowEntries(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) string
		steps int
	}{{"sqlite", sqliteStore, 1500}, {"postgres", func(t *testing.T) string { return newDatabase(t) }, 600}} {
		t.Run(tc.name, func(t *testing.T) {
			k := newTestKeeper(t, tc.store(t))
			mem := api.NewMemoryKeeper(api.KeepLimits{Bytes: 1 << 30, UserBytes: 2048, UserItems: 4, GatewayBytes: 4096, GatewayItems: 8})
			ctx := context.Background()
			rnd := rand.New(rand.NewPCG(28, uint64(len(tc.name))))
			scopes := []api.Scope{{User: "ada"}, {Workspace: "acme", User: "ada"}, {Kind: api.KindGateway, Workspace: "acme", User: "gateway"}, {Kind: api.KindSystem, User: "ada"}}
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			answer := func(kept *api.KeptResponse, err error) string {
				if kept == nil {
					return fmt.Sprintf("mine, not kept %v, failed %v", errors.Is(err, api.ErrNotKept), err != nil && !errors.Is(err, api.ErrNotKept))
				}
				return fmt.Sprintf("held by %q, answer %q, %v", kept.Request, kept.Response, err)
			}
			last := map[api.Scope]string{} // the key claimed last: finished, released or claimed again more often
			for step := range tc.steps {
				now = now.Add(time.Duration(rnd.IntN(40)) * time.Second)
				s := scopes[rnd.IntN(len(scopes))]
				key := fmt.Sprint("k", rnd.IntN(12))
				if rnd.IntN(2) == 0 && last[s] != "" {
					key = last[s]
				}
				req := []byte(fmt.Sprint("r", rnd.IntN(2)))
				ttl := time.Duration(1+rnd.IntN(10)) * time.Minute
				size := rnd.IntN(700)
				if rnd.IntN(40) == 0 {
					size = 5000 // larger than any share
				}
				value := []byte(strings.Repeat("v", size))
				var op, got, want string
				switch rnd.IntN(7) {
				case 0, 1:
					op = "claim"
					last[s] = key
					got, want = answer(k.Claim(ctx, s, key, req, now, now.Add(ttl))), answer(mem.Claim(ctx, s, key, req, now, now.Add(ttl)))
				case 2, 3:
					op = "finish"
					got, want = fmt.Sprint(k.Finish(ctx, s, key, req, value, now, now.Add(ttl))), fmt.Sprint(mem.Finish(ctx, s, key, req, value, now, now.Add(ttl)))
				case 4:
					op = "release"
					got, want = fmt.Sprint(k.Release(ctx, s, key, req)), fmt.Sprint(mem.Release(ctx, s, key, req))
				case 5:
					op = "keep plan"
					got, want = fmt.Sprint(k.KeepPlan(ctx, s, key, value, now, now.Add(ttl))), fmt.Sprint(mem.KeepPlan(ctx, s, key, value, now, now.Add(ttl)))
				case 6:
					op = "take plan"
					p, err := k.TakePlan(ctx, s, key, now)
					got = fmt.Sprintf("%d bytes, %v", len(p), err)
					p, err = mem.TakePlan(ctx, s, key, now)
					want = fmt.Sprintf("%d bytes, %v", len(p), err)
				}
				got, want = strings.ReplaceAll(got, "<nil>", "ok"), strings.ReplaceAll(want, "<nil>", "ok")
				for _, a := range []*string{&got, &want} {
					if strings.Contains(*a, api.ErrNotKept.Error()) {
						*a = "not kept" // the keepers word why apart
					}
				}
				if got != want {
					t.Errorf("step %d: %s %s/%s %s: %s, the memory keeper: %s", step, op, s.Workspace, s.User, key, got, want)
				}
				if rnd.IntN(25) == 0 {
					if _, err := k.sweep(ctx, now); err != nil {
						t.Fatal(err)
					}
					op += " and sweep"
				}
				checkCounts(t, k, fmt.Sprintf("step %d (%s)", step, op))
			}
		})
	}
}

// A database of the schema before the counts - entries in service_kept,
// no service_kept_scopes - gets its Scopes' counts of them when the
// service opens it, once: a second opening counts nothing twice, and the
// keeper on it drops a full Scope's oldest entry, as before.
func TestKeeperCountsMigrate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) string
	}{{"sqlite", sqliteStore}, {"postgres", func(t *testing.T) string { return newDatabase(t) }}} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			st := tc.store(t)
			now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
			ada, gw := api.Scope{User: "ada"}, api.Scope{Kind: api.KindGateway, Workspace: "acme", User: "gateway"}
			k := newTestKeeper(t, st)
			for i := range 4 { // ada's share is 4: full, one in flight
				key := fmt.Sprint("a", i)
				if _, err := k.Claim(ctx, ada, key, []byte("r"), now, now.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
				if i < 3 {
					if err := k.Finish(ctx, ada, key, []byte("r"), []byte("answer "+key), now, now.Add(time.Hour)); err != nil {
						t.Fatal(err)
					}
				}
			}
			for i := range 5 {
				if err := k.KeepPlan(ctx, gw, fmt.Sprint("p", i), []byte(strings.Repeat("p", 100*i)), now, now.Add(time.Hour)); err != nil {
					t.Fatal(err)
				}
			}
			// The schema before: no counts, no index of a Scope's entries by expiry.
			if _, err := k.db.Exec(`DROP TABLE service_kept_scopes`); err != nil {
				t.Fatal(err)
			}
			if _, err := k.db.Exec(`DROP INDEX service_kept_scope_expires`); err != nil {
				t.Fatal(err)
			}

			for i := range 2 {
				k := newTestKeeper(t, st)
				checkCounts(t, k, fmt.Sprint("opened ", i+1))
				var items, pending int64
				if err := k.db.QueryRow(`SELECT items, pending FROM service_kept_scopes WHERE principal = 'ada'`).Scan(&items, &pending); err != nil || items != 4 || pending != 1 {
					t.Fatalf("opened %d: ada's counts %d items, %d pending, %v; want 4 and 1", i+1, items, pending, err)
				}
			}
			k = newTestKeeper(t, st)
			if _, err := k.Claim(ctx, ada, "a4", []byte("r"), now, now.Add(time.Hour)); err != nil { // drops a0
				t.Fatal(err)
			}
			if kept, err := k.Claim(ctx, ada, "a0", []byte("r"), now, now.Add(time.Hour)); kept != nil || err != nil {
				t.Errorf("a0 after a4 filled ada's share: %v %v, want it dropped and claimed again", kept, err)
			}
			if kept, err := k.Claim(ctx, ada, "a2", []byte("r"), now, now.Add(time.Hour)); kept == nil || string(kept.Response) != "answer a2" {
				t.Errorf("a2 after a4 filled ada's share: %v %v, want it kept", kept, err)
			}
			checkCounts(t, k, "kept after")
		})
	}
}
