package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A bot created through the API is there after the service restarts on the
// same file.
func TestBotsSurviveARestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "botlife.db")
	var id string
	for round := 1; round <= 2; round++ {
		base, stop := start(t, db)
		if round == 1 {
			body := call(t, "POST", base+"/bots", "dan-token", `{"name":"Pizza","channel":"sms","senders":[{"channel":"sms","address":"+15550100"}]}`, 201)
			id = between(body, `"id": "`, `"`)
		} else if body := call(t, "GET", base+"/bots/"+id, "mia-token", "", 200); !strings.Contains(body, `"name": "Pizza"`) {
			t.Errorf("after the restart, bot %s reads %s", id, body)
		}
		stop()
	}
}

// A schedule made through the API is there, pending, after the service
// restarts on the same file (R23), with its time zone.
func TestSchedulesSurviveARestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "botlife.db")
	var id, made string
	for round := 1; round <= 2; round++ {
		base, stop := start(t, db)
		if round == 1 {
			body := call(t, "POST", base+"/bots", "dan-token", `{"name":"Pizza","channel":"sms","senders":[{"channel":"sms","address":"+15550100"}]}`, 201)
			bot := between(body, `"id": "`, `"`)
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
// find it, and its sender is still acme's.
func TestR27WorkspacesSurviveARestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "botlife.db")
	bot := `{"name":"Acme Pizza","channel":"sms","senders":[{"channel":"sms","address":"+15550199"}]}`
	var id string
	for round := 1; round <= 2; round++ {
		base, stop := start(t, db)
		if round == 1 {
			id = between(call(t, "POST", base+"/bots", "acme-mia-token", bot, 201), `"id": "`, `"`)
		} else {
			if body := call(t, "GET", base+"/bots/"+id, "acme-mia-token", "", 200); !strings.Contains(body, `"name": "Acme Pizza"`) {
				t.Errorf("after the restart, acme's bot %s reads %s", id, body)
			}
			call(t, "GET", base+"/bots/"+id, "mia-token", "", 404)
			call(t, "POST", base+"/bots", "dan-token", bot, 409) // sender-claimed
		}
		stop()
	}
}

func start(t *testing.T, db string) (string, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, "127.0.0.1:0", db, slog.New(slog.DiscardHandler), func(a string) { addr <- a })
	}()
	select {
	case a := <-addr:
		return "http://" + a, func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("run: %v", err)
			}
		}
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("the service did not start")
	}
	return "", nil
}

func call(t *testing.T, method, url, token, body string, want int) string {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
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
