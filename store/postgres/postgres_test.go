package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/postgres"
	"github.com/botlife/botlife/store/storetest"
	"github.com/botlife/botlife/validate"
)

// everything is a limit above what any test stores: a limit below zero
// reads nothing (lifecycle.Store).
const everything = 1 << 30

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) lifecycle.Store {
		st, _ := newStore(t)
		return st
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	st, _ := newStore(t)
	for i := 0; i < 2; i++ {
		if err := st.Migrate(context.Background()); err != nil {
			t.Fatalf("migrating again: %v", err)
		}
	}
}

func definition() lifecycle.Definition {
	def, err := lifecycle.ReferenceDefinition(validate.Definition{Channel: "sms", EntryDialog: "hi", FallbackDialog: "hi", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello"}, {Type: validate.Close}}},
	}})
	if err != nil {
		panic(err)
	}
	return def
}

// R1, R2, R15 across processes: two Managers with separate connection pools
// race to activate different bots on one sender, 50 rounds.
func TestTwoReplicas(t *testing.T) {
	_, url := newStore(t)
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC))
	var managers []*lifecycle.Manager
	var stores []*postgres.Store
	for i := 0; i < 2; i++ {
		st, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(st.Close)
		stores = append(stores, st)
		m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clk})
		if err != nil {
			t.Fatal(err)
		}
		managers = append(managers, m)
	}
	sys := lifecycle.System("replica test")
	if _, err := managers[0].GrantRole(ctx, sys, "mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
	mia := lifecycle.User("mia")
	pool := stores[0].Pool()
	for round := 0; round < 50; round++ {
		sender := lifecycle.Sender{Channel: "sms", Address: fmt.Sprintf("+1555%04d", round)}
		var ids [2]lifecycle.BotID
		for i := range ids {
			b, err := managers[i].Create(ctx, mia, lifecycle.Create{Name: fmt.Sprintf("r%d-%d", round, i), Channel: "sms", Senders: []lifecycle.Sender{sender}, Definition: definition()})
			if err != nil {
				t.Fatal(err)
			}
			ids[i] = b.ID
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i := range managers {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, errs[i] = managers[i].Activate(ctx, mia, ids[i], lifecycle.Decision{}, lifecycle.Ack{})
			}(i)
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case errors.Is(err, lifecycle.ErrSenderOccupied):
				var oe *lifecycle.OccupiedError
				if !errors.As(err, &oe) || len(oe.Occupants) != 1 || oe.Occupants[0].Bot != ids[1-i] {
					t.Fatalf("round %d: the loser's error does not name the winner: %v", round, err)
				}
			default:
				t.Fatalf("round %d: replica %d: %v", round, i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d activations won, want exactly 1 (%v)", round, won, errs)
		}
		var doubles int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT channel, address, slot FROM bot_senders
			WHERE slot IS NOT NULL GROUP BY 1, 2, 3 HAVING count(*) > 1) x`).Scan(&doubles); err != nil {
			t.Fatal(err)
		}
		if doubles != 0 {
			t.Fatalf("round %d: R1/R2: %d senders with two Active or two Deactivated bots", round, doubles)
		}
		// Replace the winner with a grace period from the other replica, so
		// the Deactivated slot is raced too.
		if round%5 == 0 {
			loser := 0
			if errs[0] == nil {
				loser = 1
			}
			if _, err := managers[loser].Activate(ctx, mia, ids[loser], lifecycle.Grace(time.Minute), lifecycle.Ack{}); err != nil {
				t.Fatalf("round %d: replacing with grace: %v", round, err)
			}
		}
	}
}

// R27: two processes (pools of their own) committing, from workspaces a and
// b at once, a bot on the same sender: in every round exactly one commit
// wins and the other is refused with ErrSenderClaimed, changing nothing;
// then the winner's workspace deletes its bot and the sender is free.
func TestSenderClaimAcrossReplicas(t *testing.T) {
	_, url := newStore(t)
	stores := [2]*postgres.Store{openStore(t, url, nil), openStore(t, url, nil)}
	spaces := [2]lifecycle.Workspace{"a", "b"}
	ctx := context.Background()
	for round := 0; round < 8; round++ {
		sender := lifecycle.Sender{Channel: "sms", Address: "+15550200"}
		id := lifecycle.BotID(fmt.Sprint("b", round))
		var wg sync.WaitGroup
		var errs [2]error
		for i, st := range stores {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := lifecycle.Bot{ID: id, Name: "b", Channel: "sms", Senders: []lifecycle.Sender{sender}, Definition: definition(),
					State: lifecycle.Draft, Revision: 1, Workspace: spaces[i]}
				_, errs[i] = st.Commit(ctx, lifecycle.Plan{Workspace: spaces[i], Changes: []lifecycle.Change{{Bot: id, To: lifecycle.Draft, After: &b}}})
			}()
		}
		wg.Wait()
		won := slices.IndexFunc(errs[:], func(err error) bool { return err == nil })
		var claim *lifecycle.ClaimError
		if won < 0 || !errors.As(errs[1-won], &claim) || claim.Sender != sender {
			t.Fatalf("R27: round %d: %v; want one success and one *lifecycle.ClaimError for %v", round, errs, sender)
		}
		if _, err := stores[1-won].Bot(ctx, spaces[1-won], id); !errors.Is(err, lifecycle.ErrNotFound) {
			t.Fatalf("R27: round %d: the refused commit stored its bot: %v", round, err)
		}
		if _, err := stores[won].Commit(ctx, lifecycle.Plan{Workspace: spaces[won],
			Changes: []lifecycle.Change{{Bot: id, From: lifecycle.Draft, To: lifecycle.Deleted, Revision: 1}}}); err != nil {
			t.Fatalf("R27: round %d: deleting the winner's bot: %v", round, err)
		}
	}
}
