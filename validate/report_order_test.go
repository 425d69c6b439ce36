package validate_test

import (
	"fmt"
	"testing"

	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

// R4: a report lists findings in document order: dialogs[2] before
// dialogs[10], and a dialog's elements by index, whatever their count.
func TestReportInDocumentOrder(t *testing.T) {
	d := validate.Definition{Channel: "sms", EntryDialog: "d0", FallbackDialog: "d0"}
	for i := range 12 {
		d.Dialogs = append(d.Dialogs, validate.Dialog{ID: fmt.Sprintf("d%d", i), Name: fmt.Sprintf("D%d", i),
			Elements: []validate.Element{{Type: validate.Close}}})
	}
	// Every dialog but the entry is unreachable: a warning each.
	var got []string
	for _, f := range validate.Default().Validate(&d).Warnings() {
		got = append(got, f.Path)
	}
	var want []string
	for i := 1; i < 12; i++ {
		want = append(want, fmt.Sprintf("dialogs[%d]", i))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("R4: warnings not in document order (-want +got):\n%s", diff)
	}
}

// R4: document order is also the order of a definition's fields, as its
// text (Encode) lists them: channel, entry and fallback before the dialogs,
// a dialog's id, name and elements in that order, an element's type before
// its text, a webhook's URL before its timeout, the attributes last. Paths
// sorted as text put attributes first and a dialog's elements before its
// id. Names a Definition does not have come after its fields, and paths of
// another format keep their indexes by value.
func TestReportInFieldOrder(t *testing.T) {
	want := []string{
		"",
		"channel",
		"entry_dialog",
		"fallback_dialog",
		"dialogs",
		"dialogs[0]",
		"dialogs[0].id",
		"dialogs[0].name",
		"dialogs[0].elements",
		"dialogs[0].elements[0].type",
		"dialogs[0].elements[0].text",
		"dialogs[0].elements[0].options",
		"dialogs[0].elements[0].options[2]",
		"dialogs[0].elements[0].options[10]",
		"dialogs[0].elements[0].attribute",
		"dialogs[0].elements[0].branches[0].attribute",
		"dialogs[0].elements[0].branches[0].dialog",
		"dialogs[0].elements[0].branches[1].attribute",
		"dialogs[0].elements[0].target",
		"dialogs[0].elements[0].call.method",
		"dialogs[0].elements[0].call.url",
		"dialogs[0].elements[0].call.timeout_ms",
		"dialogs[0].elements[0].call.save_to",
		"dialogs[0].elements[0].zz",
		"dialogs[0].elements[1]",
		"dialogs[2].id",
		"dialogs[10].id",
		"intents[0].name",
		"intents[0].phrases",
		"intents[0].dialog",
		"keywords[0].word",
		"keywords[0].dialog",
		"attributes[0].name",
		"attributes[0].type",
		"attributes[1]",
		"a",
		"nodes[2]",
		"nodes[2].next",
		"nodes[10]",
	}
	var fs []validate.Finding
	for i := len(want) - 1; i >= 0; i-- {
		fs = append(fs, validate.Finding{Code: "x.order", Severity: validate.Warning, Path: want[i], Message: "m"})
	}
	var got []string
	for _, f := range validate.NewReport(fs).Findings {
		got = append(got, f.Path)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("R4: findings not in the definition's field order (-want +got):\n%s", diff)
	}
}
