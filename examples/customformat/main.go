// Command customformat is a service that writes its bots in its own format
// (R25): a tiny JSON flow of nodes, checked by its own validate.Checker
// with one error rule and one warning rule. The lifecycle stores, copies,
// exports and imports the flow byte for byte and never reads it; the
// checker decides activation. A bot goes live, a broken copy is refused, a
// fixed copy with a warning is acknowledged and replaces the first with a
// grace period.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/validate"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "customformat:", err)
		os.Exit(1)
	}
}

// The flows of the story, as the service's designers write them.
const (
	v1Flow = `{"start": "hello", "nodes": [
  {"id": "hello", "say": "Hi! Pizza or pasta?", "next": "order"},
  {"id": "order", "say": "Coming right up."}]}`
	// v2 points to a node it forgot to write: an error.
	v2Broken = `{"start": "hello", "nodes": [
  {"id": "hello", "say": "Hi! Try our vegan menu.", "next": "menu"}]}`
	// v2 fixed, with a node nothing leads to yet: a warning.
	v2Fixed = `{"start": "hello", "nodes": [
  {"id": "hello", "say": "Hi! Try our vegan menu.", "next": "order"},
  {"id": "order", "say": "Coming right up."},
  {"id": "survey", "say": "How was it?"}]}`
)

type story struct {
	ctx context.Context
	w   io.Writer
	m   *lifecycle.Manager
	clk *clock.Mock
}

func (s *story) say(format string, args ...any) { fmt.Fprintf(s.w, format+"\n", args...) }

func run(w io.Writer) error {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 5, 4, 18, 0, 0, 0, time.UTC))
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Clock: clk,
		Policy: lifecycle.Policy{Checker: FlowChecker{}}})
	if err != nil {
		return err
	}
	s := &story{ctx: context.Background(), w: w, m: m, clk: clk}
	if _, err := m.GrantRole(s.ctx, lifecycle.System("provisioning"), "mia", roles.Manager); err != nil {
		return err
	}
	line, err := lifecycle.NewSender("whatsapp", "+1 555 0100")
	if err != nil {
		return err
	}
	v1, err := s.goLive(line)
	if err != nil {
		return err
	}
	v2, err := s.refuseBroken(v1)
	if err != nil {
		return err
	}
	if err := s.replaceWithGrace(v1, v2, line); err != nil {
		return err
	}
	return s.formats(v2)
}

// goLive creates v1 in the flow format and activates it.
func (s *story) goLive(line lifecycle.Sender) (lifecycle.Bot, error) {
	mia := lifecycle.User("mia")
	v1, err := s.m.Create(s.ctx, mia, lifecycle.Create{Name: "Pizza v1", Channel: "whatsapp", Senders: []lifecycle.Sender{line},
		Definition: lifecycle.Definition{Format: FlowFormat, Text: v1Flow}})
	if err != nil {
		return v1, err
	}
	if _, err := s.m.Activate(s.ctx, mia, v1.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		return v1, err
	}
	s.say("v1 is live: its flow has no findings")
	return v1, nil
}

// refuseBroken duplicates v1 into v2 with a broken flow: the checker's
// error refuses the activation and nothing changes.
func (s *story) refuseBroken(v1 lifecycle.Bot) (lifecycle.Bot, error) {
	mia := lifecycle.User("mia")
	v2, err := s.m.Duplicate(s.ctx, mia, v1.ID, "Pizza v2")
	if err != nil {
		return v2, err
	}
	broken := lifecycle.Definition{Format: FlowFormat, Text: v2Broken}
	if _, err := s.m.Update(s.ctx, mia, lifecycle.Update{Bot: v2.ID, Definition: &broken}); err != nil {
		return v2, err
	}
	_, err = s.m.Activate(s.ctx, mia, v2.ID, lifecycle.Grace(10*time.Minute), lifecycle.Ack{})
	var ve *lifecycle.ValidationError
	if !errors.As(err, &ve) {
		return v2, fmt.Errorf("a broken flow went live: %v", err)
	}
	s.say("v2 with a broken flow is refused:")
	for _, f := range ve.Report.Findings {
		s.say("  %v", f)
	}
	return v2, nil
}

// replaceWithGrace fixes v2 (one warning left), acknowledges the warning
// by the report's fingerprint and replaces v1 with a grace period: v1
// keeps its open session until the deadline.
func (s *story) replaceWithGrace(v1, v2 lifecycle.Bot, line lifecycle.Sender) error {
	mia := lifecycle.User("mia")
	if _, err := s.m.Route(s.ctx, line, "+15557654321"); err != nil { // a conversation with v1
		return err
	}
	fixed := lifecycle.Definition{Format: FlowFormat, Text: v2Fixed}
	if _, err := s.m.Update(s.ctx, mia, lifecycle.Update{Bot: v2.ID, Definition: &fixed}); err != nil {
		return err
	}
	_, err := s.m.Activate(s.ctx, mia, v2.ID, lifecycle.Grace(10*time.Minute), lifecycle.Ack{})
	var we *lifecycle.WarningsError
	if !errors.As(err, &we) {
		return fmt.Errorf("an unacknowledged warning did not block: %v", err)
	}
	s.say("v2 fixed still warns: %v", we.Unacknowledged[0])
	if _, err := s.m.Activate(s.ctx, mia, v2.ID, lifecycle.Grace(10*time.Minute), lifecycle.Ack{Fingerprint: we.Report.Fingerprint()}); err != nil {
		return err
	}
	old, err := s.m.Get(s.ctx, mia, v1.ID)
	if err != nil {
		return err
	}
	s.say("acknowledged: v2 is live, v1 is %v until %s", old.State, old.GraceDeadline.Format("15:04"))
	sess, err := s.m.Route(s.ctx, line, "+15557654321")
	if err != nil {
		return err
	}
	fresh, err := s.m.Route(s.ctx, line, "+15550000001")
	if err != nil {
		return err
	}
	s.say("the open conversation stays with %s; a new one goes to %s", name(sess.Bot, v1), name(fresh.Bot, v1))
	s.clk.Add(10 * time.Minute)
	if _, err := s.m.ExpireDue(s.ctx); err != nil {
		return err
	}
	if old, err = s.m.Get(s.ctx, mia, v1.ID); err != nil {
		return err
	}
	s.say("after the grace period v1 is %v", old.State)
	return nil
}

// formats shows the document kept byte for byte through export and
// import, and a reference-format bot refused: this service reads only its
// own format.
func (s *story) formats(v2 lifecycle.Bot) error {
	mia := lifecycle.User("mia")
	doc, err := s.m.Export(s.ctx, mia, v2.ID)
	if err != nil {
		return err
	}
	imported, err := s.m.Import(s.ctx, mia, doc)
	if err != nil {
		return err
	}
	s.say("export and import keep the flow byte for byte: %v", imported.Definition.Text == v2Fixed)
	ref, err := lifecycle.ReferenceDefinition(validate.Definition{EntryDialog: "hi"})
	if err != nil {
		return err
	}
	_, err = s.m.Create(s.ctx, mia, lifecycle.Create{Name: "Reference bot", Channel: "whatsapp", Definition: ref})
	if !errors.Is(err, lifecycle.ErrInvalidInput) {
		return fmt.Errorf("a format the checker does not read was accepted: %v", err)
	}
	s.say("a reference-format bot is refused: %v", err)
	return nil
}

// name is "v1" for v1's id and "v2" for any other.
func name(id lifecycle.BotID, v1 lifecycle.Bot) string {
	if id == v1.ID {
		return "v1"
	}
	return "v2"
}
