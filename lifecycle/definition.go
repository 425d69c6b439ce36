package lifecycle

import (
	"fmt"
	"slices"
	"strings"

	"github.com/botlife/botlife/validate"
)

// Definition is a bot's definition: the hosting service's own document
// (R25) - dialogs, flows, intents, integrations, in whatever format the
// service writes them. The lifecycle never looks inside it: it stores,
// copies (Duplicate), exports and imports Format and Text byte for byte,
// and hands them to the [Policy]'s [validate.Checker] when the bot is
// activated or validated (R4).
//
// Text is text, not bytes: it round-trips exactly through Go, JSON, every
// store and an export document, and any text format fits (JSON, YAML, a
// DSL). It must be valid UTF-8 without NUL (R21) and at most
// Policy.MaxDefinition bytes; a service with a binary format encodes it,
// e.g. as base64. [ReferenceDefinition] makes one of the reference chatbot
// definition.
type Definition struct {
	// Format names the document's format, one the policy's checker reads
	// (validate.ReferenceFormat for the reference chatbot definition). An
	// empty Format on create or update means the checker's first format.
	Format string `json:"format"`
	// Text is the document.
	Text string `json:"text"`
}

// ReferenceDefinition returns d, a reference chatbot definition, as a
// Definition in validate.ReferenceFormat, the format of the default
// checker. It fails when a string of d is not UTF-8 text without NUL
// (R21).
func ReferenceDefinition(d validate.Definition) (Definition, error) {
	text, err := validate.Encode(d)
	if err != nil {
		return Definition{}, &InputError{Field: "definition", Value: validate.ReferenceFormat, Problem: err.Error()}
	}
	return Definition{Format: validate.ReferenceFormat, Text: text}, nil
}

// checkDefinition checks a definition that enters the library: its format
// is one the checker reads (an empty one takes the checker's first), its
// text is UTF-8 without NUL (R21) and within MaxDefinition bytes.
func checkDefinition(def Definition, p Policy) (Definition, error) {
	formats, err := checkerFormats(p.Checker)
	if err != nil {
		return def, err
	}
	if def.Format == "" && len(formats) > 0 {
		def.Format = formats[0]
	}
	if err := checkFormat(def.Format, formats); err != nil {
		return def, err
	}
	if err := checkText("definition", def.Text); err != nil {
		return def, err
	}
	if len(def.Text) > p.MaxDefinition {
		return def, &InputError{Field: "definition", Value: shown(def.Text), Problem: fmt.Sprintf("is %d bytes; the limit is %d (Policy.MaxDefinition)", len(def.Text), p.MaxDefinition)}
	}
	return def, nil
}

// checkFormat refuses a format the checker does not read, naming those it
// reads.
func checkFormat(format string, formats []string) error {
	if err := checkID("definition format", format); err != nil {
		return err
	}
	if !slices.Contains(formats, format) {
		reads := "no format"
		if len(formats) > 0 {
			reads = strings.Join(formats, ", ")
		}
		return &InputError{Field: "definition format", Value: shown(format), Problem: fmt.Sprintf("is not a format this service reads; its checker reads %s", reads)}
	}
	return nil
}

// checkerFormats asks the checker which formats it reads; a checker that
// panics there is a refusal, not a crash.
func checkerFormats(c validate.Checker) (formats []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			formats, err = nil, &CheckerError{Panic: fmt.Sprint(r)}
		}
	}()
	return c.Formats(), nil
}

// check runs the policy's checker on b's definition (R4, R25), as
// activation and Manager.Validate see it: the format must be one the
// checker reads, and a checker that panics gives a report with one error,
// validate.CodeCheckerPanic. The report is sorted (validate.NewReport).
func check(p Policy, b *Bot) (validate.Report, error) {
	formats, err := checkerFormats(p.Checker)
	if err != nil {
		return validate.Report{}, err
	}
	if err := checkFormat(b.Definition.Format, formats); err != nil {
		return validate.Report{}, err
	}
	senders := make([]string, len(b.Senders))
	for i, s := range b.Senders {
		senders[i] = s.Address
	}
	doc := validate.Document{Format: b.Definition.Format, Text: b.Definition.Text, Channel: b.Channel, Senders: senders}
	return runChecker(p.Checker, doc), nil
}

func runChecker(c validate.Checker, doc validate.Document) (r validate.Report) {
	defer func() {
		if p := recover(); p != nil {
			r = validate.NewReport([]validate.Finding{{Code: validate.CodeCheckerPanic, Severity: validate.Error,
				Message: fmt.Sprintf("the checker of format %q crashed (%v); the bot was not activated - fix the checker (Policy.Checker)", shown(doc.Format), p)}})
		}
	}()
	return validate.NewReport(c.Check(doc).Findings)
}

// CheckerError reports a Checker that panicked when asked which formats it
// reads (R25). It wraps ErrInvalidInput: nothing changed.
type CheckerError struct {
	Panic string
}

// Error implements the error interface.
func (e *CheckerError) Error() string {
	return fmt.Sprintf("the definition checker crashed when asked for its formats (%s); fix Policy.Checker", e.Panic)
}

// Unwrap returns ErrInvalidInput.
func (e *CheckerError) Unwrap() error { return ErrInvalidInput }
