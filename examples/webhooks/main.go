// Command webhooks shows a Dispatcher: it follows every committed lifecycle
// change (R24) and posts each one as JSON to a URL, with retries, keeping
// its place in a cursor file so that a restart resumes without loss.
//
// The command redeploys a bot on a mock clock in a memory store of its own
// and stops once every change has arrived. Without -url it starts a local
// receiver that prints what it gets; with -url it posts the changes there.
// The demo's store is new on every run, so its sequence numbers start again
// at 1: give each run a new cursor file (a cursor left by an earlier run
// makes it skip every change, or stop at once when Watch refuses the
// cursor as past the end of the new log). A service runs a Dispatcher on
// its own Manager and store, whose numbers go on across restarts.
//
//	go run ./examples/webhooks
//	go run ./examples/webhooks -url https://example.com/hook
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/store"
	"github.com/botlife/botlife/validate"
)

func main() {
	url := flag.String("url", "", "where to POST each change; empty: a local demo receiver")
	cursor := flag.String("cursor", "", "cursor file, new for each run of the demo; empty: a temporary one")
	flag.Parse()
	if err := run(context.Background(), os.Stdout, *url, *cursor); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, w io.Writer, url, cursor string) error {
	if cursor == "" {
		dir, err := os.MkdirTemp("", "botlife-webhooks")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cursor = filepath.Join(dir, "cursor")
	}
	m, err := demoManager(ctx)
	if err != nil {
		return err
	}
	rcv := &printer{w: w, seen: map[uint64]bool{}}
	var delivered func() uint64 // the highest Seq delivered
	if url == "" {
		delivered = rcv.latest
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: rcv}
		go srv.Serve(ln)
		defer srv.Close()
		url = "http://" + ln.Addr().String()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	d := &Dispatcher{Manager: m, Actor: lifecycle.User("webhooks"), URL: url, CursorFile: cursor, MinBackoff: 10 * time.Millisecond}
	if delivered == nil { // another receiver: what the cursor file says was delivered
		delivered = func() uint64 { seq, _ := d.cursor(); return seq }
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	last, err := redeploy(ctx, m, "+15550100")
	if err != nil {
		return err
	}
	if err := waitFor(ctx, delivered, last, done); err != nil {
		return err
	}
	cancel()
	return <-done
}

// demoManager is a memory store with a Manager "mia" and the dispatcher's
// own Admin user "webhooks".
func demoManager(ctx context.Context) (*lifecycle.Manager, error) {
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC))
	n := 0
	m, err := lifecycle.New(lifecycle.Config{Store: store.NewMemory(), Clock: clk, NewID: func(lifecycle.Workspace) lifecycle.BotID {
		n++
		return lifecycle.BotID(fmt.Sprintf("bot-%d", n))
	}})
	if err != nil {
		return nil, err
	}
	sys := lifecycle.System("provisioning")
	for _, g := range []struct { // in this order, so that every run tells the same story
		user string
		role roles.Role
	}{{"mia", roles.Manager}, {"webhooks", roles.Admin}} {
		if _, err := m.GrantRole(ctx, sys, g.user, g.role); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// redeploy replaces v1 by v2 on address with a grace period and returns the Seq of the
// last change it made.
func redeploy(ctx context.Context, m *lifecycle.Manager, address string) (uint64, error) {
	mia := lifecycle.User("mia")
	line := lifecycle.Sender{Channel: "sms", Address: address}
	def, err := lifecycle.ReferenceDefinition(validate.Definition{EntryDialog: "hi", FallbackDialog: "hi", Dialogs: []validate.Dialog{
		{ID: "hi", Name: "Hi", Elements: []validate.Element{{Type: validate.Text, Text: "Hello"}, {Type: validate.Close}}}}})
	if err != nil {
		return 0, err
	}
	v1, err := m.Create(ctx, mia, lifecycle.Create{Name: "v1", Channel: "sms", Senders: []lifecycle.Sender{line}, Definition: def})
	if err != nil {
		return 0, err
	}
	if _, err := m.Activate(ctx, mia, v1.ID, lifecycle.Decision{}, lifecycle.Ack{}); err != nil {
		return 0, err
	}
	v2, err := m.Duplicate(ctx, mia, v1.ID, "v2")
	if err != nil {
		return 0, err
	}
	p, err := m.Activate(ctx, mia, v2.ID, lifecycle.Grace(15*time.Minute), lifecycle.Ack{})
	if err != nil {
		return 0, err
	}
	return p.Audit[len(p.Audit)-1].Seq, nil
}

// printer is the demo receiver: it prints each change once.
type printer struct {
	w    io.Writer
	mu   sync.Mutex
	seen map[uint64]bool
	max  uint64
}

func (p *printer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var e lifecycle.AuditEntry
	if err := json.NewDecoder(r.Body).Decode(&e); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.seen[e.Seq] {
		p.seen[e.Seq] = true
		p.max = max(p.max, e.Seq)
		fmt.Fprintf(p.w, "#%d %-10s by %-8s", e.Seq, e.Action, e.Actor)
		for _, t := range e.Transitions {
			fmt.Fprintf(p.w, " %s %v->%v", t.Bot, t.From, t.To)
		}
		if e.User != "" {
			fmt.Fprintf(p.w, " %s gets %v", e.User, e.Role)
		}
		fmt.Fprintln(p.w)
	}
	w.WriteHeader(http.StatusNoContent)
}

// latest is the highest Seq the receiver has seen.
func (p *printer) latest() uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.max
}

// waitFor returns once seq is delivered, or the dispatcher stopped.
func waitFor(ctx context.Context, delivered func() uint64, seq uint64, done <-chan error) error {
	for {
		if delivered() >= seq {
			return nil
		}
		select {
		case err := <-done:
			return errors.Join(errors.New("the dispatcher stopped early"), err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
