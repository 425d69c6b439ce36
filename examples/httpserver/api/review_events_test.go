package api_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// P1, P2: an open event stream follows the audit log only while its user
// may view it. Once "View audit log" is taken from them (their Admin role
// revoked), the stream sends no further entry - not the revocation, not
// the changes after it - but an error event, and ends: a role change takes
// effect on the next entry, not when the user next reconnects.
func TestP2EventStreamEndsWhenTheRoleIsRevoked(t *testing.T) {
	f := apitest.NewFixture(t)
	srv := httptest.NewServer(f.Server)
	defer srv.Close()
	c := &apitest.Client{T: t, Handler: f.Server}
	if r := c.Do("POST", "/users/al/roles", "ada", `{"role":"admin"}`); r.Status != 200 {
		t.Fatalf("grant al Admin: %d %s", r.Status, r.Body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+apitest.Token("al"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /events as al: %d", resp.StatusCode)
	}
	if r := c.Do("DELETE", "/users/al/roles/admin", "ada", ""); r.Status != 204 {
		t.Fatalf("revoke al's Admin: %d %s", r.Status, r.Body)
	}
	if r := c.Do("POST", "/bots", "dan", apitest.BotJSON); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	sc := bufio.NewScanner(resp.Body)
	var kinds []string
	for sc.Scan() {
		line := sc.Text()
		if kind, ok := strings.CutPrefix(line, "event: "); ok {
			kinds = append(kinds, kind)
		}
		if strings.HasPrefix(line, "data: ") && strings.Contains(line, `"action":"create"`) || len(kinds) > 0 && kinds[len(kinds)-1] == "error" {
			break
		}
	}
	if len(kinds) != 1 || kinds[0] != "error" {
		t.Errorf("P2: after al lost the Admin role the stream sent events %v, want only an error", kinds)
	}
}
