// Command quickstart is the shortest useful botlife program: create a bot,
// validate it (it has a warning), activate it acknowledging the warning, and
// route a message to it.
package main

import (
	"context"
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
		fmt.Fprintln(os.Stderr, "quickstart:", err)
		os.Exit(1)
	}
}

func run(w io.Writer) error {
	ctx := context.Background()
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory()})
	if err != nil {
		return err
	}
	// The hosting service makes its first user a Manager, acting as the
	// system (R19); from then on, users act with their roles.
	if _, err := m.GrantRole(ctx, lifecycle.System("provisioning"), "mia", roles.Manager); err != nil {
		return err
	}
	me := lifecycle.User("mia")

	line, err := lifecycle.NewSender("sms", "+1 555 0100")
	if err != nil {
		return err
	}
	def, err := lifecycle.ReferenceDefinition(validate.Definition{EntryDialog: "hello", Dialogs: []validate.Dialog{
		{ID: "hello", Name: "Hello", Elements: []validate.Element{
			{Type: validate.Text, Text: "Hello! Reply STOP to stop."},
			{Type: validate.Close},
		}},
	}})
	if err != nil {
		return err
	}
	bot, err := m.Create(ctx, me, lifecycle.Create{
		Name: "Hello bot", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: def,
	})
	if err != nil {
		return err
	}

	report, err := m.Validate(ctx, me, bot.ID)
	if err != nil {
		return err
	}
	for _, f := range report.Findings {
		fmt.Fprintln(w, "validation:", f)
	}

	// Without acknowledging the warning, activation is refused.
	if _, err := m.Activate(ctx, me, bot.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		fmt.Fprintln(w, "refused:", err)
	}
	if _, err := m.Activate(ctx, me, bot.ID, lifecycle.Decision{}, lifecycle.Ack{Fingerprint: report.Fingerprint()}); err != nil {
		return err
	}
	fmt.Fprintln(w, "activated:", bot.Name)

	s, err := m.Route(ctx, line, "+15557654321")
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "routed: message from %s -> session %d on %q\n", s.EndUser, s.ID, bot.Name)
	return nil
}
