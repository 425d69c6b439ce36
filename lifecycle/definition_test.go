package lifecycle_test

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

// twoFormats reads the reference format (through validate.Default()) and
// flowFormat, on which it panics when the text starts with "!", errs when
// it holds "error" and warns when it holds "warn".
type twoFormats struct{}

func (twoFormats) Formats() []string { return []string{validate.ReferenceFormat, flowFormat} }

func (twoFormats) Check(doc validate.Document) validate.Report {
	if doc.Format == validate.ReferenceFormat {
		return validate.Default().Check(doc)
	}
	if strings.HasPrefix(doc.Text, "!") {
		panic("the flow checker crashed")
	}
	return testChecker{}.Check(doc)
}

// R25: documents that are not the reference format come back from Create,
// Get, Duplicate and Export/Import byte for byte; the lifecycle never reads
// them.
func TestR25DefinitionIsKeptByteForByte(t *testing.T) {
	e := newEnvPolicy(t, lifecycle.Policy{Checker: twoFormats{}})
	texts := []struct{ name, text string }{
		{"JSON with odd spacing and key order", "  {\"z\":1 ,\n\t\"a\" : [ ],\"m\":{\"y\":null,\"b\":\"\\u00e9\"}}\r\n"},
		{"YAML", "start:\n  - say: \"Hi ☕\"\n  - goto: end\nend: {}\n"},
		{"non-ASCII", "Привет, 世界! 😀 \u2028 \\ud800"},
		{"empty", ""},
		{"near the limit", strings.Repeat("é", lifecycle.DefaultMaxDefinition/2-1) + "x"},
		{"R13/at the limit, six times longer escaped, still imports", strings.Repeat("\x01", lifecycle.DefaultMaxDefinition)},
	}
	for _, tt := range texts {
		t.Run("R25/"+tt.name, func(t *testing.T) {
			def := lifecycle.Definition{Format: flowFormat, Text: tt.text}
			b, err := e.m.Create(e.ctx, designer, lifecycle.Create{Name: "flow", Channel: "sms", Senders: []lifecycle.Sender{sms("100")}, Definition: def})
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.m.Get(e.ctx, designer, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			dup, err := e.m.Duplicate(e.ctx, designer, b.ID, "")
			if err != nil {
				t.Fatal(err)
			}
			doc, err := e.m.Export(e.ctx, designer, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			imp, err := e.m.Import(e.ctx, designer, doc)
			if err != nil {
				t.Fatal(err)
			}
			again, err := e.m.Export(e.ctx, designer, imp.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range []lifecycle.Definition{b.Definition, got.Definition, dup.Definition, imp.Definition} {
				if diff := cmp.Diff(def, d); diff != "" {
					t.Errorf("R25: definition changed (-want +got):\n%s", diff)
				}
			}
			if string(doc) != string(again) {
				t.Errorf("R13: export(import(export(b))) != export(b)")
			}
		})
	}
}

// R25: the service's checker decides activation (R4) and Manager.Validate;
// a checker that panics refuses the activation with ErrValidation and the
// Manager keeps working.
func TestR25ServiceChecker(t *testing.T) {
	e := newEnvPolicy(t, lifecycle.Policy{Checker: twoFormats{}})
	create := func(text string) lifecycle.Bot {
		t.Helper()
		b, err := e.m.Create(e.ctx, designer, lifecycle.Create{Name: "flow", Channel: "sms", Senders: []lifecycle.Sender{sms("100")},
			Definition: lifecycle.Definition{Format: flowFormat, Text: text}})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tests := []struct {
		name string
		text string
		want error // of Activate with Grace(1m); nil: it goes live
		code string
	}{
		{"R25/an error finding blocks", "start error", lifecycle.ErrValidation, "flow.error"},
		{"R25/a warning blocks unless acknowledged", "start warn", lifecycle.ErrWarningsNotAcknowledged, "flow.warn"},
		{"R25/a checker that panics refuses the activation", "!start", lifecycle.ErrValidation, validate.CodeCheckerPanic},
		{"R25/a clean flow goes live", "start", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := create(tt.text)
			r, err := e.m.Validate(e.ctx, supervisor, b.ID)
			if err != nil {
				t.Fatal(err)
			}
			_, err = e.m.Activate(e.ctx, manager, b.ID, lifecycle.Grace(time.Minute), lifecycle.Ack{})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Activate: %v, want %v", err, tt.want)
			}
			if tt.code != "" && (len(r.Findings) != 1 || r.Findings[0].Code != tt.code) {
				t.Errorf("R4: Validate = %v, want one finding %s", r.Findings, tt.code)
			}
		})
	}
	if _, err := e.m.List(e.ctx, designer, "", 10); err != nil {
		t.Errorf("the Manager after a checker panicked: %v", err)
	}
}

// R25: a Checker whose Formats panics refuses the operation as input; it
// never takes the Manager down.
func TestR25CheckerFormatsPanic(t *testing.T) {
	e := newEnvPolicy(t, lifecycle.Policy{Checker: panicFormats{}})
	_, err := e.m.Create(e.ctx, designer, lifecycle.Create{Name: "x", Channel: "sms"})
	var ce *lifecycle.CheckerError
	if !errors.Is(err, lifecycle.ErrInvalidInput) || !errors.As(err, &ce) {
		t.Fatalf("Create: %v, want a *CheckerError", err)
	}
}

type panicFormats struct{}

func (panicFormats) Formats() []string                       { panic("no formats") }
func (panicFormats) Check(validate.Document) validate.Report { return validate.Report{} }

// FuzzDefinition: arbitrary bytes as a definition, in the reference format
// or a service's (whose checker may panic), through the Manager: create,
// validate, activate, export and import never panic; text that is not
// UTF-8 without NUL is refused as input (R21); what is stored comes back
// byte for byte (R25).
func FuzzDefinition(f *testing.F) {
	f.Add([]byte(cleanDef().Text), false)
	f.Add([]byte(warnDef().Text), false)
	f.Add([]byte(`{"dialogs":[{"elements":[{"type":"webhook"}]}]}`), false)
	f.Add([]byte("start warn"), true)
	f.Add([]byte("!crash"), true)
	f.Add([]byte("\xff\x00"), false)
	f.Fuzz(func(t *testing.T, data []byte, flow bool) {
		e := newEnvPolicy(t, lifecycle.Policy{Checker: twoFormats{}})
		def := lifecycle.Definition{Format: validate.ReferenceFormat, Text: string(data)}
		if flow {
			def.Format = flowFormat
		}
		b, err := e.m.Create(e.ctx, designer, lifecycle.Create{Name: "f", Channel: "sms", Senders: []lifecycle.Sender{sms("100")}, Definition: def})
		text := !utf8.Valid(data) || strings.ContainsRune(def.Text, 0)
		if text {
			if !errors.Is(err, lifecycle.ErrInvalidInput) {
				t.Fatalf("R21: Create of %q: %v, want ErrInvalidInput", data, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Create: %v", err)
		}
		if b.Definition != def {
			t.Fatalf("R25: stored %q, want %q", b.Definition.Text, def.Text)
		}
		if _, err := e.m.Validate(e.ctx, supervisor, b.ID); err != nil {
			t.Fatalf("Validate: %v", err)
		}
		_, err = e.m.Activate(e.ctx, manager, b.ID, lifecycle.Decision{}, lifecycle.Ack{})
		if err != nil && !errors.Is(err, lifecycle.ErrValidation) && !errors.Is(err, lifecycle.ErrWarningsNotAcknowledged) {
			t.Fatalf("Activate: %v, want success or a validation refusal", err)
		}
		doc, err := e.m.Export(e.ctx, designer, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		imp, err := e.m.Import(e.ctx, designer, doc)
		if err != nil || imp.Definition != def {
			t.Fatalf("R13: import of the export: %v, definition %q", err, imp.Definition.Text)
		}
	})
}

// R25: a checker that reads no format refuses every definition, and says so.
func TestR25CheckerWithoutFormats(t *testing.T) {
	e := newEnvPolicy(t, lifecycle.Policy{Checker: noFormats{}})
	_, err := e.m.Create(e.ctx, designer, lifecycle.Create{Name: "x", Channel: "sms", Definition: lifecycle.Definition{Format: "acme.flow/v1"}})
	if !errors.Is(err, lifecycle.ErrInvalidInput) || !strings.Contains(err.Error(), "its checker reads no format") {
		t.Fatalf("Create with a checker that reads no format: %v", err)
	}
	if _, err := e.m.Create(e.ctx, designer, lifecycle.Create{Name: "x", Channel: "sms"}); !errors.Is(err, lifecycle.ErrInvalidInput) {
		t.Fatalf("Create without a format, with a checker that reads none: %v", err)
	}
}

type noFormats struct{}

func (noFormats) Formats() []string                       { return nil }
func (noFormats) Check(validate.Document) validate.Report { return validate.Report{} }

// R13, R25: under the default policy, a definition of the largest size,
// in characters JSON escapes sixfold, exports and imports again.
func TestR25LargestDefinitionRoundTripsUnderDefaults(t *testing.T) {
	e := newEnv(t)
	largestRoundTrip(t, e, lifecycle.DefaultMaxDefinition)
}

// R13, R25: a larger Policy.MaxDefinition raises the default import limit
// with it.
func TestR25ImportLimitFollowsMaxDefinition(t *testing.T) {
	e := newEnvPolicy(t, lifecycle.Policy{MaxDefinition: 2 << 20})
	largestRoundTrip(t, e, 2<<20)
}

func largestRoundTrip(t *testing.T, e *env, size int) {
	t.Helper()
	text := strings.Repeat("\x01", size)
	b, err := e.m.Create(e.ctx, designer, lifecycle.Create{Name: "big", Channel: "sms",
		Definition: lifecycle.Definition{Format: validate.ReferenceFormat, Text: text}})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := e.m.Export(e.ctx, designer, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	back, err := e.m.Import(e.ctx, designer, doc)
	if err != nil || back.Definition.Text != text {
		t.Fatalf("R25: a %d-byte export of the largest definition did not import again: %v", len(doc), err)
	}
}
