package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/demo"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
)

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// Each setting comes from its flag, else its BOTLIFE_ variable, else its
// default; a flag given wins over the variable.
func TestConfigFlagsOverrideEnvironment(t *testing.T) {
	env := envOf("BOTLIFE_STORE", "postgres://u:secret@db/botlife", "BOTLIFE_ADDR", ":9000",
		"BOTLIFE_WRITE_TIMEOUT", "45s", "BOTLIFE_USERS", "/etc/botlife/users", "BOTLIFE_MIGRATE", "false",
		"BOTLIFE_EXPIRE_EVERY", "1m", "BOTLIFE_IDS", "random", "BOTLIFE_KEEPER_TIMEOUT", "2s")
	cmd, c, rest, err := parseConfig([]string{"-addr", "127.0.0.1:8081", "-write-timeout=1m", "-ids", "readable"}, env, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := config{Store: "postgres://u:secret@db/botlife", Addr: "127.0.0.1:8081", Users: "/etc/botlife/users", Migrate: false, IDs: "readable",
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: time.Minute, IdleTimeout: time.Minute,
		ShutdownTimeout: 10 * time.Second, ExpireEvery: time.Minute, KeeperTimeout: 2 * time.Second}
	if cmd != "serve" || len(rest) != 0 || c != want {
		t.Errorf("got %s %q %+v\nwant serve [] %+v", cmd, rest, c, want)
	}
	// Defaults, and a command's own flags only.
	cmd, c, rest, err = parseConfig([]string{"export", "-as", "dan", "bot-1"}, envOf("BOTLIFE_WORKSPACE", "acme"), io.Discard)
	if err != nil || cmd != "export" || c.As != "dan" || c.Workspace != "acme" || c.Store != "sqlite:botlife.db" || !reflect.DeepEqual(rest, []string{"bot-1"}) {
		t.Errorf("export: %v %s %+v %q", err, cmd, c, rest)
	}
	if _, _, _, err := parseConfig([]string{"migrate", "-addr", ":1"}, noEnv, io.Discard); err == nil {
		t.Error("migrate took -addr, which it does not use")
	}
}

// A bad value stops the command with an error that names the flag or the
// variable it came from, and never repeats a store URL (it may hold a
// password).
func TestConfigBadValuesNameTheirSource(t *testing.T) {
	for _, tc := range []struct {
		args []string
		env  func(string) string
		want string
	}{
		{[]string{"-write-timeout", "soon"}, noEnv, "-write-timeout"},
		{nil, envOf("BOTLIFE_WRITE_TIMEOUT", "soon"), `invalid value "soon" for BOTLIFE_WRITE_TIMEOUT`},
		{[]string{"-idle-timeout", "-5s"}, noEnv, "-idle-timeout must be a positive duration"},
		{nil, envOf("BOTLIFE_SHUTDOWN_TIMEOUT", "0s"), "BOTLIFE_SHUTDOWN_TIMEOUT must be a positive duration"},
		{[]string{"-keeper-timeout", "0s"}, noEnv, "-keeper-timeout must be a positive duration"},
		{nil, envOf("BOTLIFE_MIGRATE", "perhaps"), "BOTLIFE_MIGRATE"},
		{[]string{"-store", "mysql://root:hunter2@db"}, noEnv, "-store is not a store: give sqlite:FILE, postgres://USER@HOST/DB or memory"},
		{nil, envOf("BOTLIFE_STORE", "mysql://root:hunter2@db"), "BOTLIFE_STORE is not a store"},
		{[]string{"-store", "sqlite:"}, noEnv, "-store names no file"},
		{[]string{"-ids", "uuid"}, noEnv, `-ids must be readable or random, not "uuid"`},
		// A busy loop, not an interval.
		{[]string{"-expire-every", "1ns"}, noEnv, "-expire-every must be at least 100ms"},
		{nil, envOf("BOTLIFE_EXPIRE_EVERY", "10ms"), "BOTLIFE_EXPIRE_EVERY must be at least 100ms"},
		// An address that cannot be listened on, found before the store
		// is opened and migrated, not by a listen error that names no flag.
		{[]string{"-addr", "localhost"}, noEnv, `-addr is not HOST:PORT`},
		{nil, envOf("BOTLIFE_ADDR", ":99999"), `BOTLIFE_ADDR is not HOST:PORT`},
		{nil, envOf("BOTLIFE_IDS", "uuid"), `BOTLIFE_IDS must be readable or random`},
		{[]string{"-users", ""}, noEnv, "-users is needed"},
		// A workspace the library refuses, before the store is opened
		// (or a SQLite file made), not exit status 1 after.
		{[]string{"export", "-as", "dan", "-workspace", "a b", "bot-1"}, noEnv, "-workspace is not a workspace"},
		{[]string{"import", "-as", "dan"}, envOf("BOTLIFE_WORKSPACE", strings.Repeat("w", 65)), "BOTLIFE_WORKSPACE is not a workspace"},
		{[]string{"deploy"}, noEnv, `unknown command "deploy"`},
		{[]string{"-nope"}, noEnv, "flag provided but not defined: -nope"},
	} {
		_, _, _, err := parseConfig(tc.args, tc.env, io.Discard)
		var usage *usageError
		if !errors.As(err, &usage) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%q with env: got %v, want a usage error containing %q and no password", tc.args, err, tc.want)
		}
	}
	// Every bad setting is reported at once.
	_, _, _, err := parseConfig([]string{"-ids", "x", "-expire-every", "0s"}, noEnv, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-ids") || !strings.Contains(err.Error(), "-expire-every") {
		t.Errorf("two bad flags: %v", err)
	}
	// Missing required settings and arguments are usage errors too.
	for _, args := range [][]string{{"serve"}, {"export", "bot-1"}, {"export", "-as", "dan"}, {"import", "-as", "dan", "a", "b"}, {"expire-due"}, {"migrate", "x"}} {
		var usage *usageError
		if err := run(t.Context(), args, noEnv, nil, io.Discard, io.Discard, nil); !errors.As(err, &usage) {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
	if err := run(t.Context(), []string{"serve", "-h"}, noEnv, nil, io.Discard, io.Discard, nil); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v", err)
	}
}

// A users file gives each token one principal in one workspace; its
// mistakes name the line and never show a token.
func TestUsersFile(t *testing.T) {
	u, err := parseUsers(strings.NewReader("# comment\n\nuser - ada ada-token admin # the first Admin\nuser acme mia m2 Manager\ngateway acme gw gw-token\nsystem - cron cron-token\nuser - al al-token\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := u.user["m2"]; got != (api.Principal{ID: "mia", Workspace: "acme"}) {
		t.Errorf("m2 is %+v", got)
	}
	if len(u.user) != 3 || len(u.gateway) != 1 || len(u.system) != 1 || u.gateway["gw-token"].Workspace != "acme" {
		t.Errorf("parsed %+v", u)
	}
	if !reflect.DeepEqual(u.workspaces, []lifecycle.Workspace{"", "acme"}) || len(u.grants) != 2 {
		t.Errorf("workspaces %q, grants %+v", u.workspaces, u.grants)
	}
	for _, tc := range []struct{ file, want string }{
		{"user - ada s3cret-1\nuser - bob s3cret-1\n", "line 2: the token is the one on line 1"},
		{"user - ada s3cret-1 wizard\n", "line 1: the role is not"},
		{"user - ada admin s3cret-1\n", "line 1: the role is not"},
		{"gateway - gw s3cret-1 admin\n", "line 1: only a user line may name a role"},
		{"robot - r2 s3cret-1\n", "line 1: the kind (the first field) is not"},
		{"s3cret-1 user - ada\n", "line 1: the kind (the first field) is not"},
		{"user ada s3cret-1\n", "line 1: has 3 fields"},
		{"gateway - gw s3cret-1\n", "names no user"},
		{"user - ada " + strings.Repeat("s3cret-1", 40) + "\n", "line 1: the token is longer than"},
		// An id the library refuses (R21): every request of the user would
		// be refused, and provisioning its role keep /readyz at 503.
		{"user - " + strings.Repeat("a", 257) + " s3cret-1 admin\n", "line 1: the id is not"},
		{"user - ada t0\nuser - a\x01b s3cret-1\n", "line 2: the id is not"},
		{"user - ada t0\ngateway - g\xffw s3cret-1\n", "line 2: the id is not"},
	} {
		_, err := parseUsers(strings.NewReader(tc.file))
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: got %v, want %q and no token", tc.file, err, tc.want)
		}
	}
	long, err := parseUsers(strings.NewReader("user - ada t1\nuser " + strings.Repeat("w", 65) + " ada t2\n"))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := lifecycle.New(lifecycle.Config{Store: store.NewMemory()})
	if _, err := long.managers(m); err == nil || !strings.Contains(err.Error(), "line 2: the workspace is not") {
		t.Errorf("a workspace name too long: %v", err)
	}
	if _, err := readUsers("no-such-file"); err == nil || !strings.Contains(err.Error(), "users file") {
		t.Errorf("a missing file: %v", err)
	}
}

// demo-users.txt is the demo package's users and tokens (the README names
// them), with their roles.
func TestDemoUsersFileIsTheDemo(t *testing.T) {
	u, err := readUsers("demo-users.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(u.user, demo.Tokens()) || !reflect.DeepEqual(u.gateway, demo.GatewayTokens()) {
		t.Errorf("demo-users.txt has users %v and gateways %v; the demo has %v and %v", u.user, u.gateway, demo.Tokens(), demo.GatewayTokens())
	}
	if len(u.system) != 2 || u.system[demo.SchedulerToken].ID != "scheduler" || u.system[demo.AcmeSchedulerToken].Workspace != demo.Acme {
		t.Errorf("system tokens %v", u.system)
	}
	var want []grant
	for _, d := range demo.Users {
		want = append(want, grant{d.Workspace, d.ID, d.Role})
	}
	if !reflect.DeepEqual(u.grants, want) {
		t.Errorf("roles %+v, the demo's %+v", u.grants, want)
	}
	if info, err := os.Stat("demo-users.txt"); err != nil || info.Size() == 0 {
		t.Error(err)
	}
}
