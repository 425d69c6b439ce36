package api_test

import (
	"os"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// TestScript runs the scripted session and the status table.
func TestScript(t *testing.T) {
	apitest.Run(t, nil)
}

// The README's curl session works as printed: each line through the
// handler, each status as the line's comment says.
func TestREADMECurl(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	apitest.Curl(t, readme, nil)
}

// P1, R16: a change refused on permission grounds is audited also when it
// carries If-Match (decided as a plan first); a refused dry run is not (R17).
func TestP1RefusalWithIfMatchIsAudited(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	r := c.Do("POST", "/bots", "dan", apitest.BotJSON)
	var b api.Bot
	r.JSON(t, &b)
	denied := func() int {
		var pg api.Page[api.AuditEntry]
		c.Do("GET", "/audit?limit=500", "ada", "").JSON(t, &pg)
		n := 0
		for _, e := range pg.Items {
			if e.Denied && e.Action == "activate" && e.Actor == "dan" {
				n++
				if e.Bot != b.ID {
					t.Errorf("R16: the denied entry names bot %q, want %q", e.Bot, b.ID)
				}
			}
		}
		return n
	}
	if r := c.Do("POST", "/bots/"+b.ID+"/activate?dry_run=true", "dan", ""); r.Status != 403 {
		t.Fatalf("dry run: %d", r.Status)
	}
	if n := denied(); n != 0 {
		t.Errorf("R17: a refused dry run was audited %d times", n)
	}
	if r := c.Do("POST", "/bots/"+b.ID+"/activate", "dan", "", "If-Match: "+r.Header.Get("ETag")); r.Status != 403 {
		t.Fatalf("activate: %d", r.Status)
	}
	if n := denied(); n != 1 {
		t.Errorf("P1: the refusal was audited %d times, want 1", n)
	}
}
