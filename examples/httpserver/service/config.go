package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/store"
)

// config is what a command reads from its flags and, for each flag not
// given, from its BOTLIFE_ environment variable (-write-timeout from
// BOTLIFE_WRITE_TIMEOUT, and so on).
type config struct {
	Store   string // -store: sqlite:FILE, postgres://..., memory
	Addr    string // -addr
	Users   string // -users: the users file
	Migrate bool   // -migrate: bring the schema up to date on start
	IDs     string // -ids: readable (bot-1, bot-2, ...) or random

	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	ExpireEvery       time.Duration
	KeeperTimeout     time.Duration // -keeper-timeout: api.Config.KeeperTimeout

	Workspace string // -workspace: export and import act in it
	As        string // -as: the user export and import act as
}

// usageError is a command line or environment that cannot be used; main
// exits with status 2 for it.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// commands are the subcommands, each with the flags it reads, and what
// it does.
var commands = map[string]struct {
	flags []string
	args  string // the positional arguments, for the usage line
	help  string
}{
	"serve":      {[]string{"store", "addr", "users", "migrate", "ids", "read-header-timeout", "read-timeout", "write-timeout", "idle-timeout", "shutdown-timeout", "expire-every", "keeper-timeout"}, "", "run the HTTP service (the default command)"},
	"migrate":    {[]string{"store"}, "", "bring the store's schema up to date, then exit"},
	"export":     {[]string{"store", "workspace", "as"}, "BOT", "write a bot's settings and definition as JSON to standard output (R13)"},
	"import":     {[]string{"store", "workspace", "as", "ids"}, "[FILE]", "make a Draft from an exported bot (FILE, or standard input) and print its id"},
	"expire-due": {[]string{"store", "users"}, "", "run ExpireDue once in every workspace of the users file, for a cron-style deployment"},
}

// parseConfig reads the command (args[0] when it names one, else serve),
// its flags and its environment. A flag given on the command line wins
// over its environment variable; a bad value is a *usageError naming the
// flag or the variable it came from (never echoing -store's value, which
// may hold a password). It returns the arguments after the flags.
func parseConfig(args []string, env func(string) string, stderr io.Writer) (string, config, []string, error) {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	spec, ok := commands[cmd]
	if !ok {
		return cmd, config{}, nil, &usageError{fmt.Sprintf("unknown command %q: the commands are serve, migrate, export, import and expire-due", cmd)}
	}
	c := config{Store: "sqlite:botlife.db", Addr: "127.0.0.1:8080", Migrate: true, IDs: "readable",
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second,
		IdleTimeout: time.Minute, ShutdownTimeout: 10 * time.Second, ExpireEvery: 10 * time.Second, KeeperTimeout: api.DefaultKeeperTimeout}
	all := flag.NewFlagSet(cmd, flag.ContinueOnError)
	all.StringVar(&c.Store, "store", c.Store, "the store: sqlite:FILE (created and migrated if missing), postgres://USER@HOST/DB, or memory (lost on exit)")
	all.StringVar(&c.Addr, "addr", c.Addr, "address to listen on")
	all.StringVar(&c.Users, "users", c.Users, "the users file: who may call the service, and in which workspace (see demo-users.txt)")
	all.Var((*boolFlag)(&c.Migrate), "migrate", "bring a PostgreSQL schema up to date on start (false: the migrate command does it; /readyz fails until it has)")
	all.StringVar(&c.IDs, "ids", c.IDs, "bot ids: readable (bot-1, bot-2, ... numbered by the store, so unique across restarts and replicas) or random (bot_3f2a9c0d1e4b)")
	all.Var((*durationFlag)(&c.ReadHeaderTimeout), "read-header-timeout", "how long a client may take to send a request's headers (a `duration` such as 5s)")
	all.Var((*durationFlag)(&c.ReadTimeout), "read-timeout", "how long a client may take to send a whole request (a `duration`)")
	all.Var((*durationFlag)(&c.WriteTimeout), "write-timeout", "how long a response may take: an operation still running a tenth before it (at most 1s) ends with a 503 timeout; event streams are exempt (a `duration`)")
	all.Var((*durationFlag)(&c.IdleTimeout), "idle-timeout", "how long an idle keep-alive connection stays open (a `duration`)")
	all.Var((*durationFlag)(&c.ShutdownTimeout), "shutdown-timeout", "on SIGTERM or SIGINT, how long requests in flight may take to finish; event streams end at once (a `duration`)")
	all.Var((*durationFlag)(&c.KeeperTimeout), "keeper-timeout", "how long a call of the idempotency and plan keeper may take: claiming an Idempotency-Key, taking a plan to apply, keeping a dry run's plan (each answers 503 timeout when late), or keeping an idempotent response once a request is done (a `duration`)")
	all.Var((*durationFlag)(&c.ExpireEvery), "expire-every", "how often to run ExpireDue in each workspace of the users file; every replica may (a `duration`)")
	all.StringVar(&c.Workspace, "workspace", c.Workspace, "the workspace to act in (empty or -: the default one, as in the users file)")
	all.StringVar(&c.As, "as", c.As, "the user to act as; their roles in the workspace decide what they may do")

	fs := flag.NewFlagSet("service "+cmd, flag.ContinueOnError)
	for _, name := range spec.flags {
		f := all.Lookup(name)
		fs.Var(f.Value, f.Name, f.Usage)
		fs.Lookup(name).DefValue = f.DefValue // PrintDefaults shows it, and a bool flag takes no value
	}
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // a bad flag's error says what is wrong; -h prints the usage
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "usage: %s\n\n%s%s.\n\n", strings.TrimSpace("service "+cmd+" [flags] "+spec.args), strings.ToUpper(spec.help[:1]), spec.help[1:])
			fmt.Fprintf(stderr, "Every flag may also be set by an environment variable, BOTLIFE_ and the flag's name in\ncapitals with _ for - (-write-timeout: BOTLIFE_WRITE_TIMEOUT); a flag given wins.\n")
			fmt.Fprintf(stderr, "The commands are serve (the default), migrate, export, import and expire-due;\nservice COMMAND -h lists a command's flags.\n\n")
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return cmd, c, nil, err
		}
		return cmd, c, nil, &usageError{err.Error() + " (service " + cmd + " -h lists the flags)"}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	source := map[string]string{}
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		source[f.Name] = "-" + f.Name
		if given[f.Name] {
			return
		}
		name := envName(f.Name)
		v := env(name)
		if v == "" {
			return
		}
		source[f.Name] = name
		if err := f.Value.Set(v); err != nil {
			shown := fmt.Sprintf("%q", v)
			if f.Name == "store" {
				shown = "(not shown)"
			}
			errs = append(errs, fmt.Errorf("invalid value %s for %s: %v", shown, name, err))
		}
	})
	if len(errs) == 0 {
		errs = append(errs, c.check(cmd, source)...)
	}
	if len(errs) > 0 {
		return cmd, c, nil, &usageError{errors.Join(errs...).Error()}
	}
	return cmd, c, fs.Args(), nil
}

// envName is the environment variable of a flag: BOTLIFE_WRITE_TIMEOUT
// for -write-timeout.
func envName(flag string) string {
	return "BOTLIFE_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// minExpireEvery is the shortest -expire-every: settling deadlines more
// often than that costs every workspace reads and settles nothing sooner
// that matters to a person.
const minExpireEvery = 100 * time.Millisecond

// check refuses values no command can use, naming where each came from.
func (c *config) check(cmd string, source map[string]string) []error {
	var errs []error
	bad := func(flag, problem string) { errs = append(errs, fmt.Errorf("%s %s", source[flag], problem)) }
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"read-header-timeout", c.ReadHeaderTimeout}, {"read-timeout", c.ReadTimeout}, {"write-timeout", c.WriteTimeout},
		{"idle-timeout", c.IdleTimeout}, {"shutdown-timeout", c.ShutdownTimeout}, {"expire-every", c.ExpireEvery}, {"keeper-timeout", c.KeeperTimeout}} {
		if source[d.flag] != "" && d.v <= 0 {
			bad(d.flag, fmt.Sprintf("must be a positive duration such as 30s, not %v", d.v))
		}
	}
	if source["expire-every"] != "" && c.ExpireEvery > 0 && c.ExpireEvery < minExpireEvery {
		bad("expire-every", fmt.Sprintf("must be at least %v: each run reads every workspace of the users file, so a shorter interval only keeps the store busy, not %v", minExpireEvery, c.ExpireEvery))
	}
	if _, err := parseStoreURL(c.Store); err != nil {
		bad("store", err.Error())
	}
	if source["addr"] != "" && !validAddr(c.Addr) {
		bad("addr", fmt.Sprintf("is not HOST:PORT, such as 127.0.0.1:8080 or :8080, not %q", c.Addr))
	}
	if source["ids"] != "" && c.IDs != "readable" && c.IDs != "random" {
		bad("ids", fmt.Sprintf("must be readable or random, not %q", c.IDs))
	}
	if source["users"] != "" && c.Users == "" {
		bad("users", "is needed: the file of tokens and the users and workspaces they stand for (see demo-users.txt)")
	}
	if source["workspace"] != "" && c.Workspace != "" && c.Workspace != "-" && !validWorkspace(c.Workspace) {
		bad("workspace", fmt.Sprintf("is not a workspace: 1 to %d bytes of text without spaces, such as acme (empty or - for the default one)", lifecycle.MaxWorkspaceBytes))
	}
	if source["as"] != "" && c.As == "" {
		bad("as", "is needed: the user to act as (their roles decide what "+cmd+" may do)")
	}
	return errs
}

// durationFlag is a flag.Value for a duration whose error says what to
// give.
type durationFlag time.Duration

func (d *durationFlag) String() string { return time.Duration(*d).String() }

func (d *durationFlag) Set(s string) error {
	v, err := time.ParseDuration(s)
	if err != nil {
		return errors.New("not a duration such as 30s or 1m30s")
	}
	*d = durationFlag(v)
	return nil
}

// boolFlag is a flag.Value for a boolean whose error says what to give.
type boolFlag bool

func (b *boolFlag) String() string   { return strconv.FormatBool(bool(*b)) }
func (b *boolFlag) IsBoolFlag() bool { return true }

func (b *boolFlag) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return errors.New("not true or false")
	}
	*b = boolFlag(v)
	return nil
}

// validWorkspace reports whether the library takes ws as a workspace name
// (R27), by its own rule: a Manager on an empty memory store, which
// Manager.Workspace costs nothing to ask.
func validWorkspace(ws string) bool {
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory()})
	if err == nil {
		_, err = m.Workspace(lifecycle.Workspace(ws))
	}
	return err == nil
}

// validAddr reports whether addr is an address to listen on: HOST:PORT,
// the host possibly empty, the port a number up to 65535 or a service
// name. Whether it can be bound is known only when the service listens.
func validAddr(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	return err == nil
}
