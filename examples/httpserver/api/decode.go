package api

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// DefaultMaxBody bounds every request body unless Config.MaxBody says
// otherwise; /route takes at most routeMaxBody.
const (
	DefaultMaxBody = 1 << 20
	routeMaxBody   = 4 << 10
)

// bodyRule says whether a route accepts an empty body (read as {}).
type bodyRule bool

const (
	bodyRequired   bodyRule = false
	bodyMayBeEmpty bodyRule = true
)

// readBody reads the whole request body, at most limit bytes: a longer one
// is refused as too large (413) without reading further. A non-empty body
// must be declared JSON (415 otherwise).
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, fail(probTooLarge, fmt.Sprintf("the request body is larger than %d bytes; send at most %d bytes", limit, limit))
		}
		return nil, fail(probBadBody, "the request body could not be read to its end; send the request again")
	}
	if int64(len(data)) > limit {
		return nil, fail(probTooLarge, fmt.Sprintf("the request body is larger than %d bytes; send at most %d bytes", limit, limit))
	}
	if len(data) > 0 {
		if err := jsonContentType(r.Header.Get("Content-Type")); err != nil {
			return nil, err
		}
	}
	return data, nil
}

func jsonContentType(ct string) error {
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	return fail(probMediaType, "send the body as JSON with Content-Type: application/json")
}

// decodeJSON is the one decoder for request bodies. It reads data into v
// strictly: valid UTF-8 without escaped lone surrogates (R21: encoding/json
// would read "\ud800" and "\udfff" both as U+FFFD, so two end users would
// be one), exactly one JSON value, no data after it, no
// unknown fields, field names in their exact letter case, no key twice in an
// object. An empty body is {} where the route allows it (rule), and an error
// otherwise. Every refusal is a malformed-body problem (400).
func decodeJSON(data []byte, v any, rule bodyRule) error {
	if len(bytes.TrimSpace(data)) == 0 {
		if rule == bodyMayBeEmpty {
			return nil
		}
		return fail(probBadBody, "the request needs a JSON body")
	}
	if !utf8.Valid(data) {
		return fail(probBadBody, "the body is not valid UTF-8; send UTF-8 text (R21)")
	}
	if loneSurrogate(data) {
		return fail(probBadBody, `the body has an escaped lone UTF-16 surrogate (such as \ud800), which is not text; send valid Unicode, a surrogate escape only as half of a pair (R21)`)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fail(probBadBody, "the body is not valid JSON for this request: "+jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fail(probBadBody, "the body has data after its JSON value; send one value")
	}
	if err := checkKeys(data, reflect.TypeOf(v)); err != nil {
		return fail(probBadBody, err.Error())
	}
	return nil
}

// loneSurrogate reports whether a string of the JSON text data holds a
// \uXXXX escape of a UTF-16 surrogate that is not half of a pair: a high
// one (D800-DBFF) not followed at once by an escaped low one (DC00-DFFF),
// or a low one on its own.
func loneSurrogate(data []byte) bool {
	inString := false
	for i := 0; i < len(data); i++ {
		switch {
		case data[i] == '"':
			inString = !inString
		case data[i] == '\\' && inString:
			i++ // the escaped character: '"', '\\', 'u', ...
			r, ok := escapedRune(data, i)
			switch {
			case !ok || !utf16.IsSurrogate(r):
				continue
			case r >= 0xDC00: // a low surrogate with no high one before it
				return true
			}
			lo, ok := escapedRune(data, i+6)
			if i+5 >= len(data) || data[i+5] != '\\' || !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 10 // past the pair's last hex digit
		}
	}
	return false
}

// escapedRune reads the 4 hex digits after the 'u' at data[at], if any.
func escapedRune(data []byte, at int) (rune, bool) {
	if at < 0 || at+5 > len(data) || data[at] != 'u' {
		return 0, false
	}
	n, err := strconv.ParseUint(string(data[at+1:at+5]), 16, 32)
	return rune(n), err == nil
}

// jsonProblem describes a decoding error without quoting the input at
// length.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %s must be %s, not %s", te.Field, jsonKind(te.Type), te.Value)
		}
		return fmt.Sprintf("expected %s, not %s", jsonKind(te.Type), te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "it ends too early"
	}
	msg := strings.TrimPrefix(err.Error(), "json: ")
	q, ok := strings.CutPrefix(msg, "unknown field ")
	if name, err := strconv.Unquote(q); ok && err == nil {
		// The field's name, quoted by encoding/json: quoted again only
		// if it is text (R21).
		return fmt.Sprintf("unknown field %q; field names are case-sensitive: see /openapi.yaml for the fields this request takes", shown(name, 40))
	}
	if msg = shown(msg, 200); msg == "" {
		return "see /openapi.yaml for what this request takes"
	}
	return msg
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	}
	return "a number"
}

var (
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// checkKeys walks data (already decoded once into a value of type t) and
// refuses a key that appears twice in one object, or whose letter case
// differs from the field's name: encoding/json would silently take the
// last one or match "NaMe" to "name".
func checkKeys(data []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var walk func(t reflect.Type, path string) error
	walk = func(t reflect.Type, path string) error {
		for t != nil && t.Kind() == reflect.Pointer {
			if t.Implements(jsonUnmarshaler) || t.Implements(textUnmarshaler) {
				t = nil
				break
			}
			t = t.Elem()
		}
		if t != nil && (reflect.PointerTo(t).Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler)) {
			t = nil // decoded by its own method: only check duplicates below
		}
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch tok {
		case json.Delim('{'):
			seen := map[string]bool{}
			var fields map[string]reflect.Type
			if t != nil && t.Kind() == reflect.Struct {
				fields = jsonFields(t)
			}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key := kt.(string)
				if seen[key] {
					return fmt.Errorf("the body has the key %q twice in %s; send each key once", trunc(key), where(path))
				}
				seen[key] = true
				var next reflect.Type
				switch {
				case fields != nil:
					ft, ok := fields[key]
					if !ok {
						return fmt.Errorf("unknown field %q in %s; field names are case-sensitive", trunc(key), where(path))
					}
					next = ft
				case t != nil && t.Kind() == reflect.Map:
					next = t.Elem()
				}
				if err := walk(next, path+"."+key); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		case json.Delim('['):
			var elem reflect.Type
			if t != nil && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) {
				elem = t.Elem()
			}
			for dec.More() {
				if err := walk(elem, path+"[]"); err != nil {
					return err
				}
			}
			_, err = dec.Token()
			return err
		}
		return nil
	}
	return walk(t, "")
}

func where(path string) string {
	if path == "" {
		return "the body"
	}
	return strings.TrimPrefix(path, ".")
}

// shown is s as a problem may quote it back: notText when s is not text
// (R21: invalid UTF-8 or a control character is never echoed), else s cut
// to at most n bytes at a character boundary, "..." marking the cut.
func shown(s string, n int) string {
	if !pathIsText(s) {
		return notText
	}
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}

// notText stands in a problem for a value that is not text: quoting it
// as "" would say the value was empty.
const notText = "(not text: a control character or invalid UTF-8)"

// trunc is s as a problem quotes it back: at most 40 bytes of it, and
// nothing of what is not text (see shown).
func trunc(s string) string { return shown(s, 40) }

// jsonFields maps a struct's JSON field names to their types, following
// embedded structs.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range jsonFields(ft) {
					out[k] = v
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = f.Type
	}
	return out
}
