package lifecycle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"testing"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/google/go-cmp/cmp"
)

// R27, R16: the Manager logs every committed bot and role change at Info,
// and a line of a workspace other than the default names it (ids are per
// workspace: "bot-1" alone could be any customer's); the default
// workspace's lines name none.
func TestR27LogLinesNameTheWorkspace(t *testing.T) {
	ctx := context.Background()
	var buf bytes.Buffer
	clk := clock.NewMock()
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Clock: clk,
		Logger: slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	acme, err := m.Workspace("acme")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []*lifecycle.Manager{m, acme} {
		if _, err := w.GrantRole(ctx, lifecycle.System("bootstrap"), "dan", roles.Designer); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Create(ctx, lifecycle.User("dan"), lifecycle.Create{ID: "b", Name: "b", Channel: "sms"}); err != nil {
			t.Fatal(err)
		}
	}
	type line struct{ Msg, Workspace, Bot, User string }
	var got []line
	for dec := json.NewDecoder(&buf); dec.More(); {
		var l line
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		got = append(got, l)
	}
	want := []line{
		{Msg: "botlife: roles changed", User: "dan"},
		{Msg: "botlife: bot changed", Bot: "b"},
		{Msg: "botlife: roles changed", Workspace: "acme", User: "dan"},
		{Msg: "botlife: bot changed", Workspace: "acme", Bot: "b"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("R27: log lines (-want +got):\n%s", d)
	}
}
