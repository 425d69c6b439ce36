package api_test

import (
	"encoding/json"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// R21: a refusal says what to do, not only what is wrong: an id longer
// than any this server gives names where the ids are listed, a session id
// that is not a number says what one is, a grace where none applies says
// to leave it out, a body too large says the most that is taken, a body
// that cannot be read says to send it again, a key twice to send it once. Each changes nothing.
func TestR21RefusalsSayWhatToDo(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var b api.Bot
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
	long := strings.Repeat("x", 1000)
	huge := `{"name":"` + strings.Repeat("n", api.DefaultMaxBody) + `"}`
	for _, tc := range []struct {
		name, method, path, who, body string
		status                        int
		todo                          string // what the detail says to do
	}{
		{"bot id too long", "PATCH", "/bots/" + long, "dan", `{"name":"n"}`, 400, "use the id of a bot as GET /bots lists it"},
		{"schedule id too long", "GET", "/schedules/" + long, "mia", "", 400, "use the id of a schedule as GET /schedules lists it"},
		{"test session id too long", "GET", "/test-sessions/" + long + long, "dan", "", 400, "use the id POST /bots/{id}/test-sessions answered"},
		{"session id not a number", "GET", "/sessions/abc", "dan", "", 400, "use a number from 1 up, as GET /sessions lists them"},
		{"grace where none applies", "POST", "/system/bots/" + b.ID + "/end-grace", "scheduler", `{"reason":"r","grace":"1m"}`, 400, "leave it out"},
		{"body too large", "PATCH", "/bots/" + b.ID, "dan", huge, 413, "send at most 1048576 bytes"},
		{"a key twice", "PATCH", "/bots/" + b.ID, "dan", `{"name":"a","name":"b"}`, 400, "send each key once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := c.With(t)
			before, _ := apitest.World(t, c, b.ID)
			r := c.Do(tc.method, tc.path, tc.who, tc.body)
			if r.Status != tc.status {
				t.Fatalf("%s %.60s = %d %s, want %d", tc.method, tc.path, r.Status, r.Body, tc.status)
			}
			if p := r.Problem(t); !strings.Contains(p.Detail, tc.todo) {
				t.Errorf("detail %q does not say what to do: %q", p.Detail, tc.todo)
			}
			if after, _ := apitest.World(t, c, b.ID); after != before {
				t.Errorf("the refusal changed something:\nbefore %s\nafter  %s", before, after)
			}
		})
	}

	t.Run("body not readable", func(t *testing.T) {
		before, _ := apitest.World(t, c, b.ID)
		req := httptest.NewRequest("PATCH", "/bots/"+b.ID, nil)
		req.Body = io.NopCloser(iotest.ErrReader(io.ErrUnexpectedEOF))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apitest.Token("dan"))
		rec := httptest.NewRecorder()
		f.Server.ServeHTTP(rec, req)
		var p api.Problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || rec.Code != 400 {
			t.Fatalf("PATCH with an unreadable body = %d %s (%v), want 400", rec.Code, rec.Body, err)
		}
		if want := "send the request again"; !strings.Contains(p.Detail, want) {
			t.Errorf("detail %q does not say what to do: %q", p.Detail, want)
		}
		if after, _ := apitest.World(t, c, b.ID); after != before {
			t.Errorf("the refusal changed something:\nbefore %s\nafter  %s", before, after)
		}
	})
}
