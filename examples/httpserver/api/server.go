// Package api is botlife's reference HTTP service: every lifecycle.Manager
// operation as a JSON route, ready to run behind a team's gateway.
//
// Conventions (openapi.yaml, served at /openapi.yaml, is the contract and a
// test holds every request and response of the test suite to it):
//
//   - JSON in snake_case; durations as Go duration strings ("15m0s");
//     timestamps RFC 3339 in UTC; ids are strings.
//   - Every failure is an RFC 9457 application/problem+json body whose
//     type ("/problems/sender-occupied") is stable, one per library
//     sentinel error and per HTTP-level failure, unknown routes (404) and
//     methods (405) included. GET /problems/{name} describes each.
//   - Creating answers 201 with Location; deleting 204; a bot carries its
//     revision as ETag, and a change with If-Match answers 412 when the
//     revision moved.
//   - Every state-changing route of bots, roles, schedules and opening test
//     sessions takes ?dry_run=true: it returns the plan (R17) and stores
//     nothing; POST /plans/{id}/apply then commits exactly that plan, or
//     answers 409 when the world moved (see plans.go). The other
//     state-changing routes (applying a plan, test messages and closes,
//     the gateway's and the system's) refuse ?dry_run=true with a 400.
//   - POSTs take an Idempotency-Key (see idempotency.go).
//   - Lists (bots, audit, sessions, schedules) are paged by an opaque
//     cursor, in a stable order, with a next link in the body and a Link
//     header.
//   - Activation and deactivation may name some of the bot's senders
//     (R22); a bot's "live" lists its state on each sender it is live on.
//   - Schedules (R23) run an activation or a deactivation at an instant
//     given with its offset or as a wall-clock time in an IANA zone (see
//     schedules.go); ExpireDue runs the due ones as their makers.
//   - Identity comes from an Authenticator: Config.Users for people,
//     Config.Gateway for the messaging gateway (/route, closing sessions),
//     Config.System for the hosting service's own jobs (R19).
//   - Workspaces (R27): a credential belongs to one principal in one
//     workspace, and every request acts in that workspace only, through
//     Manager.Workspace: its bots, schedules, sessions, test sessions,
//     roles, audit log and event stream. An id of another workspace is 404
//     not-found; idempotency keys and dry-run plans are kept per principal
//     and workspace. No header or body names a workspace.
//   - GET /events streams the audit log as Server-Sent Events (R24).
//   - Test sessions (R26) let a tester talk to a bot in any state without a
//     sender (see testsessions.go).
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/botlife/botlife/lifecycle"
)

// Config configures a Server. Manager and Users are required.
type Config struct {
	// Manager is the Manager lifecycle.New returns (it acts in the default
	// workspace); each request acts through Manager.Workspace of its
	// principal's workspace (R27).
	Manager *lifecycle.Manager
	// Users authenticates the API's users; the principal's ID is the
	// lifecycle user id whose roles in the principal's workspace decide
	// what they may do.
	Users Authenticator
	// Gateway authenticates the messaging gateway for POST /route and
	// POST /sessions/{id}/close; nil refuses those routes (401). A gateway
	// credential routes messages and closes sessions in its principal's
	// workspace only: a service with several workspaces gives its gateway
	// one credential per workspace (a sender is claimed by one workspace
	// at a time, so the gateway knows which one to use).
	Gateway Authenticator
	// System authenticates the hosting service's own jobs that act as the
	// system (R19): /system/expire-due, /system/bots/{id}/deactivate and
	// /system/bots/{id}/end-grace; nil refuses them (401). Like the
	// gateway's, a system credential acts in its principal's workspace.
	System Authenticator
	// Logger receives a line per refused or failed request; nil discards.
	Logger *slog.Logger
	// MaxBody bounds request bodies in bytes; 0 means DefaultMaxBody.
	// POST /bots/import takes up to the Manager's Policy.MaxImport, so
	// that every export imports again (R13).
	MaxBody int64
	// Keeper keeps the responses of requests with an Idempotency-Key and
	// the plans of dry runs. A service of several replicas gives one that
	// its database backs, shared by the replicas; nil means a MemoryKeeper
	// bounded by KeepLimits, which one process alone sees.
	Keeper Keeper
	// KeepLimits bounds the default MemoryKeeper, in all, per user and for
	// the gateway of each workspace (see KeepLimits for the defaults); it
	// is unused when Keeper is set.
	KeepLimits KeepLimits
	// IdempotencyTTL is how long the response to a request with an
	// Idempotency-Key is kept at most (default 24h): a principal's share
	// of the Keeper may drop it sooner to keep a newer one, as the
	// gateway's does at a high rate of messages (see KeepLimits). A dry run's plan is kept for
	// the Manager's Policy.MaxPlanAge.
	IdempotencyTTL time.Duration
	// Heartbeat is how often GET /events sends a comment line to keep the
	// connection open while nothing happens; default 15s.
	Heartbeat time.Duration
	// KeeperTimeout bounds each Keeper call; 0 or less means
	// DefaultKeeperTimeout. The calls that outlive their request's client
	// - keeping a dry run's plan, keeping or releasing an
	// Idempotency-Key's response - run detached from the request so that a
	// client hanging up does not half-finish a write; the calls a request
	// waits for before it runs - claiming its Idempotency-Key, taking the
	// plan it applies - run on the request's context, bounded too, so a
	// hung Keeper does not hold a request until its client hangs up. A
	// claim, a plan taken or a dry run's plan not done in time answers a
	// 503 timeout problem (retry later); a response not kept in time is
	// answered all the same (see idempotency.go).
	KeeperTimeout time.Duration
}

// DefaultKeeperTimeout is the budget of each Keeper call - detached or
// on the request's context - when Config.KeeperTimeout is 0.
const DefaultKeeperTimeout = 5 * time.Second

// Server is the HTTP handler. It is safe for concurrent use.
type Server struct {
	m         *lifecycle.Manager
	users     Authenticator
	gateway   Authenticator
	system    Authenticator
	log       *slog.Logger
	maxBody   int64
	keep      Keeper
	idemTTL   time.Duration
	heartbeat time.Duration
	keepTime  time.Duration // the budget of each Keeper call
	mux       *http.ServeMux
	patterns  []string // every route's pattern, in the order registered
}

// New returns the server for cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Manager == nil || cfg.Users == nil {
		return nil, errors.New("api: Config.Manager and Config.Users are required")
	}
	none := AuthenticatorFunc(func(*http.Request) (Principal, error) {
		return Principal{}, authError("this route is not enabled on this server")
	})
	s := &Server{m: cfg.Manager, users: cfg.Users, gateway: cfg.Gateway, system: cfg.System, log: cfg.Logger,
		maxBody: cfg.MaxBody, heartbeat: cfg.Heartbeat, mux: http.NewServeMux()}
	if s.gateway == nil {
		s.gateway = none
	}
	if s.system == nil {
		s.system = none
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	if s.heartbeat <= 0 {
		s.heartbeat = 15 * time.Second
	}
	s.keep, s.idemTTL = cfg.Keeper, cfg.IdempotencyTTL
	if s.keep == nil {
		s.keep = NewMemoryKeeper(cfg.KeepLimits)
	}
	if s.idemTTL <= 0 {
		s.idemTTL = 24 * time.Hour
	}
	if s.keepTime = cfg.KeeperTimeout; s.keepTime <= 0 {
		s.keepTime = DefaultKeeperTimeout
	}
	s.routes()
	return s, nil
}

// handler is a route's logic: it returns the response or an error, which
// the server turns into a problem.
type handler func(r *http.Request, who caller) (reply, error)

// caller is who sent a request and the Manager bound to their workspace
// (R27): a handler reads and changes through m only, so nothing of another
// workspace is in reach.
type caller struct {
	Principal
	kind PrincipalKind // which Authenticator vouched for Principal
	m    *lifecycle.Manager
	ctx  context.Context // the request's
}

// scope is the caller's share of the Keeper.
func (c caller) scope() Scope { return Scope{Workspace: c.Workspace, Kind: c.kind, User: c.ID} }

// user is the caller as a lifecycle user.
func (c caller) user() lifecycle.Actor { return lifecycle.User(c.ID) }

// authBy is one of a Config's Authenticators and the kind of principal it
// vouches for.
type authBy struct {
	Authenticator
	kind PrincipalKind
}

// authenticate asks auth who sent r and binds the Manager to their
// workspace. A refusal is a 401 problem (with WWW-Authenticate set on w).
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, auth authBy) (caller, error) {
	who, err := auth.Authenticate(r)
	if err != nil {
		if !errors.Is(err, ErrUnauthenticated) {
			return caller{}, err
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="botlife"`)
		return caller{}, fail(probUnauthenticated, err.Error())
	}
	m := s.m
	if who.Workspace != "" {
		if m, err = s.m.Workspace(who.Workspace); err != nil {
			// The Authenticator's doing, not the client's: a 500, logged.
			return caller{}, fmt.Errorf("the authenticated principal's workspace: %v", err)
		}
	}
	return caller{Principal: who, kind: auth.kind, m: m, ctx: r.Context()}, nil
}

// workspaceKey keys the authenticated principal's workspace in a request's
// context, for the log.
type workspaceKey struct{}

// withWorkspace returns r knowing who's workspace, for the log.
func withWorkspace(r *http.Request, who caller) *http.Request {
	if who.Workspace == "" {
		return r
	}
	return r.WithContext(context.WithValue(r.Context(), workspaceKey{}, who.Workspace))
}

// logWorkspace is the attribute naming the workspace of the principal of
// the request whose context is ctx, for a log line about it (R27: ids are per workspace, so a
// path such as /bots/bot-1 alone could be any customer's); none for the
// default workspace or before authentication.
func logWorkspace(ctx context.Context) []any {
	if ws, ok := ctx.Value(workspaceKey{}).(lifecycle.Workspace); ok {
		return []any{"workspace", string(ws)}
	}
	return nil
}

// reply is a successful response.
type reply struct {
	status int
	body   any    // encoded as JSON, unless raw is set
	raw    []byte // sent as is with Content-Type application/json
	header http.Header
}

func ok(v any) (reply, error) { return reply{status: http.StatusOK, body: v}, nil }

func (s *Server) routes() {
	user, gw, sys := authBy{s.users, KindUser}, authBy{s.gateway, KindGateway}, authBy{s.system, KindSystem}
	s.handleFunc("GET /openapi.yaml", s.openAPI)
	s.handleFunc("GET /problems/{name}", s.problemDoc)

	s.handle("GET /bots", user, s.listBots)
	s.handle("POST /bots", user, s.createBot)
	s.handle("POST /bots/import", user, s.importBot)
	s.handle("GET /bots/{id}", user, s.getBot)
	s.handle("PATCH /bots/{id}", user, s.updateBot)
	s.handle("DELETE /bots/{id}", user, s.deleteBot)
	s.handle("GET /bots/{id}/export", user, s.exportBot)
	s.handle("GET /bots/{id}/validation", user, s.validateBot)
	s.handle("POST /bots/{id}/duplicate", user, s.duplicateBot)
	s.handle("POST /bots/{id}/activate", user, s.activateBot)
	s.handle("POST /bots/{id}/deactivate", user, s.deactivateBot)
	s.handle("POST /bots/{id}/end-grace", user, s.endGrace)
	s.handle("POST /bots/{id}/rollback", user, s.rollbackBot)

	s.handle("POST /plans/{id}/apply", user, noDryRun(s.applyKeptPlan))

	s.handle("POST /bots/{id}/test-sessions", user, s.openTestSession)
	s.handle("GET /test-sessions/{id}", user, s.getTestSession)
	s.handle("POST /test-sessions/{id}/messages", user, noDryRun(s.sendTest))
	s.handle("POST /test-sessions/{id}/close", user, noDryRun(s.closeTestSession))

	s.handle("GET /schedules", user, s.listSchedules)
	s.handle("POST /schedules", user, s.createSchedule)
	s.handle("GET /schedules/{id}", user, s.getSchedule)
	s.handle("POST /schedules/{id}/cancel", user, s.cancelSchedule)

	s.handle("GET /users/{user}/roles", user, s.userRoles)
	s.handle("POST /users/{user}/roles", user, s.grantRole)
	s.handle("DELETE /users/{user}/roles/{role}", user, s.revokeRole)

	s.handle("GET /audit", user, s.audit)
	s.handleFunc("GET /events", s.events)
	s.handle("GET /analytics", user, s.analytics)
	s.handle("GET /sessions", user, s.sessions)
	s.handle("GET /sessions/{id}", user, s.getSession)

	s.handle("POST /route", gw, noDryRun(s.route))
	s.handle("POST /sessions/{id}/close", gw, noDryRun(s.closeSession))

	s.handle("POST /system/expire-due", sys, noDryRun(s.expireDue))
	s.handle("POST /system/bots/{id}/deactivate", sys, noDryRun(s.systemDeactivate))
	s.handle("POST /system/bots/{id}/end-grace", sys, noDryRun(s.systemEndGrace))
}

// noDryRun is h on a route that has no dry run: ?dry_run=true is refused
// (400) rather than ignored, so a client that asks only to see what would
// change never commits it (R17). ?dry_run=false is the request itself.
func noDryRun(h handler) handler {
	return func(r *http.Request, who caller) (reply, error) {
		if dry, err := dryRun(r); err != nil || dry {
			if err == nil {
				err = &lifecycle.InputError{Field: "dry_run", Value: "true",
					Problem: "is not taken by " + r.URL.Path + ", which has no dry run; see /openapi.yaml for the routes that have one"}
			}
			return reply{}, err
		}
		return h(r, who)
	}
}

// ServeHTTP implements http.Handler. A request whose path, once
// percent-decoded, is not text (invalid UTF-8, a NUL or another control
// character) gets a 400 invalid-input problem that does not repeat it
// (R21): every id in a path is text. Requests no route matches get a
// problem: 404 no-such-route, or 405 method-not-allowed with Allow.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !pathIsText(r.URL.Path) { // R21, on every route: a bad id is never looked up, echoed or logged
		s.writeProblem(w, r, errPathNotText)
		return
	}
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		s.mux.ServeHTTP(w, r) // sets the path values
		return
	}
	probe := &headerProbe{header: http.Header{}}
	h.ServeHTTP(probe, r) // the mux's own 404/405/redirect, to learn which
	switch probe.status {
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", probe.header.Get("Allow"))
		s.writeProblem(w, r, fail(probMethod, fmt.Sprintf("%s does not take %s; it takes %s", shown(r.URL.Path, maxShownPath), trunc(r.Method), probe.header.Get("Allow"))))
	case http.StatusNotFound:
		s.writeProblem(w, r, fail(probNoRoute, "no route matches "+trunc(r.Method)+" "+shown(r.URL.Path, maxShownPath)+"; see /openapi.yaml"))
	default:
		h.ServeHTTP(w, r) // redirects of unclean paths
	}
}

// headerProbe records what the mux's fallback handler would answer.
type headerProbe struct {
	header http.Header
	status int
}

func (p *headerProbe) Header() http.Header         { return p.header }
func (p *headerProbe) Write(b []byte) (int, error) { return len(b), nil }
func (p *headerProbe) WriteHeader(status int)      { p.status = status }

// Routes returns the pattern of every route the server serves, such as
// "GET /bots/{id}", in the order registered: what a proxy in front of it
// forwards (each GET route with HEAD, which it answers too), and what a
// test that must cover every route ranges over.
func (s *Server) Routes() []string { return append([]string(nil), s.patterns...) }

// handleFunc registers f on pattern and lists the route.
func (s *Server) handleFunc(pattern string, f http.HandlerFunc) {
	s.patterns = append(s.patterns, pattern)
	s.mux.HandleFunc(pattern, f)
}

// handle registers h on pattern behind auth, with idempotency for POSTs.
func (s *Server) handle(pattern string, auth authBy, h handler) {
	s.handleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		who, err := s.authenticate(w, r, auth)
		if err != nil {
			s.writeProblem(w, r, err)
			return
		}
		if err := knownQuery(r); err != nil {
			s.writeProblem(w, r, err)
			return
		}
		r = withWorkspace(r, who)
		who.ctx = r.Context()
		key := r.Header.Get("Idempotency-Key")
		if r.Method != http.MethodPost || key == "" {
			s.write(w, r, s.render(r, who, h))
			return
		}
		s.idempotent(w, r, who, key, h)
	})
}

// render runs h and renders its reply or its error.
func (s *Server) render(r *http.Request, who caller, h handler) rendered {
	rep, err := h(r, who)
	if err != nil {
		return s.renderProblem(r, err)
	}
	out := rendered{status: rep.status, header: rep.header, body: rep.raw}
	if out.header == nil {
		out.header = http.Header{}
	}
	if rep.status != http.StatusNoContent {
		out.header.Set("Content-Type", "application/json")
	}
	if rep.raw == nil && rep.body != nil {
		b, err := encode(rep.body)
		if err != nil {
			return s.renderProblem(r, fmt.Errorf("encoding the response: %w", err))
		}
		out.body = b
	}
	return out
}

func encode(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (s *Server) renderProblem(r *http.Request, err error) rendered {
	p := problemOf(err)
	path := loggedPath(r)
	if p.Status >= 500 {
		attrs := append(logWorkspace(r.Context()), "method", r.Method, "path", path, "status", p.Status, "err", err)
		if cause := causeOf(err); cause != nil {
			attrs = append(attrs, "cause", cause)
		}
		s.log.ErrorContext(r.Context(), "request failed", attrs...)
	} else {
		// The detail may quote the request: it is not logged.
		s.log.InfoContext(r.Context(), "request refused", append(logWorkspace(r.Context()), "method", r.Method, "path", path, "status", p.Status, "type", p.Type)...)
	}
	return renderedProblem(r, p, err)
}

// renderedProblem is the response of problem p of err, answering r.
func renderedProblem(r *http.Request, p Problem, err error) rendered {
	if loggedPath(r) == r.URL.Path {
		p.Instance = r.URL.EscapedPath() // a URI reference (RFC 9457): "/users/a%23b", not "/users/a#b"
	}
	b, encErr := encode(p)
	if encErr != nil {
		b = []byte(`{"type":"/problems/internal","title":"Internal error","status":500}` + "\n")
		p.Status = http.StatusInternalServerError
	}
	h := http.Header{}
	h.Set("Content-Type", "application/problem+json")
	retryAfter(h, p, err)
	return rendered{status: p.Status, header: h, body: b}
}

// Unauthenticated answers r with the API's 401 unauthenticated problem,
// whose detail says which credential to send, and a Bearer challenge of
// realm: for a route the hosting service serves beside the API, such as
// its metrics, so that its refusals are problems like the API's.
func (s *Server) Unauthenticated(w http.ResponseWriter, r *http.Request, realm, detail string) {
	w.Header().Set("WWW-Authenticate", "Bearer realm="+strconv.Quote(realm))
	s.writeProblem(w, r, fail(probUnauthenticated, detail))
}

// MethodNotAllowed answers r with the API's 405 method-not-allowed
// problem and Allow: allow (such as "GET, HEAD"): for a route the hosting
// service serves beside the API, such as its probes, sent another method.
func (s *Server) MethodNotAllowed(w http.ResponseWriter, r *http.Request, allow string) {
	w.Header().Set("Allow", allow)
	s.writeProblem(w, r, fail(probMethod, fmt.Sprintf("%s does not take %s; it takes %s", shown(r.URL.Path, maxShownPath), trunc(r.Method), allow)))
}

// maxShownPath is how much of a request's path a 404 or 405 quotes back.
const maxShownPath = 200

// Unavailable answers r with the API's 503 unavailable problem, whose
// detail says what is not ready, and Retry-After: for the hosting
// service's readiness probe, so that its refusal is a problem too.
// It is not logged, as a failed request is: a probe asks every few
// seconds.
func (s *Server) Unavailable(w http.ResponseWriter, r *http.Request, detail string) {
	err := fail(sentinelKind(lifecycle.ErrUnavailable), detail)
	s.write(w, r, renderedProblem(r, problemOf(err), err))
}

func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	s.write(w, r, s.renderProblem(r, err))
}

// write sends resp as the answer to r: to a HEAD, the status and headers
// the GET gets, its Content-Length included, and no body (RFC 9110
// 9.3.2), whatever the ResponseWriter.
func (s *Server) write(w http.ResponseWriter, r *http.Request, resp rendered) {
	for k, v := range resp.header {
		w.Header()[k] = v
	}
	if r.Method == http.MethodHead {
		if resp.status != http.StatusNoContent {
			w.Header().Set("Content-Length", strconv.Itoa(len(resp.body)))
		}
		w.WriteHeader(resp.status)
		return
	}
	w.WriteHeader(resp.status)
	_, _ = w.Write(resp.body)
}

// maxLoggedPath bounds the request paths copied into logs and problems.
const maxLoggedPath = 512

// loggedPath is the request path, or a placeholder for an oversize one or
// one that is not text (R21: such input is not copied).
func loggedPath(r *http.Request) string {
	if len(r.URL.Path) > maxLoggedPath {
		return "(a path of more than 512 bytes)"
	}
	if !pathIsText(r.URL.Path) {
		return "(a path that is not text)"
	}
	return r.URL.Path
}

// errPathNotText refuses a path that is not text (R21).
var errPathNotText = fmt.Errorf("%w: the path is not text: an id in it is not valid UTF-8 or holds a NUL or another control character; "+
	"send ids as UTF-8 text without control characters, percent-encoded", lifecycle.ErrInvalidInput)

// pathIsText reports whether the decoded path p is valid UTF-8 without
// control characters.
func pathIsText(p string) bool {
	return utf8.ValidString(p) && strings.IndexFunc(p, unicode.IsControl) < 0
}

// context returns the request's context.
func ctx(r *http.Request) context.Context { return r.Context() }

// queryParams are the query parameters some route takes (openapi.yaml).
var queryParams = []string{"after", "cursor", "dry_run", "limit"}

// knownQuery refuses a request naming a query parameter no route takes:
// a misspelt ?dry-run=true would otherwise commit the change the client
// only meant to preview (R17), and ?limt=5 read a page of the default size.
func knownQuery(r *http.Request) error {
	for name := range r.URL.Query() {
		if !slices.Contains(queryParams, name) {
			return &lifecycle.InputError{Field: "query parameter", Value: trunc(name),
				Problem: "is not one this API takes (" + strings.Join(queryParams, ", ") + "); see /openapi.yaml for which route takes which"}
		}
	}
	return nil
}

// dryRun reads ?dry_run=true.
func dryRun(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("dry_run"); strings.ToLower(v) {
	case "", "false", "0":
		return false, nil
	case "true", "1":
		return true, nil
	default:
		return false, &lifecycle.InputError{Field: "dry_run", Value: trunc(v), Problem: "must be true or false"}
	}
}
