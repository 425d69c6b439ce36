package api_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/botlife/botlife/examples/httpserver/demo"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
)

var (
	t0  = time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	bg  = context.Background()
	mia = api.Scope{User: "mia"}
)

// A claim is put-if-absent: the first claimer runs the request; a second
// sees the claim pending, then the response; Release frees a claim, not a
// response; an expired entry is gone.
func TestMemoryKeeperClaims(t *testing.T) {
	k := api.NewMemoryKeeper(api.KeepLimits{})
	req, other := []byte("digest"), []byte("another")
	if prev, err := k.Claim(bg, mia, "k", req, t0, t0.Add(time.Minute)); prev != nil || err != nil {
		t.Fatalf("first claim: %+v %v", prev, err)
	}
	if prev, _ := k.Claim(bg, mia, "k", req, t0, t0.Add(time.Minute)); prev == nil || prev.Response != nil {
		t.Fatalf("a claim in flight: %+v", prev)
	}
	if err := k.Finish(bg, mia, "k", other, []byte("x"), t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if prev, _ := k.Claim(bg, mia, "k", other, t0, t0.Add(time.Minute)); prev == nil || string(prev.Request) != "digest" || prev.Response != nil {
		t.Fatalf("another request finished the claim: %+v", prev)
	}
	if err := k.Finish(bg, mia, "k", req, []byte("resp"), t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	_ = k.Release(bg, mia, "k", req)
	if prev, _ := k.Claim(bg, mia, "k", req, t0, t0.Add(time.Minute)); prev == nil || string(prev.Response) != "resp" {
		t.Fatalf("replay: %+v", prev)
	}
	_, _ = k.Claim(bg, mia, "busy", req, t0, t0.Add(time.Minute))
	_ = k.Release(bg, mia, "busy", req)
	if prev, _ := k.Claim(bg, mia, "busy", req, t0, t0.Add(time.Minute)); prev != nil {
		t.Errorf("a released claim holds: %+v", prev)
	}
	if prev, _ := k.Claim(bg, mia, "k", req, t0.Add(time.Hour), t0.Add(2*time.Hour)); prev != nil {
		t.Errorf("an expired response is replayed: %+v", prev)
	}
	if b, n := k.Size(); n != 1 || b <= 0 {
		t.Errorf("after expiry: %d bytes in %d entries, want the one new claim", b, n)
	}
}

// R27: a kept plan is taken only by the principal that made it, in the
// workspace it was made in: the same user id in another workspace finds
// nothing, and does not use it up; it is taken once.
func TestR27PlansKeptPerWorkspace(t *testing.T) {
	k := api.NewMemoryKeeper(api.KeepLimits{})
	if err := k.KeepPlan(bg, mia, "p1", []byte("plan"), t0, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, other := range []api.Scope{{User: "mia", Workspace: "acme"}, {User: "ada"}} {
		if b, _ := k.TakePlan(bg, other, "p1", t0); b != nil {
			t.Errorf("%+v took mia's plan", other)
		}
	}
	if b, _ := k.TakePlan(bg, mia, "p1", t0); string(b) != "plan" {
		t.Errorf("mia's plan: %q", b)
	}
	if b, _ := k.TakePlan(bg, mia, "p1", t0); b != nil {
		t.Error("a plan was taken twice")
	}
}

// A user over their share drops their own oldest finished entries, never
// another user's nor a request in flight; an entry over the whole share is
// refused; the keeper full refuses rather than drop another user's.
func TestMemoryKeeperBounds(t *testing.T) {
	const kb = 1 << 10
	k := api.NewMemoryKeeper(api.KeepLimits{Bytes: 40 * kb, UserBytes: 10 * kb, UserItems: 4})
	ada, dan := api.Scope{User: "ada"}, api.Scope{User: "dan"}
	val := make([]byte, 3*kb)
	_ = k.KeepPlan(bg, ada, "ada's", val, t0, t0.Add(time.Hour))
	_, _ = k.Claim(bg, dan, "in flight", []byte("r"), t0, t0.Add(time.Hour))
	for i := range 10 {
		if err := k.KeepPlan(bg, dan, fmt.Sprint(i), val, t0, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if b, n := k.ScopeSize(dan); b > 10*kb || n > 4 {
			t.Fatalf("dan holds %d bytes in %d entries, over the share", b, n)
		}
	}
	if b, _ := k.TakePlan(bg, dan, "9", t0); b == nil {
		t.Error("dan's newest plan was dropped")
	}
	if b, _ := k.TakePlan(bg, dan, "0", t0); b != nil {
		t.Error("dan's oldest plan was kept over the share")
	}
	if prev, _ := k.Claim(bg, dan, "in flight", []byte("r"), t0, t0.Add(time.Hour)); prev == nil {
		t.Error("dan's request in flight lost its claim")
	}
	if err := k.KeepPlan(bg, dan, "huge", make([]byte, 11*kb), t0, t0.Add(time.Hour)); !errors.Is(err, api.ErrNotKept) {
		t.Errorf("an entry over the share: %v", err)
	}
	// Fill the keeper with other users: once full, it refuses.
	var refused bool
	for i := 0; i < 20 && !refused; i++ {
		err := k.KeepPlan(bg, api.Scope{User: fmt.Sprint("u", i)}, "p", val, t0, t0.Add(time.Hour))
		refused = errors.Is(err, api.ErrNotKept)
	}
	if b, _ := k.Size(); !refused || b > 40*kb {
		t.Errorf("a full keeper holds %d bytes (refused: %v)", b, refused)
	}
	if b, _ := k.TakePlan(bg, ada, "ada's", t0); b == nil {
		t.Error("ada's plan was dropped for other users")
	}
}

// bigBot is a bot whose definition is a 0.9 MB document.
func bigBot(i int) string {
	return fmt.Sprintf(`{"name":"Big %d","channel":"sms","definition":{"text":%q}}`, i, strings.Repeat("x", 900_000))
}

// Issue 28 (attack, medium severity): users making dry-run creates of a
// 0.9 MB definition with fresh Idempotency-Keys grew the server without a
// plateau - the keys were bounded by count (10,000), the plans by count
// (1,000, shared by all users, so one user's dry runs evicted everyone
// else's). Through the Keeper's own accounting: each attacker keeps at most
// its share, the keeper at most its total, and the victim's plan and keyed
// response - made before the attack - survive it and still work. The same
// attack on the count bounds of before (countKeeper) keeps all of it.
func TestIssue28KeptBytesBoundedUnderAttack(t *testing.T) {
	const mib = 1 << 20
	lim := api.KeepLimits{Bytes: 6 * mib, UserBytes: 4 * mib, UserItems: 100}
	k := api.NewMemoryKeeper(lim)
	attack(t, k, func(round int) {
		if b, _ := k.Size(); b > lim.Bytes {
			t.Fatalf("after %d rounds the keeper holds %d bytes, over its %d", round, b, lim.Bytes)
		}
	})
	total, _ := k.Size()
	dan, _ := k.ScopeSize(api.Scope{User: "dan"})
	t.Logf("kept after the attack: %.1f MiB in all, dan %.1f MiB (bounds %d and %d MiB)",
		float64(total)/mib, float64(dan)/mib, lim.Bytes/mib, lim.UserBytes/mib)
	if dan > lim.UserBytes || dan < 2*mib {
		t.Errorf("dan holds %d bytes: over the share, or nothing was kept", dan)
	}

	old := &countKeeper{}
	attack(t, old, func(int) {})
	t.Logf("the count bounds of before kept %.1f MiB", float64(old.bytes)/mib)
	if int64(old.bytes) <= 2*lim.Bytes {
		t.Errorf("the attack on the count bounds kept %d bytes; the test no longer shows the attack", old.bytes)
	}
}

// attack runs issue 28's attack on a server keeping in k: a victim keeps a
// plan and a keyed response, then two users who may create - a Designer,
// and the victim's namesake in another workspace - make eight 0.9 MB dry
// runs each under fresh keys, after each round calling check. Then it
// checks that the victim's plan and response survive.
func attack(t *testing.T, k api.Keeper, check func(round int)) {
	f := apitest.NewFixture(t)
	srv, err := api.New(api.Config{Manager: f.Manager, Users: api.NewBearerTokens(demo.Tokens()), Keeper: k})
	if err != nil {
		t.Fatal(err)
	}
	c := &apitest.Client{T: t, Handler: srv}
	plan := c.Do("POST", "/bots?dry_run=true", "mia", apitest.BotJSON)
	keyed := c.Do("POST", "/bots", "mia", apitest.BotJSON, "Idempotency-Key: victim")
	for i := range 8 {
		for _, who := range []string{"dan", "acme/mia"} {
			if r := c.Do("POST", "/bots?dry_run=true", who, bigBot(i), fmt.Sprintf("Idempotency-Key: attack-%d", i)); r.Status != 200 {
				t.Fatalf("%s: %d", who, r.Status)
			}
		}
		check(i + 1)
	}
	if r := c.Do("POST", "/bots", "mia", apitest.BotJSON, "Idempotency-Key: victim"); r.Header.Get("Idempotent-Replayed") != "true" || string(r.Body) != string(keyed.Body) {
		t.Errorf("the victim's keyed response was lost: %d %v", r.Status, r.Header)
	}
	if r := c.Do("POST", plan.Header.Get("Location")+"/apply", "mia", ""); r.Status != 200 {
		t.Errorf("the victim's plan was lost: %d %s", r.Status, r.Body)
	}
}

// countKeeper is the policy before issue 28, as a Keeper: at most 10,000
// keys and 1,000 plans for all users, the oldest dropped first, whatever
// their size. It counts the bytes it holds.
type countKeeper struct {
	mu        sync.Mutex
	keys      []string
	responses map[string]*api.KeptResponse
	plans     []string
	planBytes map[string][]byte
	bytes     int
}

func (k *countKeeper) Claim(_ context.Context, s api.Scope, key string, req []byte, _, _ time.Time) (*api.KeptResponse, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	id := fmt.Sprint(s, key)
	if e := k.responses[id]; e != nil {
		return e, nil
	}
	if k.responses == nil {
		k.responses = map[string]*api.KeptResponse{}
	}
	k.responses[id] = &api.KeptResponse{Request: req}
	if k.keys = append(k.keys, id); len(k.keys) > 10000 {
		k.bytes -= len(k.responses[k.keys[0]].Response)
		delete(k.responses, k.keys[0])
		k.keys = k.keys[1:]
	}
	return nil, nil
}

func (k *countKeeper) Finish(_ context.Context, s api.Scope, key string, _, resp []byte, _, _ time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if e := k.responses[fmt.Sprint(s, key)]; e != nil {
		e.Response = resp
		k.bytes += len(resp)
	}
	return nil
}

func (k *countKeeper) Release(context.Context, api.Scope, string, []byte) error { return nil }

func (k *countKeeper) KeepPlan(_ context.Context, s api.Scope, id string, plan []byte, _, _ time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.planBytes == nil {
		k.planBytes = map[string][]byte{}
	}
	k.planBytes[fmt.Sprint(s, id)] = plan
	k.bytes += len(plan)
	if k.plans = append(k.plans, fmt.Sprint(s, id)); len(k.plans) > 1000 {
		k.bytes -= len(k.planBytes[k.plans[0]])
		delete(k.planBytes, k.plans[0])
		k.plans = k.plans[1:]
	}
	return nil
}

func (k *countKeeper) TakePlan(_ context.Context, s api.Scope, id string, _ time.Time) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.planBytes[fmt.Sprint(s, id)]
	delete(k.planBytes, fmt.Sprint(s, id))
	k.bytes -= len(b)
	return b, nil
}

// R17 on Go's own clock: a kept plan of a change to a stored bot applies
// on a memory store whose times carry a monotonic reading and the Local
// zone, which JSON does not keep.
func TestR17KeptPlanOnTheRealClock(t *testing.T) {
	c := demoClient(t, lifecycle.Config{Store: store.NewMemory()})
	var b api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
	for _, step := range []struct{ method, path, who, body string }{
		{"PATCH", "/bots/" + b.ID, "dan", `{"name":"Pizza 2"}`},
		{"POST", "/bots/" + b.ID + "/activate", "mia", ""},
		{"POST", "/bots/" + b.ID + "/deactivate", "mia", `{"grace":"15m"}`},
		{"POST", "/bots/" + b.ID + "/end-grace", "mia", ""},
		{"POST", "/bots/" + b.ID + "/test-sessions", "dan", ""},
		{"POST", "/bots/" + b.ID + "/duplicate", "dan", ""},
		{"POST", "/users/al/roles", "ada", `{"role":"designer"}`},
	} {
		r := c.Do(step.method, step.path+"?dry_run=true", step.who, step.body)
		if r.Status != 200 {
			t.Fatalf("%s dry run: %d %s", step.path, r.Status, r.Body)
		}
		if r := c.Do("POST", r.Header.Get("Location")+"/apply", step.who, ""); r.Status/100 != 2 {
			t.Errorf("%s %s: the kept plan did not apply: %d %s", step.method, step.path, r.Status, r.Body)
		}
	}
}
