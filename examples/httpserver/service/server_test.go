package main

// The PostgreSQL tests need a server. BOTLIFE_POSTGRES_URL names one (a
// database the tests may create databases in); otherwise TestMain starts a
// throwaway server from Debian's postgresql package binaries in a
// temporary directory on a free 127.0.0.1 port, and removes it afterwards
// (as store/postgres's tests do; this is their helper, trimmed). Without
// either the PostgreSQL tests skip - or fail, when CI is set.

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
)

var (
	serverURL  string // connection string of the maintenance database
	skipReason string
	dbCounter  atomic.Int64
)

func TestMain(m *testing.M) {
	stop := setup()
	code := m.Run()
	stop()
	removeBinary()
	os.Exit(code)
}

func setup() (stop func()) {
	if url := os.Getenv("BOTLIFE_POSTGRES_URL"); url != "" {
		serverURL = url
		return func() {}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	version := func(initdb string) int {
		v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
		return v
	}
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	if len(dirs) == 0 {
		skipReason = "no PostgreSQL: install it (apt-get install -y postgresql) or set BOTLIFE_POSTGRES_URL"
		return func() {}
	}
	srv, err := startServer(filepath.Dir(dirs[0]))
	if err != nil {
		skipReason = "could not start PostgreSQL: " + err.Error()
		return func() {}
	}
	serverURL = srv.url
	return srv.stop
}

// server is a throwaway PostgreSQL server in a temporary directory.
type server struct {
	url, dir, data string
	run            func(name string, args ...string) *exec.Cmd
}

// startServer runs initdb and pg_ctl. initdb refuses to run as root, so as
// root they run as the postgres user, in a directory it owns.
func startServer(bin string) (*server, error) {
	dir, err := os.MkdirTemp("", "botlife-service-pg-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, data: filepath.Join(dir, "data")}
	s.run = func(name string, args ...string) *exec.Cmd { return exec.Command(filepath.Join(bin, name), args...) }
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			s.stop()
			return nil, fmt.Errorf("running as root and there is no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			s.stop()
			return nil, err
		}
		s.run = func(name string, args ...string) *exec.Cmd {
			return exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(bin, name)}, args...)...)
		}
	}
	if out, err := s.run("initdb", "-D", s.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		s.stop()
		return nil, fmt.Errorf("initdb: %v: %s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.stop()
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir)
	s.url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if out, err := s.run("pg_ctl", "-D", s.data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "60", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		s.stop()
		return nil, fmt.Errorf("pg_ctl start: %v: %s %s", err, out, log)
	}
	return s, nil
}

// stop stops the server at once and removes its directory.
func (s *server) stop() {
	if _, err := os.Stat(filepath.Join(s.data, "postmaster.pid")); err == nil {
		_ = s.run("pg_ctl", "-D", s.data, "-m", "immediate", "-w", "stop").Run()
	}
	os.RemoveAll(s.dir)
}

// newDatabase creates an empty database and returns its URL, or skips
// the test when there is no server (fails it in CI).
func newDatabase(tb testing.TB) string {
	tb.Helper()
	if serverURL == "" {
		if os.Getenv("CI") != "" {
			tb.Fatalf("PostgreSQL tests cannot run in CI: %s", skipReason)
		}
		tb.Skip(skipReason)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, serverURL)
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("botlife_service_test_%d_%d", os.Getpid(), dbCounter.Add(1))
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), serverURL)
		if err == nil {
			_, _ = c.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
	})
	i := strings.LastIndex(serverURL, "/")
	rest := serverURL[i+1:]
	query := ""
	if q := strings.Index(rest, "?"); q >= 0 {
		query = rest[q:]
	}
	return serverURL[:i+1] + name + query
}
