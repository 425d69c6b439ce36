package main

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
	"github.com/google/go-cmp/cmp"
)

// /healthz answers while the process serves, /readyz when the store
// answers; neither needs a token, and the API around them is unchanged.
func TestHealthAndReady(t *testing.T) {
	for _, st := range []string{sqliteStore(t), "memory"} {
		base, _ := start(t, st)
		if body := call(t, "GET", base+"/healthz", "", "", 200); body != "ok\n" {
			t.Errorf("%s: /healthz says %q", st, body)
		}
		if body := call(t, "GET", base+"/readyz", "", "", 200); body != "ready\n" {
			t.Errorf("%s: /readyz says %q", st, body)
		}
		call(t, "GET", base+"/bots", "", "", 401)
		call(t, "GET", base+"/openapi.yaml", "", "", 200)
	}
}

// readyz is the /readyz answer of the service's handler over b.
func readyz(t *testing.T, b *backend) int {
	t.Helper()
	m, err := lifecycle.New(lifecycle.Config{Store: b})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Manager: m, Users: api.NewBearerTokens(nil)})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	hd, _ := handler(h, b.ready, http.NotFoundHandler(), t.Context(), nil, 0)
	hd.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
	return w.Code
}

// /readyz is 503 when the store does not answer (here: closed under the
// service) or lacks the service's own table (a schema not migrated).
func TestReadyzUnreachable(t *testing.T) {
	b, err := openStore(t.Context(), sqliteStore(t), true)
	if err != nil {
		t.Fatal(err)
	}
	if code := readyz(t, b); code != 200 {
		t.Fatalf("/readyz on an open store: %d", code)
	}
	b.Store.(interface{ Close() error }).Close()
	if code := readyz(t, b); code != 503 {
		t.Errorf("/readyz on a closed store: %d, want 503", code)
	}
	b.close()

	st := sqliteStore(t)
	if b, err = openStore(t.Context(), st, true); err != nil {
		t.Fatal(err)
	}
	defer b.close()
	db, err := sql.Open("sqlite", strings.TrimPrefix(st, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DROP TABLE service_ids`); err != nil {
		t.Fatal(err)
	}
	if code := readyz(t, b); code != 503 {
		t.Errorf("/readyz without the service's table: %d, want 503", code)
	}
}

// On SIGTERM the service stops listening, ends an open event stream at
// once, and finishes a request in flight (here: one whose body is still
// arriving) before it returns.
func TestGracefulShutdown(t *testing.T) {
	posting := make(chan struct{}, 1)
	base, stop := startWith(t, func(r *http.Request) {
		if r.Method == "POST" {
			posting <- struct{}{}
		}
	}, sqliteStore(t))
	addr := strings.TrimPrefix(base, "http://")

	req, _ := http.NewRequest("GET", base+"/events", nil)
	req.Header.Set("Authorization", "Bearer ada-token")
	stream, err := http.DefaultClient.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("GET /events: %v %v", err, stream)
	}
	defer stream.Body.Close()
	events := bufio.NewReader(stream.Body)
	if line, err := events.ReadString('\n'); err != nil || !strings.HasPrefix(line, ":") {
		t.Fatalf("the stream starts with %q %v", line, err)
	}

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := pizza
	head := fmt.Sprintf("POST /bots HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer dan-token\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, len(body))
	if _, err := io.WriteString(conn, head+body[:10]); err != nil {
		t.Fatal(err)
	}
	<-posting // its handling has begun

	stopped := make(chan struct{})
	go func() { stop(); close(stopped) }()
	rest, err := io.ReadAll(events) // the stream ends: the shutdown has begun
	if err != nil && err != io.ErrUnexpectedEOF {
		t.Errorf("the event stream ended with %v", err)
	}
	if strings.Contains(string(rest), "event: error") {
		t.Errorf("the event stream ended with an error event: %s", rest)
	}
	if c, err := net.Dial("tcp", addr); err == nil {
		c.Close()
		t.Error("the service still accepts connections after the shutdown began")
	}
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight got no answer: %v", err)
	}
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 201 || !strings.Contains(string(out), `"id": "bot-1"`) {
		t.Errorf("the request in flight: %d %s", resp.StatusCode, out)
	}
	<-stopped
}

// /metrics gives the Manager's operations in the Prometheus format, by op
// and outcome (issue 28), and no ids: the bot made is not named there. It
// counts every workspace, so only the operator's system token reads it:
// no credential, a user's, or another workspace's system token is 401
// (R27; found by review). Requests are counted and timed by route pattern,
// method and status class, never by their path.
func TestMetrics(t *testing.T) {
	base, _ := start(t, sqliteStore(t))
	call(t, "POST", base+"/bots", "dan-token", pizza, 201)
	call(t, "GET", base+"/bots/bot-9", "dan-token", "", 404)
	call(t, "GET", base+"/no/such/bot-9", "dan-token", "", 404)
	for _, tok := range []string{"", "dan-token", "ada-token", "acme-scheduler-token", "gateway-token"} {
		call(t, "GET", base+"/metrics", tok, "", 401)
	}
	body := call(t, "GET", base+"/metrics", "scheduler-token", "", 200)
	for _, want := range []string{`botlife_operations_total{`, `op="create"`, `outcome="ok"`, `outcome="not_found"`,
		`botlife_http_requests_total{method="POST",route="/bots",status_class="2xx"} 1`,
		`botlife_http_requests_total{method="GET",route="/bots/{id}",status_class="4xx"} 1`,
		`botlife_http_requests_total{method="GET",route="unmatched",status_class="4xx"} 1`,
		`botlife_http_requests_total{method="GET",route="/metrics",status_class="4xx"} 5`,
		`botlife_http_request_duration_seconds_count{method="GET",route="/bots/{id}",status_class="4xx"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, leak := range []string{"bot-1", "bot-9", "Pizza", "+15550100", "dan-token"} {
		if strings.Contains(body, leak) {
			t.Errorf("/metrics names %q", leak)
		}
	}
}

// /readyz names which cause keeps the service not ready - the store, or
// the users file's roles not provisioned yet - and never the store's own
// error: the probe takes no token. The answer is the API's 503
// unavailable problem, not a line of plain text (found by review).
func TestReadyzSaysWhichCause(t *testing.T) {
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Manager: m, Users: api.NewBearerTokens(nil)})
	if err != nil {
		t.Fatal(err)
	}
	secret := errors.New("dial tcp db.internal:5432: password authentication failed")
	for _, tc := range []struct {
		err  error
		want string
	}{
		{secret, "the store is unreachable"},
		{fmt.Errorf("%w: %w", errNotProvisioned, secret), "roles are not provisioned"},
	} {
		hd, _ := handler(h, func(context.Context) error { return tc.err }, http.NotFoundHandler(), t.Context(), nil, 0)
		w := httptest.NewRecorder()
		hd.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
		if body := w.Body.String(); w.Code != 503 || !strings.Contains(body, tc.want) || strings.Contains(body, "db.internal") {
			t.Errorf("/readyz when %v: %d %q, want 503 saying %q and not the error", tc.err, w.Code, body, tc.want)
		}
		// As every other refusal of the service: the API's problem, here
		// 503 unavailable with Retry-After.
		var got api.Problem
		if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Fatalf("/readyz when %v is not a problem (%q): %v", tc.err, w.Header().Get("Content-Type"), err)
		}
		want := api.Problem{Type: "/problems/unavailable", Title: "Service unavailable", Status: 503, Instance: "/readyz", Detail: notReady(tc.err)}
		if diff := cmp.Diff(want, got); diff != "" || w.Header().Get("Retry-After") == "" {
			t.Errorf("/readyz when %v (Retry-After %q), the problem (-want +got):\n%s", tc.err, w.Header().Get("Retry-After"), diff)
		}
	}
}

// R27: /metrics refuses every credential but the operator's with the API's
// 401 unauthenticated problem (RFC 9457, as every other refusal of the
// service) and a Bearer challenge - not a line of plain text - and serves
// the operator's.
func TestR27MetricsRefusalIsAProblem(t *testing.T) {
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	system := api.NewBearerTokens(map[string]api.Principal{"op": {ID: "cron"}, "acme-op": {ID: "cron", Workspace: "acme"}})
	h, err := api.New(api.Config{Manager: m, Users: api.NewBearerTokens(map[string]api.Principal{"dan": {ID: "dan"}}), System: system})
	if err != nil {
		t.Fatal(err)
	}
	metrics := operatorOnly(system, h, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "metrics") }))
	for _, tc := range []struct {
		name, token string
		status      int
	}{
		{"no credential", "", 401},
		{"a user's", "dan", 401},
		{"another workspace's system token", "acme-op", 401},
		{"the operator's", "op", 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("GET", "/metrics", nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			w := httptest.NewRecorder()
			metrics.ServeHTTP(w, req)
			if w.Code != tc.status {
				t.Fatalf("GET /metrics = %d %s, want %d", w.Code, w.Body, tc.status)
			}
			if tc.status == 200 {
				return
			}
			if ct, ch := w.Header().Get("Content-Type"), w.Header().Get("WWW-Authenticate"); ct != "application/problem+json" || ch != `Bearer realm="botlife metrics"` {
				t.Errorf("Content-Type %q, WWW-Authenticate %q, want a problem and a Bearer challenge", ct, ch)
			}
			var got api.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("the refusal is not JSON: %v: %s", err, w.Body)
			}
			want := api.Problem{Type: "/problems/unauthenticated", Title: "Authentication required", Status: 401, Instance: "/metrics",
				Detail: "metrics count every workspace: send the operator's system token (a system credential of the default workspace)"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("the refusal (-want +got):\n%s", diff)
			}
		})
	}
}

// The service's own routes (/healthz, /readyz, /metrics, /events) sent
// another method answer the API's 405 method-not-allowed problem with
// Allow, as the API's routes do - not the 404 no-such-route the API
// answered for a path it then said no route matches (found by review).
func TestServiceRoutesRefuseOtherMethods(t *testing.T) {
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory()})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Manager: m, Users: api.NewBearerTokens(nil)})
	if err != nil {
		t.Fatal(err)
	}
	hd, _ := handler(h, func(context.Context) error { return nil }, http.NotFoundHandler(), t.Context(), nil, 0)
	for _, tc := range []struct{ method, path string }{
		{"POST", "/healthz"}, {"DELETE", "/readyz"}, {"PUT", "/metrics"}, {"POST", "/events"},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			w := httptest.NewRecorder()
			hd.ServeHTTP(w, httptest.NewRequest(tc.method, tc.path, nil))
			var got api.Problem
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("%d, not a problem: %v: %s", w.Code, err, w.Body)
			}
			want := api.Problem{Type: "/problems/method-not-allowed", Title: "Method not allowed", Status: 405, Instance: tc.path,
				Detail: tc.path + " does not take " + tc.method + "; it takes GET, HEAD"}
			if diff := cmp.Diff(want, got); w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" || diff != "" {
				t.Errorf("%d, Allow %q; the problem (-want +got):\n%s", w.Code, w.Header().Get("Allow"), diff)
			}
		})
	}
	w := httptest.NewRecorder()
	hd.ServeHTTP(w, httptest.NewRequest("GET", "/healthz", nil))
	if w.Code != 200 {
		t.Errorf("GET /healthz: %d", w.Code)
	}
}
