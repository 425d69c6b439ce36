package api_test

import (
	"fmt"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// R23, R21: a time zone is named by its IANA name, once. A name that
// time.LoadLocation reads as the same zone's file by another path -
// "Europe/./Berlin", "Europe//Berlin", "./UTC" - is refused (400
// invalid-input) and changes nothing: there is no end of such names, and
// each was stored on its schedule and kept in the server's zone cache
// (found by review).
func TestR23ZoneNamesAreClean(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	var b struct{ ID string }
	c.Do("POST", "/bots", "dan", apitest.BotJSON).JSON(t, &b)
	var rows []apitest.Status
	for _, zone := range []string{"Europe/./Berlin", "Europe//Berlin", "./UTC", "Europe/Berlin/.", "America/../UTC"} {
		body := fmt.Sprintf(`{"local":"2026-06-02T02:00:00","zone":%q,"bot":%q,"activate":{}}`, zone, b.ID)
		rows = append(rows, apitest.Status{Name: zone, Method: "POST", Path: "/schedules", Who: "mia", Body: body, Status: 400, Type: "invalid-input"})
	}
	apitest.Refuse(t, c, rows, b.ID)
	if r := c.Do("POST", "/schedules", "mia", fmt.Sprintf(`{"local":"2026-06-02T02:00:00","zone":"Europe/Berlin","bot":%q,"activate":{}}`, b.ID)); r.Status != 201 {
		t.Errorf("a clean zone name: %d %s", r.Status, r.Body)
	}
}
