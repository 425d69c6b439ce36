package api_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/botlife/botlife/examples/httpserver/demo"
)

// R21: an unknown or oversize credential, a header naming a user, and an
// oversize end user are refused without being copied into the log, the
// answer or the audit log.
func TestR21RefusalsCopyNothing(t *testing.T) {
	f := apitest.NewFixture(t)
	var logs bytes.Buffer
	s, err := api.New(api.Config{Manager: f.Manager, Users: api.NewBearerTokens(demo.Tokens()),
		Gateway: api.NewBearerTokens(demo.GatewayTokens()),
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	c := &apitest.Client{T: t, Handler: s}
	secret := "SECRET" + strings.Repeat("s", 1<<16)
	cases := []struct {
		name   string
		r      apitest.Response
		status int
	}{
		{"unknown token", c.Do("GET", "/bots", "SECRET-unknown", ""), 401},
		{"oversize token", c.Do("GET", "/bots", secret, ""), 401},
		{"user named in a header", c.Do("GET", "/bots", "", "", "X-Botlife-User: SECRET-mia"), 401},
		{"oversize end user", c.Do("POST", "/route", "gateway", `{"channel":"sms","address":"+15550100","end_user":"SECRET`+strings.Repeat("u", 3000)+`"}`), 400},
		{"oversize bot id", c.Do("GET", "/bots/SECRET"+strings.Repeat("b", 3000), "mia", ""), 400},
	}
	for _, tc := range cases {
		if tc.r.Status != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, tc.r.Status, tc.status)
		}
		if bytes.Contains(tc.r.Body, []byte("SECRET")) {
			t.Errorf("%s: the answer copies the input: %.200s", tc.name, tc.r.Body)
		}
	}
	if bytes.Contains(logs.Bytes(), []byte("SECRET")) {
		t.Errorf("the log copies the input:\n%.500s", logs.String())
	}
	r := c.Do("GET", "/audit?limit=500", "ada", "")
	if r.Status != http.StatusOK || bytes.Contains(r.Body, []byte("SECRET")) {
		t.Errorf("the audit log: %d, copies the input: %v", r.Status, bytes.Contains(r.Body, []byte("SECRET")))
	}
}

// R27: the workspace comes from the Authenticator; one it names that is
// not a workspace is the server's fault (500, logged), never the client's,
// and no default workspace is used instead.
func TestR27BadPrincipalWorkspace(t *testing.T) {
	f := apitest.NewFixture(t)
	s, err := api.New(api.Config{Manager: f.Manager, Users: api.AuthenticatorFunc(func(*http.Request) (api.Principal, error) {
		return api.Principal{ID: "ada", Workspace: "not a workspace"}, nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	c := &apitest.Client{T: t, Handler: s}
	r := c.Do("GET", "/audit", "", "")
	if p := r.Problem(t); r.Status != 500 || p.Type != "/problems/internal" {
		t.Errorf("a principal in a bad workspace: %d %+v", r.Status, p)
	}
}
