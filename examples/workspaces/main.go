// Command workspaces hosts two customers in one store (R27): each has its
// own users, roles, bots, senders, sessions and audit log, and neither can
// see or touch the other's. A sender belongs to one customer at a time.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/validate"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "workspaces:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	ctx := context.Background()
	// One Manager over one store; each customer's requests run on a
	// Manager bound to its workspace (a service takes it from the
	// authenticated principal, never from the request body).
	base, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory()})
	if err != nil {
		return err
	}
	acme, err := base.Workspace("acme")
	if err != nil {
		return err
	}
	globex, err := base.Workspace("globex")
	if err != nil {
		return err
	}
	def, err := lifecycle.ReferenceDefinition(validate.Definition{EntryDialog: "hi", FallbackDialog: "hi", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello!"}, {Type: validate.Close}}},
	}})
	if err != nil {
		return err
	}
	mia := lifecycle.User("mia") // a user id: the same id is a different person in each workspace
	line := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	var acmeBot lifecycle.Bot
	for _, c := range []struct {
		name string
		m    *lifecycle.Manager
	}{{"acme", acme}, {"globex", globex}} {
		// Each workspace provisions its own first user (R19, P2 per workspace).
		if _, err := c.m.GrantRole(ctx, lifecycle.System("provisioning"), "mia", roles.Manager); err != nil {
			return err
		}
		bot, err := c.m.Create(ctx, mia, lifecycle.Create{Name: c.name + " support", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: def})
		if errors.Is(err, lifecycle.ErrSenderClaimed) {
			fmt.Fprintf(w, "%s: refused: %v\n", c.name, err)
			continue
		}
		if err != nil {
			return err
		}
		if _, err := c.m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
			return err
		}
		fmt.Fprintf(w, "%s: %q is Active on %s\n", c.name, bot.Name, line)
		acmeBot = bot
	}
	s, err := acme.Route(ctx, line, "+15557654321")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "acme: message -> session %d of %q\n", s.ID, acmeBot.Name)
	// Another workspace's ids are not found - never forbidden, which would
	// say they exist.
	if _, err := globex.Get(ctx, mia, acmeBot.ID); errors.Is(err, lifecycle.ErrNotFound) {
		fmt.Fprintf(w, "globex: %v\n", err)
	}
	if _, err := globex.Route(ctx, line, "+15557654321"); errors.Is(err, lifecycle.ErrNoBot) {
		fmt.Fprintf(w, "globex: %v\n", err)
	}
	for _, c := range []struct {
		name string
		m    *lifecycle.Manager
	}{{"acme", acme}, {"globex", globex}} {
		bots, err := c.m.List(ctx, mia, "", 10)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s lists %d bot(s)\n", c.name, len(bots))
	}
	return nil
}
