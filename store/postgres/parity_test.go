package postgres_test

import (
	"context"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/store/postgres"
	"github.com/botlife/botlife/store/storetest"
)

// TestParity runs random operation sequences through a Manager on the
// memory store and one on PostgreSQL side by side and requires the same
// answers and contents after every step (issue 14): hostile text (R21),
// clock jumps and deadlines at the edge included. Each sequence starts from
// an empty schema in one database (truncated between sequences, which is
// much quicker than a database each). More sequences:
//
//	go test -run TestParity -rapid.checks=1000
func TestParity(t *testing.T) {
	st, _ := newStore(t)
	pool := st.Pool()
	storetest.RunParity(t,
		// The memory store keeps closed sessions as a persistent store does.
		func(*testing.T) lifecycle.Store { return store.NewMemory(store.WithRetention(0)) },
		func(t *testing.T) lifecycle.Store {
			if _, err := pool.Exec(context.Background(), `
				TRUNCATE bots, bot_senders, role_assignments, audit_log, sessions, session_stats, schedules, workspace_heads, sender_claims`); err != nil {
				t.Fatal(err)
			}
			return postgres.New(pool)
		})
}
