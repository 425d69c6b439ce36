package api_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/botlife/botlife/examples/httpserver/demo"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// hungKeeper is a MemoryKeeper whose methods named in hang block until
// their context ends - a Keeper whose database stopped answering. A
// hanging call given a context that can never end is the defect itself:
// it would block the request for ever, so it is reported at once instead.
type hungKeeper struct {
	*api.MemoryKeeper
	t    testing.TB
	hang map[string]bool

	mu    sync.Mutex
	calls []string // the calls that hung, in order
	seen  []error  // why each ended: its context's error
}

func (k *hungKeeper) block(ctx context.Context, method string) error {
	k.mu.Lock()
	k.calls = append(k.calls, method)
	k.mu.Unlock()
	if ctx.Done() == nil {
		k.t.Errorf("%s was called with a context that never ends: a hung keeper holds the request for ever", method)
		return context.DeadlineExceeded
	}
	<-ctx.Done()
	k.mu.Lock()
	k.seen = append(k.seen, ctx.Err())
	k.mu.Unlock()
	return ctx.Err()
}

func (k *hungKeeper) Finish(ctx context.Context, s api.Scope, key string, req, resp []byte, now, expires time.Time) error {
	if k.hang["Finish"] {
		return k.block(ctx, "Finish")
	}
	return k.MemoryKeeper.Finish(ctx, s, key, req, resp, now, expires)
}

func (k *hungKeeper) Release(ctx context.Context, s api.Scope, key string, req []byte) error {
	if k.hang["Release"] {
		return k.block(ctx, "Release")
	}
	return k.MemoryKeeper.Release(ctx, s, key, req)
}

func (k *hungKeeper) KeepPlan(ctx context.Context, s api.Scope, id string, plan []byte, now, expires time.Time) error {
	if k.hang["KeepPlan"] {
		return k.block(ctx, "KeepPlan")
	}
	return k.MemoryKeeper.KeepPlan(ctx, s, id, plan, now, expires)
}

// R17 and idempotency with a hung Keeper: every Keeper call detached from
// the request (so that a client hanging up does not half-finish a write)
// runs within Config.KeeperTimeout. A dry run whose plan is not kept in
// time answers a 503 timeout problem that says so and changes nothing; a
// keyed request that did its work answers what it did although its
// response is not kept, and the key stays claimed (409 in use), so a retry
// never does the work twice.
func TestR17DetachedKeeperCallsHaveABudget(t *testing.T) {
	for _, tc := range []struct {
		name       string
		hang       []string
		path, body string
		headers    []string
		status     int
		problem    string // the problem type of the answer, "" for none
		detail     string // a part of its detail
		retry      int    // the status of the same request again
		calls      []string
	}{
		{name: "a dry run's plan", hang: []string{"KeepPlan"}, path: "/bots?dry_run=true", body: apitest.BotJSON,
			status: 503, problem: "/problems/timeout", detail: "keeping the dry run's plan took longer than the server allows (1ms)",
			retry: 503, calls: []string{"KeepPlan"}},
		{name: "a keyed dry run's plan, then its key's release", hang: []string{"KeepPlan", "Release"}, path: "/bots?dry_run=true",
			body: apitest.BotJSON, headers: []string{"Idempotency-Key: k1"},
			status: 503, problem: "/problems/timeout", detail: "keeping the dry run's plan",
			retry: 409, calls: []string{"KeepPlan", "Release"}},
		{name: "a keyed change's response", hang: []string{"Finish"}, path: "/bots", body: apitest.BotJSON,
			headers: []string{"Idempotency-Key: k2"}, status: 201, retry: 409, calls: []string{"Finish"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := apitest.NewFixture(t)
			k := &hungKeeper{MemoryKeeper: api.NewMemoryKeeper(api.KeepLimits{}), t: t, hang: map[string]bool{}}
			for _, m := range tc.hang {
				k.hang[m] = true
			}
			srv, err := api.New(api.Config{Manager: f.Manager, Users: api.NewBearerTokens(demo.Tokens()), Keeper: k,
				KeeperTimeout: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			c := &apitest.Client{T: t, Handler: srv}
			before, _ := apitest.World(t, c)
			r := c.Do("POST", tc.path, "dan", tc.body, tc.headers...)
			if r.Status != tc.status {
				t.Fatalf("POST %s = %d %s, want %d", tc.path, r.Status, r.Body, tc.status)
			}
			if tc.problem != "" {
				if p := r.Problem(t); p.Type != tc.problem || !strings.Contains(p.Detail, tc.detail) || r.Header.Get("Retry-After") == "" {
					t.Errorf("problem %+v (Retry-After %q), want type %s, a detail with %q and Retry-After", p, r.Header.Get("Retry-After"), tc.problem, tc.detail)
				}
				if after, _ := apitest.World(t, c); after != before {
					t.Errorf("the refused request changed something:\nbefore %s\nafter  %s", before, after)
				}
			}
			k.mu.Lock()
			calls := strings.Join(k.calls, " ")
			k.calls = nil
			k.mu.Unlock()
			if want := strings.Join(tc.calls, " "); calls != want {
				t.Errorf("hung calls %q, want %q", calls, want)
			}
			if r := c.Do("POST", tc.path, "dan", tc.body, tc.headers...); r.Status != tc.retry {
				t.Errorf("the same request again = %d %s, want %d", r.Status, r.Body, tc.retry)
			}
		})
	}
}

// R17: an apply that fails with the store out of reach (503) keeps its plan
// again for the retry, within Config.KeeperTimeout: a hung Keeper does not
// hold the 503 back.
func TestR17PlanKeptAgainWithinTheBudget(t *testing.T) {
	st := &flakyStore{Store: store.NewMemory()}
	m, err := demo.NewManager(context.Background(), lifecycle.Config{Store: st, Clock: mockAtStart(), MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	k := &hungKeeper{MemoryKeeper: api.NewMemoryKeeper(api.KeepLimits{}), t: t, hang: map[string]bool{}}
	srv, err := api.New(api.Config{Manager: m, Users: api.NewBearerTokens(demo.Tokens()), Keeper: k, KeeperTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	c := &apitest.Client{T: t, Handler: srv}
	dry := c.Do("POST", "/bots?dry_run=true", "dan", apitest.BotJSON)
	if dry.Status != 200 || dry.Header.Get("Location") == "" {
		t.Fatalf("dry run: %d %s", dry.Status, dry.Body)
	}
	k.hang["KeepPlan"] = true
	st.failNext(1, lifecycle.ErrUnavailable)
	if r := c.Do("POST", dry.Header.Get("Location")+"/apply", "dan", ""); r.Status != 503 || r.Problem(t).Type != "/problems/unavailable" {
		t.Errorf("apply with the store out of reach: %d %s, want the 503 unavailable problem", r.Status, r.Body)
	}
	if got := strings.Join(k.calls, " "); got != "KeepPlan" {
		t.Errorf("hung calls %q, want the plan kept again once", got)
	}
}

func (k *hungKeeper) Claim(ctx context.Context, s api.Scope, key string, req []byte, now, expires time.Time) (*api.KeptResponse, error) {
	if k.hang["Claim"] {
		return nil, k.block(ctx, "Claim")
	}
	return k.MemoryKeeper.Claim(ctx, s, key, req, now, expires)
}

func (k *hungKeeper) TakePlan(ctx context.Context, s api.Scope, id string, now time.Time) ([]byte, error) {
	if k.hang["TakePlan"] {
		return nil, k.block(ctx, "TakePlan")
	}
	return k.MemoryKeeper.TakePlan(ctx, s, id, now)
}

// R15 and R17 with a hung Keeper: the Keeper calls a request makes before
// it runs - claiming its Idempotency-Key, taking the plan it applies - run
// on the request's context bounded by Config.KeeperTimeout, so an
// api.Server used without a server deadline of its own does not hold the
// request until the client hangs up. Out of time, the request answers a
// 503 timeout problem that says what took too long and to retry, and
// changes nothing; the same request once the Keeper answers again
// succeeds. The calls are not detached: a client that hangs up cancels
// them (a call that hung then sees context.Canceled, not the budget's
// end).
func TestR17KeeperCallsOfARequestHaveABudget(t *testing.T) {
	for _, tc := range []struct {
		name    string
		hang    string
		keyed   bool   // the request carries an Idempotency-Key
		plan    bool   // the request applies a dry run's plan
		detail  string // a part of the timeout problem's detail
		success int    // the status of the same request once the Keeper answers
	}{
		{name: "a keyed request's claim", hang: "Claim", keyed: true,
			detail: "claiming the Idempotency-Key took longer than the server allows (1ms)", success: 201},
		{name: "an apply's plan", hang: "TakePlan", plan: true,
			detail: "reading the plan took longer than the server allows (1ms)", success: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := apitest.NewFixture(t)
			k := &hungKeeper{MemoryKeeper: api.NewMemoryKeeper(api.KeepLimits{}), t: t, hang: map[string]bool{}}
			srv, err := api.New(api.Config{Manager: f.Manager, Users: api.NewBearerTokens(demo.Tokens()), Keeper: k,
				KeeperTimeout: time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			c := &apitest.Client{T: t, Handler: srv}
			path, body, headers := "/bots", apitest.BotJSON, []string(nil)
			if tc.keyed {
				headers = []string{"Idempotency-Key: k1"}
			}
			if tc.plan {
				dry := c.Do("POST", "/bots?dry_run=true", "dan", apitest.BotJSON)
				if dry.Status != 200 || dry.Header.Get("Location") == "" {
					t.Fatalf("dry run: %d %s", dry.Status, dry.Body)
				}
				path, body = dry.Header.Get("Location")+"/apply", ""
			}
			before, _ := apitest.World(t, c)
			k.hang[tc.hang] = true
			r := c.Do("POST", path, "dan", body, headers...)
			if r.Status != 503 {
				t.Fatalf("POST %s with the Keeper hung = %d %s, want 503", path, r.Status, r.Body)
			}
			if p := r.Problem(t); p.Type != "/problems/timeout" || !strings.Contains(p.Detail, tc.detail) || r.Header.Get("Retry-After") == "" {
				t.Errorf("problem %+v (Retry-After %q), want a timeout with a detail with %q and Retry-After", p, r.Header.Get("Retry-After"), tc.detail)
			}
			if after, _ := apitest.World(t, c); after != before {
				t.Errorf("the refused request changed something:\nbefore %s\nafter  %s", before, after)
			}
			if got := strings.Join(k.calls, " "); got != tc.hang {
				t.Errorf("hung calls %q, want %q", got, tc.hang)
			}

			// A client that hangs up cancels the call: it is not detached.
			k.calls, k.seen = nil, nil
			gone, cancel := context.WithCancel(context.Background())
			cancel()
			req := httptest.NewRequest("POST", path, strings.NewReader(body)).WithContext(gone)
			req.Header.Set("Authorization", "Bearer "+apitest.Token("dan"))
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			for _, h := range headers {
				name, value, _ := strings.Cut(h, ":")
				req.Header.Set(name, strings.TrimSpace(value))
			}
			c.Send(req, []byte(body))
			if diff := cmp.Diff([]error{context.Canceled}, k.seen, cmpopts.EquateErrors()); diff != "" {
				t.Errorf("what the hung %s saw of a request whose client hung up (-want +got):\n%s", tc.hang, diff)
			}

			k.hang[tc.hang] = false
			if r := c.Do("POST", path, "dan", body, headers...); r.Status != tc.success {
				t.Errorf("the same request once the Keeper answers = %d %s, want %d", r.Status, r.Body, tc.success)
			}
		})
	}
}
