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
// Idempotency-Key) in the gateway's Scope of a SQLite store holding 10 or
// 20,000 entries. The Scope is at its item bound, so every keep also drops
// the oldest entry and the Scope holds as many throughout: the gateway's
// steady state. Its time should not grow with the entries held.
func BenchmarkKeepRoute(b *testing.B) {
	for _, held := range []int{10, 20_000} {
		b.Run(fmt.Sprintf("held=%d", held), func(b *testing.B) {
			k := newBenchKeeper(b)
			k.gatewayItems = held
			s := api.Scope{Kind: api.KindGateway, Workspace: "acme", User: "gateway"}
			ctx := context.Background()
			now := time.Now()
			fillScope(b, k, s, held, now.Add(24*time.Hour))
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
		})
	}
}

// newBenchKeeper returns the database keeper of a new SQLite store.
func newBenchKeeper(b *testing.B) *sqlKeeper {
	bk, err := openStore(b.Context(), "sqlite:"+b.TempDir()+"/botlife.db", true)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(bk.close)
	return bk.keeper()
}

// fillScope writes n finished /route-sized entries of s straight into
// service_kept, in one transaction (keeping them one by one would take
// long with the keeper that scanned its Scope per entry).
func fillScope(b *testing.B, k *sqlKeeper, s api.Scope, n int, expires time.Time) {
	ctx := context.Background()
	tx, err := k.db.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	response, _ := kinds(s)
	value := []byte(strings.Repeat("v", 400))
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
}
