package main

import (
	"strings"
	"testing"

	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

// R25, R4, R5: the story runs through the Manager with the service's own
// format and checker, and prints exactly this.
func TestRun(t *testing.T) {
	var b strings.Builder
	if err := run(&b); err != nil {
		t.Fatal(err)
	}
	want := `v1 is live: its flow has no findings
v2 with a broken flow is refused:
  error flow.dangling at nodes[0].next: node "menu" does not exist; name one of the flow's nodes
v2 fixed still warns: warning flow.unreachable at nodes[2]: node "survey" cannot be reached from start; link it or remove it
acknowledged: v2 is live, v1 is Deactivated until 18:10
the open conversation stays with v1; a new one goes to v2
after the grace period v1 is Inactive
export and import keep the flow byte for byte: true
a reference-format bot is refused: create: invalid definition format "botlife.reference/v1": is not a format this service reads; its checker reads acme.flow/v1
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
}

// R25: the checker's rules, one case each, and text that is not a flow.
func TestFlowChecker(t *testing.T) {
	tests := []struct {
		name, text string
		want       []string // codes
	}{
		{"R25/a clean flow", v1Flow, nil},
		{"R25/flow.dangling start", `{"start":"x","nodes":[]}`, []string{"flow.dangling"}},
		{"R25/flow.dangling next", v2Broken, []string{"flow.dangling"}},
		{"R25/flow.unreachable", v2Fixed, []string{"flow.unreachable"}},
		{"R25/flow.invalid", `start: hello`, []string{"flow.invalid"}},
		{"R25/flow.invalid unknown field", `{"begin":"hello"}`, []string{"flow.invalid"}},
		{"R25/flow.invalid data after the flow", `{"start":"a","nodes":[{"id":"a","say":"x"}]} {"start":"b"}`, []string{"flow.invalid"}},
		{"R25/flow.invalid a bracket after the flow", `{"start":"a","nodes":[{"id":"a","say":"x"}]}]`, []string{"flow.invalid"}},
		{"R25/a cycle ends", `{"start":"a","nodes":[{"id":"a","say":"x","next":"a"}]}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := FlowChecker{}.Check(validate.Document{Format: FlowFormat, Text: tt.text, Channel: "whatsapp"})
			var got []string
			for _, f := range r.Findings {
				got = append(got, f.Code)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("codes (-want +got):\n%s", diff)
			}
		})
	}
}
