package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// FuzzRequestBody: whatever body arrives on the routes that take one, the
// answer is never a 5xx, and a refusal is a problem whose status is the
// response's.
func FuzzRequestBody(f *testing.F) {
	for _, s := range []string{``, `{}`, apitest.BotJSON, `{"decision":"grace:15m"}`, `{"name":"x","name":"y"}`,
		`{"channel":"sms","address":"+15550100","end_user":"u"}`, `{"role":"admin"}`, `{"reason":"r","grace":"1m"}`,
		"\xff", `{"a":` + strings.Repeat("[", 1000),
		`{"name":"f","channel":"sms","definition":{"format":"botlife.reference/v1","text":"{\"entry_dialog\":1}"}}`,
		`{"definition":{"format":"acme/v1","text":"x\u0000"}}`, `{"definition":{"text":"{}","text":"[]"}}`,
		`{"senders":[{"address":"+15550100"}],"grace":"1m"}`, `{"local":"2026-06-02T02:00:00","zone":"Europe/Berlin","bot":"bot-1","activate":{}}`,
		`{"at":"2026-06-02T02:00:00+02:00","bot":"bot-1","deactivate":{"grace":"5m"}}`, `{"local":"2026-06-02T02:00:00","zone":"../../etc/passwd","bot":"bot-1","activate":{}}`} {
		f.Add([]byte(s))
	}
	fx := apitest.NewFixture(f)
	c := &apitest.Client{T: f, Handler: fx.Server}
	var bot api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(f, &bot)
	routes := []struct{ method, path, who string }{
		{"POST", "/bots?dry_run=true", "dan"},
		{"PATCH", "/bots/" + bot.ID + "?dry_run=true", "dan"},
		{"POST", "/bots/" + bot.ID + "/activate?dry_run=true", "mia"},
		{"POST", "/bots/" + bot.ID + "/deactivate?dry_run=true", "mia"},
		{"POST", "/schedules?dry_run=true", "mia"},
		{"POST", "/bots/" + bot.ID + "/duplicate?dry_run=true", "dan"},
		{"POST", "/bots/import?dry_run=true", "dan"},
		{"POST", "/users/zed/roles?dry_run=true", "ada"},
		{"POST", "/route", "gateway"},
		{"POST", "/system/bots/" + bot.ID + "/end-grace", "scheduler"},
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c := c.With(t)
		for _, rt := range routes {
			r := c.Do(rt.method, rt.path, rt.who, string(body))
			if r.Status >= 500 {
				t.Fatalf("%s %s: %d %s", rt.method, rt.path, r.Status, r.Body)
			}
			if r.Status >= 400 {
				var p api.Problem
				if err := json.Unmarshal(r.Body, &p); err != nil || p.Status != r.Status || r.Header.Get("Content-Type") != "application/problem+json" {
					t.Fatalf("%s %s: %d %s", rt.method, rt.path, r.Status, r.Body)
				}
			}
		}
	})
}
