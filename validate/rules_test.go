package validate_test

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/botlife/botlife/validate"
	"github.com/google/go-cmp/cmp"
)

// clean returns a small definition that the default rules find nothing in.
func clean() validate.Definition {
	return validate.Definition{
		Channel:        "whatsapp",
		EntryDialog:    "welcome",
		FallbackDialog: "fallback",
		Attributes:     []validate.Attribute{{Name: "city", Type: validate.String}},
		Dialogs: []validate.Dialog{
			{ID: "welcome", Name: "Welcome", Elements: []validate.Element{
				{Type: validate.Buttons, Text: "Hi! What do you need?", Options: []string{"Weather", "Agent"}},
				{Type: validate.Condition, Branches: []validate.Branch{{Attribute: "city", Equals: "", Dialog: "ask"}}},
				{Type: validate.GoTo, Target: "weather"},
			}},
			{ID: "ask", Name: "Ask city", Elements: []validate.Element{
				{Type: validate.Input, Text: "Which city?", Attribute: "city"},
				{Type: validate.GoTo, Target: "weather"},
			}},
			{ID: "weather", Name: "Weather", Elements: []validate.Element{
				{Type: validate.Webhook, Call: &validate.WebhookCall{Method: "GET", URL: "https://api.example.com/weather?q={{city}}", TimeoutMS: 2000}},
				{Type: validate.Text, Text: "Here is the weather in {{city}}."},
				{Type: validate.Close},
			}},
			{ID: "fallback", Name: "Fallback", Elements: []validate.Element{
				{Type: validate.Transfer, Queue: "support"},
			}},
		},
		Intents:  []validate.Intent{{Name: "weather", Dialog: "weather", Phrases: []string{"weather", "forecast", "is it raining", "temperature", "sunny?"}}},
		Keywords: []validate.Keyword{{Word: "AGENT", Dialog: "fallback"}},
	}
}

func TestCleanDefinitionHasNoFindings(t *testing.T) {
	d := clean()
	if r := validate.Default().Validate(&d); !r.OK() {
		t.Fatalf("clean definition has findings: %v", r.Findings)
	}
}

// R4: one case per default rule - a definition that triggers it, with the
// exact finding, and one that does not.
func TestDefaultRules(t *testing.T) {
	type mut func(d *validate.Definition)
	tests := []struct {
		code    string
		trigger mut
		want    []validate.Finding // only the findings of this code
	}{
		{"definition.no_dialogs", func(d *validate.Definition) { d.Dialogs = nil },
			[]validate.Finding{{"definition.no_dialogs", validate.Error, "dialogs", "the chatbot has no dialogs; add at least one"}}},
		{"entry.missing", func(d *validate.Definition) { d.EntryDialog = "" },
			[]validate.Finding{{"entry.missing", validate.Error, "entry_dialog", "no entry dialog is set; set entry_dialog to the id of the dialog a conversation starts in"}}},
		{"entry.unknown", func(d *validate.Definition) { d.EntryDialog = "nope" },
			[]validate.Finding{{"entry.unknown", validate.Error, "entry_dialog", `entry dialog "nope" does not exist; use the id of one of the dialogs`}}},
		{"fallback.unknown", func(d *validate.Definition) { d.FallbackDialog = "gone" },
			[]validate.Finding{{"fallback.unknown", validate.Error, "fallback_dialog", `fallback dialog "gone" does not exist; use the id of one of the dialogs`}}},
		{"dialog.no_id", func(d *validate.Definition) { d.Dialogs[3].ID = " " },
			[]validate.Finding{{"dialog.no_id", validate.Error, "dialogs[3].id", "the dialog has no id; give it a unique id"}}},
		{"dialog.duplicate_id", func(d *validate.Definition) { d.Dialogs[3].ID = "ask" },
			[]validate.Finding{{"dialog.duplicate_id", validate.Error, "dialogs[3].id", `dialog id "ask" is already used by dialogs[1]; ids must be unique`}}},
		{"dialog.duplicate_name", func(d *validate.Definition) { d.Dialogs[2].Name = "Welcome" },
			[]validate.Finding{{"dialog.duplicate_name", validate.Error, "dialogs[2].name", `dialog name "Welcome" is already used by dialogs[0]; names must be unique`}}},
		{"dialog.empty", func(d *validate.Definition) { d.Dialogs[3].Elements = nil },
			[]validate.Finding{{"dialog.empty", validate.Error, "dialogs[3].elements", `dialog "fallback" has no elements; add at least one or remove it`}}},
		{"element.unknown_type", func(d *validate.Definition) { d.Dialogs[3].Elements[0].Type = "carousel" },
			[]validate.Finding{{"element.unknown_type", validate.Error, "dialogs[3].elements[0].type", `unknown element type "carousel"; use text, buttons, input, condition, goto, webhook, transfer or close`}}},
		{"target.unknown", func(d *validate.Definition) {
			d.Dialogs[1].Elements[1].Target = "wether"
			d.Dialogs[0].Elements[1].Branches[0].Dialog = "asq"
		}, []validate.Finding{
			{"target.unknown", validate.Error, "dialogs[0].elements[1].branches[0].dialog", `branch points to dialog "asq", which does not exist; set its dialog to the id of one of the dialogs`},
			{"target.unknown", validate.Error, "dialogs[1].elements[1].target", `goto points to dialog "wether", which does not exist; set target to the id of one of the dialogs`},
		}},
		{"trigger.unknown_dialog", func(d *validate.Definition) {
			d.Keywords[0].Dialog = "x"
			d.Intents[0].Dialog = "y"
		}, []validate.Finding{
			{"trigger.unknown_dialog", validate.Error, "intents[0].dialog", `intent "weather" starts dialog "y", which does not exist; set its dialog to the id of one of the dialogs`},
			{"trigger.unknown_dialog", validate.Error, "keywords[0].dialog", `keyword "AGENT" starts dialog "x", which does not exist; set its dialog to the id of one of the dialogs`},
		}},
		{"keyword.empty", func(d *validate.Definition) {
			d.Keywords = append(d.Keywords, validate.Keyword{Word: "", Dialog: "weather"},
				validate.Keyword{Word: " \t", Dialog: "fallback"}, validate.Keyword{Word: " ok ", Dialog: "fallback"}, validate.Keyword{})
		}, []validate.Finding{
			{"keyword.empty", validate.Error, "keywords[1].word", `the keyword for dialog "weather" has no word; write the word an end user sends to start the dialog, or remove the keyword`},
			{"keyword.empty", validate.Error, "keywords[2].word", `the keyword for dialog "fallback" has no word; write the word an end user sends to start the dialog, or remove the keyword`},
			{"keyword.empty", validate.Error, "keywords[4].word", `the keyword has no word; write the word an end user sends to start the dialog, or remove the keyword`},
		}},
		{"keyword.ambiguous", func(d *validate.Definition) {
			d.Keywords = append(d.Keywords, validate.Keyword{Word: " agent ", Dialog: "weather"},
				validate.Keyword{Word: "Agent", Dialog: "fallback"}, validate.Keyword{Word: "agent", Dialog: "gone"})
		}, []validate.Finding{
			{"keyword.ambiguous", validate.Warning, "keywords[1]", `keyword " agent " starts dialog "weather", but keywords[0] ("AGENT") is the same word to a message and starts dialog "fallback", so which of the two starts is ambiguous; give the word one dialog, or this keyword another word`},
		}},
		{"condition.no_branches", func(d *validate.Definition) {
			d.Dialogs[0].Elements[1].Branches = []validate.Branch{}
			d.Dialogs[1].Elements = append(d.Dialogs[1].Elements, validate.Element{Type: validate.Condition})
		}, []validate.Finding{
			{"condition.no_branches", validate.Warning, "dialogs[0].elements[1].branches", "the condition has no branches, so it never sends the conversation anywhere; add a branch (attribute, equals and dialog) or remove the element"},
			{"condition.no_branches", validate.Warning, "dialogs[1].elements[2].branches", "the condition has no branches, so it never sends the conversation anywhere; add a branch (attribute, equals and dialog) or remove the element"},
		}},
		{"transfer.no_queue", func(d *validate.Definition) {
			d.Dialogs[3].Elements = append(d.Dialogs[3].Elements, validate.Element{Type: validate.Transfer, Queue: " \t"},
				validate.Element{Type: validate.Transfer}, validate.Element{Type: validate.Close})
		}, []validate.Finding{
			{"transfer.no_queue", validate.Warning, "dialogs[3].elements[1].queue", "the transfer names no agent queue, so no agent may take up the conversation; set queue to the queue of the agents who answer it"},
			{"transfer.no_queue", validate.Warning, "dialogs[3].elements[2].queue", "the transfer names no agent queue, so no agent may take up the conversation; set queue to the queue of the agents who answer it"},
		}},
		{"intent.no_name", func(d *validate.Definition) {
			d.Intents = append(d.Intents, validate.Intent{Name: "", Dialog: "ask", Phrases: d.Intents[0].Phrases},
				validate.Intent{Name: " ", Phrases: d.Intents[0].Phrases}, validate.Intent{Name: " help ", Dialog: "fallback", Phrases: d.Intents[0].Phrases})
		}, []validate.Finding{
			{"intent.no_name", validate.Warning, "intents[1].name", `the intent for dialog "ask" has no name, so nothing tells which intent a message matched; give it a unique name`},
			{"intent.no_name", validate.Warning, "intents[2].name", "the intent has no name, so nothing tells which intent a message matched; give it a unique name"},
		}},
		{"intent.duplicate_name", func(d *validate.Definition) {
			d.Intents = append(d.Intents, validate.Intent{Name: "weather", Dialog: "ask", Phrases: d.Intents[0].Phrases},
				validate.Intent{Name: "Weather", Dialog: "ask", Phrases: d.Intents[0].Phrases},
				validate.Intent{Name: "", Dialog: "ask", Phrases: d.Intents[0].Phrases}, validate.Intent{Name: "", Dialog: "ask", Phrases: d.Intents[0].Phrases},
				validate.Intent{Name: "weather", Dialog: "weather", Phrases: d.Intents[0].Phrases})
		}, []validate.Finding{
			{"intent.duplicate_name", validate.Warning, "intents[1].name", `intent name "weather" is already used by intents[0], so which of the two a message matched is ambiguous; names must be unique, so rename this intent or merge its phrases into the other`},
			{"intent.duplicate_name", validate.Warning, "intents[5].name", `intent name "weather" is already used by intents[0], so which of the two a message matched is ambiguous; names must be unique, so rename this intent or merge its phrases into the other`},
		}},
		{"placeholder.invalid", func(d *validate.Definition) {
			d.Dialogs[2].Elements[1].Text = "Here is the weather in {{city}}, {{first name}}. {{first name}}, {{ city }}!"
			d.Dialogs[2].Elements[0].Call.URL = "https://api.example.com/weather?q={{city}}&u={{}}"
			d.Dialogs[3].Elements[0].Text = "{{ignored}}" // a transfer sends no text
		}, []validate.Finding{
			{"placeholder.invalid", validate.Warning, "dialogs[2].elements[0].call.url", `"{{}}" is no placeholder, so the webhook is called with it as written; write {{name}} with the name of an attribute, in letters, digits, _, . and - only (such as {{first_name}})`},
			{"placeholder.invalid", validate.Warning, "dialogs[2].elements[1].text", `"{{first name}}" is no placeholder, so end users get it as written; write {{name}} with the name of an attribute, in letters, digits, _, . and - only (such as {{first_name}})`},
		}},
		{"attribute.undeclared", func(d *validate.Definition) { d.Dialogs[2].Elements[1].Text = "Bye {{name}}" },
			[]validate.Finding{{"attribute.undeclared", validate.Error, "dialogs[2].elements[1].text", `attribute "name" is used but not declared; add it to attributes`}}},
		{"attribute.unknown_type", func(d *validate.Definition) {
			d.Attributes[0].Type = "text"
			d.Attributes = append(d.Attributes, validate.Attribute{Name: "port"}, validate.Attribute{Name: "zip", Type: "String"})
			d.Dialogs[2].Elements[0].Call.URL = "https://api.example.com/weather?q={{city}}&p={{port}}&z={{zip}}"
		}, []validate.Finding{
			{"attribute.unknown_type", validate.Error, "attributes[0].type", `attribute "city" has unknown type "text"; use string, number, boolean, phone, email or date`},
			{"attribute.unknown_type", validate.Error, "attributes[1].type", `attribute "port" has no type; set type to string, number, boolean, phone, email or date`},
			{"attribute.unknown_type", validate.Error, "attributes[2].type", `attribute "zip" has unknown type "String"; use string, number, boolean, phone, email or date`},
		}},
		{"attribute.duplicate_name", func(d *validate.Definition) {
			d.Attributes = append(d.Attributes, validate.Attribute{Name: "city", Type: validate.Number},
				validate.Attribute{Name: "City", Type: validate.String}, validate.Attribute{Name: "city", Type: validate.String})
			d.Dialogs[2].Elements[1].Text = "Here is the weather in {{City}}."
		}, []validate.Finding{
			{"attribute.duplicate_name", validate.Error, "attributes[1].name", `attribute "city" is already declared by attributes[0]; names must be unique, so remove this one or rename it`},
			{"attribute.duplicate_name", validate.Error, "attributes[3].name", `attribute "city" is already declared by attributes[0]; names must be unique, so remove this one or rename it`},
		}},
		{"input.no_attribute", func(d *validate.Definition) {
			d.Dialogs[1].Elements[0].Attribute = ""
		}, []validate.Finding{{"input.no_attribute", validate.Error, "dialogs[1].elements[0].attribute", "the user input saves its answer nowhere; set attribute"}}},
		{"text.empty", func(d *validate.Definition) { d.Dialogs[2].Elements[1].Text = "  " },
			[]validate.Finding{{"text.empty", validate.Error, "dialogs[2].elements[1].text", "the text element has no text; write the message"}}},
		{"buttons.no_options", func(d *validate.Definition) { d.Dialogs[0].Elements[0].Options = nil },
			[]validate.Finding{{"buttons.no_options", validate.Error, "dialogs[0].elements[0].options", "the buttons element has no options; add at least one"}}},
		{"buttons.too_many", func(d *validate.Definition) { d.Dialogs[0].Elements[0].Options = []string{"a", "b", "c", "d"} },
			[]validate.Finding{{"buttons.too_many", validate.Error, "dialogs[0].elements[0].options", `4 options, but channel "whatsapp" shows at most 3; remove some or use a text menu`}}},
		{"webhook.invalid_url", func(d *validate.Definition) { d.Dialogs[2].Elements[0].Call.URL = "/weather" },
			[]validate.Finding{{"webhook.invalid_url", validate.Error, "dialogs[2].elements[0].call.url", `webhook URL "/weather" is not an absolute http or https URL; write the whole address, such as https://api.example.com/orders`}}},
		{"webhook.invalid_method", func(d *validate.Definition) { d.Dialogs[2].Elements[0].Call.Method = "get" },
			[]validate.Finding{{"webhook.invalid_method", validate.Error, "dialogs[2].elements[0].call.method", `webhook method "get" is not GET, POST, PUT, PATCH or DELETE; use one of these, in capitals`}}},
		{"webhook.invalid_timeout", func(d *validate.Definition) { d.Dialogs[2].Elements[0].Call.TimeoutMS = -1 },
			[]validate.Finding{{"webhook.invalid_timeout", validate.Error, "dialogs[2].elements[0].call.timeout_ms", "timeout -1 ms is negative, so the call fails before it starts; set timeout_ms to at most 10000 ms, or leave it out"}}},
		{"dialog.unreachable", func(d *validate.Definition) {
			d.Dialogs = append(d.Dialogs, validate.Dialog{ID: "old", Name: "Old", Elements: []validate.Element{{Type: validate.Close}}})
		}, []validate.Finding{{"dialog.unreachable", validate.Warning, "dialogs[4]", `dialog "old" cannot be reached from the entry dialog, the fallback, an intent or a keyword`}}},
		{"attribute.unused", func(d *validate.Definition) {
			d.Attributes = append(d.Attributes, validate.Attribute{Name: "email", Type: validate.Email})
		}, []validate.Finding{{"attribute.unused", validate.Warning, "attributes[1]", `attribute "email" is declared but never used; use it or remove it`}}},
		{"webhook.insecure", func(d *validate.Definition) { d.Dialogs[2].Elements[0].Call.URL = "http://api.example.com/w" },
			[]validate.Finding{{"webhook.insecure", validate.Warning, "dialogs[2].elements[0].call.url", "the webhook uses plain http; end-user data travels unencrypted, use https"}}},
		{"webhook.slow", func(d *validate.Definition) { d.Dialogs[2].Elements[0].Call.TimeoutMS = 30000 },
			[]validate.Finding{{"webhook.slow", validate.Warning, "dialogs[2].elements[0].call.timeout_ms", "timeout 30000 ms keeps the end user waiting; use at most 10000 ms"}}},
		{"intent.few_phrases", func(d *validate.Definition) { d.Intents[0].Phrases = d.Intents[0].Phrases[:2] },
			[]validate.Finding{{"intent.few_phrases", validate.Warning, "intents[0].phrases", `intent "weather" has 2 training phrases; add at least 5 for reliable matching`}}},
		{"text.too_long", func(d *validate.Definition) {
			d.Dialogs[0].Elements[0] = validate.Element{Type: validate.Text, Text: strings.Repeat("a", 4097)}
			d.Dialogs[2].Elements[1].Text = "Привет " + strings.Repeat("b", 4089) // 4096 characters: fits
			d.Dialogs[1].Elements[0].Text = "Привет " + strings.Repeat("b", 4090) // 4097: does not
		}, []validate.Finding{
			{"text.too_long", validate.Warning, "dialogs[0].elements[0].text", `4097 characters; channel "whatsapp" sends at most 4096 in one message, so it will be split`},
			{"text.too_long", validate.Warning, "dialogs[1].elements[0].text", `4097 characters; channel "whatsapp" sends at most 4096 in one message, so it will be split`},
		}},
		{"definition.channel_mismatch", func(d *validate.Definition) { d.Channel = "viber" },
			[]validate.Finding{{"definition.channel_mismatch", validate.Error, "channel", `the definition is for channel "viber" but the bot runs on whatsapp; leave channel empty or set it to whatsapp`}}},
		{"fallback.missing", func(d *validate.Definition) {
			d.FallbackDialog = ""
			d.Keywords = append(d.Keywords, validate.Keyword{Word: "help", Dialog: "fallback"}) // keep it reachable
		}, []validate.Finding{{"fallback.missing", validate.Warning, "fallback_dialog", "no fallback dialog is set; messages the bot does not understand get no answer"}}},
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.code] = true
		t.Run("R4/"+tt.code, func(t *testing.T) {
			d := clean()
			if got := only(checkOnWhatsApp(t, d), tt.code); len(got) != 0 {
				t.Fatalf("clean definition triggers %s: %v", tt.code, got)
			}
			tt.trigger(&d)
			got := only(checkOnWhatsApp(t, d), tt.code)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings of %s (-want +got):\n%s", tt.code, diff)
			}
		})
	}
	for _, r := range validate.DefaultRules() {
		if !covered[r.Code] {
			t.Errorf("default rule %s has no test case", r.Code)
		}
	}
}

// checkOnWhatsApp checks d as the reference checker sees it on a bot on
// whatsapp (R25): encoded as text, decoded and checked against the bot.
func checkOnWhatsApp(t *testing.T, d validate.Definition) validate.Report {
	t.Helper()
	text, err := validate.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	return validate.Default().Check(validate.Document{Format: validate.ReferenceFormat, Text: text, Channel: "whatsapp", Senders: []string{"+100"}})
}

func only(r validate.Report, code string) []validate.Finding {
	var out []validate.Finding
	for _, f := range r.Findings {
		if f.Code == code {
			out = append(out, f)
		}
	}
	return out
}

func TestMessageLength(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		gsm7 bool
	}{
		{"", 0, true},
		{"hello", 5, true},
		{"€5 [x]", 9, true}, // € [ ] are extension characters: two septets each
		{"日本", 2, false},
		{"😀", 2, false}, // one rune, two UTF-16 units
	}
	for _, tt := range tests {
		n, gsm := validate.MessageLength(tt.in)
		if n != tt.n || gsm != tt.gsm7 {
			t.Errorf("MessageLength(%q) = %d, %v; want %d, %v", tt.in, n, gsm, tt.n, tt.gsm7)
		}
	}
}

// R4: each limit is inclusive - a definition exactly at a limit has no
// finding of that rule, one past it has one.
func TestRuleLimitsAreInclusive(t *testing.T) {
	tests := []struct {
		name  string
		code  string
		mut   func(d *validate.Definition)
		count int
	}{
		{"buttons at the channel's maximum", "buttons.too_many", func(d *validate.Definition) {
			d.Dialogs[0].Elements[0].Options = []string{"a", "b", "c"} // whatsapp shows 3
		}, 0},
		{"buttons one past the maximum", "buttons.too_many", func(d *validate.Definition) {
			d.Dialogs[0].Elements[0].Options = []string{"a", "b", "c", "d"}
		}, 1},
		{"no options on a channel without buttons is not too many", "buttons.too_many", func(d *validate.Definition) {
			d.Channel = "sms"
			d.Dialogs[0].Elements[0].Options = nil
		}, 0},
		{"webhook timeout at the maximum", "webhook.slow", func(d *validate.Definition) {
			d.Dialogs[2].Elements[0].Call.TimeoutMS = validate.MaxWebhookTimeoutMS
		}, 0},
		{"webhook timeout past the maximum", "webhook.slow", func(d *validate.Definition) {
			d.Dialogs[2].Elements[0].Call.TimeoutMS = validate.MaxWebhookTimeoutMS + 1
		}, 1},
		{"webhook timeout left out", "webhook.invalid_timeout", func(d *validate.Definition) {
			d.Dialogs[2].Elements[0].Call.TimeoutMS = 0
		}, 0},
		{"webhook timeout of 1 ms", "webhook.invalid_timeout", func(d *validate.Definition) {
			d.Dialogs[2].Elements[0].Call.TimeoutMS = 1
		}, 0},
		{"webhook timeout of -1 ms", "webhook.invalid_timeout", func(d *validate.Definition) {
			d.Dialogs[2].Elements[0].Call.TimeoutMS = -1
		}, 1},
		{"an input prompt over the channel's length", "text.too_long", func(d *validate.Definition) {
			d.Channel = "sms"
			d.Dialogs[0].Elements[0] = validate.Element{Type: validate.Text, Text: "Hi"}
			d.Dialogs[1].Elements[0].Text = strings.Repeat("x", 161)
			d.Dialogs[2].Elements[1].Text = "ok"
		}, 1},
	}
	for _, tt := range tests {
		t.Run("R4/"+tt.name, func(t *testing.T) {
			d := clean()
			tt.mut(&d)
			r := validate.Default().Validate(&d)
			if got := only(r, tt.code); len(got) != tt.count {
				t.Errorf("%d %s finding(s), want %d: %v", len(got), tt.code, tt.count, got)
			}
		})
	}
}

// R4: a channel's limits apply however its name is written: Check
// normalises the channel ("WhatsApp" is whatsapp), and Validate must find
// the same errors, or four buttons on " WhatsApp" would pass it.
func TestR4ChannelLimitsIgnoreLetterCaseAndSpaces(t *testing.T) {
	for _, ch := range []string{"whatsapp", "WhatsApp", " whatsapp ", "WHATSAPP"} {
		t.Run(ch, func(t *testing.T) {
			if got, want := validate.Limits(ch), validate.Limits("whatsapp"); got != want {
				t.Errorf("Limits(%q) = %+v, want %+v", ch, got, want)
			}
			d := clean()
			d.Channel = ch
			d.Dialogs[0].Elements[0].Options = []string{"a", "b", "c", "d"}
			if got := only(validate.Default().Validate(&d), "buttons.too_many"); len(got) != 1 {
				t.Errorf("Validate on channel %q: %d buttons.too_many finding(s), want 1: %v", ch, len(got), got)
			}
		})
	}
}

// R4: dialog.unreachable follows what a conversation can follow - a goto's
// target and a condition's branches. A target left on a text element, or
// branches on a goto, lead nowhere and must not hide an unreachable dialog.
func TestR4UnreachableFollowsOnlyGotosAndBranches(t *testing.T) {
	tests := []struct {
		name string
		el   validate.Element
	}{
		{"a text with a target", validate.Element{Type: validate.Text, Text: "Bye", Target: "orphan"}},
		{"a close with a target", validate.Element{Type: validate.Close, Target: "orphan"}},
		{"a goto with branches", validate.Element{Type: validate.GoTo, Target: "weather",
			Branches: []validate.Branch{{Attribute: "city", Equals: "x", Dialog: "orphan"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := clean()
			d.Dialogs[3].Elements = append([]validate.Element{tt.el}, d.Dialogs[3].Elements...)
			d.Dialogs = append(d.Dialogs, validate.Dialog{ID: "orphan", Name: "Orphan",
				Elements: []validate.Element{{Type: validate.Close}}})
			got := only(validate.Default().Validate(&d), "dialog.unreachable")
			if len(got) != 1 || got[0].Path != "dialogs[4]" {
				t.Errorf("dialog.unreachable findings %v, want one at dialogs[4]", got)
			}
		})
	}
}

// R4: text.too_long counts what the channel counts. Only SMS sends GSM-7,
// where € [ ] take two septets and an emoji two UCS-2 units; other
// channels count characters, so a WhatsApp text of 4096 of them fits.
func TestR4TextLengthCountsCharactersOffSMS(t *testing.T) {
	tests := []struct {
		channel, text string
		count         int
	}{
		{"whatsapp", strings.Repeat("€", 4096), 0},
		{"whatsapp", strings.Repeat("€", 4097), 1},
		{"whatsapp", strings.Repeat("[x]", 1365), 0}, // 4095 characters
		{"messenger", strings.Repeat("😀", 2000), 0},
		{"messenger", strings.Repeat("😀", 2001), 1},
		{"sms", strings.Repeat("€", 80), 0}, // 160 septets
		{"sms", strings.Repeat("€", 81), 1},
		{"sms", strings.Repeat("😀", 35), 0}, // 70 UCS-2 units
		{"sms", strings.Repeat("😀", 36), 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d bytes", tt.channel, len(tt.text)), func(t *testing.T) {
			d := clean()
			d.Channel = tt.channel
			d.Dialogs[2].Elements[1].Text = tt.text
			if got := only(validate.Default().Validate(&d), "text.too_long"); len(got) != tt.count {
				t.Errorf("%d text.too_long finding(s), want %d: %v", len(got), tt.count, got)
			}
		})
	}
}

// R4: attribute.undeclared and attribute.unused look at the fields an
// element's type uses, as dialog.unreachable does: an attribute left on a
// text element (say, one that was an input) is read by nothing, so it is no
// undeclared attribute blocking activation, nor does it make a declared
// attribute used.
func TestR4AttributesCountOnlyFieldsTheElementUses(t *testing.T) {
	tests := []struct {
		name string
		el   validate.Element // put first in the fallback dialog
		want []validate.Finding
	}{
		{"a text with an attribute", validate.Element{Type: validate.Text, Text: "Bye", Attribute: "old"}, nil},
		{"a close with a text", validate.Element{Type: validate.Close, Text: "Bye {{old}}"}, nil},
		{"a goto with a call", validate.Element{Type: validate.GoTo, Target: "weather",
			Call: &validate.WebhookCall{Method: "GET", URL: "https://x.example.com/{{old}}", SaveTo: "old"}}, nil},
		{"a text with branches", validate.Element{Type: validate.Text, Text: "Bye",
			Branches: []validate.Branch{{Attribute: "old", Equals: "x", Dialog: "weather"}}}, nil},
		{"an input saving to the attribute", validate.Element{Type: validate.Input, Text: "Code?", Attribute: "old"},
			[]validate.Finding{{"attribute.undeclared", validate.Error, "dialogs[3].elements[0].attribute", `attribute "old" is used but not declared; add it to attributes`}}},
		{"a condition on the attribute", validate.Element{Type: validate.Condition,
			Branches: []validate.Branch{{Attribute: "old", Equals: "x", Dialog: "weather"}}},
			[]validate.Finding{{"attribute.undeclared", validate.Error, "dialogs[3].elements[0].branches[0].attribute", `attribute "old" is used but not declared; add it to attributes`}}},
		{"a webhook saving to the attribute", validate.Element{Type: validate.Webhook,
			Call: &validate.WebhookCall{Method: "GET", URL: "https://x.example.com/", SaveTo: "old"}},
			[]validate.Finding{{"attribute.undeclared", validate.Error, "dialogs[3].elements[0].call.save_to", `attribute "old" is used but not declared; add it to attributes`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := clean()
			d.Dialogs[3].Elements = append([]validate.Element{tt.el}, d.Dialogs[3].Elements...)
			got := only(checkOnWhatsApp(t, d), "attribute.undeclared")
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("attribute.undeclared (-want +got):\n%s", diff)
			}
			// Declared, the attribute is used only where the type uses it.
			d.Attributes = append(d.Attributes, validate.Attribute{Name: "old", Type: validate.String})
			var wantUnused []validate.Finding
			if tt.want == nil {
				wantUnused = []validate.Finding{{"attribute.unused", validate.Warning, "attributes[1]", `attribute "old" is declared but never used; use it or remove it`}}
			}
			if diff := cmp.Diff(wantUnused, only(checkOnWhatsApp(t, d), "attribute.unused")); diff != "" {
				t.Errorf("attribute.unused (-want +got):\n%s", diff)
			}
		})
	}
}

// R4: webhook.invalid_url reads a {{placeholder}} as the value it stands
// for, wherever it stands: a port taken from an attribute is a valid URL,
// not an error that blocks activation.
func TestR4WebhookURLPlaceholders(t *testing.T) {
	tests := []struct {
		url  string
		want []validate.Finding
	}{
		{"https://api.example.com:{{port}}/w", nil},
		{"https://api.example.com:{{ port }}/w?q={{port}}", nil},
		{"https://{{port}}/w", nil},
		{"https://{{port}}.example.com/w", nil},
		{"https://{{port}}:{{port}}@api.example.com/w", nil},
		{"{{port}}/w", []validate.Finding{{"webhook.invalid_url", validate.Error, "dialogs[2].elements[0].call.url",
			`webhook URL "{{port}}/w" is not an absolute http or https URL; write the whole address, such as https://api.example.com/orders`}}},
		{"https://api.example.com:port/w", []validate.Finding{{"webhook.invalid_url", validate.Error, "dialogs[2].elements[0].call.url",
			`webhook URL "https://api.example.com:port/w" is not an absolute http or https URL; write the whole address, such as https://api.example.com/orders`}}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			d := clean()
			d.Attributes = append(d.Attributes, validate.Attribute{Name: "port", Type: validate.Number})
			d.Dialogs[2].Elements[0].Call.URL = tt.url
			if diff := cmp.Diff(tt.want, only(checkOnWhatsApp(t, d), "webhook.invalid_url")); diff != "" {
				t.Errorf("webhook.invalid_url (-want +got):\n%s", diff)
			}
		})
	}
}

// R4: an undeclared attribute is one finding per field it stands in, however
// often it is repeated there: "{{x}} ... {{x}}" is one problem to fix, not
// two errors in the report.
func TestR4UndeclaredAttributeOncePerField(t *testing.T) {
	finding := func(path, name string) validate.Finding {
		return validate.Finding{Code: "attribute.undeclared", Severity: validate.Error, Path: path,
			Message: fmt.Sprintf("attribute %q is used but not declared; add it to attributes", name)}
	}
	tests := []struct {
		name string
		mut  func(d *validate.Definition)
		want []validate.Finding
	}{
		{"twice in a text", func(d *validate.Definition) { d.Dialogs[2].Elements[1].Text = "{{x}} and {{ x }}" },
			[]validate.Finding{finding("dialogs[2].elements[1].text", "x")}},
		{"two names in a text", func(d *validate.Definition) { d.Dialogs[2].Elements[1].Text = "{{x}} {{y}} {{x}} {{y}}" },
			[]validate.Finding{finding("dialogs[2].elements[1].text", "x"), finding("dialogs[2].elements[1].text", "y")}},
		{"twice in a URL", func(d *validate.Definition) {
			d.Dialogs[2].Elements[0].Call.URL = "https://a.example.com/{{x}}?q={{x}}"
		},
			[]validate.Finding{finding("dialogs[2].elements[0].call.url", "x")}},
		{"in two fields and two elements", func(d *validate.Definition) {
			d.Dialogs[2].Elements[0].Call.URL = "https://a.example.com/{{x}}"
			d.Dialogs[2].Elements[0].Call.SaveTo = "x"
			d.Dialogs[2].Elements[1].Text = "{{x}}"
		}, []validate.Finding{finding("dialogs[2].elements[0].call.url", "x"), finding("dialogs[2].elements[0].call.save_to", "x"),
			finding("dialogs[2].elements[1].text", "x")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := clean()
			tt.mut(&d)
			if diff := cmp.Diff(tt.want, only(checkOnWhatsApp(t, d), "attribute.undeclared")); diff != "" {
				t.Errorf("attribute.undeclared (-want +got):\n%s", diff)
			}
		})
	}
}

// R4: an option without text is no option: WhatsApp and Messenger refuse a
// button without a title, so a buttons element with one would go live and
// fail when it is sent. Each is an error at its own path; options left on
// another element's type are not looked at.
func TestR4ButtonsOptionWithoutText(t *testing.T) {
	blank := func(path string, n int) validate.Finding {
		return validate.Finding{Code: "buttons.no_options", Severity: validate.Error, Path: path,
			Message: fmt.Sprintf("option %d of the buttons element has no text, so it shows as an empty button or the channel refuses the message; write its label or remove it", n)}
	}
	tests := []struct {
		name string
		el   validate.Element
		want []validate.Finding
	}{
		{"labelled options", validate.Element{Type: validate.Buttons, Text: "Pick", Options: []string{"Yes", " No "}}, nil},
		{"an empty option", validate.Element{Type: validate.Buttons, Text: "Pick", Options: []string{"Yes", ""}},
			[]validate.Finding{blank("dialogs[3].elements[0].options[1]", 2)}},
		{"blank options", validate.Element{Type: validate.Buttons, Text: "Pick", Options: []string{" ", "\t\n"}},
			[]validate.Finding{blank("dialogs[3].elements[0].options[0]", 1), blank("dialogs[3].elements[0].options[1]", 2)}},
		{"no options", validate.Element{Type: validate.Buttons, Text: "Pick"},
			[]validate.Finding{{"buttons.no_options", validate.Error, "dialogs[3].elements[0].options", "the buttons element has no options; add at least one"}}},
		{"a text with a blank option left on it", validate.Element{Type: validate.Text, Text: "Hi", Options: []string{""}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := clean()
			d.Dialogs[3].Elements = append([]validate.Element{tt.el}, d.Dialogs[3].Elements...)
			if diff := cmp.Diff(tt.want, only(checkOnWhatsApp(t, d), "buttons.no_options")); diff != "" {
				t.Errorf("buttons.no_options (-want +got):\n%s", diff)
			}
		})
	}
}

// R4: intent.few_phrases counts the phrases that teach the matcher
// something: "hi", "Hi" and " hi " are one phrase and "" none, so five of
// them are too few.
func TestR4IntentPhrasesCountDistinctOnes(t *testing.T) {
	tests := []struct {
		name    string
		phrases []string
		want    []validate.Finding
	}{
		{"five distinct", []string{"weather", "forecast", "rain", "sun", "temperature"}, nil},
		{"five, two of them repeated", []string{"weather", "Weather", "forecast", " forecast ", "rain"},
			[]validate.Finding{{"intent.few_phrases", validate.Warning, "intents[0].phrases",
				`intent "weather" has 3 distinct training phrases of 5 (blank and repeated ones do not count); add at least 5 for reliable matching`}}},
		{"six, two blank", []string{"weather", "", "forecast", "  ", "rain", "sun"},
			[]validate.Finding{{"intent.few_phrases", validate.Warning, "intents[0].phrases",
				`intent "weather" has 4 distinct training phrases of 6 (blank and repeated ones do not count); add at least 5 for reliable matching`}}},
		{"two distinct", []string{"weather", "forecast"},
			[]validate.Finding{{"intent.few_phrases", validate.Warning, "intents[0].phrases", `intent "weather" has 2 training phrases; add at least 5 for reliable matching`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := clean()
			d.Intents[0].Phrases = tt.phrases
			if diff := cmp.Diff(tt.want, only(checkOnWhatsApp(t, d), "intent.few_phrases")); diff != "" {
				t.Errorf("intent.few_phrases (-want +got):\n%s", diff)
			}
		})
	}
}

// R4: a definition is checked against the limits of the channel it runs on,
// the bot's. One that names another channel is an error, and the report
// (which carries every finding, R4) also has what that channel's limits
// find, instead of the other channel's: fixing the channel must not bring
// new errors to light.
func TestR4LimitsAreTheBotsChannels(t *testing.T) {
	sms := []validate.Finding{
		{"buttons.too_many", validate.Error, "dialogs[0].elements[0].options", `channel "sms" shows no buttons; send the options as text instead`},
		{"text.too_long", validate.Warning, "dialogs[1].elements[0].text", `71 characters; channel "sms" sends at most 70 in one message, so it will be split`},
		{"text.too_long", validate.Warning, "dialogs[2].elements[1].text", `161 characters; channel "sms" sends at most 160 in one message, so it will be split`},
	}
	tests := []struct {
		channel string // the definition's; the bot runs on sms
		want    []validate.Finding
	}{
		{"sms", sms},
		{"", sms},
		{" SMS", sms},
		{"whatsapp", append([]validate.Finding{{"definition.channel_mismatch", validate.Error, "channel",
			`the definition is for channel "whatsapp" but the bot runs on sms; leave channel empty or set it to sms`}}, sms...)},
	}
	for _, tt := range tests {
		t.Run(tt.channel, func(t *testing.T) {
			d := clean()
			d.Channel = tt.channel
			d.Dialogs[1].Elements[0].Text = "Привет " + strings.Repeat("b", 64) // 71 UCS-2 units
			d.Dialogs[2].Elements[1].Text = strings.Repeat("a", 161)
			text, err := validate.Encode(d)
			if err != nil {
				t.Fatal(err)
			}
			r := validate.Default().Check(validate.Document{Format: validate.ReferenceFormat, Text: text, Channel: "sms", Senders: []string{"+100"}})
			var got []validate.Finding
			for _, f := range r.Findings {
				switch f.Code {
				case "definition.channel_mismatch", "buttons.too_many", "text.too_long":
					got = append(got, f)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
		})
	}
}

// R4: a goto, branch, keyword or intent that names no dialog at all says
// which field to set, not that a dialog "" does not exist.
func TestR4EmptyDialogReferencesSayWhatToSet(t *testing.T) {
	d := clean()
	d.Dialogs[0].Elements[2].Target = ""
	d.Dialogs[0].Elements[1].Branches[0].Dialog = ""
	d.Keywords[0].Dialog = ""
	d.Intents[0].Dialog = ""
	r := validate.Default().Validate(&d)
	want := map[string]string{
		"dialogs[0].elements[2].target":             "goto points to no dialog; set target to the id of one of the dialogs",
		"dialogs[0].elements[1].branches[0].dialog": "branch points to no dialog; set its dialog to the id of one of the dialogs",
		"keywords[0].dialog":                        `keyword "AGENT" starts no dialog; set its dialog to the id of one of the dialogs`,
		"intents[0].dialog":                         `intent "weather" starts no dialog; set its dialog to the id of one of the dialogs`,
	}
	got := map[string]string{}
	for _, f := range r.Errors() {
		if _, ok := want[f.Path]; ok {
			got[f.Path] = f.Message
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("R4: messages of references to no dialog (-want +got):\n%s", diff)
	}
}

// The package documentation's table of default rules lists exactly the
// default rules, each with its severity, in their order.
func TestPackageDocListsTheDefaultRules(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range regexp.MustCompile(`(?m)^//\t([a-z_]+\.[a-z_]+) +(error|warning) `).FindAllStringSubmatch(string(src), -1) {
		got = append(got, m[1]+" "+m[2])
	}
	var want []string
	for _, r := range validate.DefaultRules() {
		want = append(want, r.Code+" "+r.Severity.String())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("doc.go's table of default rules (-want +got):\n%s", diff)
	}
}

// R4: Validate and Check give one report for one definition, however its
// channel is written: Validate named the channel as written ("SMS") in its
// messages where Check names it normalised ("sms"), so the fingerprint a
// designer got from Validate did not acknowledge the warnings activation
// found.
func TestR4ValidateNamesTheChannelAsCheckDoes(t *testing.T) {
	for _, ch := range []string{"sms", "SMS", " Sms "} {
		t.Run(ch, func(t *testing.T) {
			d := clean()
			d.Channel = ch
			d.Dialogs[0].Elements[0].Options = nil
			d.Dialogs[0].Elements[0].Type = validate.Text
			d.Dialogs[2].Elements[1].Text = strings.Repeat("a", 161)
			d.Dialogs[3].Elements = append(d.Dialogs[3].Elements, validate.Element{Type: validate.Buttons, Text: "Pick", Options: []string{"a"}})
			got := validate.Default().Validate(&d)
			text, err := validate.Encode(d)
			if err != nil {
				t.Fatal(err)
			}
			want := validate.Default().Check(validate.Document{Format: validate.ReferenceFormat, Text: text, Channel: "sms", Senders: []string{"+100"}})
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Validate and Check differ (-Check +Validate):\n%s", diff)
			}
			if got.Fingerprint() != want.Fingerprint() || len(got.Warnings()) == 0 || len(got.Errors()) == 0 {
				t.Errorf("fingerprints %q (Validate) and %q (Check), warnings %v, errors %v", got.Fingerprint(), want.Fingerprint(), got.Warnings(), got.Errors())
			}
		})
	}
}

// R4: a finding quotes at most 40 bytes of the channel's name. Each
// buttons element over an unknown channel's limit repeated the whole name,
// so a definition with a long channel name and many such elements made a
// report quadratic in its size (here 20 copies of 1 MiB).
func TestR4LongChannelNameIsShortenedInMessages(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	d := clean()
	d.Channel = long
	for range 20 {
		d.Dialogs[3].Elements = append(d.Dialogs[3].Elements, validate.Element{Type: validate.Buttons, Text: "Pick",
			Options: strings.Split("a b c d e f g h i j k", " ")})
	}
	r := validate.Default().Validate(&d)
	tooMany := only(r, "buttons.too_many")
	if len(tooMany) != 20 {
		t.Fatalf("%d buttons.too_many findings, want 20", len(tooMany))
	}
	for _, f := range r.Findings {
		if len(f.Message) > 200 {
			t.Fatalf("a %s message of %d bytes: %.100s...", f.Code, len(f.Message), f.Message)
		}
	}
	if want := `11 options, but channel "` + long[:40] + `..." shows at most 10; remove some or use a text menu`; tooMany[0].Message != want {
		t.Errorf("message %.200q, want %q", tooMany[0].Message, want)
	}
	// Checked for a bot on another channel, the mismatch is shortened too.
	text, err := validate.Encode(d)
	if err != nil {
		t.Fatal(err)
	}
	c := validate.Default().Check(validate.Document{Format: validate.ReferenceFormat, Text: text, Channel: "whatsapp"})
	if got := only(c, "definition.channel_mismatch"); len(got) != 1 || len(got[0].Message) > 200 {
		t.Errorf("definition.channel_mismatch: %.300v", got)
	}
}

// R4: a dialog without an id (empty or blank) is no dialog a reference can
// name: a goto, branch, keyword or intent naming no dialog is an error
// also when such a dialog exists. It met the empty reference, so the
// error came to light only once the dialog got its id - a report must
// have every error at once. The dialog.no_id errors are the only findings
// about such dialogs: no duplicate id, no unreachable warning.
func TestR4BlankDialogIDIsNoTarget(t *testing.T) {
	d := clean()
	d.Dialogs = append(d.Dialogs,
		validate.Dialog{ID: "", Name: "No id", Elements: []validate.Element{{Type: validate.Close}}},
		validate.Dialog{ID: " ", Name: "Blank", Elements: []validate.Element{{Type: validate.Close}}},
		validate.Dialog{ID: " ", Name: "Blank too", Elements: []validate.Element{{Type: validate.Close}}})
	d.Dialogs[1].Elements[1].Target = ""
	d.Dialogs[0].Elements[1].Branches[0].Dialog = " "
	d.Keywords[0].Dialog = ""
	d.Intents[0].Dialog = " "
	var got []validate.Finding
	for _, f := range checkOnWhatsApp(t, d).Findings {
		switch f.Code {
		case "target.unknown", "trigger.unknown_dialog", "dialog.no_id", "dialog.duplicate_id", "dialog.unreachable":
			got = append(got, f)
		}
	}
	want := []validate.Finding{
		{"target.unknown", validate.Error, "dialogs[0].elements[1].branches[0].dialog", `branch points to dialog " ", which does not exist; set its dialog to the id of one of the dialogs`},
		{"target.unknown", validate.Error, "dialogs[1].elements[1].target", "goto points to no dialog; set target to the id of one of the dialogs"},
		{"dialog.no_id", validate.Error, "dialogs[4].id", "the dialog has no id; give it a unique id"},
		{"dialog.no_id", validate.Error, "dialogs[5].id", "the dialog has no id; give it a unique id"},
		{"dialog.no_id", validate.Error, "dialogs[6].id", "the dialog has no id; give it a unique id"},
		{"trigger.unknown_dialog", validate.Error, "intents[0].dialog", `intent "weather" starts dialog " ", which does not exist; set its dialog to the id of one of the dialogs`},
		{"trigger.unknown_dialog", validate.Error, "keywords[0].dialog", `keyword "AGENT" starts no dialog; set its dialog to the id of one of the dialogs`},
		{"dialog.unreachable", validate.Warning, "dialogs[1]", `dialog "ask" cannot be reached from the entry dialog, the fallback, an intent or a keyword`}, // only the branch led there
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("findings (-want +got):\n%s", diff)
	}
}

// R4: keyword.ambiguous compares words as a message matches them - in any
// letter case, spaces around them ignored - and the dialogs they start:
// the same word for another dialog is reported at the later keyword, the
// same word for the same dialog is not, nor a keyword without a word or
// naming no dialog (keyword.empty and trigger.unknown_dialog report those).
func TestR4KeywordAmbiguousWhenAWordStartsTwoDialogs(t *testing.T) {
	msg := func(word, dialog string, first int, firstWord, firstDialog string) string {
		return fmt.Sprintf("keyword %q starts dialog %q, but keywords[%d] (%q) is the same word to a message and starts dialog %q, so which of the two starts is ambiguous; give the word one dialog, or this keyword another word", word, dialog, first, firstWord, firstDialog)
	}
	tests := []struct {
		name     string
		keywords []validate.Keyword // after keywords[0], {"AGENT", "fallback"}
		want     []string           // paths and messages
	}{
		{"another word", []validate.Keyword{{Word: "agents", Dialog: "weather"}}, nil},
		{"same word, same dialog", []validate.Keyword{{Word: "agent", Dialog: "fallback"}}, nil},
		{"another letter case", []validate.Keyword{{Word: "Agent", Dialog: "weather"}},
			[]string{"keywords[1]: " + msg("Agent", "weather", 0, "AGENT", "fallback")}},
		{"spaces around it", []validate.Keyword{{Word: "\tAGENT ", Dialog: "ask"}},
			[]string{"keywords[1]: " + msg("\tAGENT ", "ask", 0, "AGENT", "fallback")}},
		{"spaces inside are part of the word", []validate.Keyword{{Word: "AG ENT", Dialog: "ask"}}, nil},
		{"each later keyword against the first", []validate.Keyword{{Word: "agent", Dialog: "ask"}, {Word: "agent", Dialog: "fallback"}, {Word: "agent", Dialog: "weather"}},
			[]string{"keywords[1]: " + msg("agent", "ask", 0, "AGENT", "fallback"), "keywords[3]: " + msg("agent", "weather", 0, "AGENT", "fallback")}},
		{"no dialog is left to trigger.unknown_dialog", []validate.Keyword{{Word: "agent", Dialog: "gone"}, {Word: "agent"}}, nil},
		{"no word is left to keyword.empty", []validate.Keyword{{Word: " ", Dialog: "ask"}, {Word: "", Dialog: "weather"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := clean()
			d.Keywords = append(d.Keywords, tt.keywords...)
			var got []string
			for _, f := range only(checkOnWhatsApp(t, d), "keyword.ambiguous") {
				if f.Severity != validate.Warning {
					t.Errorf("%s is a %s, want a warning", f.Path, f.Severity)
				}
				got = append(got, f.Path+": "+f.Message)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("keyword.ambiguous findings (-want +got):\n%s", diff)
			}
		})
	}
}

// R4: keyword.ambiguous compares the dialogs keywords start, not how their
// ids are written: two keywords naming one dialog are not ambiguous when
// another dialog repeats its id (dialog.duplicate_id reports that).
func TestR4KeywordAmbiguousComparesDialogs(t *testing.T) {
	d := clean()
	d.Dialogs = append(d.Dialogs, validate.Dialog{ID: "fallback", Name: "Fallback 2", Elements: []validate.Element{{Type: validate.Close}}})
	d.Keywords = append(d.Keywords, validate.Keyword{Word: "agent", Dialog: "fallback"})
	if got := only(checkOnWhatsApp(t, d), "keyword.ambiguous"); len(got) != 0 {
		t.Errorf("one dialog reported as two: %v", got)
	}
}

// R4: keyword.ambiguous quotes at most 40 bytes of each word and dialog id
// it names. Every later keyword with the word quoted the first keyword's
// word (spaces and all) and dialog id in full, so one long id and many
// keywords made a report quadratic in the definition's size.
func TestR4KeywordAmbiguousQuotesABoundedText(t *testing.T) {
	long := strings.Repeat("x", 1<<20)
	d := clean()
	d.Dialogs = append(d.Dialogs, validate.Dialog{ID: long, Name: "Long", Elements: []validate.Element{{Type: validate.Close}}})
	d.Keywords = append(d.Keywords, validate.Keyword{Word: "help" + strings.Repeat(" ", 1<<20), Dialog: long})
	for range 20 {
		d.Keywords = append(d.Keywords, validate.Keyword{Word: "help", Dialog: "ask"})
	}
	got := only(checkOnWhatsApp(t, d), "keyword.ambiguous")
	if len(got) != 20 {
		t.Fatalf("%d keyword.ambiguous findings, want 20", len(got))
	}
	for _, f := range got {
		if len(f.Message) > 400 {
			t.Fatalf("a %s message of %d bytes: %.100s...", f.Code, len(f.Message), f.Message)
		}
	}
	want := fmt.Sprintf("keyword %q starts dialog %q, but keywords[1] (%q) is the same word to a message and starts dialog %q, so which of the two starts is ambiguous; give the word one dialog, or this keyword another word",
		"help", "ask", "help"+strings.Repeat(" ", 36)+"...", long[:40]+"...")
	if diff := cmp.Diff(want, got[0].Message); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
}

// R4: placeholder.invalid reports each {{...}} that the placeholder
// pattern does not read - so no value replaces it and end users get it as
// written - once per field, in the fields placeholders stand in (a text,
// buttons or input element's text, a webhook's URL), quoting at most 40
// bytes of it; a real placeholder, with or without spaces inside its
// braces, is attribute.undeclared's, and braces that close nothing are
// plain text.
func TestR4PlaceholderThatIsNoneIsReported(t *testing.T) {
	msgSent := func(p, sent string) string {
		return fmt.Sprintf("%q is no placeholder, so %s it as written; write {{name}} with the name of an attribute, in letters, digits, _, . and - only (such as {{first_name}})", p, sent)
	}
	msg := func(p string) string { return msgSent(p, "end users get") }
	long := "{{" + strings.Repeat("x", 60) + " y}}"
	tests := []struct {
		name string
		e    validate.Element // becomes dialogs[0].elements[0]
		want []string         // paths and messages
	}{
		{"placeholders", validate.Element{Type: validate.Text, Text: "{{city}}, {{ city }} and {{city}}"}, nil},
		{"a space inside", validate.Element{Type: validate.Buttons, Text: "Hi {{first name}}", Options: []string{"a"}},
			[]string{"dialogs[0].elements[0].text: " + msg("{{first name}}")}},
		{"once per field", validate.Element{Type: validate.Input, Attribute: "city", Text: "{{a b}}? {{a b}}! {{c-d}} {{città}}"},
			[]string{"dialogs[0].elements[0].text: " + msg("{{a b}}"), "dialogs[0].elements[0].text: " + msg("{{città}}")}},
		{"empty", validate.Element{Type: validate.Text, Text: "{{}} {{ }}"},
			[]string{"dialogs[0].elements[0].text: " + msg("{{ }}"), "dialogs[0].elements[0].text: " + msg("{{}}")}},
		{"quoted at most 40 bytes", validate.Element{Type: validate.Text, Text: long},
			[]string{"dialogs[0].elements[0].text: " + msg(long[:40]+"...")}},
		{"a webhook's URL", validate.Element{Type: validate.Webhook, Call: &validate.WebhookCall{Method: "GET", URL: "https://api.example.com/{{user id}}"}},
			[]string{"dialogs[0].elements[0].call.url: " + msgSent("{{user id}}", "the webhook is called with")}}, // end users never see a URL
		{"not braces around a name", validate.Element{Type: validate.Text, Text: "{first name} {{first name} {{ {x} }}"}, nil},
		{"a field the element does not send", validate.Element{Type: validate.GoTo, Target: "ask", Text: "{{a b}}"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := clean()
			d.Dialogs[0].Elements[0] = tt.e
			var got []string
			for _, f := range only(checkOnWhatsApp(t, d), "placeholder.invalid") {
				if f.Severity != validate.Warning {
					t.Errorf("%s is a %s, want a warning", f.Path, f.Severity)
				}
				got = append(got, f.Path+": "+f.Message)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("placeholder.invalid findings (-want +got):\n%s", diff)
			}
		})
	}
}
