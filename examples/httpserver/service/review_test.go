package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"testing"
)

// P2: a role revoked through the API stays revoked when the service
// restarts (or another replica starts) on the same store: the users file
// provisions a user's roles once, not whenever they hold none. Otherwise
// an Admin who takes a user's role away finds it back at the next deploy.
func TestP2RevokedRoleStaysRevokedAfterARestart(t *testing.T) {
	st := sqliteStore(t)
	base, stop := start(t, st)
	call(t, "DELETE", base+"/users/dan/roles/designer", "ada-token", "", 204)
	call(t, "POST", base+"/bots", "dan-token", pizza, 403)
	stop()

	base, _ = start(t, st)
	call(t, "POST", base+"/bots", "dan-token", pizza, 403)
	if body := call(t, "GET", base+"/users/dan/roles", "ada-token", "", 200); !strings.Contains(body, `"roles": []`) {
		t.Errorf("after a restart dan's roles are %s, want none", body)
	}
}

// R21: an Idempotency-Key that is not text - bytes a header may carry but
// that are not UTF-8 - is refused as input (400), on every store: it is
// never stored, and never answered as a store failure (503) that a retry
// cannot get past.
func TestR21IdempotencyKeyNotText(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(*testing.T) string
	}{{"memory", func(*testing.T) string { return "memory" }}, {"sqlite", sqliteStore}, {"postgres", func(t *testing.T) string { return newDatabase(t) }}} {
		t.Run(tc.name, func(t *testing.T) {
			base, _ := start(t, tc.store(t))
			code, _, body := send(t, "POST", base+"/bots", "dan-token", pizza, "Idempotency-Key", "k\xff\xfe")
			if code != 400 || !strings.Contains(body, "/problems/invalid-input") {
				t.Errorf("a key that is not UTF-8: %d %s", code, body)
			}
		})
	}
}

// R21: a bots cursor whose bytes are not text (a client's made-up cursor)
// is refused as input (400), on every store: never a store failure (503).
func TestR21CursorNotText(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(*testing.T) string
	}{{"memory", func(*testing.T) string { return "memory" }}, {"sqlite", sqliteStore}, {"postgres", func(t *testing.T) string { return newDatabase(t) }}} {
		t.Run(tc.name, func(t *testing.T) {
			base, _ := start(t, tc.store(t))
			for _, cursor := range []string{"_w", "AA"} { // "\xff", "\x00"
				code, _, body := send(t, "GET", base+"/bots?cursor="+cursor, "mia-token", "")
				if code != 400 || !strings.Contains(body, "/problems/invalid-input") {
					t.Errorf("cursor %s: %d %s", cursor, code, body)
				}
			}
		})
	}
}

// A database from a version that numbered bots with one counter for every
// workspace (before the counters per workspace) holds bots of acme whose
// numbers acme's own counter has not reached yet: a create in acme then
// gets the next number that no bot of acme has, never a 400 "bot id
// already taken" for an id the client did not choose.
func TestReadableIDsSkipTakenOnes(t *testing.T) {
	st := sqliteStore(t)
	base, stop := start(t, st)
	for range 3 {
		call(t, "POST", base+"/bots", "acme-mia-token", `{"name":"Acme","channel":"sms"}`, 201) // bot-1 to bot-3
	}
	stop()
	b, err := openStore(t.Context(), st, true)
	if err != nil {
		t.Fatal(err)
	}
	// As the older version left it: no counter of acme's own.
	if _, err := b.db.Exec(`DELETE FROM service_ids WHERE name = 'bot:acme'`); err != nil {
		t.Fatal(err)
	}
	b.close()
	base, _ = start(t, st)
	id := between(call(t, "POST", base+"/bots", "acme-mia-token", `{"name":"Acme 4","channel":"sms"}`, 201), `"id": "`, `"`)
	if id != "bot-4" {
		t.Errorf("the next bot of acme is %s, want bot-4", id)
	}
}

// lockedBuffer is a bytes.Buffer safe for the log's writes and the
// test's reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// R27: the log says which workspace a line is about. Ids are per
// workspace - acme and the default workspace each have a bot-1 and a mia -
// so a line without the workspace could be either customer's.
func TestR27LogLinesNameTheWorkspace(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var log lockedBuffer
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "-store", "memory", "-users", "demo-users.txt", "-addr", "127.0.0.1:0"}, noEnv, nil, io.Discard, &log,
			&hooks{ready: func(a string) { addr <- a }})
	}()
	base := "http://" + <-addr
	call(t, "POST", base+"/bots", "acme-mia-token", pizza, 201)
	call(t, "GET", base+"/bots/bot-9", "acme-mia-token", "", 404)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(log.String(), "\n") {
		acme := strings.Contains(line, "user=ida") || strings.Contains(line, "bot=bot-1") || strings.Contains(line, "path=/bots/bot-9")
		if acme && !strings.Contains(line, "workspace=acme") {
			t.Errorf("R27 a line about acme does not name it: %s", line)
		}
	}
}
