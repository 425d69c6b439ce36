package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// command runs a one-shot command and returns its standard output.
func command(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(t.Context(), args, noEnv, strings.NewReader(stdin), &out, io.Discard, nil)
	return out.String(), err
}

// migrate on a new SQLite file creates it at the latest schema (the
// service's own table included): a service started on it with
// -migrate=false is ready at once. Run again, it changes nothing.
func TestMigrateFreshSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.db")
	for range 2 {
		out, err := command(t, "", "migrate", "-store", "sqlite:"+path)
		if err != nil || !strings.Contains(out, "schema up to date") {
			t.Fatalf("migrate: %v %q", err, out)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	base, _ := start(t, "sqlite:"+path, "-migrate=false")
	call(t, "GET", base+"/readyz", "", "", 200)
}

// pastClock is a clock fixed at an instant.
type pastClock time.Time

func (c pastClock) Now() time.Time { return time.Time(c) }

// seed makes, in the SQLite file, bot-1 Active on sms:+15550100 as of an
// hour ago and bot-2 replacing it then with a 10-minute grace: bot-1's
// drain was due 50 minutes ago. It returns the file's -store value.
func seed(t *testing.T) string {
	t.Helper()
	st := sqliteStore(t)
	ctx := t.Context()
	b, err := openStore(ctx, st, true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	m, err := lifecycle.New(lifecycle.Config{Store: b, Clock: pastClock(time.Now().Add(-time.Hour)), NewID: b.newID("readable", slog.New(slog.DiscardHandler))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.System("test"), "mia", roles.Manager); err != nil {
		t.Fatal(err)
	}
	line, _ := lifecycle.NewSender("sms", "+15550100")
	def, err := lifecycle.ReferenceDefinition(validate.Definition{Channel: "sms", EntryDialog: "hi", FallbackDialog: "hi",
		Dialogs: []validate.Dialog{{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello!"}, {Type: validate.Close}}}}})
	if err != nil {
		t.Fatal(err)
	}
	mia := lifecycle.User("mia")
	for i, dec := range []lifecycle.Decision{{}, lifecycle.Grace(10 * time.Minute)} {
		bot, err := m.Create(ctx, mia, lifecycle.Create{Name: "Pizza", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: def})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Activate(ctx, mia, bot.ID, dec, lifecycle.Ack{}); err != nil {
			t.Fatalf("activating bot %d: %v", i+1, err)
		}
	}
	return st
}

// expire-due settles what is due in each workspace of the users file,
// once, and says what it did; a second run finds nothing left.
func TestExpireDueOneShot(t *testing.T) {
	st := seed(t)
	out, err := command(t, "", "expire-due", "-store", st, "-users", "demo-users.txt")
	if err != nil || !strings.Contains(out, `workspace "": 1 drains ended`) || !strings.Contains(out, `workspace "acme": 0 drains ended`) {
		t.Fatalf("expire-due: %v\n%s", err, out)
	}
	if out, err = command(t, "", "expire-due", "-store", st, "-users", "demo-users.txt"); err != nil || strings.Contains(out, "1 drains ended") {
		t.Fatalf("expire-due again: %v\n%s", err, out)
	}
	base, _ := start(t, st)
	if body := call(t, "GET", base+"/bots/bot-1", "mia-token", "", 200); !strings.Contains(body, `"state": "inactive"`) {
		t.Errorf("after expire-due bot-1 is %s", body)
	}
}

// export writes a bot's document; import makes a Draft of it with a new
// readable id and prints the id. Both need a user allowed to edit bots,
// and import acts in one workspace: acme may not name the default
// workspace's sender (R27).
func TestExportThenImport(t *testing.T) {
	st := seed(t)
	doc, err := command(t, "", "export", "-store", st, "-as", "mia", "bot-1")
	if err != nil || !strings.Contains(doc, `"Pizza"`) {
		t.Fatalf("export: %v %q", err, doc)
	}
	if _, err := command(t, "", "export", "-store", st, "-as", "nobody", "bot-1"); !errors.Is(err, lifecycle.ErrForbidden) {
		t.Errorf("export as a user without a role: %v", err)
	}
	file := filepath.Join(t.TempDir(), "bot.json")
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := command(t, "", "import", "-store", st, "-as", "mia", file)
	if err != nil || strings.TrimSpace(out) != "bot-3" {
		t.Fatalf("import: %v %q", err, out)
	}
	_, stop := start(t, st) // provisions acme's mia
	stop()
	if _, err = command(t, doc, "import", "-store", st, "-workspace", "acme", "-as", "mia"); !errors.Is(err, lifecycle.ErrSenderClaimed) {
		t.Errorf("importing into acme a bot on the default workspace's sender: %v", err)
	}
	if _, err := command(t, "{", "import", "-store", st, "-as", "mia"); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Errorf("importing a broken document: %v", err)
	}
	base, _ := start(t, st)
	if body := call(t, "GET", base+"/bots/bot-3", "mia-token", "", 200); !strings.Contains(body, `"state": "draft"`) || !strings.Contains(body, `"name": "Pizza"`) {
		t.Errorf("the imported bot reads %s", body)
	}
	call(t, "GET", base+"/bots/bot-3", "acme-mia-token", "", 404)
}
