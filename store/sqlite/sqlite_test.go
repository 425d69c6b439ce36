package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

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

// activitySettings are the write-behind settings the conformance and
// parity tests run under: write-through (the default); a flush every
// millisecond, so that the flusher races every operation; and a flush
// every minute, so that everything goes through the in-memory sessions and
// the writes that operations make first.
var activitySettings = []struct {
	name  string
	flush time.Duration
}{
	{"write-through", 0},
	{"write-behind-1ms", time.Millisecond},
	{"write-behind-1m", time.Minute},
}

func TestConformance(t *testing.T) {
	for _, a := range activitySettings {
		t.Run(a.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) lifecycle.Store {
				return newStoreWith(t, sqlite.Options{ActivityFlush: a.flush})
			})
		})
	}
}

// TestParity runs the store-parity test (issue 14): random sequences of
// operations through a Manager on the memory store and one on SQLite must
// give the same answers and leave the same contents, hostile text (R21),
// clock jumps and deadlines at the edge included; with and without
// write-behind of session activity.
func TestParity(t *testing.T) {
	for _, a := range activitySettings {
		t.Run(a.name, func(t *testing.T) {
			storetest.RunParity(t,
				func(*testing.T) lifecycle.Store { return store.NewMemory(store.WithRetention(0)) },
				// SyncNormal: the answers are the same under either
				// setting, and the run is quicker without a sync per
				// commit.
				func(t *testing.T) lifecycle.Store {
					return newStoreWith(t, sqlite.Options{Synchronous: sqlite.SyncNormal, ActivityFlush: a.flush})
				})
		})
	}
}
