package validate_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

// R25: the reference checker reads its text strictly; what does not decode
// is one error finding, never a panic; a definition without a channel takes
// the bot's.
func TestReferenceChecker(t *testing.T) {
	okText, err := validate.Encode(clean())
	if err != nil {
		t.Fatal(err)
	}
	noChannel := clean()
	noChannel.Channel = ""
	noChannelText, _ := validate.Encode(noChannel)
	invalid := func(msg string) []validate.Finding {
		return []validate.Finding{{Code: validate.CodeDefinitionInvalid, Severity: validate.Error, Message: msg}}
	}
	tests := []struct {
		name string
		doc  validate.Document
		want []validate.Finding // nil: no findings; only the first finding is compared otherwise
	}{
		{"R25/the encoded clean definition has no findings", validate.Document{Format: validate.ReferenceFormat, Text: okText, Channel: "whatsapp"}, nil},
		{"R25/the bot's channel is normalised", validate.Document{Format: validate.ReferenceFormat, Text: okText, Channel: " WhatsApp "}, nil},
		{"R25/a definition without a channel takes the bot's", validate.Document{Text: noChannelText, Channel: "whatsapp"}, nil},
		{"R25/not JSON", validate.Document{Format: validate.ReferenceFormat, Text: "dialogs: []", Channel: "sms"},
			invalid("the document is not a botlife.reference/v1 definition: invalid character 'd' looking for beginning of value; send one JSON object as validate.Definition encodes it")},
		{"R25/an unknown field", validate.Document{Text: `{"entry":"a"}`, Channel: "sms"},
			invalid(`the document is not a botlife.reference/v1 definition: unknown field "entry" in the definition; use one of attributes, channel, dialogs, entry_dialog, fallback_dialog, intents, keywords`)},
		{"R25/null is not a definition", validate.Document{Text: " null ", Channel: "sms"},
			invalid("the document is not a botlife.reference/v1 definition: it is JSON null, not an object; send one JSON object as validate.Definition encodes it")},
		{"R25/data after the definition", validate.Document{Text: `{} {}`, Channel: "sms"},
			invalid("the document has data after the definition; send one JSON object")},
		{"R21/a NUL escaped in a string", validate.Document{Text: `{"entry_dialog":"a\u0000b"}`, Channel: "sms"},
			invalid(`the document holds the string "a\x00b", which is not UTF-8 text without NUL (R21); fix that text`)},
		{"R25/another format", validate.Document{Format: "acme.flow/v2", Text: "{}", Channel: "sms"},
			invalid(`format "acme.flow/v2" is not botlife.reference/v1, the only format this validator reads`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := validate.Default().Check(tt.doc)
			var got []validate.Finding
			if len(r.Findings) > 0 && tt.want != nil {
				got = r.Findings[:1]
			} else if tt.want == nil {
				got = r.Findings
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// R25: Encode and Decode are inverse; Encode refuses what text cannot keep
// (R21).
func TestEncodeDecode(t *testing.T) {
	d := clean()
	text, err := validate.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := validate.Decode(text)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(d, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if again, _ := validate.Encode(got); again != text {
		t.Errorf("Encode is not canonical:\n%s\n%s", text, again)
	}
	for _, bad := range []string{"a\x00b", "\xff"} {
		d := clean()
		d.Dialogs[0].Name = bad
		if _, err := validate.Encode(d); err == nil || !strings.Contains(err.Error(), "R21") {
			t.Errorf("R21/Encode of %q: got %v, want an error naming R21", bad, err)
		}
	}
	if z, err := validate.Decode(""); err != nil || !cmp.Equal(z, validate.Definition{}) {
		t.Errorf("Decode(\"\") = %v, %v; want the zero definition", z, err)
	}
}

// R4: NewReport sorts findings and counts an invalid severity as an error,
// so a checker's mistake never lets a definition through.
func TestNewReport(t *testing.T) {
	r := validate.NewReport([]validate.Finding{
		{Code: "b", Severity: validate.Warning, Path: "x"},
		{Code: "a", Severity: 0, Path: "y"},
	})
	want := []validate.Finding{{Code: "a", Severity: validate.Error, Path: "y"}, {Code: "b", Severity: validate.Warning, Path: "x"}}
	if diff := cmp.Diff(want, r.Findings); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// FuzzCheck: the reference checker never panics on any text, and its
// report is the same every time (a pure function, R25).
func FuzzCheck(f *testing.F) {
	text, _ := validate.Encode(clean())
	for _, s := range []string{text, "", "{}", "null", "[]", `{"dialogs":[{"elements":[{"call":{}}]}]}`, `{"channel":"SMS"}`} {
		f.Add(s, "sms")
	}
	f.Fuzz(func(t *testing.T, text, channel string) {
		doc := validate.Document{Format: validate.ReferenceFormat, Text: text, Channel: channel}
		a, b := validate.Default().Check(doc), validate.Default().Check(doc)
		if !cmp.Equal(a, b) {
			t.Fatalf("two checks of the same document differ:\n%v\n%v", a, b)
		}
	})
}

// R25: Check remembers what it decoded, but every check gets a definition
// of its own: a rule that changes it (breaking the Rule contract) does not
// change what the next check sees.
func TestCheckDecodesIntoACopy(t *testing.T) {
	vandal := validate.Default().With(validate.Rule{Code: "vandal", Severity: validate.Warning, Summary: "changes the definition",
		Check: func(d *validate.Definition, _ *validate.Index, report func(path, message string)) {
			report("entry_dialog", d.EntryDialog)
			d.EntryDialog = "changed"
			d.Dialogs[0].Name = "changed"
		}})
	text, _ := validate.Encode(clean())
	doc := validate.Document{Format: validate.ReferenceFormat, Text: text, Channel: "whatsapp"}
	first, second := vandal.Check(doc), vandal.Check(doc)
	if diff := cmp.Diff(first, second); diff != "" {
		t.Errorf("the second check saw the first one's changes (-first +second):\n%s", diff)
	}
	if r := validate.Default().Check(doc); !r.OK() {
		t.Errorf("the default checker saw the vandal's changes: %v", r.Findings)
	}
}

// R25: a Checker is safe for concurrent use: checks of the same and of
// different documents in parallel give the reports of checks one by one
// (run with -race).
func TestCheckConcurrent(t *testing.T) {
	var docs []validate.Document
	var want []validate.Report
	for i := range 8 {
		// Each document's report is its own: a warning naming its intent,
		// so a check handing one document's report to another fails.
		d := clean()
		d.Dialogs[0].Name = strings.Repeat("w", i+1)
		d.Intents[0].Name = fmt.Sprintf("intent-%d", i)
		d.Intents[0].Phrases = d.Intents[0].Phrases[:1]
		text, _ := validate.Encode(d)
		doc := validate.Document{Format: validate.ReferenceFormat, Text: text, Channel: d.Channel}
		docs = append(docs, doc)
		want = append(want, validate.Default().Check(doc))
		for k := range i {
			if cmp.Equal(want[k], want[i]) || len(want[i].Warnings()) == 0 {
				t.Fatalf("documents %d and %d have the same report, or no warning: %v", k, i, want[i].Findings)
			}
		}
	}
	done := make(chan error)
	for g := range 4 {
		go func() {
			var err error
			for i := range 200 {
				k := (i + g) % len(docs)
				if r := validate.Default().Check(docs[k]); !cmp.Equal(r, want[k]) {
					err = fmt.Errorf("document %d: %v, want %v", k, r, want[k])
				}
			}
			done <- err
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

// R13, R21: Decode claims exactly the keys of Definition's JSON tags:
// encoding/json alone matches keys in any letter case (`{"ID":"hi"}` would
// be a dialog's id) and lets a repeated key overwrite the first (`{"id":"hi",
// "ID":"zz"}` would store "zz"). Each is refused, naming the key and where
// it is; Check reports it as the one error finding CodeDefinitionInvalid.
func TestR13DecodeClaimsExactKeys(t *testing.T) {
	tests := []struct {
		name string
		text string
		err  string // a part of the error; "" for none
	}{
		{"R13/exact keys decode", `{"entry_dialog":"hi","dialogs":[{"id":"hi","name":"Hi","elements":[{"type":"webhook","call":{"method":"GET","url":"https://x"}}]}]}`, ""},
		{"R13/a dialog's key in another letter case", `{"dialogs":[{"ID":"hi"}]}`, `the key "ID" in dialogs[0] is not a field; keys are case-sensitive: write "id"`},
		{"R13/a key and its case variant", `{"dialogs":[{"id":"hi","ID":"zz"}]}`, `the key "ID" in dialogs[0] is not a field; keys are case-sensitive: write "id"`},
		{"R13/a top-level key in another letter case", `{"Entry_Dialog":"a"}`, `the key "Entry_Dialog" in the definition is not a field; keys are case-sensitive: write "entry_dialog"`},
		{"R13/a nested key in another letter case", `{"dialogs":[{"id":"a"},{"id":"b","elements":[{"type":"webhook","call":{"URL":"https://x"}}]}]}`,
			`the key "URL" in dialogs[1].elements[0].call is not a field; keys are case-sensitive: write "url"`},
		{"R13/a repeated key", `{"entry_dialog":"a","entry_dialog":"b"}`, `the key "entry_dialog" is given twice in the definition; give each key once`},
		{"R13/a repeated nested key", `{"attributes":[{"name":"a","type":"string","name":"b"}]}`, `the key "name" is given twice in attributes[0]; give each key once`},
		{"R13/an unknown field", `{"dialogs":[{"idd":"a"}]}`, `unknown field "idd" in dialogs[0]; use one of elements, id, name`},
		{"R13/an unknown top-level field", `{"dialogs":[],"entry":"a"}`,
			`unknown field "entry" in the definition; use one of attributes, channel, dialogs, entry_dialog, fallback_dialog, intents, keywords`},
		{"R13/an unknown nested field", `{"dialogs":[{"id":"a"},{"id":"b","elements":[{"type":"text"},{"tpye":"webhook","call":{"method":"GET"}}]}]}`,
			`unknown field "tpye" in dialogs[1].elements[1]; use one of attribute, branches, call, options, queue, target, text, type`},
		{"R13/an unknown field after a case variant", `{"dialogs":[{"ID":"a","idd":"b"}]}`, `the key "ID" in dialogs[0] is not a field; keys are case-sensitive: write "id"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := validate.Decode(tt.text)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Decode: error %v, want one containing %q", err, tt.err)
			}
			r := validate.Default().Check(validate.Document{Format: validate.ReferenceFormat, Text: tt.text, Channel: "sms"})
			want := []validate.Finding{{Code: validate.CodeDefinitionInvalid, Severity: validate.Error, Message: err.Error()}}
			if diff := cmp.Diff(want, r.Findings); diff != "" {
				t.Errorf("Check (-want +got):\n%s", diff)
			}
		})
	}
}

// R21: a JSON escape of half a UTF-16 surrogate pair (\ud800 alone, or
// \udc00 first) is no character; encoding/json reads it as U+FFFD, so the
// rules would check another string than the document holds. Decode refuses
// it, and reads full pairs and escaped backslashes as they are.
func TestR21DecodeRefusesLoneSurrogates(t *testing.T) {
	const refused = "the document escapes %s, half of a UTF-16 surrogate pair without its other half, which is no character (R21) - encoding/json would read it as U+FFFD; write the character itself or its full pair"
	tests := []struct {
		name  string
		entry string // the JSON string literal of entry_dialog
		want  string // the decoded entry dialog, or
		err   string // the error
	}{
		{"a pair", `"\ud83d\ude00"`, "😀", ""},
		{"a pair in upper case", `"a\uD83D\uDE00b"`, "a😀b", ""},
		{"an escaped backslash before u", `"\\ud800"`, `\ud800`, ""},
		{"other escapes", `"\"\\\/\b\f\n\r\t\u00e9"`, "\"\\/\b\f\n\r\té", ""},
		{"a high surrogate alone", `"x\ud800"`, "", fmt.Sprintf(refused, `\ud800`)},
		{"a high surrogate before a character", `"\uD800\u0041"`, "", fmt.Sprintf(refused, `\uD800`)},
		{"two high surrogates", `"\ud800\ud800\udc00"`, "", fmt.Sprintf(refused, `\ud800`)},
		{"a low surrogate alone", `"\udc00"`, "", fmt.Sprintf(refused, `\udc00`)},
		{"a low before a high", `"\ude00\ud83d"`, "", fmt.Sprintf(refused, `\ude00`)},
		{"after an escaped backslash", `"\\\ud800"`, "", fmt.Sprintf(refused, `\ud800`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := validate.Decode(`{"entry_dialog":` + tt.entry + `,"dialogs":[]}`)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if diff := cmp.Diff(tt.err, got); diff != "" {
				t.Fatalf("Decode error (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, d.EntryDialog); diff != "" {
				t.Errorf("entry dialog (-want +got):\n%s", diff)
			}
		})
	}
}
