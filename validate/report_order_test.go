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
