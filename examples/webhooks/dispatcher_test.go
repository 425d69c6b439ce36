package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/google/go-cmp/cmp"
)

// flaky is a receiver that fails every third request, and records what it
// took: entries may come twice (at least once), never out of order.
type flaky struct {
	mu       sync.Mutex
	requests int
	firsts   []uint64 // Seq of each entry the first time it arrived
	seen     map[uint64]bool
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.requests%3 == 0 {
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	var e lifecycle.AuditEntry
	if err := json.NewDecoder(r.Body).Decode(&e); err != nil || r.Header.Get("X-Botlife-Seq") == "" {
		http.Error(w, "bad entry", http.StatusBadRequest)
		return
	}
	if !f.seen[e.Seq] {
		f.seen[e.Seq] = true
		f.firsts = append(f.firsts, e.Seq)
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *flaky) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.firsts)
}

// R24: every change arrives, in order, at least once, through a receiver
// that fails now and then, and across a restart of the dispatcher that
// resumes from its cursor file.
func TestDispatcherDeliversEveryChangeInOrder(t *testing.T) {
	ctx := context.Background()
	m, err := demoManager(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rcv := &flaky{seen: map[uint64]bool{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	cursor := filepath.Join(t.TempDir(), "cursor")
	start := func() (context.CancelFunc, chan error) {
		ctx, cancel := context.WithCancel(ctx)
		d := &Dispatcher{Manager: m, Actor: lifecycle.User("webhooks"), URL: srv.URL, CursorFile: cursor, MinBackoff: time.Millisecond}
		done := make(chan error, 1)
		go func() { done <- d.Run(ctx) }()
		return cancel, done
	}
	waitFor := func(n int) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for rcv.count() < n {
			if time.Now().After(deadline) {
				t.Fatalf("R24: %d of %d entries arrived", rcv.count(), n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	cancel, done := start()
	last, err := redeploy(ctx, m, "+15550100")
	if err != nil {
		t.Fatal(err)
	}
	waitFor(int(last))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel = %v, want nil", err)
	}

	// Changes made while the dispatcher is down arrive after a restart.
	more, err := redeploy(ctx, m, "+15550200")
	if err != nil {
		t.Fatal(err)
	}
	cancel, done = start()
	defer func() { cancel(); <-done }()
	waitFor(int(more))
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for i, seq := range rcv.firsts {
		if seq != uint64(i+1) {
			t.Fatalf("R24: entries first arrived as %v; want 1..%d in order", rcv.firsts, more)
		}
	}
	if rcv.requests <= len(rcv.firsts) {
		t.Errorf("the receiver never failed (%d requests for %d entries): the retry path went untested", rcv.requests, len(rcv.firsts))
	}
}

// R24: the demo prints every change once, in Seq order, exactly this.
func TestRunDemo(t *testing.T) {
	var b strings.Builder
	if err := run(context.Background(), &b, "", ""); err != nil {
		t.Fatal(err)
	}
	want := `#1 grant_role by system   mia gets Manager
#2 grant_role by system   webhooks gets Admin
#3 create     by mia      bot-1 none->Draft
#4 activate   by mia      bot-1 Draft->Active
#5 duplicate  by mia      bot-2 none->Draft
#6 activate   by mia      bot-1 Active->Deactivated bot-2 Draft->Active
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// R24: the demo's log is the same on every run - its users are granted in
// a fixed order (ranging over a map made #1 now mia's grant, now the
// dispatcher's). Many runs, since a map's order changes from one to the next.
func TestDemoManagerGrantsInOrder(t *testing.T) {
	ctx := context.Background()
	for range 50 {
		m, err := demoManager(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for e, err := range m.Backlog(ctx, lifecycle.User("webhooks"), 0) {
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, e.User+" "+e.Role.String())
		}
		if diff := cmp.Diff([]string{"mia Manager", "webhooks Admin"}, got); diff != "" {
			t.Fatalf("the demo's grants (-want +got):\n%s", diff)
		}
	}
}

// A cursor file that is not a number is a clear error, not a silent restart
// from the beginning.
func TestBadCursorFile(t *testing.T) {
	ctx := context.Background()
	m, err := demoManager(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cursor := filepath.Join(t.TempDir(), "cursor")
	d := &Dispatcher{Manager: m, Actor: lifecycle.User("webhooks"), URL: "http://127.0.0.1:1", CursorFile: cursor}
	if err := d.saveCursor(7); err != nil {
		t.Fatal(err)
	}
	if got, err := d.cursor(); err != nil || got != 7 {
		t.Fatalf("cursor = %d, %v; want 7", got, err)
	}
	if err := writeFile(cursor, "seven"); err != nil {
		t.Fatal(err)
	}
	if err := d.Run(ctx); err == nil || !strings.Contains(err.Error(), "not a sequence number") {
		t.Fatalf("Run with a bad cursor = %v", err)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o644) }

// With -url the command posts the demo's changes to that URL and ends once
// the last one is delivered, as it does with its own receiver, instead of
// waiting forever for a receiver it does not run.
func TestRunWithURLEndsOnceEveryChangeIsDelivered(t *testing.T) {
	rcv := &flaky{seen: map[uint64]bool{}}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	if err := run(ctx, &b, srv.URL, filepath.Join(t.TempDir(), "cursor")); err != nil {
		t.Fatalf("run with -url = %v, want nil once every change is delivered", err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.firsts) != 6 || rcv.firsts[5] != 6 {
		t.Errorf("R24: the URL got %v, want 1..6", rcv.firsts)
	}
}

// Run returns nil only when ctx ends: an entry it cannot encode (here a
// time past year 9999, which JSON cannot hold) is an error, not a silent
// stop that looks like a shutdown and leaves every later change undelivered.
func TestRunReportsAnEntryItCannotEncode(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewMock()
	clk.Set(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.GrantRole(ctx, lifecycle.System("provisioning"), "webhooks", roles.Admin); err != nil {
		t.Fatal(err)
	}
	d := &Dispatcher{Manager: m, Actor: lifecycle.User("webhooks"), URL: "http://127.0.0.1:1", CursorFile: filepath.Join(t.TempDir(), "cursor")}
	if err := d.Run(ctx); err == nil || !strings.Contains(err.Error(), "encoding entry 1") {
		t.Fatalf("Run = %v, want the error encoding entry 1", err)
	}
}

// R24: a receiver that redirects (http to https, say) with 301, 302 or 303
// makes net/http follow with a GET without the entry; a 2xx answer to that
// GET is no delivery, and the entry must be retried, not skipped. A 307 or
// 308 repeats the POST with the entry, which is a delivery.
func TestRedirectedPostIsNotDelivered(t *testing.T) {
	for _, tt := range []struct {
		code      int
		delivered bool
	}{
		{http.StatusMovedPermanently, false}, {http.StatusFound, false}, {http.StatusSeeOther, false},
		{http.StatusTemporaryRedirect, true}, {http.StatusPermanentRedirect, true},
	} {
		t.Run(http.StatusText(tt.code), func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/landing", tt.code) })
			mux.HandleFunc("/landing", func(w http.ResponseWriter, r *http.Request) {
				if body, _ := io.ReadAll(r.Body); r.Method == http.MethodPost && string(body) != `{"seq":1}` {
					w.WriteHeader(http.StatusBadRequest)
				}
			})
			srv := httptest.NewServer(mux)
			defer srv.Close()
			d := &Dispatcher{URL: srv.URL + "/hook"}
			d.defaults()
			if err := d.post(context.Background(), 1, []byte(`{"seq":1}`)); (err == nil) != tt.delivered {
				t.Fatalf("post through a %d = %v; want delivered %v", tt.code, err, tt.delivered)
			}
		})
	}
}
