package sqlite_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store/sqlite"
	"github.com/botlife/botlife/validate"
)

// A Manager on a SQLite file: what it stores survives a restart.
func ExampleOpen() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "botlife")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "botlife.db")

	st, err := sqlite.Open(ctx, path) // creates the file and its schema
	if err != nil {
		panic(err)
	}
	m, _ := lifecycle.New(lifecycle.Config{Store: st})
	_, _ = m.GrantRole(ctx, lifecycle.System("bootstrap"), "mia", roles.Manager)
	def, _ := lifecycle.ReferenceDefinition(validate.Definition{EntryDialog: "hi", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello!"}, {Type: validate.Close}}}}})
	b, _ := m.Create(ctx, lifecycle.User("mia"), lifecycle.Create{Name: "hello", Channel: "sms", Definition: def})
	_ = st.Close()

	st, _ = sqlite.Open(ctx, path) // a restart
	defer st.Close()
	m, _ = lifecycle.New(lifecycle.Config{Store: st})
	again, err := m.Get(ctx, lifecycle.User("mia"), b.ID)
	fmt.Println(again.Name, again.State, err)
	// Output:
	// hello Draft <nil>
}
