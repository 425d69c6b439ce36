package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
)

// BenchmarkKeepRoute keeps one /route-sized answer (a Claim and its
// Finish, as the Server does for a message the gateway sends with an
// Idempotency-Key) in the gateway's Scope of a SQLite or PostgreSQL
// store holding 10 or 20,000 entries. The Scope is at its item bound, so
// every keep also drops the oldest entry and the Scope holds as many
// throughout: the gateway's steady state. Its time should not grow with
// the entries held.
func BenchmarkKeepRoute(b *testing.B) {
	for _, db := range []struct {
		name  string
		store func(b *testing.B) string
	}{{"sqlite", func(b *testing.B) string { return "sqlite:" + b.TempDir() + "/botlife.db" }}, {"postgres", func(b *testing.B) string { return newDatabase(b) }}} {
		for _, held := range []int{10, 20_000} {
			b.Run(fmt.Sprintf("%s/held=%d", db.name, held), func(b *testing.B) {
				benchKeepRoute(b, db.store(b), held)
			})
		}
	}
}

// benchKeepRoute is BenchmarkKeepRoute in a Scope holding held entries of
// the store at url.
func benchKeepRoute(b *testing.B, url string, held int) {
	fillScope(b, url, held)
	k := newBenchKeeper(b, url)
	k.gatewayItems = held
	s := benchScope
	ctx := context.Background()
	now := time.Now()
	response := []byte(`{"status":202,"header":{"Content-Type":["application/json"],"Location":["/sessions/ses_0123456789ab"]},"body":"` +
		strings.Repeat("x", 300) + `"}`)
	b.ResetTimer()
	for i := range b.N {
		key := fmt.Sprint("msg-", i)
		request := sha256.Sum256([]byte(key))
		if kept, err := k.Claim(ctx, s, key, request[:], now, now.Add(24*time.Hour)); kept != nil || err != nil {
			b.Fatal(kept, err)
		}
		if err := k.Finish(ctx, s, key, request[:], response, now, now.Add(24*time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
}

// newBenchKeeper returns the database keeper of the store at url.
func newBenchKeeper(b *testing.B, url string) *sqlKeeper {
	bk, err := openStore(b.Context(), url, true)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bk.close)
	return bk.keeper()
}

// fillScope writes n finished /route-sized entries of the gateway's Scope
// straight into service_kept of the store at url, in one transaction
// (keeping them one by one would take long with a keeper that scans its
// Scope per entry). Opening the store again, as the benchmark then does,
// counts them, as it does those of a database of before the counts.
func fillScope(b *testing.B, url string, n int) {
	ctx := context.Background()
	k := newBenchKeeper(b, url)
	tx, err := k.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	s := benchScope
	response, _ := kinds(s)
	value := []byte(strings.Repeat("v", 400))
	expires := time.Now().Add(24 * time.Hour)
	for i := range n {
		key := fmt.Sprint("old-", i)
		request := sha256.Sum256([]byte(key))
		size := int64(len(key)+len(request)+len(value)) + keepOverhead
		if _, err := k.exec(ctx, tx, `INSERT INTO service_kept (workspace, principal, kind, name, request, value, size, made, expires)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, string(s.Workspace), s.User, response, key, request[:], value, size, i+1, expires.UnixNano()); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if strings.HasPrefix(url, "postgres") { // as autovacuum would soon: without statistics its planner may look a key up through another index
		if _, err := k.db.ExecContext(ctx, `ANALYZE service_kept`); err != nil {
			b.Fatal(err)
		}
	}
}

// benchScope is the gateway's Scope the benchmark keeps in.
var benchScope = api.Scope{Kind: api.KindGateway, Workspace: "acme", User: "gateway"}
