package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/store/sqlite"
	"github.com/botlife/botlife/store/storetest"
)

func newStore(t testing.TB) *sqlite.Store {
	t.Helper()
	return newStoreWith(t, sqlite.Options{})
}

func newStoreWith(t testing.TB, opts sqlite.Options) *sqlite.Store {
	t.Helper()
	st, err := sqlite.OpenWith(context.Background(), filepath.Join(t.TempDir(), "botlife.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// syncSettings are the durability settings the conformance and parity
// tests run under: the answers are the same under each.
var syncSettings = []sqlite.Synchronous{"", sqlite.SyncFull, sqlite.SyncNormal}

func TestConformance(t *testing.T) {
	for _, sync := range syncSettings {
		t.Run("sync="+string(sync), func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) lifecycle.Store {
				return newStoreWith(t, sqlite.Options{Synchronous: sync})
			})
		})
	}
}

// TestParity runs the store-parity test (issue 14): random sequences of
// operations through a Manager on the memory store and one on SQLite must
// give the same answers and leave the same contents, hostile text (R21),
// clock jumps and deadlines at the edge included; under each durability
// setting.
func TestParity(t *testing.T) {
	for _, sync := range syncSettings {
		t.Run("sync="+string(sync), func(t *testing.T) {
			storetest.RunParity(t,
				func(*testing.T) lifecycle.Store { return store.NewMemory(store.WithRetention(0)) },
				func(t *testing.T) lifecycle.Store { return newStoreWith(t, sqlite.Options{Synchronous: sync}) })
		})
	}
}
