package sqlite

import (
	"context"
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
