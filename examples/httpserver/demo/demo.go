// Package demo sets up the reference HTTP service as the README shows it:
// a Manager with four users in the default workspace and two in a second
// one, "acme" (R27), and the bearer tokens of the users, the messaging
// gateway and the scheduler: each token belongs to one principal in one
// workspace. The tokens are demo values: a real deployment plugs its own
// api.Authenticator into api.Config.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// User is a demo user: id, role and bearer token, and the workspace the
// token acts in ("" is the default).
type User struct {
	ID        string
	Role      roles.Role
	Token     string
	Workspace lifecycle.Workspace
}

// Acme is the demo's second workspace (R27): another customer account of
// the same service, which sees nothing of the default one and vice versa.
const Acme lifecycle.Workspace = "acme"

// Workspaces are the demo's workspaces: the default one and Acme.
var Workspaces = []lifecycle.Workspace{"", Acme}

// Users are the demo users. The first user of each workspace is its first
// Admin and grants the others there their roles. mia is a Manager in both
// workspaces, with one token for each.
var Users = []User{
	{"ada", roles.Admin, "ada-token", ""},
	{"mia", roles.Manager, "mia-token", ""},
	{"dan", roles.Designer, "dan-token", ""},
	{"al", roles.Analyzer, "al-token", ""},
	{"ida", roles.Admin, "acme-ida-token", Acme},
	{"mia", roles.Manager, "acme-mia-token", Acme},
}

// The tokens of the messaging gateway (POST /route, closing sessions) and of
// the scheduler (the /system routes), one of each per workspace.
const (
	GatewayToken       = "gateway-token"
	SchedulerToken     = "scheduler-token"
	AcmeGatewayToken   = "acme-gateway-token"
	AcmeSchedulerToken = "acme-scheduler-token"
)

// In returns m acting in workspace ws: m itself for the default workspace,
// else m.Workspace(ws).
func In(m *lifecycle.Manager, ws lifecycle.Workspace) (*lifecycle.Manager, error) {
	if ws == "" {
		return m, nil
	}
	return m.Workspace(ws)
}

// Config returns cfg with ids numbered bot-1, bot-2, ... in each workspace
// (so a session can be replayed as the README prints it, and no workspace's
// numbers count another's bots, R27) unless cfg.NewID is set.
func Config(cfg lifecycle.Config) lifecycle.Config {
	if cfg.NewID == nil {
		var mu sync.Mutex
		n := map[lifecycle.Workspace]int{}
		cfg.NewID = func(ws lifecycle.Workspace) lifecycle.BotID {
			mu.Lock()
			defer mu.Unlock()
			n[ws]++
			return lifecycle.BotID(fmt.Sprintf("bot-%d", n[ws]))
		}
	}
	return cfg
}

// NewManager returns a Manager for cfg (see Config) with the demo users'
// roles granted in their workspaces: each workspace's first Admin by the
// system (R19), the others by that Admin. Roles a persistent store already
// holds are kept as they are. The Manager acts in the default workspace;
// In gives it for another.
func NewManager(ctx context.Context, cfg lifecycle.Config) (*lifecycle.Manager, error) {
	m, err := lifecycle.New(Config(cfg))
	if err != nil {
		return nil, err
	}
	admins := map[lifecycle.Workspace]lifecycle.Actor{}
	for _, u := range Users {
		in, err := In(m, u.Workspace)
		if err != nil {
			return nil, err
		}
		by, ok := admins[u.Workspace]
		if !ok {
			by, admins[u.Workspace] = lifecycle.System("bootstrap: the first Admin"), lifecycle.User(u.ID)
		}
		if _, err := in.GrantRole(ctx, by, u.ID, u.Role); err != nil && !errors.Is(err, lifecycle.ErrRoleHeld) {
			return nil, fmt.Errorf("granting the demo user %s the role %v in workspace %q: %w", u.ID, u.Role, u.Workspace, err)
		}
	}
	return m, nil
}

// Tokens returns the demo users' tokens and their principals.
func Tokens() map[string]api.Principal {
	tokens := map[string]api.Principal{}
	for _, u := range Users {
		tokens[u.Token] = api.Principal{ID: u.ID, Workspace: u.Workspace}
	}
	return tokens
}

// GatewayTokens returns the messaging gateway's tokens, one per workspace.
func GatewayTokens() map[string]api.Principal {
	return map[string]api.Principal{GatewayToken: {ID: "gateway"}, AcmeGatewayToken: {ID: "gateway", Workspace: Acme}}
}

// NewServer returns the API over m (from NewManager) with the demo tokens.
func NewServer(m *lifecycle.Manager, log *slog.Logger) (*api.Server, error) {
	return api.New(api.Config{
		Manager: m,
		Users:   api.NewBearerTokens(Tokens()),
		Gateway: api.NewBearerTokens(GatewayTokens()),
		System: api.NewBearerTokens(map[string]api.Principal{SchedulerToken: {ID: "scheduler"},
			AcmeSchedulerToken: {ID: "scheduler", Workspace: Acme}}),
		Logger: log,
	})
}

// Serve runs the service over st on addr until ctx ends: the demo users'
// Manager, the API, and ExpireDue in each workspace every 10 seconds, which also runs the
// schedules that have fallen due (R23). When ctx ends it stops listening
// and returns once the requests in flight have had their answers (event
// streams are cut after 5 seconds). ready, if not nil, gets
// the address actually listened on. cfg may set the clock, ids and logger;
// its Store is st.
func Serve(ctx context.Context, addr string, st lifecycle.Store, cfg lifecycle.Config, log *slog.Logger, ready func(string)) error {
	cfg.Store, cfg.Logger = st, log
	m, err := NewManager(ctx, cfg)
	if err != nil {
		return err
	}
	h, err := NewServer(m, log)
	if err != nil {
		return err
	}
	for _, ws := range Workspaces { // settle grace deadlines, idle sessions and due schedules, per workspace (R27)
		in, err := In(m, ws)
		if err != nil {
			return err
		}
		go func() { _ = in.Run(ctx, 10*time.Second) }()
	}

	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute,
		MaxHeaderBytes: 64 << 10}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(shutdown) != nil {
			_ = srv.Close() // event streams still open after 5s: end them
		}
	}()
	log.Info("botlife API listening", "addr", ln.Addr().String(), "openapi", "/openapi.yaml")
	if ready != nil {
		ready(ln.Addr().String())
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// Serve returns as soon as Shutdown begins: wait until the requests in
	// flight have had their answers.
	<-stopped
	return nil
}
