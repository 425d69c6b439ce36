package api

import (
	"strings"
	"testing"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

// R25: a request's definition is the service's document, kept byte for
// byte, or a reference definition the API encodes; anything else is a
// malformed body.
func TestRequestDefinition(t *testing.T) {
	ref, err := lifecycle.ReferenceDefinition(validate.Definition{EntryDialog: "a"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		body string
		want lifecycle.Definition
		err  string // a part of the decoding error; "" for none
	}{
		{"R25/the document form is kept byte for byte", `{"format":"acme.flow/v1","text":" start:\n  say: hi "}`,
			lifecycle.Definition{Format: "acme.flow/v1", Text: " start:\n  say: hi "}, ""},
		{"R25/a document without a format takes the checker's", `{"text":"{}"}`, lifecycle.Definition{Text: "{}"}, ""},
		{"R25/a reference definition is encoded", `{"entry_dialog":"a"}`, ref, ""},
		{"R25/an unknown field in the document form", `{"format":"f","text":"","extra":1}`, lifecycle.Definition{}, `unknown field "extra"`},
		{"R25/an unknown field in a reference definition", `{"entry":"a"}`, lifecycle.Definition{}, `unknown field "entry"`},
		{"R25/not an object", `"text"`, lifecycle.Definition{}, "must be an object"},
		{"R25/a key in another letter case", `{"FORMAT":"f","text":""}`, lifecycle.Definition{}, `unknown field "FORMAT"`},
		{"R13/a dialog's key in another letter case", `{"entry_dialog":"hi","dialogs":[{"ID":"hi"}]}`, lifecycle.Definition{},
			`the key "ID" in dialogs[0] is not a field; keys are case-sensitive: write "id"`},
		{"R13/a dialog's key and its case variant", `{"dialogs":[{"id":"hi","ID":"zz"}]}`, lifecycle.Definition{},
			`the key "ID" in dialogs[0] is not a field; keys are case-sensitive: write "id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var req createRequest
			err := decodeJSON([]byte(`{"name":"b","channel":"sms","definition":`+tt.body+`}`), &req, bodyRequired)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := req.Definition.definition()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("definition (-want +got):\n%s", diff)
			}
		})
	}
}
