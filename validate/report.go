package validate

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
)

// Severity says whether a finding blocks activation.
type Severity uint8

// The severities. Errors block activation; warnings block it unless the
// request acknowledges them.
const (
	Warning Severity = iota + 1
	Error
)

// String returns "warning" or "error".
func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return fmt.Sprintf("Severity(%d)", uint8(s))
}

// MarshalText encodes the severity as its name.
func (s Severity) MarshalText() ([]byte, error) {
	if s != Warning && s != Error {
		return nil, fmt.Errorf("validate: invalid severity %d", uint8(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText decodes "warning" or "error".
func (s *Severity) UnmarshalText(b []byte) error {
	switch strings.ToLower(string(b)) {
	case "warning":
		*s = Warning
	case "error":
		*s = Error
	default:
		return fmt.Errorf("validate: %q is not a severity; use \"error\" or \"warning\"", b)
	}
	return nil
}

// Finding is one problem found in a definition.
type Finding struct {
	// Code is a stable dotted identifier of the rule ("dialog.unreachable").
	Code     string   `json:"code"`
	Severity Severity `json:"severity"`
	// Path points into the definition ("dialogs[3].elements[1].call.url");
	// empty for the definition as a whole.
	Path    string `json:"path"`
	Message string `json:"message"`
}

// String implements fmt.Stringer.
func (f Finding) String() string {
	if f.Path == "" {
		return fmt.Sprintf("%s %s: %s", f.Severity, f.Code, f.Message)
	}
	return fmt.Sprintf("%s %s at %s: %s", f.Severity, f.Code, f.Path, f.Message)
}

// Report is the outcome of a validation: its findings, errors first, then by
// path in document order (a definition's fields in the order its text lists
// them, channel first and attributes last; dialogs[2] before dialogs[10]),
// code and message, so the same definition always gives the same report.
type Report struct {
	Findings []Finding `json:"findings"`
}

func newReport(fs []Finding) Report {
	slices.SortStableFunc(fs, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), comparePaths(a.Path, b.Path),
			strings.Compare(a.Code, b.Code), strings.Compare(a.Message, b.Message))
	})
	return Report{Findings: fs}
}

// comparePaths orders paths as a definition's text lays them out: the
// fields of an object in the order [Encode] writes them (a Definition's
// channel and entry dialog before its dialogs, its attributes last; a
// dialog's id before its elements), the items of an array by index value
// (dialogs[2] before dialogs[10]). A name that is no field of the
// Definition there - a custom rule's, another format's - comes after the
// fields, and such names are ordered by compareRuns.
func comparePaths(a, b string) int {
	node := definitionPaths
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		x, xIndex, ni := pathToken(a, i)
		y, yIndex, nj := pathToken(b, j)
		var c int
		switch {
		case xIndex != yIndex: // a field before an index: "a.b" before "a[0]"
			c = 1
			if yIndex {
				c = -1
			}
		case xIndex:
			c = compareRuns(x, y)
			node = node.item()
		default:
			fx, okx := node.field(x)
			fy, oky := node.field(y)
			switch {
			case okx && oky:
				c = cmp.Compare(fx.pos, fy.pos)
			case okx:
				c = -1
			case oky:
				c = 1
			default:
				c = compareRuns(x, y)
			}
			node = fx.node
		}
		if c != 0 {
			return c
		}
		i, j = ni, nj
	}
	return cmp.Or(cmp.Compare(len(a)-i, len(b)-j), strings.Compare(a, b))
}

// pathToken returns the token of path p that starts at i: an index (the
// text between "[" and "]") or a name (up to the next "." or "["), and
// where the next token starts.
func pathToken(p string, i int) (text string, index bool, next int) {
	if p[i] == '[' {
		end := strings.IndexByte(p[i+1:], ']')
		if end < 0 {
			return p[i+1:], true, len(p)
		}
		text, next = p[i+1:i+1+end], i+1+end+1
		if next < len(p) && p[next] == '.' {
			next++
		}
		return text, true, next
	}
	j := i
	for j < len(p) && p[j] != '.' && p[j] != '[' {
		j++
	}
	next = j
	if next < len(p) && p[next] == '.' {
		next++
	}
	return p[i:j], false, next
}

// pathNode is an object or an array of a Definition's text, as
// comparePaths walks a path down it; nil is a value with no fields.
type pathNode struct {
	fields map[string]pathField // an object's fields by JSON name
	elem   *pathNode            // an array's items
}

type pathField struct {
	pos  int // the field's place in its object
	node *pathNode
}

func (n *pathNode) field(name string) (pathField, bool) {
	if n == nil {
		return pathField{}, false
	}
	f, ok := n.fields[name]
	return f, ok
}

func (n *pathNode) item() *pathNode {
	if n == nil {
		return nil
	}
	return n.elem
}

var definitionPaths = pathNodeOf(reflect.TypeFor[Definition]())

// pathNodeOf returns the node of type t: its JSON fields in declaration
// order, as encoding/json writes them.
func pathNodeOf(t reflect.Type) *pathNode {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		n := &pathNode{fields: map[string]pathField{}}
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			n.fields[name] = pathField{pos: len(n.fields), node: pathNodeOf(f.Type)}
		}
		return n
	case reflect.Slice, reflect.Array:
		return &pathNode{elem: pathNodeOf(t.Elem())}
	}
	return nil
}

// compareRuns orders two names or indexes: runs of digits by their value,
// the rest byte by byte; equal values written differently ("01", "1") by
// their text.
func compareRuns(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if isDigit(a[i]) && isDigit(b[j]) {
			ei, ej := digitsEnd(a, i), digitsEnd(b, j)
			x, y := strings.TrimLeft(a[i:ei], "0"), strings.TrimLeft(b[j:ej], "0")
			if c := cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(x, y)); c != 0 {
				return c
			}
			i, j = ei, ej
			continue
		}
		if a[i] != b[j] {
			return cmp.Compare(a[i], b[j])
		}
		i, j = i+1, j+1
	}
	return cmp.Or(cmp.Compare(len(a)-i, len(b)-j), strings.Compare(a, b))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digitsEnd returns the end of the run of digits in s that starts at i.
func digitsEnd(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// OK reports whether there are no findings at all.
func (r Report) OK() bool { return len(r.Findings) == 0 }

// Errors returns the findings of severity Error.
func (r Report) Errors() []Finding { return r.filter(Error) }

// Warnings returns the findings of severity Warning.
func (r Report) Warnings() []Finding { return r.filter(Warning) }

func (r Report) filter(s Severity) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == s {
			out = append(out, f)
		}
	}
	return out
}

// Fingerprint identifies the report's set of warnings: the same warnings (by
// code, path and message) give the same fingerprint, any other set a
// different one - also a set where another warning of the same code stands
// at the same path, as when an edit puts another unreachable dialog where
// the acknowledged one was (R4). A caller acknowledges exactly these
// warnings by passing it back. A report without warnings has the
// fingerprint "".
func (r Report) Fingerprint() string {
	ws := r.Warnings()
	if len(ws) == 0 {
		return ""
	}
	// Each field length-prefixed, so that no text in a code, path or
	// message can make two different sets read the same.
	keys := make([]string, len(ws))
	for i, w := range ws {
		keys[i] = fmt.Sprintf("%d:%s%d:%s%d:%s", len(w.Code), w.Code, len(w.Path), w.Path, len(w.Message), w.Message)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%d:%s", len(k), k)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// WarningCodes returns the distinct codes of the report's warnings, sorted.
func (r Report) WarningCodes() []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range r.Warnings() {
		if !seen[w.Code] {
			seen[w.Code] = true
			out = append(out, w.Code)
		}
	}
	sort.Strings(out)
	return out
}

// Err returns nil when the report has no errors, and otherwise a
// [*ValidationError] wrapping [ErrValidation].
func (r Report) Err() error {
	errs := r.Errors()
	if len(errs) == 0 {
		return nil
	}
	return &ValidationError{Findings: errs}
}

// ErrValidation is wrapped by every error that reports findings of severity
// Error.
var ErrValidation = errors.New("validation failed")

// ValidationError carries the error findings that block activation.
type ValidationError struct {
	Findings []Finding
}

// Error implements the error interface.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "validation failed with %d error(s); fix them and try again:", len(e.Findings))
	for i, f := range e.Findings {
		if i == 5 {
			fmt.Fprintf(&b, " (and %d more)", len(e.Findings)-5)
			break
		}
		b.WriteString(" ")
		if f.Path != "" {
			b.WriteString(f.Path + ": ")
		}
		fmt.Fprintf(&b, "%s (%s);", f.Message, f.Code)
	}
	return strings.TrimSuffix(b.String(), ";")
}

// Unwrap returns [ErrValidation].
func (e *ValidationError) Unwrap() error { return ErrValidation }
