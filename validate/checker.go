package validate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Checker turns a bot's definition document into the report activation
// decides on (R4, R25). The lifecycle never reads a definition: it stores,
// copies, exports and imports the document byte for byte and hands it to a
// Checker when a bot is activated or validated.
//
// Check runs inside the lifecycle's pure decider, so it must be a pure
// function of its input: no I/O, no clock, no randomness, no shared mutable
// state; the same input always gives the same report. It must be safe for
// concurrent use. It should never panic - a malformed document is an
// error finding - but a Checker that panics is recovered by the lifecycle
// and the activation is refused with the error finding [CodeCheckerPanic].
//
// [*Validator] is the reference implementation: it reads [ReferenceFormat].
type Checker interface {
	// Formats returns the names of the formats Check reads, the default
	// first. The lifecycle refuses a definition in any other format.
	Formats() []string
	// Check validates one document and returns its report. Build the
	// report with [NewReport].
	Check(doc Document) Report
}

// Document is what a [Checker] checks: the document and the facts about the
// bot that a format may check it against.
type Document struct {
	// Format is the document's format name, one of the Checker's Formats.
	Format string
	// Text is the document, byte for byte as the service gave it: valid
	// UTF-8 without NUL (R21), at most the lifecycle's size limit.
	Text string
	// Channel is the bot's channel ("sms", "whatsapp", ...), normalised.
	Channel string
	// Senders are the addresses of the bot's senders on Channel, sorted.
	Senders []string
}

// ReferenceFormat is the format name of the reference chatbot definition
// ([Definition]) as JSON: what [Encode] writes and [*Validator] reads.
const ReferenceFormat = "botlife.reference/v1"

// Finding codes about the document as a whole, reported by the reference
// format and by the lifecycle.
const (
	// CodeDefinitionInvalid: the document cannot be read in its format
	// (for the reference format: not one JSON object of a Definition).
	CodeDefinitionInvalid = "definition.invalid"
	// CodeCheckerPanic: the Checker crashed on the document; the lifecycle
	// refuses the activation.
	CodeCheckerPanic = "checker.panic"
)

// Encode returns the text of d in [ReferenceFormat]: compact JSON, with
// the field names of Definition's JSON tags. It fails when a string of d
// is not valid UTF-8 or holds a NUL (R21), which the text could not keep.
func Encode(d Definition) (string, error) {
	if bad, ok := badString(reflect.ValueOf(d)); ok {
		return "", fmt.Errorf("validate: the definition holds %q, which is not UTF-8 text without NUL; fix that text (R21)", shorten(bad))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return "", fmt.Errorf("validate: encoding the definition: %w", err)
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// Decode reads text in [ReferenceFormat] strictly: one JSON object of a
// [Definition], no unknown fields, every key in exactly the letter case of
// its field's JSON tag and given once in its object (R13), no data after
// it, and no string with a NUL or with an escaped half of a UTF-16
// surrogate pair ("\ud800" alone), which no UTF-8 text can hold (R21).
// Empty text is the zero Definition.
func Decode(text string) (Definition, error) {
	var d Definition
	if strings.TrimSpace(text) == "" {
		return d, nil
	}
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		// encoding/json names an unknown key but not the object it is in;
		// the key walk names both, and the keys that object takes.
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			if kerr := exactKeys(text); kerr != nil {
				return Definition{}, fmt.Errorf("the document is not a %s definition: %v", ReferenceFormat, kerr)
			}
		}
		return Definition{}, fmt.Errorf("the document is not a %s definition: %v; send one JSON object as validate.Definition encodes it", ReferenceFormat, err)
	}
	// What decodes into a struct is an object or null, which encoding/json
	// reads as nothing at all.
	if strings.HasPrefix(strings.TrimLeft(text, " \t\r\n"), "null") {
		return Definition{}, fmt.Errorf("the document is not a %s definition: it is JSON null, not an object; send one JSON object as validate.Definition encodes it", ReferenceFormat)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Definition{}, fmt.Errorf("the document has data after the definition; send one JSON object")
	}
	// A string of d is valid UTF-8 when the text is (encoding/json would
	// turn invalid bytes into U+FFFD), and can hold a NUL only through the
	// escape \u0000: the walk over every string runs only then.
	if !utf8.ValidString(text) {
		return Definition{}, fmt.Errorf("the document is not valid UTF-8 (R21); send UTF-8 text")
	}
	if esc, ok := loneSurrogate(text); ok {
		return Definition{}, fmt.Errorf("the document escapes %s, half of a UTF-16 surrogate pair without its other half, which is no character (R21) - encoding/json would read it as U+FFFD; write the character itself or its full pair", esc)
	}
	if err := exactKeys(text); err != nil {
		return Definition{}, fmt.Errorf("the document is not a %s definition: %v", ReferenceFormat, err)
	}
	if !strings.Contains(text, `\u0000`) {
		return d, nil
	}
	if bad, ok := badString(reflect.ValueOf(d)); ok {
		return Definition{}, fmt.Errorf("the document holds the string %q, which is not UTF-8 text without NUL (R21); fix that text", shorten(bad))
	}
	return d, nil
}

// Formats returns [ReferenceFormat]: a Validator reads the reference
// chatbot definition.
func (v *Validator) Formats() []string { return []string{ReferenceFormat} }

// Check decodes doc.Text as a [ReferenceFormat] definition and runs the
// validator's rules over it, against the bot's channel: a definition
// without a channel takes the bot's, one naming another channel is an
// error (definition.channel_mismatch), and either way the limits of the
// bot's channel apply, since that is where the definition runs. Text that
// does not decode is one error finding, [CodeDefinitionInvalid]. Check
// never panics.
func (v *Validator) Check(doc Document) Report {
	if doc.Format != "" && doc.Format != ReferenceFormat {
		return NewReport([]Finding{{Code: CodeDefinitionInvalid, Severity: Error,
			Message: fmt.Sprintf("format %q is not %s, the only format this validator reads", shorten(doc.Format), ReferenceFormat)}})
	}
	d, err := decoded.decode(doc.Text)
	if err != nil {
		return NewReport([]Finding{{Code: CodeDefinitionInvalid, Severity: Error, Message: err.Error()}})
	}
	bot := normalChannel(doc.Channel)
	d.Channel = normalChannel(d.Channel)
	if d.Channel == "" {
		d.Channel = bot
	}
	return v.run(&d, bot)
}

func normalChannel(c string) string { return strings.ToLower(strings.TrimSpace(c)) }

// NewReport returns the report of findings, sorted as every report is:
// errors first, then by path, code and message. A finding whose severity
// is neither Error nor Warning counts as an Error, so that a checker's
// mistake never lets a definition through.
func NewReport(findings []Finding) Report {
	fs := make([]Finding, len(findings))
	for i, f := range findings {
		if f.Severity != Error && f.Severity != Warning {
			f.Severity = Error
		}
		fs[i] = f
	}
	return newReport(fs)
}

// loneSurrogate returns the first escape \uXXXX of text, which is valid
// JSON, that is a UTF-16 surrogate outside a pair (\ud800 alone, or
// \udc00 first): not a character, so no UTF-8 text holds it.
func loneSurrogate(text string) (string, bool) {
	escape := func(i int) (r rune, ok bool) { // the \uXXXX at text[i:], if any
		if i+6 > len(text) || text[i] != '\\' || text[i+1] != 'u' {
			return 0, false
		}
		n, err := strconv.ParseUint(text[i+2:i+6], 16, 16)
		return rune(n), err == nil
	}
	for i := 0; ; {
		k := strings.IndexByte(text[i:], '\\')
		if k < 0 {
			return "", false
		}
		i += k // in valid JSON, a backslash starts an escape inside a string
		r, ok := escape(i)
		if !ok {
			i += 2 // \" \\ \/ \b \f \n \r \t
			continue
		}
		switch {
		case r >= 0xD800 && r < 0xDC00:
			if low, ok := escape(i + 6); ok && low >= 0xDC00 && low < 0xE000 {
				i += 12
				continue
			}
			return text[i : i+6], true
		case r >= 0xDC00 && r < 0xE000:
			return text[i : i+6], true
		}
		i += 6
	}
}

// badString finds a string reachable from v that is not UTF-8 text
// without NUL.
func badString(v reflect.Value) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		return s, !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0
	case reflect.Pointer:
		if !v.IsNil() {
			return badString(v.Elem())
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if s, bad := badString(v.Field(i)); bad {
				return s, true
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if s, bad := badString(v.Index(i)); bad {
				return s, true
			}
		}
	}
	return "", false
}

// shorten cuts s to at most 40 bytes for a message.
func shorten(s string) string { return cutAt(s, 40) }

// cutAt cuts s to at most n bytes, on a character boundary, and marks a
// cut with "...".
func cutAt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// decoded remembers the definitions Check decoded, by text: activation,
// its retries and Manager.Validate check the same few documents again and
// again, and decoding is most of a check's cost. Every caller gets a copy
// of its own, so a rule can never change what another check sees, and the
// cache keeps at most cacheEntries documents of cacheBytes in all.
var decoded = &decodeCache{}

const (
	cacheEntries = 256
	cacheBytes   = 8 << 20
)

type decodeCache struct {
	mu    sync.Mutex
	defs  map[string]Definition
	bytes int
}

// decode returns Decode(text), from the cache when it can.
func (c *decodeCache) decode(text string) (Definition, error) {
	c.mu.Lock()
	d, ok := c.defs[text]
	c.mu.Unlock()
	if ok {
		return d.Clone(), nil
	}
	d, err := Decode(text)
	if err != nil || len(text) > cacheBytes/8 {
		return d, err
	}
	kept := d.Clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.defs == nil || len(c.defs) >= cacheEntries || c.bytes+len(text) > cacheBytes {
		c.defs, c.bytes = make(map[string]Definition), 0 // start over: cheap, and bounded
	}
	if _, ok := c.defs[text]; !ok {
		c.defs[text] = kept
		c.bytes += len(text)
	}
	return d, nil
}
