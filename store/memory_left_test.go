package store

import (
	"context"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// Memory for closed things is bounded: two bots taking turns on one sender
// a thousand times leave one LastActive entry each there, not one per turn.
func TestLeftEntriesStayBounded(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	s := lifecycle.Sender{Channel: "sms", Address: "100"}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	bots := map[lifecycle.BotID]lifecycle.Bot{}
	for _, id := range []lifecycle.BotID{"a", "b"} {
		bots[id] = lifecycle.Bot{ID: id, Name: string(id), Channel: "sms", Senders: []lifecycle.Sender{s}, State: lifecycle.Draft, Revision: 1}
		b := bots[id]
		if _, err := m.Commit(ctx, lifecycle.Plan{Changes: []lifecycle.Change{{Bot: id, To: lifecycle.Draft, After: &b}}}); err != nil {
			t.Fatal(err)
		}
	}
	on, off := lifecycle.BotID("a"), lifecycle.BotID("b")
	for i := 0; i < 1000; i++ {
		now = now.Add(time.Second)
		up, down := bots[on], bots[off]
		up.State, up.Activations, up.ActivatedAt = lifecycle.Active, up.Activations+1, now
		up.Live = []lifecycle.SenderState{{Sender: s, State: lifecycle.Active, Activation: up.Activations}}
		changes := []lifecycle.Change{{Bot: on, From: bots[on].State, To: lifecycle.Active, Revision: bots[on].Revision, After: &up}}
		if down.State == lifecycle.Active {
			down.State, down.Live, down.DeactivatedAt, down.EndedAt = lifecycle.Inactive, nil, now, now
			changes = append(changes, lifecycle.Change{Bot: off, From: lifecycle.Active, To: lifecycle.Inactive, Revision: down.Revision, After: &down})
		}
		for i := range changes {
			changes[i].After.Revision = changes[i].Revision + 1
		}
		if _, err := m.Commit(ctx, lifecycle.Plan{Changes: changes}); err != nil {
			t.Fatalf("turn %d: %v", i, err)
		}
		bots[on], bots[off] = up, down
		on, off = off, on
	}
	if n := m.def().senderRec(s).left.len(); n > 2 {
		t.Fatalf("%d LastActive entries on the sender after 1,000 turns of two bots; want at most one per bot", n)
	}
	active, other := off, on // swapped after the last turn
	_, got, err := m.SenderBots(ctx, "", []lifecycle.Sender{s}, active)
	if err != nil || got == nil || got.ID != other {
		t.Fatalf("R20: the last active bot = %v, %v; want %s", got, err, other)
	}
}

// Memory for closed things is bounded: a deleted bot leaves the sorted
// ids Bots pages through, and a user whose roles were all revoked leaves
// the roles - neither keeps an entry once gone.
func TestDeletedBotsAndRevokedRolesLeaveMemory(t *testing.T) {
	ctx := context.Background()
	m := NewMemory()
	s := lifecycle.Sender{Channel: "sms", Address: "100"}
	b := lifecycle.Bot{ID: "a", Name: "a", Channel: "sms", Senders: []lifecycle.Sender{s}, State: lifecycle.Draft, Revision: 1}
	for _, p := range []lifecycle.Plan{
		{Changes: []lifecycle.Change{{Bot: "a", To: lifecycle.Draft, After: &b}}},
		{Roles: []lifecycle.RoleChange{{User: "amy", To: roles.MustSet(roles.Designer)}}},
		{Changes: []lifecycle.Change{{Bot: "a", From: lifecycle.Draft, To: lifecycle.Deleted, Revision: 1}}},
		{Roles: []lifecycle.RoleChange{{User: "amy", From: roles.MustSet(roles.Designer)}}},
	} {
		if _, err := m.Commit(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	sp := m.def()
	if sp.ids.root != nil || len(sp.bots) != 0 {
		t.Errorf("after its deletion the bot is kept: %d bots, id tree %v", len(sp.bots), sp.ids.root)
	}
	if len(sp.roles) != 0 {
		t.Errorf("after every role was revoked %d users are kept in the roles", len(sp.roles))
	}
}
