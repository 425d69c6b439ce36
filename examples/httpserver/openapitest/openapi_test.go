package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/google/go-cmp/cmp"
)

// conformance validates exchanges against openapi.yaml and remembers which
// operations answered which statuses.
type conformance struct {
	doc    *openapi3.T
	router routers.Router
	mu     sync.Mutex
	seen   map[string]map[int]bool // operationId -> statuses
	count  int
}

func init() {
	// The event stream is text; its events are checked by TestR24EventsStream in package api.
	openapi3filter.RegisterBodyDecoder("text/event-stream", openapi3filter.PlainBodyDecoder)
}

func load(t *testing.T) *conformance {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.yaml is not a valid OpenAPI 3.0 document: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &conformance{doc: doc, router: router, seen: map[string]map[int]bool{}}
}

// check validates one exchange: a request the server accepted (2xx) must be
// valid, a refused one may be invalid (that is why it was refused); every
// response must be valid, problems included. Requests no route of the
// document matches must get a 404 or 405 problem.
func (c *conformance) check(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	ctx := context.Background()
	c.mu.Lock()
	c.count++
	c.mu.Unlock()
	req.URL.Scheme, req.URL.Host, req.Host = "http", "127.0.0.1:8080", "127.0.0.1:8080"
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s %s is not in openapi.yaml but answered %d", req.Method, req.URL.Path, resp.StatusCode)
		}
		var v any
		if err := json.Unmarshal(respBody, &v); err != nil {
			t.Errorf("%s %s: %v", req.Method, req.URL.Path, err)
			return
		}
		if err := c.doc.Components.Schemas["Problem"].Value.VisitJSON(v); err != nil {
			t.Errorf("%s %s: the %d answer is not a Problem: %v", req.Method, req.URL.Path, resp.StatusCode, err)
		}
		return
	}
	c.mu.Lock()
	op := route.Operation.OperationID
	if c.seen[op] == nil {
		c.seen[op] = map[int]bool{}
	}
	c.seen[op][resp.StatusCode] = true
	c.mu.Unlock()
	opts := &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, IncludeResponseStatus: true, MultiError: true}
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
	if err := openapi3filter.ValidateRequest(ctx, in); err != nil && resp.StatusCode < 400 {
		t.Errorf("%s %s: the server accepted (%d) a request openapi.yaml calls invalid: %v", req.Method, req.URL, resp.StatusCode, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body: io.NopCloser(bytes.NewReader(respBody)), Options: opts}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		t.Errorf("%s %s: the %d response does not match openapi.yaml: %v\n%.600s", req.Method, req.URL, resp.StatusCode, err, respBody)
	}
}

// TestOpenAPI runs the API's scripted session, its status table and the
// README's curl session through the handler, and validates every request
// and response against openapi.yaml. Then every operation of the document
// must have answered with success at least once, so the document names no
// route the server lacks.
func TestOpenAPI(t *testing.T) {
	c := load(t)
	apitest.Run(t, c.check)
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("README", func(t *testing.T) { apitest.Curl(t, readme, c.check) })

	var missing []string
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			ok := false
			for status := range c.seen[op.OperationID] {
				ok = ok || status < 300
			}
			if !ok {
				missing = append(missing, method+" "+path)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("operations of openapi.yaml never answered with success in the tests: %v", missing)
	}
	t.Logf("%d exchanges validated against openapi.yaml, %d operations", c.count, len(c.seen))
}

// The document lists exactly the problem types the server answers with.
func TestOpenAPIProblemTypes(t *testing.T) {
	c := load(t)
	var inDoc []string
	for _, v := range c.doc.Components.Schemas["Problem"].Value.Properties["type"].Value.Enum {
		inDoc = append(inDoc, v.(string))
	}
	var served []string
	for _, k := range api.Problems() {
		served = append(served, k.Type())
	}
	sort.Strings(inDoc)
	sort.Strings(served)
	if diff := cmp.Diff(served, inDoc); diff != "" {
		t.Errorf("openapi.yaml's problem types differ from api.Problems() (-served +document):\n%s", diff)
	}
}

// The server's routes are exactly the document's operations, so a test
// that ranges over Server.Routes (R27's isolation test does) covers every
// operation of the contract, and a new route cannot be left out of either.
// Every GET route also answers HEAD (as net/http's ServeMux serves it), and
// the document says so: each GET has its HEAD beside it.
func TestOpenAPIRoutes(t *testing.T) {
	c := load(t)
	f := apitest.NewFixture(t)
	var inDoc []string
	for path, item := range c.doc.Paths.Map() {
		for method := range item.Operations() {
			inDoc = append(inDoc, method+" "+path)
		}
	}
	served := f.Server.Routes()
	for _, r := range served {
		if path, ok := strings.CutPrefix(r, "GET "); ok {
			served = append(served, "HEAD "+path)
		}
	}
	sort.Strings(inDoc)
	sort.Strings(served)
	if diff := cmp.Diff(served, inDoc); diff != "" {
		t.Errorf("the server's routes differ from openapi.yaml's operations (-served +document):\n%s", diff)
	}
}

// R23: a schedule is made with exactly one form of when (at, or local with
// zone) and exactly one operation. The document says so with not/anyOf
// (which client generators read as validation, not as a union of types);
// the server's refusals are not checked against the document, so the
// combinations it must refuse are checked here.
func TestOpenAPICreateScheduleForms(t *testing.T) {
	s := load(t).doc.Components.Schemas["CreateSchedule"].Value
	for body, valid := range map[string]bool{
		`{"bot":"b","at":"2026-12-01T02:00:00+01:00","activate":{}}`:                                       true,
		`{"bot":"b","at":"2026-12-01T02:00:00+01:00","zone":"Europe/Berlin","deactivate":{}}`:              true,
		`{"bot":"b","local":"2026-12-01T02:00:00","zone":"Europe/Berlin","activate":{}}`:                   true,
		`{"bot":"b","local":"2026-12-01T02:00:00","activate":{}}`:                                          false, // local needs zone
		`{"bot":"b","at":"2026-12-01T02:00:00Z","local":"2026-12-01T02:00:00","zone":"UTC","activate":{}}`: false,
		`{"bot":"b","at":"2026-12-01T02:00:00Z","activate":{},"deactivate":{}}`:                            false,
		`{"bot":"b","at":"2026-12-01T02:00:00Z"}`:                                                          false,
		`{"bot":"b","activate":{}}`: false,
	} {
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		if err := s.VisitJSON(v); (err == nil) != valid {
			t.Errorf("%s: valid %v, want %v (%v)", body, err == nil, valid, err)
		}
	}
}

// R11: UpdateBot says what PATCH /bots/{id} takes: a field left out or
// null stays as it is, and a body that gives no field a value - {}, or
// only nulls - is invalid. The server agrees on each body: it takes the
// valid ones (200) and refuses the others (400), changing nothing.
func TestR11OpenAPIUpdateBotNeedsAValue(t *testing.T) {
	s := load(t).doc.Components.Schemas["UpdateBot"].Value
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var b struct{ ID string }
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
	for _, tc := range []struct {
		body    string
		valid   bool
		problem string // the type of the server's 400 to an invalid one
	}{
		{`{"name":"n"}`, true, ""},
		{`{"name":null,"description":"d"}`, true, ""},
		{`{"definition":null,"description":"e"}`, true, ""},
		{`{"senders":null,"idle_timeout":null,"name":"m"}`, true, ""},
		{`{}`, false, "invalid-input"},
		{`{"name":null}`, false, "invalid-input"},
		{`{"name":null,"description":null,"senders":null,"definition":null,"idle_timeout":null}`, false, "invalid-input"},
		{`{"idle_timeout":"soon"}`, false, "invalid-input"},
		{`{"nick":"n"}`, false, "malformed-body"},
	} {
		var v any
		if err := json.Unmarshal([]byte(tc.body), &v); err != nil {
			t.Fatal(err)
		}
		if err := s.VisitJSON(v); (err == nil) != tc.valid {
			t.Errorf("%s: valid %v in openapi.yaml, want %v (%v)", tc.body, err == nil, tc.valid, err)
		}
		before, _ := apitest.World(t, c, b.ID)
		r := c.Do("PATCH", "/bots/"+b.ID, "dan", tc.body)
		switch {
		case tc.valid && r.Status != 200:
			t.Errorf("PATCH %s = %d %s, want 200", tc.body, r.Status, r.Body)
		case !tc.valid && (r.Status != 400 || r.Problem(t).Type != "/problems/"+tc.problem):
			t.Errorf("PATCH %s = %d %s, want 400 %s", tc.body, r.Status, r.Body, tc.problem)
		case !tc.valid:
			if after, _ := apitest.World(t, c, b.ID); after != before {
				t.Errorf("the refused PATCH %s changed something:\nbefore %s\nafter  %s", tc.body, before, after)
			}
		}
	}
}
