package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store/sqlite"
	"github.com/botlife/botlife/store/storetest"
)

func newStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "botlife.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) lifecycle.Store { return newStore(t) })
}
