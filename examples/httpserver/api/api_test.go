package api_test

import (
	"os"
	"testing"

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
