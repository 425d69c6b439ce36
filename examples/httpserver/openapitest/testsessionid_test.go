package openapitest

import (
	"context"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/botlife/botlife/examples/httpserver/demo"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
)

// R26, R21: a test session's id holds its bot's id and its tester's, each
// up to 256 bytes (a service's own bot ids, a user id that is an e-mail
// address or an OpenID subject): the server gives such ids and takes them
// back in paths (up to 608 bytes), so openapi.yaml must allow them too,
// or a client that validates parameters, as ogen's does, refuses the
// server's own Location. It said at most 320 bytes.
func TestOpenAPILongTestSessionID(t *testing.T) {
	c := load(t)
	ctx := context.Background()
	long := func(ws lifecycle.Workspace) lifecycle.BotID { return lifecycle.BotID("bot-" + strings.Repeat("b", 96)) }
	m, err := demo.NewManager(ctx, lifecycle.Config{Store: store.NewMemory(), NewID: long})
	if err != nil {
		t.Fatal(err)
	}
	tester := strings.Repeat("t", 256)
	if _, err := m.GrantRole(ctx, lifecycle.System("test"), tester, roles.Designer); err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Config{Manager: m, Users: api.NewBearerTokens(map[string]api.Principal{"long-token": {ID: tester}})})
	if err != nil {
		t.Fatal(err)
	}
	cl := &apitest.Client{T: t, Handler: srv, Check: c.check}
	req := func(method, path, body string) apitest.Response { return cl.Do(method, path, "long-token", body) }
	var b api.Bot
	req("POST", "/bots", apitest.BotJSON).JSON(t, &b)
	r := req("POST", "/bots/"+b.ID+"/test-sessions", "")
	var ts api.TestSession
	r.JSON(t, &ts)
	if r.Status != 201 || len(ts.ID) <= 320 {
		t.Fatalf("opening: %d, an id of %d bytes", r.Status, len(ts.ID))
	}
	path := r.Header.Get("Location")
	for _, x := range []struct{ method, path string }{{"GET", path}, {"POST", path + "/messages"}, {"POST", path + "/close"}} {
		if r := req(x.method, x.path, ""); r.Status != 200 {
			t.Errorf("%s %s: %d %s", x.method, x.path, r.Status, r.Body)
		}
	}
}
