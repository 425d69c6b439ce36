package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

// binary builds the command once per test run and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "botlife-service-bin-"); buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "service")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = &buildError{err, out}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return "go build: " + e.err.Error() + "\n" + string(e.out) }

func removeBinary() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// proc is the built service running as a process of its own.
type proc struct {
	cmd  *exec.Cmd
	base string
	mu   sync.Mutex
	log  strings.Builder // its standard error
	done chan error
}

var listening = regexp.MustCompile(`msg="botlife service listening" addr=(\S+)`)

// startBinary runs the built service on store with the demo users and
// waits until it listens. The test's end kills it if still running.
func startBinary(t *testing.T, store string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "-store", store, "-users", "demo-users.txt", "-addr", "127.0.0.1:0"}, extra...)
	p := &proc{cmd: exec.Command(binary(t), args...), done: make(chan error, 1)}
	p.cmd.Env = append(os.Environ(), "BOTLIFE_STORE=", "BOTLIFE_USERS=", "BOTLIFE_ADDR=")
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
		p.done <- p.cmd.Wait()
		close(addr)
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
		}
	})
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("the service exited before listening:\n%s", p.stderr())
		}
		p.base = "http://" + a
	case <-time.After(60 * time.Second):
		t.Fatalf("the service did not start:\n%s", p.stderr())
	}
	return p
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// terminate sends SIGTERM and checks the service exits with status 0.
func (p *proc) terminate(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-p.done; err != nil {
		t.Errorf("after SIGTERM the service exited with %v:\n%s", err, p.stderr())
	}
}

// kill ends the process at once, as a crash or an OOM kill would.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Kill()
	<-p.done
}

// curlStory runs the README's curl lines, in order, against the service at
// base and checks each status, and the Location a line's comment names.
func curlStory(t *testing.T, base string) {
	t.Helper()
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	lines, err := apitest.CurlLines(readme)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) < 10 {
		t.Fatalf("the README has %d curl lines; expected the HTTP service's session", len(lines))
	}
	for _, l := range lines {
		ctx, cancel := context.WithCancel(context.Background())
		req, err := http.NewRequestWithContext(ctx, l.Method, base+l.Target, strings.NewReader(l.Body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header = l.Headers.Clone()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s\n  %v", l.Text, err)
		}
		var body []byte
		if l.MaxTime == 0 { // a stream: the status is enough
			body, _ = io.ReadAll(resp.Body)
		}
		resp.Body.Close()
		cancel()
		if resp.StatusCode != l.Status {
			t.Errorf("%s\n  answered %d, the README says %d: %.300s", l.Text, resp.StatusCode, l.Status, body)
		}
		if _, loc, ok := strings.Cut(l.Text, "Location: "); ok && resp.Header.Get("Location") != strings.Fields(loc)[0] {
			t.Errorf("%s\n  answered Location %q", l.Text, resp.Header.Get("Location"))
		}
	}
}

// Issue 28, first hour 1: the README's curl session works as written
// against the built service, on a new SQLite file and in memory; and on
// the SQLite file the service stops cleanly on SIGTERM, and a second
// process on it finds what the first made.
func TestREADMECurlSessionSQLite(t *testing.T) {
	for _, st := range []string{"sqlite:" + filepath.Join(t.TempDir(), "botlife.db"), "memory"} {
		t.Run(strings.SplitN(st, ":", 2)[0], func(t *testing.T) {
			p := startBinary(t, st)
			curlStory(t, p.base)
			p.terminate(t)
			if st == "memory" {
				return
			}
			p = startBinary(t, st)
			if body := call(t, "GET", p.base+"/bots/bot-2", "mia-token", "", 200); !strings.Contains(body, `"name": "Pizza v2"`) {
				t.Errorf("after a restart bot-2 reads %s", body)
			}
			p.terminate(t)
		})
	}
}

// Issue 28, first hour 1, on PostgreSQL: the README's curl session against
// the built service on a new database, which it migrates on start.
func TestREADMECurlSessionPostgres(t *testing.T) {
	url := newDatabase(t)
	p := startBinary(t, url)
	curlStory(t, p.base)
	call(t, "GET", p.base+"/readyz", "", "", 200)
	p.terminate(t)
}
