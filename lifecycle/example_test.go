package lifecycle_test

import (
	"context"
	"errors"
	"fmt"
	"go/doc"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

// helloDef is a bot that says hello on sms, in the reference format, with
// no validation findings. (It is here, beside the examples, so that each
// example shown in the documentation is a whole program.)
func helloDef() lifecycle.Definition {
	def, err := lifecycle.ReferenceDefinition(validate.Definition{Channel: "sms", EntryDialog: "hi", FallbackDialog: "hi",
		Dialogs: []validate.Dialog{{ID: "hi", Name: "Hi", Elements: []validate.Element{
			{Type: validate.Text, Text: "Hello!"}, {Type: validate.Close}}}}})
	if err != nil {
		panic(err)
	}
	return def
}

func ExampleManager_Activate() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	m, _ := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Clock: clk})
	_, _ = m.GrantRole(ctx, lifecycle.System("setup"), "mia", roles.Manager)
	mia := lifecycle.User("mia")

	line := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	v1, _ := m.Create(ctx, mia, lifecycle.Create{Name: "v1", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: helloDef()})
	v2, _ := m.Create(ctx, mia, lifecycle.Create{Name: "v2", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: helloDef()})
	_, _ = m.Activate(ctx, mia, v1.ID, lifecycle.Decision{}, lifecycle.Ack{})

	// The sender is taken: activation needs a decision about v1.
	_, err := m.Activate(ctx, mia, v2.ID, lifecycle.Decision{}, lifecycle.Ack{})
	fmt.Println(errors.Is(err, lifecycle.ErrSenderOccupied))

	// Let v1's open conversations finish within 15 minutes.
	plan, _ := m.Activate(ctx, mia, v2.ID, lifecycle.Grace(15*time.Minute), lifecycle.Ack{})
	for _, c := range plan.Changes {
		fmt.Printf("%s: %v -> %v\n", c.After.Name, c.From, c.To)
	}
	// Output:
	// true
	// v1: Active -> Deactivated
	// v2: Draft -> Active
}

func ExampleDecide() {
	// Decide is pure: the same snapshot, command and time give the same plan.
	now := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	draft := lifecycle.Bot{ID: "b1", Name: "b1", Channel: "sms", State: lifecycle.Draft, Revision: 3,
		Senders: []lifecycle.Sender{{Channel: "sms", Address: "100"}}}
	_, err := lifecycle.Decide(lifecycle.Snapshot{Actor: lifecycle.User("dan"), ActorRoles: roles.MustSet(roles.Designer), Bots: []lifecycle.Bot{draft}},
		lifecycle.Deactivate{Bot: "b1"}, now)
	fmt.Println(err)
	plan, _ := lifecycle.Decide(lifecycle.Snapshot{Actor: lifecycle.User("dan"), ActorRoles: roles.MustSet(roles.Designer), Bots: []lifecycle.Bot{draft}},
		lifecycle.Delete{Bot: "b1"}, now)
	fmt.Printf("%s: %v -> %v, expecting revision %d\n", plan.Changes[0].Bot, plan.Changes[0].From, plan.Changes[0].To, plan.Changes[0].Revision)
	// Output:
	// deactivate: dan (Designer) lacks permission "Activate and deactivate chatbots"; ask an Admin for a role that grants it
	// b1: Draft -> Deleted, expecting revision 3
}

// Route decides which bot answers a message; running the bot's dialog is
// the service's. It reads the bot the session names from its store (the
// system may not read bots through the Manager, R19) and may cache its
// definition by id and revision: a bot is edited only while not live.
func ExampleManager_Route() {
	ctx := context.Background()
	st := store.NewMemory()
	m, _ := lifecycle.New(lifecycle.Config{Store: st, Clock: clock.NewMock()})
	_, _ = m.GrantRole(ctx, lifecycle.System("setup"), "mia", roles.Manager)
	mia := lifecycle.User("mia")
	line, _ := lifecycle.NewSender("sms", "+1 555 0100") // as the bot's settings keep it

	_, err := m.Route(ctx, line, "+15557654321")
	fmt.Println(err)

	b, _ := m.Create(ctx, mia, lifecycle.Create{Name: "bot", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: helloDef()})
	_, _ = m.Activate(ctx, mia, b.ID, lifecycle.Decision{}, lifecycle.Ack{})
	s, _ := m.Route(ctx, line, "+15557654321")
	s, err = m.Route(ctx, line, "+15557654321")
	fmt.Println(s.ID, s.Messages, err)

	serving, err := st.Bot(ctx, "", s.Bot) // "": the default workspace (R27)
	fmt.Println(serving.Name, serving.Revision, serving.Definition.Format, err)

	// The dialog ends: record it, and the end user's next message opens a
	// new session (left open, it would end after the bot's IdleTimeout).
	closed, _ := m.CloseSession(ctx, s.ID)
	s, _ = m.Route(ctx, line, "+15557654321")
	fmt.Println(closed.CloseReason, s.ID)

	// Senders are compared as given: build them with NewSender, as Create
	// does. One in another form finds no bot; the error gives its form.
	_, err = m.Route(ctx, lifecycle.Sender{Channel: "sms", Address: "+1 555 0100"}, "+15557654321")
	fmt.Println(errors.Is(err, lifecycle.ErrNoBot))
	// Output:
	// route: no bot is Active on sms:+15550100; activate one to answer its messages
	// 1 2 <nil>
	// bot 2 botlife.reference/v1 <nil>
	// completed 2
	// true
}

func ExampleManager_Watch() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m, _ := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Clock: clock.NewMock()})
	_, _ = m.GrantRole(ctx, lifecycle.System("setup"), "ada", roles.Admin)
	_, _ = m.GrantRole(ctx, lifecycle.System("setup"), "mia", roles.Manager)

	var last uint64 // the Seq handled last; keep it to resume after a restart
	for e, err := range m.Watch(ctx, lifecycle.User("ada"), last) {
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(e.Seq, e.Action, e.User, e.Role) // refresh caches, notify, post a webhook ...
		last = e.Seq
		if last == 2 {
			break // a service would keep waiting for the next change
		}
	}
	// Output:
	// 1 grant_role ada Admin
	// 2 grant_role mia Manager
}

// opCounter is a Tracer that counts operations by op and outcome, as a
// service's metrics would.
type opCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *opCounter) Start(ctx context.Context, op lifecycle.Op) context.Context { return ctx }

func (c *opCounter) End(_ context.Context, e lifecycle.OpEnd) {
	outcome := "ok"
	if e.Kind != nil {
		outcome = e.Kind.Error() // ErrForbidden, ErrNoBot ...: a fixed text
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[string(e.Op)+" "+outcome]++
}

func ExampleTracer() {
	ctx := context.Background()
	counts := &opCounter{n: map[string]int{}}
	m, _ := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Tracer: counts})
	_, _ = m.GrantRole(ctx, lifecycle.System("setup"), "mia", roles.Manager)
	mia := lifecycle.User("mia")

	line := lifecycle.Sender{Channel: "sms", Address: "+15550100"}
	_, _ = m.Route(ctx, line, "+15551234567") // no bot yet
	bot, _ := m.Create(ctx, mia, lifecycle.Create{Name: "hello", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: helloDef()})
	_, _ = m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{})
	for range 3 {
		_, _ = m.Route(ctx, line, "+15551234567")
	}
	_, _ = m.Get(ctx, lifecycle.User("eve"), bot.ID) // eve holds no role

	for _, k := range slices.Sorted(maps.Keys(counts.n)) {
		fmt.Println(k, counts.n[k])
	}
	// Output:
	// activate ok 1
	// create ok 1
	// get forbidden 1
	// grant_role ok 1
	// route no bot 1
	// route ok 3
}

// TestExamplesAreWholePrograms: every example of this package's
// documentation is shown as a program a reader can copy and run - go/doc
// can make it playable, so it uses nothing from another test file - and
// checks its output, so that it fails when what it shows stops being true.
func TestExamplesAreWholePrograms(t *testing.T) {
	files, err := filepath.Glob("*_test.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	n := 0
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range doc.Examples(f) {
			n++
			if ex.Play == nil {
				t.Errorf("%s: Example%s is not a whole program: it uses a name declared in another file; declare its helpers in %s", name, ex.Name, name)
			}
			if strings.TrimSpace(ex.Output) == "" {
				t.Errorf("%s: Example%s has no // Output: to check", name, ex.Name)
			}
		}
	}
	if n == 0 {
		t.Fatal("no examples found")
	}
}

// Take a bot offline with a grace period (R7, R9): its open sessions go on
// until the deadline, a new end user finds no bot, and at the deadline the
// sessions are over - as every read sees, whether or not ExpireDue ran.
func ExampleManager_Deactivate() {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC))
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Clock: clk})
	if err != nil {
		panic(err)
	}
	_, _ = m.GrantRole(ctx, lifecycle.System("setup"), "mia", roles.Manager)
	mia := lifecycle.User("mia")
	line, _ := lifecycle.NewSender("sms", "+1 555 0100")
	bot, _ := m.Create(ctx, mia, lifecycle.Create{Name: "hello", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: helloDef()})
	_, _ = m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{})
	alice, _ := m.Route(ctx, line, "+15550001")

	plan, err := m.Deactivate(ctx, mia, bot.ID, 10*time.Minute) // 0: offline at once
	if err != nil {
		panic(err)
	}
	fmt.Println(plan.Changes[0].From, "->", plan.Changes[0].To, "until", plan.Audit[0].GraceDeadline.Format(time.Kitchen))

	clk.Add(5 * time.Minute)
	s, err := m.Route(ctx, line, "+15550001") // alice's conversation goes on
	fmt.Println(s.ID == alice.ID, s.Messages, err)
	_, err = m.Route(ctx, line, "+15550002") // bob's would be a new one
	fmt.Println(errors.Is(err, lifecycle.ErrNoBot))

	clk.Add(5 * time.Minute) // the deadline; nothing has swept
	s, _ = m.Session(ctx, alice.ID)
	b, _ := m.Get(ctx, mia, bot.ID)
	fmt.Println(b.State, s.Open(), s.CloseReason, s.ClosedAt.Format(time.Kitchen))
	// Output:
	// Active -> Deactivated until 9:10AM
	// true 2 <nil>
	// true
	// Inactive false grace_expired 9:10AM
}

// Try a bot before it goes live (R26): a test session works on a bot in any
// state, Draft included, uses no sender and counts in no figure. It is
// pinned to the bot's content: an edit ends it.
func ExampleManager_OpenTestSession() {
	ctx := context.Background()
	m, _ := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Clock: clock.NewMock()})
	_, _ = m.GrantRole(ctx, lifecycle.System("setup"), "dan", roles.Designer) // Designers may test
	dan := lifecycle.User("dan")
	line, _ := lifecycle.NewSender("sms", "+1 555 0100")
	bot, _ := m.Create(ctx, dan, lifecycle.Create{Name: "draft", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: helloDef()})

	ts, err := m.OpenTestSession(ctx, dan, bot.ID)
	if err != nil {
		panic(err)
	}
	ts, err = m.SendTest(ctx, dan, ts.ID) // one message of the tester's
	fmt.Println(ts.Messages, ts.Open(), err)

	name := "draft, renamed"
	_, _ = m.Update(ctx, dan, lifecycle.Update{Bot: bot.ID, Name: &name}) // a rename keeps the content
	ts, err = m.SendTest(ctx, dan, ts.ID)
	fmt.Println(ts.Messages, err)

	def := helloDef()
	def.Text = strings.Replace(def.Text, "Hello!", "Hi there!", 1)
	_, _ = m.Update(ctx, dan, lifecycle.Update{Bot: bot.ID, Definition: &def}) // a new definition does not
	_, err = m.SendTest(ctx, dan, ts.ID)
	var over *lifecycle.SessionOverError
	if errors.As(err, &over) {
		fmt.Println(errors.Is(err, lifecycle.ErrSessionOver), over.Reason)
	}
	// Output:
	// 1 true <nil>
	// 2 <nil>
	// true content_changed
}

// One store, many customers (R27): a Manager per workspace sees that
// workspace only. Another's ids are not found, and a sender belongs to one
// workspace at a time.
func ExampleManager_Workspace() {
	ctx := context.Background()
	base, _ := lifecycle.New(lifecycle.Config{Store: store.NewMemory()}) // the default workspace
	acme, err := base.Workspace("acme")                                  // take the name from the authenticated principal
	if err != nil {
		panic(err)
	}
	globex, _ := base.Workspace("globex")
	mia := lifecycle.User("mia") // a different person in each workspace
	_, _ = acme.GrantRole(ctx, lifecycle.System("setup"), "mia", roles.Manager)
	_, _ = globex.GrantRole(ctx, lifecycle.System("setup"), "mia", roles.Manager)
	line, _ := lifecycle.NewSender("sms", "+1 555 0100")
	bot, err := acme.Create(ctx, mia, lifecycle.Create{Name: "acme", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: helloDef()})
	fmt.Println(err)

	_, err = globex.Get(ctx, mia, bot.ID)
	fmt.Println(errors.Is(err, lifecycle.ErrNotFound))
	_, err = globex.Create(ctx, mia, lifecycle.Create{Name: "globex", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: helloDef()})
	fmt.Println(errors.Is(err, lifecycle.ErrSenderClaimed))
	_, err = base.Workspace("acme corp")
	fmt.Println(err)
	// Output:
	// <nil>
	// true
	// true
	// invalid workspace "acme corp": must be 1 to 64 bytes of printable text without spaces or invisible characters, such as "acme"
}

// Warnings block activation until acknowledged (R4). The refusal carries
// the whole report: acknowledge exactly those warnings by its fingerprint,
// or name the codes to accept whatever text they come with.
func ExampleWarningsError() {
	ctx := context.Background()
	m, _ := lifecycle.New(lifecycle.Config{Store: store.NewMemory()})
	_, _ = m.GrantRole(ctx, lifecycle.System("setup"), "mia", roles.Manager)
	mia := lifecycle.User("mia")
	line, _ := lifecycle.NewSender("sms", "+1 555 0100")
	def, _ := lifecycle.ReferenceDefinition(validate.Definition{Channel: "sms", EntryDialog: "hi", // no fallback dialog: a warning
		Dialogs: []validate.Dialog{{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello!"}, {Type: validate.Close}}}}})
	bot, _ := m.Create(ctx, mia, lifecycle.Create{Name: "hello", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: def})

	_, err := m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{})
	var warned *lifecycle.WarningsError
	if !errors.As(err, &warned) {
		panic(err)
	}
	for _, f := range warned.Unacknowledged {
		fmt.Println(f.Code)
	}
	// A person reads the warnings, then acknowledges them.
	_, err = m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{Fingerprint: warned.Report.Fingerprint()})
	b, _ := m.Get(ctx, mia, bot.ID)
	fmt.Println(b.State, err)
	// Output:
	// fallback.missing
	// Active <nil>
}

// TestREADMENamesRealExamples: the first steps the README sends a newcomer
// to, after its first program, and the examples the package doc lists are
// examples of this package.
func TestREADMENamesRealExamples(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, para, ok := strings.Cut(string(readme), "Other first steps")
	if !ok {
		t.Fatal(`README.md has no "Other first steps"`)
	}
	para, _, _ = strings.Cut(para, "\n\n")
	pkgDoc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	_, list, ok := strings.Cut(string(pkgDoc), "The examples show each step, each a whole program:")
	if !ok {
		t.Fatal(`doc.go does not list the examples ("The examples show each step")`)
	}
	list, _, _ = strings.Cut(list, "The rest of this page")
	list = regexp.MustCompile(`\([^)]*\)|//|\n|\.$|\. *$`).ReplaceAllString(list, " ")
	var listed []string
	for _, item := range regexp.MustCompile(`,| and `).Split(list, -1) {
		if item = strings.TrimSuffix(strings.TrimSpace(item), "."); item != "" {
			listed = append(listed, item)
		}
	}
	examples := map[string]bool{}
	files, _ := filepath.Glob("*_test.go")
	fset := token.NewFileSet()
	suffix := regexp.MustCompile(`_[a-z]\w*$`)
	for _, name := range files {
		f, err := parser.ParseFile(fset, name, nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range doc.Examples(f) {
			examples[strings.ReplaceAll(suffix.ReplaceAllString(ex.Name, ""), "_", ".")] = true
		}
	}
	named := regexp.MustCompile("`([A-Z][A-Za-z.]*)`").FindAllStringSubmatch(para, -1)
	if len(named) == 0 {
		t.Fatal("the paragraph names no example")
	}
	for _, m := range named {
		if !examples[m[1]] {
			t.Errorf("README.md sends the reader to the example of %s, which lifecycle does not have", m[1])
		}
	}
	if len(listed) < 10 {
		t.Errorf("doc.go lists %q: fewer examples than there are", listed)
	}
	for _, name := range listed {
		if !examples[name] {
			t.Errorf("doc.go lists the example of %q, which lifecycle does not have", name)
		}
	}
}

// TestRoutingTakesNoActor (R10, R16): Route, Session and CloseSession are
// the messaging runtime's calls, as their documentation says: with no user
// holding a role they route, read and close, and they write no audit entry.
func TestRoutingTakesNoActor(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	m, err := lifecycle.New(lifecycle.Config{Store: st, Clock: clock.NewMock()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.System("setup"), "mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
	mia := lifecycle.User("mia")
	line, err := lifecycle.NewSender("sms", "+1 555 0100")
	if err != nil {
		t.Fatal(err)
	}
	bot, err := m.Create(ctx, mia, lifecycle.Create{Name: "hello", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: helloDef()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Activate(ctx, mia, bot.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.RevokeRole(ctx, lifecycle.System("setup"), "mia", roles.Manager); err != nil {
		t.Fatal(err) // nobody holds a role now
	}
	before, err := st.AuditLog(ctx, "", 0, lifecycle.MaxPage)
	if err != nil {
		t.Fatal(err)
	}

	opened, err := m.Route(ctx, line, "+15557654321")
	if err != nil {
		t.Fatalf("Route: %v", err)
	}
	read, err := m.Session(ctx, opened.ID)
	if err != nil {
		t.Fatalf("Session: %v", err)
	}
	closed, err := m.CloseSession(ctx, opened.ID)
	if err != nil {
		t.Fatalf("CloseSession: %v", err)
	}
	if diff := cmp.Diff(opened, read); diff != "" {
		t.Errorf("Session read (-routed +read):\n%s", diff)
	}
	if closed.CloseReason != lifecycle.CloseCompleted {
		t.Errorf("CloseSession recorded %q, want %q", closed.CloseReason, lifecycle.CloseCompleted)
	}
	after, err := st.AuditLog(ctx, "", 0, lifecycle.MaxPage)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("routing wrote to the audit log (-before +after):\n%s", diff)
	}
}
