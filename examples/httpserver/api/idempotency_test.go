package api_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/botlife/botlife/examples/httpserver/demo"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
)

// Concurrent POSTs with one Idempotency-Key and one body create one bot:
// each gets the first answer, replayed, or 409 idempotency-key-in-use while
// the first runs.
func TestIdempotencyKeyConcurrent(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	const n = 16
	out := make([]apitest.Response, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = c.Do("POST", "/bots", "dan", apitest.BotJSON, "Idempotency-Key: once")
		}()
	}
	wg.Wait()
	var first []byte
	for _, r := range out {
		switch r.Status {
		case 201:
			if first == nil {
				first = r.Body
			} else if string(first) != string(r.Body) {
				t.Errorf("two different answers under one key:\n%s\n%s", first, r.Body)
			}
		case 409:
			if p := r.Problem(t); p.Type != "/problems/idempotency-key-in-use" {
				t.Errorf("409 %+v", p)
			}
		default:
			t.Errorf("status %d: %s", r.Status, r.Body)
		}
	}
	var list api.Page[api.Summary]
	c.Do("GET", "/bots", "al", "").JSON(t, &list)
	if len(list.Items) != 1 {
		t.Errorf("%d POSTs with one Idempotency-Key made %d bots", n, len(list.Items))
	}
	// The key is the user's: another user's request under it is new.
	r := c.Do("POST", "/bots", "mia", apitest.BotJSON, "Idempotency-Key: once")
	if r.Status != 201 || r.Header.Get("Idempotent-Replayed") != "" || string(r.Body) == string(first) {
		t.Errorf("mia under dan's key: %d %v", r.Status, r.Header)
	}
}

// failingFinish is a Keeper whose Finish fails, fail times, as a keeper
// whose database is briefly unavailable does.
type failingFinish struct {
	api.Keeper
	mu   sync.Mutex
	fail int
}

func (k *failingFinish) Finish(ctx context.Context, s api.Scope, key string, req, resp []byte, now, exp time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.fail > 0 {
		k.fail--
		return fmt.Errorf("keeper: %w", lifecycle.ErrUnavailable)
	}
	return k.Keeper.Finish(ctx, s, key, req, resp, now, exp)
}

// R15: a request that did its work under an Idempotency-Key is never run a
// second time because its response could not be kept at once: the Server
// tries again (a brief outage: the retry gets the first answer replayed)
// and, when the Keeper still fails, leaves the key claimed until its lease
// ends (the retry is told the key is in use). It released the key, and the
// retry created a second bot.
func TestR15ResponseNotKeptIsNotRunTwice(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fail       int
		wantStatus int
	}{
		{"kept on a later attempt", 2, 201},
		{"never kept", 1000, 409},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			m, err := demo.NewManager(ctx, lifecycle.Config{Store: store.NewMemory(), Clock: mockAtStart()})
			if err != nil {
				t.Fatal(err)
			}
			k := &failingFinish{Keeper: api.NewMemoryKeeper(api.KeepLimits{}), fail: tc.fail}
			srv, err := api.New(api.Config{Manager: m, Users: api.NewBearerTokens(demo.Tokens()), Keeper: k})
			if err != nil {
				t.Fatal(err)
			}
			c := &apitest.Client{T: t, Handler: srv}
			if r := c.Do("POST", "/bots", "dan", apitest.BotJSON, "Idempotency-Key: k1"); r.Status != 201 {
				t.Fatalf("first: %d %s", r.Status, r.Body)
			}
			r := c.Do("POST", "/bots", "dan", apitest.BotJSON, "Idempotency-Key: k1")
			if r.Status != tc.wantStatus || (r.Status == 201) != (r.Header.Get("Idempotent-Replayed") == "true") {
				t.Errorf("the retry: %d, replayed %q, want %d: %s", r.Status, r.Header.Get("Idempotent-Replayed"), tc.wantStatus, r.Body)
			}
			if r.Status == 409 && r.Header.Get("Retry-After") == "" {
				t.Errorf("the retry's 409 does not say when to retry")
			}
			bots, err := m.List(ctx, lifecycle.User("dan"), "", 10)
			if err != nil || len(bots) != 1 {
				t.Errorf("bots after the retry: %d (%v), want 1", len(bots), err)
			}
		})
	}
}

// R21: an Idempotency-Key that is not text (a control character, invalid
// UTF-8) is refused without being quoted back, however long it is - the
// text is checked before the length, and an over-long key of text is
// quoted by at most its first 16 bytes, never cut inside a character.
// Every refusal says what key to send and changes nothing. An over-long
// key had its first 16 bytes quoted before the text check: "\x01\x01..."
// and "a\xc3..." came back in the detail.
func TestR21IdempotencyKeyRefusalQuotesOnlyText(t *testing.T) {
	long := func(s string) string { return strings.Repeat(s, 300/len(s)+1) }
	for _, tc := range []struct {
		name  string
		key   string
		want  string // a part of the detail
		quote string // what of the key the detail quotes
	}{
		{"R21/short, a control character", "k\x01", "is not text", `""`},
		{"R21/long, control characters", long("\x01"), "is not text", `""`},
		{"R21/long, a control character late", long("k") + "\x7f", "is not text", `""`},
		{"R21/long, invalid UTF-8", long("\xff"), "is not text", `""`},
		{"R21/long text", long("k"), "is longer than 255 bytes", `"kkkkkkkkkkkkkkkk..."`},
		{"R21/long text, a character across byte 16", "a" + long("é"), "is longer than 255 bytes", `"aééééééé..."`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := apitest.NewFixture(t)
			c := &apitest.Client{T: t, Handler: f.Server}
			before, _ := apitest.World(t, c)
			req := httptest.NewRequest("POST", "/bots", strings.NewReader(apitest.BotJSON))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+apitest.Token("dan"))
			req.Header["Idempotency-Key"] = []string{tc.key}
			r := c.Send(req, []byte(apitest.BotJSON))
			if r.Status != 400 {
				t.Fatalf("POST /bots = %d %s, want 400", r.Status, r.Body)
			}
			p := r.Problem(t)
			if p.Type != "/problems/invalid-input" || !strings.Contains(p.Detail, tc.want) || !strings.Contains(p.Detail, "such as a UUID") {
				t.Errorf("problem %+v, want invalid-input with %q and what key to send", p, tc.want)
			}
			if !strings.Contains(p.Detail, "Idempotency-Key "+tc.quote+":") {
				t.Errorf("detail %q, want the key quoted as %s", p.Detail, tc.quote)
			}
			if !utf8.ValidString(p.Detail) || strings.ContainsFunc(p.Detail, unicode.IsControl) || strings.Contains(p.Detail, `\x`) {
				t.Errorf("detail %q quotes what is not text", p.Detail)
			}
			if after, _ := apitest.World(t, c); after != before {
				t.Errorf("the refused request changed something:\nbefore %s\nafter  %s", before, after)
			}
		})
	}
}

// garbledKeeper keeps every response as bytes that do not decode, as a
// keeper whose stored value was damaged does.
type garbledKeeper struct{ api.Keeper }

func (k garbledKeeper) Finish(ctx context.Context, s api.Scope, key string, req, _ []byte, now, exp time.Time) error {
	return k.Keeper.Finish(ctx, s, key, req, []byte("not a kept response"), now, exp)
}

// R15: a retry under an Idempotency-Key whose kept response does not
// decode is never run a second time, and its answer says what to do: a
// 409 idempotency-response-lost, with no Retry-After (no retry under the
// key can succeed), that says to check what the first request did and to
// send any new request under a new key; the same on every retry. It was
// a 500 on every retry for as long as the key was kept, which told a
// client to retry it and never to use a new key.
func TestR15KeptResponseThatDoesNotDecodeSaysUseANewKey(t *testing.T) {
	ctx := context.Background()
	m, err := demo.NewManager(ctx, lifecycle.Config{Store: store.NewMemory(), Clock: mockAtStart()})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Config{Manager: m, Users: api.NewBearerTokens(demo.Tokens()),
		Keeper: garbledKeeper{api.NewMemoryKeeper(api.KeepLimits{})}})
	if err != nil {
		t.Fatal(err)
	}
	c := &apitest.Client{T: t, Handler: srv}
	if r := c.Do("POST", "/bots", "dan", apitest.BotJSON, "Idempotency-Key: k1"); r.Status != 201 {
		t.Fatalf("first: %d %s", r.Status, r.Body)
	}
	before, _ := apitest.World(t, c)
	for i := range 2 {
		r := c.Do("POST", "/bots", "dan", apitest.BotJSON, "Idempotency-Key: k1")
		if r.Status != 409 || r.Header.Get("Retry-After") != "" {
			t.Errorf("retry %d: %d (Retry-After %q) %s, want 409 without Retry-After", i+1, r.Status, r.Header.Get("Retry-After"), r.Body)
			continue
		}
		if p := r.Problem(t); p.Type != "/problems/idempotency-response-lost" ||
			!strings.Contains(p.Detail, "was done once") || !strings.Contains(p.Detail, "a new Idempotency-Key") {
			t.Errorf("retry %d: problem %+v, want idempotency-response-lost saying the request was done once and to use a new key", i+1, p)
		}
	}
	if after, _ := apitest.World(t, c); after != before {
		t.Errorf("a retry changed something:\nbefore %s\nafter  %s", before, after)
	}
	bots, err := m.List(ctx, lifecycle.User("dan"), "", 10)
	if err != nil || len(bots) != 1 {
		t.Errorf("bots after the retries: %d (%v), want 1", len(bots), err)
	}
	if r := c.Do("POST", "/bots", "dan", apitest.BotJSON, "Idempotency-Key: k2"); r.Status != 201 {
		t.Errorf("the request under a new key: %d %s, want 201", r.Status, r.Body)
	}
}
