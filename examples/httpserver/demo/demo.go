// Package demo sets up the reference HTTP service as the README shows it:
// a Manager with four users and the bearer tokens of the users, the
// messaging gateway and the scheduler. The tokens are demo values: a real
// deployment plugs its own api.Authenticator into api.Config.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// User is a demo user: id, role and bearer token.
type User struct {
	ID    string
	Role  roles.Role
	Token string
}

// Users are the demo users. ada is the first Admin and grants the others
// their roles.
var Users = []User{
	{"ada", roles.Admin, "ada-token"},
	{"mia", roles.Manager, "mia-token"},
	{"dan", roles.Designer, "dan-token"},
	{"al", roles.Analyzer, "al-token"},
}

// The tokens of the messaging gateway (POST /route, closing sessions) and of
// the scheduler (the /system routes).
const (
	GatewayToken   = "gateway-token"
	SchedulerToken = "scheduler-token"
)

// Config returns cfg with ids numbered bot-1, bot-2, ... (so a session can be
// replayed as the README prints it) unless cfg.NewID is set.
func Config(cfg lifecycle.Config) lifecycle.Config {
	if cfg.NewID == nil {
		var n atomic.Int64
		cfg.NewID = func() lifecycle.BotID { return lifecycle.BotID(fmt.Sprintf("bot-%d", n.Add(1))) }
	}
	return cfg
}

// NewManager returns a Manager for cfg (see Config) with the demo users'
// roles granted: the first Admin by the system (R19), the others by her.
// Roles a persistent store already holds are kept as they are.
func NewManager(ctx context.Context, cfg lifecycle.Config) (*lifecycle.Manager, error) {
	m, err := lifecycle.New(Config(cfg))
	if err != nil {
		return nil, err
	}
	admin := lifecycle.User(Users[0].ID)
	for i, u := range Users {
		by := admin
		if i == 0 {
			by = lifecycle.System("bootstrap: the first Admin")
		}
		if _, err := m.GrantRole(ctx, by, u.ID, u.Role); err != nil && !errors.Is(err, lifecycle.ErrRoleHeld) {
			return nil, fmt.Errorf("granting the demo user %s the role %v: %w", u.ID, u.Role, err)
		}
	}
	return m, nil
}

// NewServer returns the API over m with the demo tokens.
func NewServer(m *lifecycle.Manager, log *slog.Logger) (*api.Server, error) {
	tokens := map[string]string{}
	for _, u := range Users {
		tokens[u.Token] = u.ID
	}
	return api.New(api.Config{
		Manager: m,
		Users:   api.NewBearerTokens(tokens),
		Gateway: api.NewBearerTokens(map[string]string{GatewayToken: "gateway"}),
		System:  api.NewBearerTokens(map[string]string{SchedulerToken: "scheduler"}),
		Logger:  log,
	})
}

// Serve runs the service over st on addr until ctx ends: the demo users'
// Manager, the API, and ExpireDue every 10 seconds, which also runs the
// schedules that have fallen due (R23). ready, if not nil, gets
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
	go func() { _ = m.Run(ctx, 10*time.Second) }() // settle grace deadlines, idle sessions and due schedules

	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second, IdleTimeout: time.Minute,
		MaxHeaderBytes: 64 << 10}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("botlife API listening", "addr", ln.Addr().String(), "openapi", "/openapi.yaml")
	if ready != nil {
		ready(ln.Addr().String())
	}
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
