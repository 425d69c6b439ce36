package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/benbjohnson/clock"
	"github.com/botlife/botlife/lifecycle"
)

type client struct {
	t   *testing.T
	srv *httptest.Server
	clk *clock.Mock
}

func newClient(t *testing.T) *client {
	t.Helper()
	clk := clock.NewMock()
	clk.Set(time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC))
	log := slog.New(slog.DiscardHandler)
	m, err := newManager(log, clk)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(newServer(m, log))
	t.Cleanup(srv.Close)
	return &client{t: t, srv: srv, clk: clk}
}

// do sends a request and decodes the JSON answer into out (if not nil).
func (c *client) do(method, path, user, body string, out any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, c.srv.URL+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if user != "" {
		req.Header.Set(ActorHeader, user)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode
}

const botJSON = `{"name":"Pizza","channel":"sms","senders":[{"address":"+1 555 0100"}],
 "definition":{"entry_dialog":"a","fallback_dialog":"a","dialogs":[{"id":"a","name":"A","elements":[{"type":"text","text":"Hi"},{"type":"close"}]}]}}`

func TestHappyPath(t *testing.T) {
	c := newClient(t)
	var v1 lifecycle.Bot
	if st := c.do("POST", "/bots", "dan", botJSON, &v1); st != http.StatusCreated || v1.State != lifecycle.Draft {
		t.Fatalf("create: %d %+v", st, v1)
	}
	var plan lifecycle.Plan
	if st := c.do("POST", "/bots/"+string(v1.ID)+"/activate", "mia", `{"dry_run":true}`, &plan); st != 200 || len(plan.Changes) != 1 {
		t.Fatalf("dry run: %d %+v", st, plan)
	}
	if st := c.do("POST", "/bots/"+string(v1.ID)+"/activate", "mia", `{}`, &plan); st != 200 || plan.Changes[0].To != lifecycle.Active {
		t.Fatalf("activate: %d %+v", st, plan)
	}
	var sess lifecycle.Session
	if st := c.do("POST", "/route", "", `{"channel":"sms","address":"+15550100","end_user":"u1"}`, &sess); st != 200 || sess.Bot != v1.ID {
		t.Fatalf("route: %d %+v", st, sess)
	}
	var v2 lifecycle.Bot
	if st := c.do("POST", "/bots/"+string(v1.ID)+"/duplicate", "dan", `{"name":"Pizza v2"}`, &v2); st != http.StatusCreated || v2.Name != "Pizza v2" {
		t.Fatalf("duplicate: %d %+v", st, v2)
	}
	if st := c.do("PATCH", "/bots/"+string(v2.ID), "dan", `{"description":"new menu","idle_timeout":"10m"}`, &v2); st != 200 || v2.Description != "new menu" || v2.IdleTimeout != 10*time.Minute {
		t.Fatalf("update: %d %+v", st, v2)
	}
	if st := c.do("POST", "/bots/"+string(v2.ID)+"/activate", "mia", `{"decision":"grace:15m"}`, &plan); st != 200 || len(plan.Changes) != 2 {
		t.Fatalf("activate with grace: %d %+v", st, plan)
	}
	var got lifecycle.Bot
	if st := c.do("GET", "/bots/"+string(v1.ID), "mia", "", &got); st != 200 || got.State != lifecycle.Deactivated {
		t.Fatalf("get: %d %v", st, got.State)
	}
	var list []lifecycle.Summary
	if st := c.do("GET", "/bots?limit=10", "al", "", &list); st != 200 || len(list) != 2 {
		t.Fatalf("list: %d %+v", st, list)
	}
	// Export and import.
	req, _ := http.NewRequest("GET", c.srv.URL+"/bots/"+string(v2.ID)+"/export", nil)
	req.Header.Set(ActorHeader, "dan")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(err, resp.StatusCode)
	}
	doc, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var imported lifecycle.Bot
	if st := c.do("POST", "/bots/import", "dan", string(doc), &imported); st != http.StatusCreated || imported.Description != "new menu" {
		t.Fatalf("import: %d %+v", st, imported)
	}
	if st := c.do("DELETE", "/bots/"+string(imported.ID), "dan", "", nil); st != 200 {
		t.Fatalf("delete: %d", st)
	}
	if st := c.do("POST", "/bots/"+string(v2.ID)+"/deactivate", "mia", `{"grace":"5m"}`, &plan); st != 200 {
		t.Fatalf("deactivate: %d", st)
	}
	var log []lifecycle.AuditEntry
	if st := c.do("GET", "/audit?after=4", "ada", "", &log); st != 200 || len(log) == 0 || log[0].Seq != 5 {
		t.Fatalf("audit: %d %+v", st, log)
	}
}

func TestErrorStatuses(t *testing.T) {
	c := newClient(t)
	var v1, v2 lifecycle.Bot
	c.do("POST", "/bots", "dan", botJSON, &v1)
	c.do("POST", "/bots", "dan", botJSON, &v2)
	c.do("POST", "/bots/"+string(v1.ID)+"/activate", "mia", `{}`, nil)
	warn := strings.Replace(botJSON, `"fallback_dialog":"a",`, "", 1)
	var w lifecycle.Bot
	c.do("POST", "/bots", "dan", warn, &w)
	bad := strings.Replace(botJSON, `"text":"Hi"`, `"text":"{{who}}"`, 1)
	var b lifecycle.Bot
	c.do("POST", "/bots", "dan", bad, &b)

	tests := []struct {
		name, method, path, user, body string
		status                         int
		code                           string
	}{
		{"no actor", "GET", "/bots", "", "", 401, "unauthenticated"},
		{"forbidden", "POST", "/bots/" + string(v2.ID) + "/activate", "dan", `{}`, 403, "forbidden"},
		{"not found", "GET", "/bots/nope", "mia", "", 404, "not_found"},
		{"no bot", "POST", "/route", "", `{"channel":"sms","address":"999","end_user":"u"}`, 404, "no_bot"},
		{"occupied", "POST", "/bots/" + string(v2.ID) + "/activate", "mia", `{}`, 409, "sender_occupied"},
		{"invalid transition", "POST", "/bots/" + string(v2.ID) + "/deactivate", "mia", `{}`, 409, "invalid_transition"},
		{"not editable", "PATCH", "/bots/" + string(v1.ID), "dan", `{"name":"x"}`, 409, "not_editable"},
		{"not deletable", "DELETE", "/bots/" + string(v1.ID), "dan", "", 409, "not_deletable"},
		{"validation", "POST", "/bots/" + string(b.ID) + "/activate", "mia", `{}`, 422, "validation_failed"},
		{"warnings", "POST", "/bots/" + string(w.ID) + "/activate", "mia", `{}`, 422, "warnings_not_acknowledged"},
		{"bad json", "POST", "/bots", "dan", `{"nme":"x"}`, 400, "invalid_input"},
		{"bad decision", "POST", "/bots/" + string(v2.ID) + "/activate", "mia", `{"decision":"later"}`, 400, "invalid_input"},
		{"bad grace", "POST", "/bots/" + string(v1.ID) + "/deactivate", "mia", `{"grace":"soon"}`, 400, "invalid_input"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body errorBody
			if st := c.do(tt.method, tt.path, tt.user, tt.body, &body); st != tt.status || body.Code != tt.code || body.Error == "" {
				t.Errorf("%s %s = %d %+v, want %d %s", tt.method, tt.path, st, body, tt.status, tt.code)
			}
			switch tt.code {
			case "warnings_not_acknowledged":
				if body.Fingerprint == "" || len(body.Findings) != 1 {
					t.Errorf("warnings body %+v", body)
				}
			case "validation_failed":
				if len(body.Findings) == 0 {
					t.Errorf("validation body %+v", body)
				}
			case "sender_occupied":
				if len(body.Occupants) != 1 || body.Occupants[0].Bot != v1.ID {
					t.Errorf("occupied body %+v", body)
				}
			}
		})
	}
}

func FuzzDecodeActivate(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"decision":"grace:15m","ack":{"codes":["x"]}}`, `{"decision":"immediate","dry_run":true}`, `{"x":1}`, `[]`, `{"decision":"grace:-1s"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, ack, _, err := decodeActivate(bytes.NewReader(data))
		if err != nil {
			if d != (lifecycle.Decision{}) && !d.IsZero() {
				t.Fatalf("error %v with decision %v", err, d)
			}
			return
		}
		if d.IsGrace() && d.GracePeriod() <= 0 {
			t.Fatalf("accepted grace %v", d.GracePeriod())
		}
		_ = ack
	})
}
