package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// session reads one session as the Manager does: a page of Sessions.
func (s *Store) session(ctx context.Context, id lifecycle.SessionID) (lifecycle.Session, error) {
	out, err := s.Sessions(ctx, "", id-1, 1)
	if err == nil && (len(out) != 1 || out[0].ID != id) {
		err = &lifecycle.NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
	}
	if err != nil {
		return lifecycle.Session{}, err
	}
	return out[0], nil
}

// The Admin bit written into adminWhere and migration 004's index is
// roles.Admin's, and the test channel its sender claims skip (R26, R27) is
// lifecycle.TestChannel.
func TestAdminBit(t *testing.T) {
	want := "roles & " + strconv.FormatInt(int64(roles.MustSet(roles.Admin)), 10) + " <> 0"
	if adminWhere != want {
		t.Fatalf("adminWhere = %q, want %q", adminWhere, want)
	}
	script, err := migrations.ReadFile("migrations/004_workspaces.sql")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), "WHERE "+want+";") {
		t.Fatalf("migration 004 does not index the Admins with %q", want)
	}
	if skip := "channel <> '" + lifecycle.TestChannel + "'"; strings.Count(string(script), skip) != 3 {
		t.Fatalf("migration 004 does not skip the test channel with %q in the claims and their triggers", skip)
	}
}

// Close returns once the store is done with its file: it waits for the
// statements it began preparing in the background (a preparation may open
// a connection, and with it the file's -wal and -shm), and a query first
// met afterwards starts no preparation.
func TestCloseEndsPreparations(t *testing.T) {
	ctx := context.Background()
	st, err := Open(ctx, filepath.Join(t.TempDir(), "botlife.db"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		st.rstmts.get(fmt.Sprintf("SELECT %d", i))
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*stmts{st.rstmts, st.wstmts} {
		c.get("SELECT 'after Close'")
		c.mu.Lock()
		_, started := c.m["SELECT 'after Close'"]
		c.mu.Unlock()
		if started {
			t.Error("a query first met after Close started a preparation")
		}
	}
}
