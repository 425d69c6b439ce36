package store

import (
	"context"
	"errors"
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

// TestR27ClaimRefusedCommitGrowsNoSpace: a plan for a workspace that has
// stored nothing, refused because another workspace claims its sender
// (R27), makes no store for the workspace either.
func TestR27ClaimRefusedCommitGrowsNoSpace(t *testing.T) {
	m := NewMemory()
	bot := func(ws lifecycle.Workspace) *lifecycle.Bot {
		return &lifecycle.Bot{ID: "b", Workspace: ws, Name: "b", Channel: "sms", State: lifecycle.Draft, Revision: 1,
			Senders: []lifecycle.Sender{{Channel: "sms", Address: "100"}}}
	}
	if _, err := m.Commit(t.Context(), lifecycle.Plan{Workspace: "a", Changes: []lifecycle.Change{{Bot: "b", To: lifecycle.Draft, After: bot("a")}}}); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		ws := lifecycle.Workspace(fmt.Sprint("w", i))
		_, err := m.Commit(t.Context(), lifecycle.Plan{Workspace: ws, Changes: []lifecycle.Change{{Bot: "b", To: lifecycle.Draft, After: bot(ws)}}})
		if !errors.Is(err, lifecycle.ErrSenderClaimed) {
			t.Fatalf("commit naming a claimed sender: %v, want ErrSenderClaimed", err)
		}
	}
	if n := len(*m.spaces.Load()); n != 1 {
		t.Errorf("commits refused for a claimed sender made %d workspace stores; want only a's", n-1)
	}
}
