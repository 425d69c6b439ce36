package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// TestR27ReadsGrowNoSpaces: "reads naming any workspace never grow the
// store": neither WaitAudit (Watch) nor a refused Commit makes a workspace's
// store (64 session shards, indexes) for a name they are given (found by review).
func TestR27ReadsGrowNoSpaces(t *testing.T) {
	m := NewMemory()
	for i := range 100 {
		ctx, cancel := context.WithTimeout(t.Context(), time.Millisecond)
		_ = m.WaitAudit(ctx, lifecycle.Workspace(fmt.Sprint("w", i)), 0)
		cancel()
	}
	// A plan refused (a stale revision) in yet another workspace.
	_, err := m.Commit(t.Context(), lifecycle.Plan{Workspace: "refused", Changes: []lifecycle.Change{{Bot: "b", Revision: 7, To: lifecycle.Deleted}}})
	if err == nil {
		t.Fatal("commit not refused")
	}
	if n := len(*m.spaces.Load()); n != 0 {
		t.Errorf("reads and a refused commit made %d workspace stores in a store nothing was written to", n)
	}
}
