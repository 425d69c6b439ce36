package lifecycle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// strictJSON checks what encoding/json lets through by default (R13): the
// document must be valid UTF-8, hold no lone UTF-16 surrogate escapes
// (which encoding/json turns into U+FFFD), and no object may repeat a key
// (the last would win) or spell one in another letter case (encoding/json
// matches keys case-insensitively, folding U+017F to s and U+212A to k;
// every key of an export document is lower-case ASCII). It returns what is
// wrong, or "".
func strictJSON(data []byte) string {
	if !utf8.Valid(data) {
		return "is not valid UTF-8"
	}
	if p := loneSurrogate(data); p != "" {
		return p
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	type frame struct {
		keys    map[string]bool // nil in an array
		wantKey bool
	}
	var stack []frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].keys != nil {
			stack[n-1].wantKey = true
		}
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return "" // the end, or a syntax error the decoder proper reports
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, frame{keys: map[string]bool{}, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
			continue
		case string:
			if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].wantKey {
				if p := badKey(stack[n-1].keys, t); p != "" {
					return p
				}
				stack[n-1].keys[t], stack[n-1].wantKey = true, false
				continue
			}
		}
		valueDone()
	}
}

// badKey says what is wrong with key k of an object whose keys so far are
// seen, or "".
func badKey(seen map[string]bool, k string) string {
	if seen[k] {
		return fmt.Sprintf("repeats the key %q; give each key once", shown(k))
	}
	// encoding/json matches keys by Unicode case folding, so U+017F (long
	// s) and U+212A (Kelvin sign) match s and k: a key must be ASCII too.
	if k != strings.ToLower(k) || strings.IndexFunc(k, func(r rune) bool { return r >= utf8.RuneSelf }) >= 0 {
		return fmt.Sprintf("has the key %q; keys are lower-case ASCII, as Export writes them", shown(k))
	}
	return ""
}

// loneSurrogate finds a \uXXXX escape of a UTF-16 surrogate that is not
// half of a pair.
func loneSurrogate(data []byte) string {
	inString := false
	for i := 0; i < len(data); i++ {
		switch c := data[i]; {
		case c == '"':
			inString = !inString
		case c == '\\' && inString && i+1 < len(data):
			i++
			if data[i] != 'u' {
				continue
			}
			r, ok := hex4(data, i+1)
			if !ok || !utf16Surrogate(r) {
				continue
			}
			i += 4
			if r >= 0xDC00 { // a low surrogate with no high one before it
				return "has a lone UTF-16 surrogate escape; send valid Unicode text"
			}
			if i+6 >= len(data) || data[i+1] != '\\' || data[i+2] != 'u' {
				return "has a lone UTF-16 surrogate escape; send valid Unicode text"
			}
			if lo, ok := hex4(data, i+3); !ok || lo < 0xDC00 || lo > 0xDFFF {
				return "has a lone UTF-16 surrogate escape; send valid Unicode text"
			}
			i += 6
		}
	}
	return ""
}

func hex4(data []byte, at int) (rune, bool) {
	if at+4 > len(data) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(data[at:at+4]), 16, 16)
	return rune(n), err == nil
}

func utf16Surrogate(r rune) bool { return r >= 0xD800 && r <= 0xDFFF }
