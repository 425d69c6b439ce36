package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Dispatcher follows the audit log with Manager.Watch (R24) and POSTs each
// entry as JSON to URL, one at a time and in Seq order, retrying with
// exponential backoff until the receiver answers 2xx to the POST (a
// redirect that turns it into a GET is retried). After each delivery
// it writes the entry's Seq to CursorFile, so a restart resumes right after
// the last entry delivered: delivery is at least once (an entry delivered
// just before a crash is sent again), and receivers dedupe by the
// X-Botlife-Seq header.
type Dispatcher struct {
	Manager    *lifecycle.Manager
	Actor      lifecycle.Actor // needs "View audit log"
	URL        string
	CursorFile string
	Client     *http.Client  // nil: a client with a 10 s timeout
	MinBackoff time.Duration // first retry wait; default 100ms
	MaxBackoff time.Duration // longest retry wait; default 30s
	Log        *slog.Logger  // nil: discard
}

// Run delivers entries until ctx ends (then it returns nil), the log
// cannot be read, an entry cannot be encoded or the cursor file cannot be
// read or written.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.defaults()
	after, err := d.cursor()
	if err != nil {
		return err
	}
	for e, err := range d.Manager.Watch(ctx, d.Actor, after) {
		if err != nil {
			return err
		}
		if err := d.deliver(ctx, e); err != nil {
			if ctx.Err() != nil {
				return nil // ctx ended while retrying
			}
			return err
		}
		if err := d.saveCursor(e.Seq); err != nil {
			return err
		}
	}
	return nil
}

func (d *Dispatcher) defaults() {
	if d.Client == nil {
		d.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if d.MinBackoff <= 0 {
		d.MinBackoff = 100 * time.Millisecond
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = 30 * time.Second
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
}

// deliver POSTs e until the receiver takes it or ctx ends.
func (d *Dispatcher) deliver(ctx context.Context, e lifecycle.AuditEntry) error {
	body, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encoding entry %d: %w", e.Seq, err)
	}
	wait := d.MinBackoff
	for attempt := 1; ; attempt++ {
		err := d.post(ctx, e.Seq, body)
		if err == nil {
			return nil
		}
		d.Log.WarnContext(ctx, "webhook delivery failed; retrying", "seq", e.Seq, "attempt", attempt, "wait", wait, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, d.MaxBackoff)
	}
}

func (d *Dispatcher) post(ctx context.Context, seq uint64, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Botlife-Seq", strconv.FormatUint(seq, 10))
	resp, err := d.Client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("receiver answered %s", resp.Status)
	}
	// net/http follows a 301, 302 or 303 with a GET that carries no entry:
	// whatever answers it did not take the entry.
	if resp.Request.Method != http.MethodPost {
		return fmt.Errorf("receiver redirected the POST to %s, which took no entry; set URL to where it redirects", resp.Request.URL.Redacted())
	}
	return nil
}

// cursor reads the last Seq delivered; 0 when there is no cursor file yet.
func (d *Dispatcher) cursor() (uint64, error) {
	data, err := os.ReadFile(d.CursorFile)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	seq, err := strconv.ParseUint(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cursor file %s holds %q, not a sequence number; delete it to start from the beginning", d.CursorFile, data)
	}
	return seq, nil
}

// saveCursor writes seq atomically: a temporary file renamed over the old.
func (d *Dispatcher) saveCursor(seq uint64) error {
	tmp, err := os.CreateTemp(filepath.Dir(d.CursorFile), ".cursor-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := fmt.Fprintln(tmp, seq); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), d.CursorFile)
}
