package lifecycle_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/validate"
)

// startDef is a bot that says hello on sms, in the reference format, with
// no validation findings. (It is here, beside the examples, so that each
// example shown in the documentation is a whole program.)
func startDef() lifecycle.Definition {
	def, err := lifecycle.ReferenceDefinition(validate.Definition{Channel: "sms", EntryDialog: "hi", FallbackDialog: "hi",
		Dialogs: []validate.Dialog{{ID: "hi", Name: "Hi", Elements: []validate.Element{
			{Type: validate.Text, Text: "Hello!"}, {Type: validate.Close}}}}})
	if err != nil {
		panic(err)
	}
	return def
}

// Start here: a Manager over a store, a first user, and a bot that goes
// live and takes a message. Config.Store is the only field required.
func ExampleNew() {
	ctx := context.Background()
	m, err := lifecycle.New(lifecycle.Config{
		Store:  store.NewMemory(),                     // or sqlite.Open, postgres.Open
		Policy: lifecycle.Policy{MaxGrace: time.Hour}, // the rest: defaults
	})
	if err != nil {
		panic(err)
	}
	// The service grants the first role as the system (R19).
	_, _ = m.GrantRole(ctx, lifecycle.System("bootstrap"), "mia", roles.Manager)
	mia := lifecycle.User("mia")
	line, _ := lifecycle.NewSender("sms", "+1 555 0100")
	bot, _ := m.Create(ctx, mia, lifecycle.Create{Name: "hello", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: startDef()})
	_, _ = m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{})
	s, err := m.Route(ctx, line, "+15557654321")
	fmt.Println(s.ID, err)
	// Output:
	// 1 <nil>
}

// keywordChecker is a service's own checker (R25): its format is one
// keyword per line, and an empty document is an error.
type keywordChecker struct{}

func (keywordChecker) Formats() []string { return []string{"example.keywords/v1"} }

func (keywordChecker) Check(doc validate.Document) validate.Report {
	if strings.TrimSpace(doc.Text) == "" {
		return validate.NewReport([]validate.Finding{{Code: "keywords.empty", Severity: validate.Error, Message: "the bot answers no keyword; add one per line"}})
	}
	return validate.NewReport(nil)
}

// A service's own bot format: set Policy.Checker; definitions are kept byte
// for byte and only the checker reads them.
func ExamplePolicy_checker() {
	ctx := context.Background()
	m, _ := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Policy: lifecycle.Policy{Checker: keywordChecker{}},
		NewID: func(lifecycle.Workspace) lifecycle.BotID { return "bot-1" }})
	_, _ = m.GrantRole(ctx, lifecycle.System("bootstrap"), "mia", roles.Manager)
	mia := lifecycle.User("mia")
	line := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	empty, _ := m.Create(ctx, mia, lifecycle.Create{Name: "empty", Channel: "sms", Senders: []lifecycle.Sender{line},
		Definition: lifecycle.Definition{Format: "example.keywords/v1", Text: " "}})
	_, err := m.Activate(ctx, mia, empty.ID, lifecycle.Decision{}, lifecycle.Ack{})
	fmt.Println(err)
	// Output:
	// activate: cannot activate bot bot-1: validation failed with 1 error(s); fix them and try again: the bot answers no keyword; add one per line (keywords.empty)
}

// A release at night (R23): the schedule runs when ExpireDue finds it due,
// as the user who made it.
func ExampleManager_Schedule() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC))
	m, _ := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Clock: clk})
	_, _ = m.GrantRole(ctx, lifecycle.System("bootstrap"), "mia", roles.Manager)
	mia := lifecycle.User("mia")
	line := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	bot, _ := m.Create(ctx, mia, lifecycle.Create{Name: "night", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: startDef()})
	berlin, _ := time.LoadLocation("Europe/Berlin")
	sc, _ := m.Schedule(ctx, mia, time.Date(2026, 5, 2, 2, 0, 0, 0, berlin), lifecycle.Activate{Bot: bot.ID})
	fmt.Println(sc.At, sc.Status)
	clk.Add(7 * time.Hour) // past 00:00 UTC = 02:00 in Berlin
	x, _ := m.ExpireDue(ctx)
	b, _ := m.Get(ctx, mia, bot.ID)
	fmt.Println(len(x.Schedules), b.State)
	// Output:
	// 2026-05-02 00:00:00 +0000 UTC pending
	// 1 Active
}

// Roll back a release (R20): the bot Active before on the same senders
// comes back, if its content is what it was then.
func ExampleManager_Rollback() {
	ctx := context.Background()
	m, _ := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Clock: clock.NewMock()})
	_, _ = m.GrantRole(ctx, lifecycle.System("bootstrap"), "mia", roles.Manager)
	mia := lifecycle.User("mia")
	line := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	v1, _ := m.Create(ctx, mia, lifecycle.Create{Name: "v1", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: startDef()})
	_, _ = m.Activate(ctx, mia, v1.ID, lifecycle.Decision{}, lifecycle.Ack{})
	v2, _ := m.Duplicate(ctx, mia, v1.ID, "v2")
	_, _ = m.Activate(ctx, mia, v2.ID, lifecycle.Immediate(), lifecycle.Ack{})
	plan, err := m.Rollback(ctx, mia, v2.ID, lifecycle.Immediate(), lifecycle.Ack{})
	for _, c := range plan.Changes {
		fmt.Printf("%s: %v -> %v\n", c.After.Name, c.From, c.To)
	}
	fmt.Println(err)
	// Output:
	// v2: Active -> Inactive
	// v1: Inactive -> Active
	// <nil>
}
