package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// proxy forwards TCP connections to a PostgreSQL server until cut, which
// drops them and refuses new ones, as a stopped server or a lost network
// would; restore lets them through again.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cutoff bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			cutoff := p.cutoff
			p.mu.Unlock()
			if cutoff {
				c.Close()
				continue
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutoff = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.cutoff = false
	p.mu.Unlock()
}

// through returns the database URL u reached through the proxy.
func (p *proxy) through(t *testing.T, u string) string {
	parsed, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	parsed.Host = p.ln.Addr().String()
	return parsed.String()
}

// /readyz is 503 while PostgreSQL cannot be reached and 200 again once it
// can; /healthz stays 200 throughout (the process is up).
func TestReadyzPostgresUnreachable(t *testing.T) {
	db := newDatabase(t)
	u, _ := url.Parse(db)
	p := newProxy(t, u.Host)
	base, _ := start(t, p.through(t, db))
	call(t, "GET", base+"/readyz", "", "", 200)
	p.cut()
	call(t, "GET", base+"/readyz", "", "", 503)
	call(t, "GET", base+"/healthz", "", "", 200)
	p.restore()
	// The pool may hand out a connection the cut broke once more; a
	// broken one is dropped, so a few tries reach the server again.
	code := 0
	for range 10 {
		if code = status(t, base+"/readyz"); code == 200 {
			break
		}
	}
	if code != 200 {
		t.Errorf("/readyz after PostgreSQL came back: %d", code)
	}
}

func status(t *testing.T, url string) int {
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// With -migrate=false on a database never migrated, the service starts
// but is not ready; the migrate command makes it ready, and running it
// again (as every deploy may) changes nothing.
func TestMigratePostgres(t *testing.T) {
	db := newDatabase(t)
	base, _ := start(t, db, "-migrate=false")
	call(t, "GET", base+"/readyz", "", "", 503)
	call(t, "GET", base+"/healthz", "", "", 200)
	for range 2 {
		if out, err := command(t, "", "migrate", "-store", db); err != nil || !strings.Contains(out, "schema up to date") {
			t.Fatalf("migrate: %v %q", err, out)
		}
	}
	call(t, "GET", base+"/readyz", "", "", 200)

	// A schema of before the keeper's counts is not ready either, until
	// migrated.
	b, err := openStore(t.Context(), db, false)
	if err != nil {
		t.Fatal(err)
	}
	defer b.close()
	if _, err := b.db.Exec(`DROP TABLE service_kept_scopes`); err != nil {
		t.Fatal(err)
	}
	call(t, "GET", base+"/readyz", "", "", 503)
	if out, err := command(t, "", "migrate", "-store", db); err != nil || !strings.Contains(out, "schema up to date") {
		t.Fatalf("migrate: %v %q", err, out)
	}
	call(t, "GET", base+"/readyz", "", "", 200)
}

// A database that cannot be reached at start stops the command with an
// error that does not show the connection string's password.
func TestBadPostgresURL(t *testing.T) {
	newDatabase(t) // skips without PostgreSQL
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	var stderr bytes.Buffer
	err = run(t.Context(), []string{"serve", "-users", "demo-users.txt", "-store", "postgres://botlife:hunter2@" + dead + "/botlife?connect_timeout=5"},
		noEnv, nil, io.Discard, &stderr, nil)
	if err == nil || strings.Contains(err.Error()+stderr.String(), "hunter2") {
		t.Errorf("serve on an unreachable PostgreSQL: %v\n%s", err, stderr.String())
	}
}
