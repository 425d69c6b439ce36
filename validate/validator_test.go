package validate_test

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

func withWarnings(d validate.Definition) validate.Definition {
	d.FallbackDialog = ""
	d.Keywords = append(d.Keywords, validate.Keyword{Word: "help", Dialog: "fallback"})
	d.Intents[0].Phrases = d.Intents[0].Phrases[:1]
	return d
}

// R4: errors block, warnings are reported apart and fingerprinted.
func TestReport(t *testing.T) {
	d := withWarnings(clean())
	r := validate.Default().Validate(&d)
	if r.Err() != nil || len(r.Errors()) != 0 {
		t.Fatalf("unexpected errors: %v", r.Errors())
	}
	if got := r.WarningCodes(); !cmp.Equal(got, []string{"fallback.missing", "intent.few_phrases"}) {
		t.Errorf("WarningCodes = %v", got)
	}
	fp := r.Fingerprint()
	if len(fp) != 16 {
		t.Errorf("fingerprint %q", fp)
	}
	// The same warnings give the same fingerprint, whatever else changed.
	d2 := withWarnings(clean())
	d2.Dialogs[2].Elements[1].Text = "Weather report for {{city}}."
	if got := validate.Default().Validate(&d2).Fingerprint(); got != fp {
		t.Errorf("R4: same warnings, fingerprint %q != %q", got, fp)
	}
	// A new warning changes it.
	d3 := withWarnings(clean())
	d3.Dialogs[2].Elements[0].Call.URL = "http://api.example.com/w"
	if got := validate.Default().Validate(&d3).Fingerprint(); got == fp {
		t.Error("R4: a new warning kept the fingerprint")
	}
	// Another warning of the same code at the same path changes it: the
	// acknowledgement was of the intent that had one phrase, not of
	// whichever intent stands first now.
	d4 := withWarnings(clean())
	d4.Intents[0].Name = "forecast"
	if got := validate.Default().Validate(&d4).Fingerprint(); got == fp {
		t.Error("R4: another intent with too few phrases at the same path kept the fingerprint")
	}
	c := clean()
	if got := validate.Default().Validate(&c).Fingerprint(); got != "" {
		t.Errorf("no warnings: fingerprint %q", got)
	}

	// Errors: Err wraps ErrValidation and carries the error findings.
	d.Dialogs[1].Elements[1].Target = "nowhere"
	r = validate.Default().Validate(&d)
	err := r.Err()
	var ve *validate.ValidationError
	if !errors.Is(err, validate.ErrValidation) || !errors.As(err, &ve) {
		t.Fatalf("Err() = %v", err)
	}
	if diff := cmp.Diff(r.Errors(), ve.Findings); diff != "" {
		t.Errorf("ValidationError findings (-want +got):\n%s", diff)
	}
	want := `validation failed with 1 error(s); fix them and try again: dialogs[1].elements[1].target: goto points to dialog "nowhere", which does not exist; set target to the id of one of the dialogs (target.unknown)`
	if err.Error() != want {
		t.Errorf("message %q", err.Error())
	}
	// Errors come first.
	if r.Findings[0].Severity != validate.Error {
		t.Errorf("first finding is %v", r.Findings[0])
	}
}

func TestValidatorCustomisation(t *testing.T) {
	d := withWarnings(clean())
	noHelp := validate.Rule{Code: "team.keyword_help", Severity: validate.Error, Summary: "no HELP keyword",
		Check: func(d *validate.Definition, _ *validate.Index, report func(string, string)) {
			for _, k := range d.Keywords {
				if k.Word == "HELP" {
					return
				}
			}
			report("keywords", "add a HELP keyword")
		}}

	t.Run("add a rule", func(t *testing.T) {
		r := validate.Default().With(noHelp).Validate(&d)
		want := []validate.Finding{{Code: "team.keyword_help", Severity: validate.Error, Path: "keywords", Message: "add a HELP keyword"}}
		if diff := cmp.Diff(want, r.Errors()); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("disable a rule", func(t *testing.T) {
		r := validate.Default().Without("fallback.missing").Validate(&d)
		if got := r.WarningCodes(); !cmp.Equal(got, []string{"intent.few_phrases"}) {
			t.Errorf("codes = %v", got)
		}
	})
	t.Run("promote a warning", func(t *testing.T) {
		v, err := validate.Default().WithSeverity("intent.few_phrases", validate.Error)
		if err != nil {
			t.Fatal(err)
		}
		r := v.Validate(&d)
		if len(r.Errors()) != 1 || r.Errors()[0].Code != "intent.few_phrases" {
			t.Errorf("errors = %v", r.Errors())
		}
		// The default validator is untouched.
		if len(validate.Default().Validate(&d).Errors()) != 0 {
			t.Error("WithSeverity changed the default validator")
		}
		if _, err := validate.Default().WithSeverity("no.such", validate.Error); err == nil {
			t.Error("unknown code accepted")
		}
		if _, err := validate.Default().WithSeverity("intent.few_phrases", 0); err == nil {
			t.Error("invalid severity accepted")
		}
	})
	t.Run("replace a rule by code", func(t *testing.T) {
		v := validate.Default().With(validate.Rule{Code: "fallback.missing", Severity: validate.Warning,
			Check: func(*validate.Definition, *validate.Index, func(string, string)) {}})
		if len(v.Rules()) != len(validate.Default().Rules()) {
			t.Errorf("replacing added a rule: %d", len(v.Rules()))
		}
		if got := v.Validate(&d).WarningCodes(); !cmp.Equal(got, []string{"intent.few_phrases"}) {
			t.Errorf("codes = %v", got)
		}
	})
}

func TestMisbehavingRulesDoNotCrash(t *testing.T) {
	d := clean()
	v := validate.New(
		validate.Rule{Code: "x.panics", Severity: validate.Warning, Check: func(_ *validate.Definition, _ *validate.Index, report func(string, string)) {
			report("a", "reported before the crash")
			var m map[string]int
			m["boom"] = 1
		}},
		validate.Rule{Code: "x.nil", Severity: validate.Warning},
		validate.Rule{Code: "x.badseverity", Severity: 9, Check: func(*validate.Definition, *validate.Index, func(string, string)) {}},
	)
	r := v.Validate(&d)
	want := []validate.Finding{
		{Code: "rule.invalid", Severity: validate.Error, Message: `rule "x.badseverity" has severity 9, which is neither validate.Error nor validate.Warning; fix or remove the rule`},
		{Code: "rule.invalid", Severity: validate.Error, Message: `rule "x.nil" has no Check function; fix or remove the rule`},
		{Code: "rule.panic", Severity: validate.Error, Message: `rule "x.panics" crashed (assignment to entry in nil map), so its findings are discarded; fix or remove the rule`},
	}
	if diff := cmp.Diff(want, r.Findings); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if r := validate.Default().Validate(nil); len(r.Errors()) == 0 {
		t.Error("nil definition validated clean")
	}
}

// A rule.invalid finding says what is wrong with the rule - its code, its
// Check, its severity - not "no check or an invalid severity" for all of
// them; a rule without a code is invalid too, as its findings could be
// told apart from no other rule's nor acknowledged by code (R4).
func TestInvalidRulesSayWhatIsWrong(t *testing.T) {
	check := func(*validate.Definition, *validate.Index, func(string, string)) {}
	tests := []struct {
		name string
		rule validate.Rule
		want string // the message; "" for a valid rule
	}{
		{"valid", validate.Rule{Code: "x.ok", Severity: validate.Warning, Check: check}, ""},
		{"no check", validate.Rule{Code: "x.a", Severity: validate.Error},
			`rule "x.a" has no Check function; fix or remove the rule`},
		{"zero severity", validate.Rule{Code: "x.a", Check: check},
			`rule "x.a" has severity 0, which is neither validate.Error nor validate.Warning; fix or remove the rule`},
		{"no code", validate.Rule{Severity: validate.Warning, Check: check},
			`rule "" has no code (give it a stable dotted one, such as "team.keyword_help"); fix or remove the rule`},
		{"a blank code", validate.Rule{Code: " ", Severity: validate.Warning, Check: check},
			`rule " " has no code (give it a stable dotted one, such as "team.keyword_help"); fix or remove the rule`},
		{"everything", validate.Rule{Severity: 7},
			`rule "" has no code (give it a stable dotted one, such as "team.keyword_help") and has no Check function and has severity 7, which is neither validate.Error nor validate.Warning; fix or remove the rule`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := clean()
			var want []validate.Finding
			if tt.want != "" {
				want = []validate.Finding{{Code: validate.CodeRuleInvalid, Severity: validate.Error, Message: tt.want}}
			}
			if diff := cmp.Diff(want, validate.New(tt.rule).Validate(&d).Findings); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A realistic definition and its exact report.
func TestGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "pizza.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d validate.Definition
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(validate.Default().Validate(&d), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "pizza.golden.json")
	if *update {
		if err := os.WriteFile(golden, append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)+"\n"); diff != "" {
		t.Errorf("report differs from %s (-want +got); rerun with -update if intended:\n%s", golden, diff)
	}
}

func FuzzValidate(f *testing.F) {
	seed, _ := os.ReadFile(filepath.Join("testdata", "pizza.json"))
	f.Add(seed)
	f.Add([]byte(`{"dialogs":[{"id":"a","elements":[{"type":"goto","target":"a"}]}],"entry_dialog":"a"}`))
	f.Add([]byte(`{"dialogs":[{"elements":[{"type":"webhook"}]}]}`))
	f.Add([]byte(`{"channel":"sms","dialogs":[{"id":"x","elements":[{"type":"text","text":"{{ a }}{{"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var d validate.Definition
		if json.Unmarshal(data, &d) != nil {
			return
		}
		r := validate.Default().Validate(&d)
		for _, fi := range r.Findings {
			if fi.Code == validate.CodeRulePanic {
				t.Fatalf("a default rule panicked: %v", fi)
			}
		}
		if (r.Err() == nil) != (len(r.Errors()) == 0) {
			t.Fatal("Err disagrees with Errors")
		}
	})
}

// synthetic builds a valid definition with n dialogs chained by gotos.
func synthetic(n int) validate.Definition {
	d := validate.Definition{Channel: "whatsapp", EntryDialog: "d0", FallbackDialog: "d0",
		Attributes: []validate.Attribute{{Name: "name", Type: validate.String}}}
	for i := 0; i < n; i++ {
		next := fmt.Sprintf("d%d", (i+1)%n)
		d.Dialogs = append(d.Dialogs, validate.Dialog{ID: fmt.Sprintf("d%d", i), Name: fmt.Sprintf("Dialog %d", i), Elements: []validate.Element{
			{Type: validate.Input, Text: "Your name?", Attribute: "name"},
			{Type: validate.Buttons, Text: "Hi {{name}}", Options: []string{"yes", "no"}},
			{Type: validate.Condition, Branches: []validate.Branch{{Attribute: "name", Equals: "x", Dialog: next}}},
			{Type: validate.Webhook, Call: &validate.WebhookCall{Method: "POST", URL: "https://example.com/{{name}}", TimeoutMS: 1000}},
			{Type: validate.GoTo, Target: next},
		}})
	}
	return d
}

func BenchmarkValidate(b *testing.B) {
	for _, n := range []int{100, 1_000, 10_000} {
		d := synthetic(n)
		if r := validate.Default().Validate(&d); !r.OK() {
			b.Fatalf("synthetic definition has findings: %v", r.Findings[:1])
		}
		b.Run(fmt.Sprintf("dialogs=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				validate.Default().Validate(&d)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/dialog")
		})
	}
}

// R4: a fingerprint tells every two sets of warnings apart, whatever text
// a custom rule puts in its codes, paths and messages: one warning whose
// message holds what separated two others is not those two.
func TestR4FingerprintFieldsCannotRunTogether(t *testing.T) {
	w := func(code, path, msg string) validate.Finding {
		return validate.Finding{Code: code, Severity: validate.Warning, Path: path, Message: msg}
	}
	one := validate.Report{Findings: []validate.Finding{w("a", "p", "m\nb\x00q\x00n")}}
	two := validate.Report{Findings: []validate.Finding{w("a", "p", "m"), w("b", "q", "n")}}
	moved := validate.Report{Findings: []validate.Finding{w("a", "p\x00m", "")}}
	split := validate.Report{Findings: []validate.Finding{w("a", "p", "\x00m")}}
	seen := map[string]string{}
	for name, r := range map[string]validate.Report{"one": one, "two": two, "moved": moved, "split": split} {
		fp := r.Fingerprint()
		if other, ok := seen[fp]; ok {
			t.Errorf("R4: reports %s and %s share the fingerprint %s", name, other, fp)
		}
		seen[fp] = name
	}
}

// R4: a rule.panic finding quotes at most 200 bytes of the panic value,
// cut on a character boundary and marked "...", as valid UTF-8: it quoted
// all of it, so a rule that panicked with the document it read put the
// whole document into every report.
func TestR4RulePanicQuotesABoundedValue(t *testing.T) {
	const tail = "), so its findings are discarded; fix or remove the rule"
	tests := []struct {
		name  string
		value any
		want  string // the quoted value
	}{
		{"short", "boom", "boom"},
		{"200 bytes", strings.Repeat("x", 200), strings.Repeat("x", 200)},
		{"201 bytes", strings.Repeat("x", 201), strings.Repeat("x", 200) + "..."},
		{"a megabyte", strings.Repeat("x", 1<<20), strings.Repeat("x", 200) + "..."},
		{"error value", fmt.Errorf("bad: %s", strings.Repeat("y", 500)), "bad: " + strings.Repeat("y", 195) + "..."},
		{"cut inside a character", strings.Repeat("x", 199) + "é", strings.Repeat("x", 199) + "..."},
		{"invalid UTF-8", "a\xffb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := clean()
			v := validate.New(validate.Rule{Code: "x.panics", Severity: validate.Warning, Check: func(*validate.Definition, *validate.Index, func(string, string)) {
				panic(tt.value)
			}})
			want := []validate.Finding{{Code: "rule.panic", Severity: validate.Error, Message: `rule "x.panics" crashed (` + tt.want + tail}}
			if diff := cmp.Diff(want, v.Validate(&d).Findings); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
