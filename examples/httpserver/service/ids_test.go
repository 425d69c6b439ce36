package main

import (
	"log/slog"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// TestR27ReadableIDsPerWorkspace: with the default -ids readable, each
// workspace numbers its own bots: a customer's two creates are bot-1 and
// bot-2 whatever other customers made in between (no figure reveals
// another workspace's data). Found by review: one counter for the whole
// database gave bot-1 and bot-7.
func TestR27ReadableIDsPerWorkspace(t *testing.T) {
	ctx := t.Context()
	b, err := openStore(ctx, sqliteStore(t), true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	m, err := lifecycle.New(lifecycle.Config{Store: b, NewID: b.newID("readable", slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	acme, err := m.Workspace("acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []*lifecycle.Manager{m, acme} {
		if _, err := in.GrantRole(ctx, lifecycle.System("test"), "dan", roles.Designer); err != nil {
			t.Fatal(err)
		}
	}
	dan := lifecycle.User("dan")
	create := func(in *lifecycle.Manager) lifecycle.BotID {
		bot, err := in.Create(ctx, dan, lifecycle.Create{Name: "x", Channel: "sms"})
		if err != nil {
			t.Fatal(err)
		}
		return bot.ID
	}
	first := create(acme)
	for range 5 { // another customer's activity
		create(m)
	}
	second := create(acme)
	if first != "bot-1" || second != "bot-2" {
		t.Errorf("R27: acme's consecutive bots are %s and %s: the gap counts the bots another workspace made", first, second)
	}
}
