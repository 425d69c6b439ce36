package api_test

import (
	"testing"

	"github.com/botlife/botlife/examples/httpserver/api/apitest"
)

// TestScript runs the scripted session and the status table.
func TestScript(t *testing.T) {
	apitest.Run(t, nil)
}
