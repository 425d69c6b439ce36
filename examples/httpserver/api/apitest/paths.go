package apitest

import (
	"bytes"
	"strings"
	"testing"
)

// TextPaths (R21): an id in a path that is not text - invalid UTF-8, a
// NUL or another control character - is a 400 on every route that takes
// one, and the answer does not repeat it.
func TextPaths(t *testing.T, f *Fixture, c *Client) {
	v1 := create(t, c, BotJSON)
	var rows []Status
	for _, bad := range []struct{ name, id string }{
		{"NUL", "%00x"},
		{"invalid UTF-8", "x%FF%FE"},
		{"a control character", "x%0Ay"},
	} {
		id := "SECRET" + bad.id
		for _, r := range []struct{ method, path, who, body string }{
			{"GET", "/bots/" + id, "mia", ""},
			{"PATCH", "/bots/" + id, "dan", `{"name":"x"}`},
			{"DELETE", "/bots/" + id, "dan", ""},
			{"GET", "/bots/" + id + "/export", "dan", ""},
			{"GET", "/bots/" + id + "/validation", "mia", ""},
			{"POST", "/bots/" + id + "/duplicate", "dan", ""},
			{"POST", "/bots/" + id + "/activate", "mia", ""},
			{"POST", "/bots/" + id + "/deactivate", "mia", ""},
			{"POST", "/bots/" + id + "/end-grace", "mia", ""},
			{"POST", "/bots/" + id + "/rollback", "mia", ""},
			{"POST", "/plans/" + id + "/apply", "mia", ""},
			{"POST", "/bots/" + id + "/test-sessions", "dan", ""},
			{"GET", "/test-sessions/" + id, "dan", ""},
			{"POST", "/test-sessions/" + id + "/messages", "dan", ""},
			{"POST", "/test-sessions/" + id + "/close", "dan", ""},
			{"GET", "/schedules/" + id, "mia", ""},
			{"POST", "/schedules/" + id + "/cancel", "mia", ""},
			{"GET", "/users/" + id + "/roles", "ada", ""},
			{"POST", "/users/" + id + "/roles", "ada", `{"role":"designer"}`},
			{"DELETE", "/users/" + id + "/roles/designer", "ada", ""},
			{"DELETE", "/users/al/roles/" + id, "ada", ""},
			{"GET", "/sessions/" + id, "mia", ""},
			{"POST", "/sessions/" + id + "/close", "gateway", ""},
			{"POST", "/system/bots/" + id + "/deactivate", "scheduler", `{"reason":"credit"}`},
			{"POST", "/system/bots/" + id + "/end-grace", "scheduler", `{"reason":"credit"}`},
			{"GET", "/problems/" + id, "", ""},
		} {
			rows = append(rows, Status{Name: "R21/" + bad.name + "/" + r.method + " " + strings.ReplaceAll(r.path, id, "{id}"),
				Method: r.method, Path: r.path, Who: r.who, Body: r.body, Status: 400, Type: "invalid-input"})
		}
	}
	Refuse(t, c, rows, v1.ID)
	for _, row := range rows {
		r := c.Do(row.Method, row.Path, row.Who, row.Body)
		if bytes.Contains(r.Body, []byte("SECRET")) {
			t.Errorf("R21: %s %s repeats the id: %s", row.Method, row.Path, r.Body)
		}
	}
	_ = f
}
