package api_test

import (
	"log/slog"
	"maps"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/botlife/botlife/examples/httpserver/demo"
)

// A user whose id is the gateway's (or the system job's) in the same
// workspace has a key space of their own: the gateway's kept response under
// a key is neither replayed to them nor refused as another request's (422)
// - their request runs - and the gateway's retry still replays its own.
func TestKeeperScopesByPrincipalKind(t *testing.T) {
	f := apitest.NewFixture(t)
	users := maps.Clone(demo.Tokens())
	users["user-named-gateway"] = api.Principal{ID: "gateway"}
	users["user-named-scheduler"] = api.Principal{ID: "scheduler"}
	srv, err := api.New(api.Config{
		Manager: f.Manager,
		Users:   api.NewBearerTokens(users),
		Gateway: api.NewBearerTokens(demo.GatewayTokens()),
		System:  api.NewBearerTokens(map[string]api.Principal{demo.SchedulerToken: {ID: "scheduler"}}),
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := &apitest.Client{T: t, Handler: srv}
	var b api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
	if r := c.Do("POST", "/bots/"+b.ID+"/activate", "mia", ""); r.Status != 200 {
		t.Fatalf("activate: %d %s", r.Status, r.Body)
	}
	for _, tc := range []struct {
		name, principal, user, path, body string
	}{
		{"gateway", "gateway", "user-named-gateway", "/route", `{"channel":"sms","address":"+1 555 0100","end_user":"u1"}`},
		{"system", "scheduler", "user-named-scheduler", "/system/expire-due", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c.With(t)
			if r := c.Do("POST", "/users/"+tc.principal+"/roles", "ada", `{"role":"designer"}`); r.Status != 200 {
				t.Fatalf("granting the user %s a role: %d %s", tc.principal, r.Status, r.Body)
			}
			key := "Idempotency-Key: shared-" + tc.name
			first := c.Do("POST", tc.path, tc.principal, tc.body, key)
			if first.Status != 200 {
				t.Fatalf("%s's POST %s: %d %s", tc.principal, tc.path, first.Status, first.Body)
			}
			// The user's POST /bots under the same key is a request of its
			// own: it runs (201), neither replayed nor refused as reused.
			mine := c.Do("POST", "/bots", tc.user, apitest.BotJSON, key)
			if mine.Status != 201 || mine.Header.Get("Idempotent-Replayed") != "" {
				t.Errorf("user %q's POST /bots under the %s's key: %d replayed=%q %s", tc.principal, tc.name, mine.Status, mine.Header.Get("Idempotent-Replayed"), mine.Body)
			}
			again := c.Do("POST", tc.path, tc.principal, tc.body, key)
			if again.Status != 200 || again.Header.Get("Idempotent-Replayed") != "true" || string(again.Body) != string(first.Body) {
				t.Errorf("%s's retry: %d replayed=%q %s, want the first answer replayed", tc.name, again.Status, again.Header.Get("Idempotent-Replayed"), again.Body)
			}
			if mine := c.Do("POST", "/bots", tc.user, apitest.BotJSON, key); mine.Header.Get("Idempotent-Replayed") != "true" {
				t.Errorf("user's retry: %d replayed=%q, want the user's own answer replayed", mine.Status, mine.Header.Get("Idempotent-Replayed"))
			}
		})
	}
}
