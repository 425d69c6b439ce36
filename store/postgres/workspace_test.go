package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// unholdable are workspaces PostgreSQL text cannot hold: no commit stores
// anything in them (Commit refuses them, R21).
var unholdable = []lifecycle.Workspace{"bad\xffutf8", "nul\x00inside", "\xed\xa0\x80"}

// R27, R21: every method answers for a workspace the store cannot hold as
// the memory store answers for one that has stored nothing - nothing
// there, no error - where PostgreSQL refused the text (ErrInvalidInput)
// and only Commit checked it. Claimed still names the senders other
// workspaces hold. Both stores hold the same bot, on a sender it claims,
// with a session open, in the default workspace. storetest has no case
// for such a workspace (the core refuses to name one; a Store is called
// directly too).
func TestR27UnholdableWorkspaceHoldsNothing(t *testing.T) {
	ctx := context.Background()
	pg, _ := newStore(t)
	snd := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	stores := []lifecycle.Store{store.NewMemory(store.WithRetention(0)), pg}
	for _, st := range stores {
		m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: &stepClock{t: start}, NewID: func(lifecycle.Workspace) lifecycle.BotID { return "bot-1" }})
		if err != nil {
			t.Fatal(err)
		}
		mia := lifecycle.User("mia")
		if _, err := m.GrantRole(ctx, lifecycle.System("test"), "mia", roles.Manager); err != nil {
			t.Fatal(err)
		}
		b, err := m.Create(ctx, mia, lifecycle.Create{Name: "b", Channel: "sms", Senders: []lifecycle.Sender{snd}, Definition: definition(), IdleTimeout: time.Hour})
		if err == nil {
			_, err = m.Activate(ctx, mia, b.ID, lifecycle.Immediate(), lifecycle.Ack{})
		}
		if err == nil {
			_, err = m.Route(ctx, snd, "u1")
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	later := start.Add(3 * time.Hour)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, ws := range unholdable {
		for _, tc := range []struct {
			name string
			call func(lifecycle.Store) (any, error)
		}{
			{"Bot", func(st lifecycle.Store) (any, error) { return st.Bot(ctx, ws, "bot-1") }},
			{"Bots", func(st lifecycle.Store) (any, error) { return st.Bots(ctx, ws, "", everything) }},
			{"SenderBots", func(st lifecycle.Store) (any, error) {
				live, last, err := st.SenderBots(ctx, ws, []lifecycle.Sender{snd}, "bot-2")
				return []any{live, last}, err
			}},
			{"Due", func(st lifecycle.Store) (any, error) { return st.Due(ctx, ws, later, everything) }},
			{"Roles", func(st lifecycle.Store) (any, error) {
				rs, admins, err := st.Roles(ctx, ws, "mia")
				return []any{rs, admins}, err
			}},
			{"Claimed", func(st lifecycle.Store) (any, error) {
				return st.Claimed(ctx, ws, []lifecycle.Sender{snd, {Channel: "sms", Address: "+15550199"}})
			}},
			{"AuditLog", func(st lifecycle.Store) (any, error) { return st.AuditLog(ctx, ws, 0, everything) }},
			{"Schedule", func(st lifecycle.Store) (any, error) { return st.Schedule(ctx, ws, "s1") }},
			{"Schedules", func(st lifecycle.Store) (any, error) { return st.Schedules(ctx, ws, 0, everything) }},
			{"Route", func(st lifecycle.Store) (any, error) { return st.Route(ctx, ws, snd, "u1", later) }},
			{"Route/test sender", func(st lifecycle.Store) (any, error) {
				return st.Route(ctx, ws, lifecycle.Sender{Channel: lifecycle.TestChannel, Address: "t1"}, "u1", later)
			}},
			{"Sessions", func(st lifecycle.Store) (any, error) { return st.Sessions(ctx, ws, 0, everything) }},
			{"CloseSession", func(st lifecycle.Store) (any, error) {
				return st.CloseSession(ctx, ws, 1, lifecycle.CloseReason("done"), later)
			}},
			{"SweepSessions", func(st lifecycle.Store) (any, error) { return st.SweepSessions(ctx, ws, later, everything) }},
			{"SessionStats", func(st lifecycle.Store) (any, error) { return st.SessionStats(ctx, ws) }},
			{"WaitAudit/cancelled", func(st lifecycle.Store) (any, error) {
				return nil, st.(lifecycle.AuditWaiter).WaitAudit(cancelled, ws, 0)
			}},
		} {
			t.Run(fmt.Sprintf("%+q/%s", ws, tc.name), func(t *testing.T) {
				type answer struct {
					Value any
					Err   string
					Input bool // the error wraps ErrInvalidInput
				}
				var got [2]answer
				for i, st := range stores {
					v, err := tc.call(st)
					got[i] = answer{v, fmt.Sprint(err), errors.Is(err, lifecycle.ErrInvalidInput)}
				}
				if diff := cmp.Diff(got[0], got[1], cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("(-memory +postgres):\n%s", diff)
				}
			})
		}
	}
	// Nothing changed in the default workspace: the session stays open.
	if s, err := pg.Sessions(ctx, "", 0, everything); err != nil || len(s) != 1 || !s[0].Open() {
		t.Fatalf("sessions = %+v, %v; want the one open session", s, err)
	}
}
