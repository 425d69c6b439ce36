package main

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// start runs serve in process on store (a -store value) with the demo
// users and returns its base URL and a function that stops it (as SIGTERM
// does) and checks it stopped cleanly.
func start(t *testing.T, store string, extra ...string) (string, func()) {
	t.Helper()
	return startWith(t, nil, store, extra...)
}

// startWith is start with a hook called as each request's handling begins.
func startWith(t *testing.T, request func(*http.Request), store string, extra ...string) (string, func()) {
	t.Helper()
	return startHooks(t, noEnv, &hooks{request: request}, store, extra...)
}

// startHooks is start with an environment and hooks (whose ready it sets).
func startHooks(t *testing.T, env func(string) string, h *hooks, store string, extra ...string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	args := append([]string{"serve", "-store", store, "-users", "demo-users.txt", "-addr", "127.0.0.1:0"}, extra...)
	h.ready = func(a string) { addr <- a }
	go func() {
		done <- run(ctx, args, env, nil, io.Discard, io.Discard, h)
	}()
	select {
	case a := <-addr:
		stopped := false
		stop := func() {
			if stopped {
				return
			}
			stopped = true
			cancel()
			if err := <-done; err != nil {
				t.Errorf("serve: %v", err)
			}
		}
		t.Cleanup(stop)
		return "http://" + a, stop
	case err := <-done:
		cancel()
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("the service did not start")
	}
	return "", nil
}

func sqliteStore(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "botlife.db") }

// call sends a request with token (none if empty) and checks its status.
func call(t *testing.T, method, url, token, body string, want int) string {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, out)
	}
	return string(out)
}

func between(s, from, to string) string {
	_, rest, _ := strings.Cut(s, from)
	v, _, _ := strings.Cut(rest, to)
	return v
}

const pizza = `{"name":"Pizza","channel":"sms","senders":[{"channel":"sms","address":"+15550100"}]}`

// A bot created through the API is there after the service restarts on
// the same file, and the next bot's readable id is not the first's again.
func TestBotsSurviveARestart(t *testing.T) {
	st := sqliteStore(t)
	var id string
	for round := 1; round <= 2; round++ {
		base, stop := start(t, st)
		if round == 1 {
			id = between(call(t, "POST", base+"/bots", "dan-token", pizza, 201), `"id": "`, `"`)
			if id != "bot-1" {
				t.Errorf("the first bot of a new file is %q, not bot-1", id)
			}
		} else {
			if body := call(t, "GET", base+"/bots/"+id, "mia-token", "", 200); !strings.Contains(body, `"name": "Pizza"`) {
				t.Errorf("after the restart, bot %s reads %s", id, body)
			}
			next := between(call(t, "POST", base+"/bots", "dan-token", `{"name":"Pizza 2","channel":"sms"}`, 201), `"id": "`, `"`)
			if next != "bot-2" {
				t.Errorf("after a restart the next bot is %q, not bot-2", next)
			}
		}
		stop()
	}
}

// A schedule made through the API is there, pending, after the service
// restarts on the same file (R23), with its time zone.
func TestSchedulesSurviveARestart(t *testing.T) {
	st := sqliteStore(t)
	var id, made string
	for round := 1; round <= 2; round++ {
		base, stop := start(t, st)
		if round == 1 {
			bot := between(call(t, "POST", base+"/bots", "dan-token", pizza, 201), `"id": "`, `"`)
			local := time.Now().Add(48*time.Hour).Format("2006-01-02") + "T02:00:00"
			made = call(t, "POST", base+"/schedules", "mia-token",
				`{"local":"`+local+`","zone":"Europe/Berlin","bot":"`+bot+`","activate":{"decision":"immediate"}}`, 201)
			id = between(made, `"id": "`, `"`)
		} else if body := call(t, "GET", base+"/schedules/"+id, "mia-token", "", 200); body != made {
			t.Errorf("after the restart, schedule %s reads\n%s\nnot as made\n%s", id, body, made)
		}
		stop()
	}
}

// R27: a bot of workspace acme is acme's after the service restarts on
// the same file: acme's token reads it, the default workspace's does not
// find it, and its sender is still acme's. The users file's roles were
// provisioned once: the restart grants nothing again.
func TestR27WorkspacesSurviveARestart(t *testing.T) {
	st := sqliteStore(t)
	bot := `{"name":"Acme Pizza","channel":"sms","senders":[{"channel":"sms","address":"+15550199"}]}`
	var id string
	for round := 1; round <= 2; round++ {
		base, stop := start(t, st)
		if round == 1 {
			id = between(call(t, "POST", base+"/bots", "acme-mia-token", bot, 201), `"id": "`, `"`)
		} else {
			if body := call(t, "GET", base+"/bots/"+id, "acme-mia-token", "", 200); !strings.Contains(body, `"name": "Acme Pizza"`) {
				t.Errorf("after the restart, acme's bot %s reads %s", id, body)
			}
			call(t, "GET", base+"/bots/"+id, "mia-token", "", 404)
			call(t, "POST", base+"/bots", "dan-token", bot, 409) // sender-claimed
			audit := call(t, "GET", base+"/audit?limit=100", "ada-token", "", 200)
			if n := strings.Count(audit, `"action": "grant_role"`); n != 4 {
				t.Errorf("after a restart the default workspace's audit log holds %d role grants, want the 4 of the users file:\n%s", n, audit)
			}
		}
		stop()
	}
}

// Issue 28: an Idempotency-Key replays after the service restarts on the
// same file (it made a second bot before), and a dry run's plan made
// before the restart applies after it.
func TestKeysAndPlansSurviveARestart(t *testing.T) {
	st := sqliteStore(t)
	base, stop := start(t, st)
	_, h, _ := send(t, "POST", base+"/bots", "dan-token", pizza, "Idempotency-Key", "k-1")
	first := h.Get("Location")
	_, h, _ = send(t, "POST", base+"/bots", "dan-token", `{"name":"Other","channel":"sms"}`, "Idempotency-Key", "k-2")
	code, h, body := send(t, "DELETE", base+h.Get("Location")+"?dry_run=true", "dan-token", "")
	if code != 200 || h.Get("Location") == "" {
		t.Fatalf("dry run: %d %s", code, body)
	}
	plan := h.Get("Location")
	stop()

	base, _ = start(t, st)
	code, h, body = send(t, "POST", base+"/bots", "dan-token", pizza, "Idempotency-Key", "k-1")
	if code != 201 || h.Get("Location") != first {
		t.Errorf("after a restart the key answered %d %s %s, want the replay of %s", code, h.Get("Location"), body, first)
	}
	if code, _, body = send(t, "POST", base+plan+"/apply", "dan-token", ""); code != 200 {
		t.Errorf("after a restart the plan %s: %d %s", plan, code, body)
	}
	if _, _, list := send(t, "GET", base+"/bots", "dan-token", ""); strings.Count(list, `"id":`) != 1 {
		t.Errorf("after the replay and the deletion: %s", list)
	}
}
