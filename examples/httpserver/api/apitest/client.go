// Package apitest drives the reference HTTP service in tests: a fixture on a
// mock clock with the demo users, a client that sends requests through the
// handler (and through an optional check of every request and response),
// the scripted run that touches every route and every status, and the
// README's curl session. The api package's tests run it; so does the
// OpenAPI conformance test (examples/httpserver/openapitest), which checks
// every request and response against openapi.yaml.
package apitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/demo"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
	"github.com/google/go-cmp/cmp"
)

// Start is the fixture's clock at the start.
var Start = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)

// Fixture is the demo service on a memory store and a mock clock.
type Fixture struct {
	Manager *lifecycle.Manager
	Clock   *clock.Mock
	Server  *api.Server
}

// NewFixture returns a fresh fixture.
func NewFixture(t testing.TB) *Fixture {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(Start)
	m, err := demo.NewManager(context.Background(), lifecycle.Config{Store: store.NewMemory(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := demo.NewServer(m, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return &Fixture{Manager: m, Clock: clk, Server: srv}
}

// Check inspects one exchange; the conformance test validates it against
// openapi.yaml. Bodies are given in full.
type Check func(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte)

// Client sends requests to a handler.
type Client struct {
	T       testing.TB
	Handler http.Handler
	// Check, if set, sees every exchange.
	Check Check
}

// Response is a response read in full.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// With returns a copy of c that reports to t (for subtests).
func (c *Client) With(t testing.TB) *Client {
	d := *c
	d.T = t
	return &d
}

// JSON decodes the body into v, failing the test if it cannot.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decoding %s: %v", r.Body, err)
	}
}

// Problem decodes a problem body.
func (r Response) Problem(t testing.TB) api.Problem {
	t.Helper()
	var p api.Problem
	r.JSON(t, &p)
	return p
}

// Token returns the bearer token of a demo user, or the gateway's
// ("gateway") or the scheduler's ("scheduler"), of the default workspace;
// "acme/mia", "acme/gateway" and so on name those of the demo workspace
// acme (R27); "" is no token. Anything else is taken as a token.
func Token(who string) string {
	clients := map[string]string{"": "", "gateway": demo.GatewayToken, "scheduler": demo.SchedulerToken,
		"acme/gateway": demo.AcmeGatewayToken, "acme/scheduler": demo.AcmeSchedulerToken}
	if tok, ok := clients[who]; ok {
		return tok
	}
	for _, u := range demo.Users {
		if Name(u) == who {
			return u.Token
		}
	}
	return who // a token as given
}

// Name is how Token names a demo user: "mia", or "acme/mia" in acme.
func Name(u demo.User) string {
	if u.Workspace == "" {
		return u.ID
	}
	return string(u.Workspace) + "/" + u.ID
}

// Do sends method path as who (see Token) with body (JSON when not empty)
// and the extra headers given as "Key: value".
func (c *Client) Do(method, path, who, body string, headers ...string) Response {
	c.T.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok := Token(who); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ":")
		req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	return c.Send(req, []byte(body))
}

// Send sends a request whose body is body.
func (c *Client) Send(req *http.Request, body []byte) Response {
	c.T.Helper()
	req.Body = io.NopCloser(bytes.NewReader(body))
	rec := httptest.NewRecorder()
	c.Handler.ServeHTTP(rec, req)
	resp := rec.Result()
	out, _ := io.ReadAll(resp.Body)
	if c.Check != nil {
		check := req.Clone(req.Context())
		check.Body = io.NopCloser(bytes.NewReader(body))
		resp.Body = io.NopCloser(bytes.NewReader(out))
		c.Check(c.T, check, body, resp, out)
		if req.Method == http.MethodGet && resp.StatusCode < 300 {
			c.head(req, resp.StatusCode, resp.Header, out)
		}
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: out}
}

// head sends the GET get, which answered status, header and body, again
// as a HEAD through Check, and checks that it answers the same status and
// headers, with the body's Content-Length (but for an event stream's),
// and no body (RFC 9110 9.3.2).
func (c *Client) head(get *http.Request, status int, header http.Header, body []byte) {
	c.T.Helper()
	req := get.Clone(get.Context())
	req.Method, req.Body = http.MethodHead, http.NoBody
	rec := httptest.NewRecorder()
	c.Handler.ServeHTTP(rec, req)
	resp := rec.Result()
	out, _ := io.ReadAll(resp.Body)
	check := req.Clone(req.Context())
	check.Body = http.NoBody
	resp.Body = io.NopCloser(bytes.NewReader(out))
	c.Check(c.T, check, nil, resp, out)
	want := header.Clone()
	if want.Get("Content-Type") != "text/event-stream" { // a stream has no length
		want.Set("Content-Length", strconv.Itoa(len(body)))
	}
	if diff := cmp.Diff(want, resp.Header); resp.StatusCode != status || len(out) != 0 || diff != "" {
		c.T.Errorf("HEAD %s = %d with a %d-byte body, want GET's %d and no body; headers (-GET +HEAD):\n%s",
			req.URL, resp.StatusCode, len(out), status, diff)
	}
}
