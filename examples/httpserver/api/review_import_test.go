package api_test

import (
	"strings"
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api"
	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// R13: every bot's export imports again through the API, however large
// the bot: the library bounds imports so that every export fits
// (Policy.MaxImport), and POST /bots/import takes what the library takes
// rather than the 1 MiB of other bodies. A bot made through POST /bots
// with a reference definition of under 1 MiB exports to more than 1 MiB
// (its text is a JSON string in the export: every quote escaped).
func TestR13LargeExportImportsAgain(t *testing.T) {
	f := apitest.NewFixture(t)
	c := &apitest.Client{T: t, Handler: f.Server}
	el := `{"type":"text","text":"x"},`
	n := (900 << 10) / len(el)
	body := `{"name":"Big","channel":"sms","definition":{"channel":"sms","entry_dialog":"a","fallback_dialog":"a","dialogs":[{"id":"a","name":"A","elements":[` +
		strings.Repeat(el, n) + `{"type":"close"}]}]}}`
	if len(body) >= api.DefaultMaxBody {
		t.Fatalf("the create body is %d bytes, over the limit", len(body))
	}
	r := c.Do("POST", "/bots", "dan", body)
	if r.Status != 201 {
		t.Fatalf("create: %d %.300s", r.Status, r.Body)
	}
	var b api.Bot
	r.JSON(t, &b)
	doc := c.Do("GET", "/bots/"+b.ID+"/export", "dan", "")
	if doc.Status != 200 {
		t.Fatalf("export: %d %.300s", doc.Status, doc.Body)
	}
	t.Logf("create body %d bytes, export %d bytes", len(body), len(doc.Body))
	r = c.Do("POST", "/bots/import", "dan", string(doc.Body))
	if r.Status != 201 {
		t.Fatalf("importing the export of %d bytes: %d %.300s", len(doc.Body), r.Status, r.Body)
	}
	var again api.Bot
	r.JSON(t, &again)
	if re := c.Do("GET", "/bots/"+again.ID+"/export", "dan", ""); string(re.Body) != string(doc.Body) {
		t.Errorf("R13: export(import(export(b))) differs from export(b)")
	}
}
