package validate

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// MaxWebhookTimeoutMS is the webhook timeout above which the default rules
// warn (code webhook.slow): a conversation waits that long for the call.
const MaxWebhookTimeoutMS = 10_000

// MinIntentPhrases is the number of distinct training phrases (not blank,
// not repeated in another letter case or with spaces around it) below
// which the default rules warn (code intent.few_phrases).
const MinIntentPhrases = 5

// DefaultRules returns the default rules, errors first. The package
// documentation lists them in a table.
func DefaultRules() []Rule {
	return []Rule{
		{"definition.no_dialogs", Error, "the definition has no dialogs", checkNoDialogs},
		{"entry.missing", Error, "no entry dialog is set", checkEntryMissing},
		{"entry.unknown", Error, "the entry dialog names no dialog", checkEntryUnknown},
		{"fallback.unknown", Error, "the fallback dialog names no dialog", checkFallbackUnknown},
		{"dialog.no_id", Error, "a dialog has an empty id", checkDialogNoID},
		{"dialog.duplicate_id", Error, "two dialogs share an id", checkDuplicateID},
		{"dialog.duplicate_name", Error, "two dialogs share a name", checkDuplicateName},
		{"dialog.empty", Error, "a dialog has no elements", checkDialogEmpty},
		{"element.unknown_type", Error, "an element has a type this definition format does not know", checkElementType},
		{"target.unknown", Error, "a goto or a condition branch points to no dialog", checkTargets},
		{"trigger.unknown_dialog", Error, "a keyword or an intent starts no dialog", checkTriggers},
		{"keyword.empty", Error, "a keyword has no word", checkKeywordEmpty},
		{"attribute.undeclared", Error, "an attribute is used but not declared", checkUndeclared},
		{"attribute.unknown_type", Error, "an attribute has no type or one this definition format does not know", checkAttributeType},
		{"attribute.duplicate_name", Error, "two attributes share a name", checkAttributeDuplicate},
		{"input.no_attribute", Error, "a user input saves its answer nowhere", checkInputAttribute},
		{"text.empty", Error, "a text or buttons element has no text", checkTextEmpty},
		{"buttons.no_options", Error, "a buttons element has no options, or an option without text", checkButtonsEmpty},
		{"buttons.too_many", Error, "a buttons element has more options than the channel shows", checkButtonsTooMany},
		{"webhook.invalid_url", Error, "a webhook has no absolute http(s) URL", checkWebhookURL},
		{"webhook.invalid_method", Error, "a webhook's method is not GET, POST, PUT, PATCH or DELETE", checkWebhookMethod},
		{"webhook.invalid_timeout", Error, "a webhook's timeout is negative", checkWebhookTimeout},
		{"definition.channel_mismatch", Error, "the definition names another channel than the bot's", checkChannel},

		{"dialog.unreachable", Warning, "a dialog cannot be reached from the entry, fallback, intents or keywords", checkUnreachable},
		{"attribute.unused", Warning, "an attribute is declared but never used", checkUnused},
		{"webhook.insecure", Warning, "a webhook uses plain http", checkWebhookInsecure},
		{"webhook.slow", Warning, "a webhook's timeout is above 10 seconds", checkWebhookSlow},
		{"intent.few_phrases", Warning, "an intent has fewer than 5 distinct training phrases", checkIntentPhrases},
		{"text.too_long", Warning, "a text does not fit in one message of the channel", checkTextLength},
		{"fallback.missing", Warning, "no fallback dialog is set", checkFallbackMissing},
		{"keyword.ambiguous", Warning, "two keywords with the same word start different dialogs", checkKeywordAmbiguous},
		{"condition.no_branches", Warning, "a condition element has no branches", checkConditionBranches},
		{"transfer.no_queue", Warning, "a transfer element names no agent queue", checkTransferQueue},
		{"intent.no_name", Warning, "an intent has an empty name", checkIntentNoName},
		{"intent.duplicate_name", Warning, "two intents share a name", checkIntentDuplicateName},
		{"placeholder.invalid", Warning, "a text or webhook URL has a {{...}} that is no placeholder", checkPlaceholders},
	}
}

type reportFunc = func(path, message string)

func dialogPath(i int) string     { return fmt.Sprintf("dialogs[%d]", i) }
func elementPath(i, j int) string { return fmt.Sprintf("dialogs[%d].elements[%d]", i, j) }

// eachElement calls f for every element of every dialog.
func eachElement(d *Definition, f func(i, j int, e *Element)) {
	for i := range d.Dialogs {
		for j := range d.Dialogs[i].Elements {
			f(i, j, &d.Dialogs[i].Elements[j])
		}
	}
}

func checkChannel(d *Definition, ix *Index, report reportFunc) {
	if bot := ix.BotChannel(); bot != "" && normalChannel(d.Channel) != bot {
		bot = shorten(bot)
		report("channel", fmt.Sprintf("the definition is for channel %q but the bot runs on %s; leave channel empty or set it to %s", shorten(d.Channel), bot, bot))
	}
}

// channelOf returns the channel d runs on, whose limits apply: the bot's
// when d is checked for a bot - also when d names another channel, which
// is an error of its own (definition.channel_mismatch), so that the report
// has every finding at once - and else the one d names, normalised as
// Check normalises it, so that Validate's messages, and so its
// fingerprint, are Check's for the same definition.
func channelOf(d *Definition, ix *Index) string {
	if bot := ix.BotChannel(); bot != "" {
		return bot
	}
	return normalChannel(d.Channel)
}

func checkNoDialogs(d *Definition, _ *Index, report reportFunc) {
	if len(d.Dialogs) == 0 {
		report("dialogs", "the chatbot has no dialogs; add at least one")
	}
}

func checkEntryMissing(d *Definition, _ *Index, report reportFunc) {
	if d.EntryDialog == "" {
		report("entry_dialog", "no entry dialog is set; set entry_dialog to the id of the dialog a conversation starts in")
	}
}

func checkEntryUnknown(d *Definition, ix *Index, report reportFunc) {
	if _, ok := ix.Dialog(d.EntryDialog); d.EntryDialog != "" && !ok {
		report("entry_dialog", fmt.Sprintf("entry dialog %q does not exist; use the id of one of the dialogs", d.EntryDialog))
	}
}

func checkFallbackUnknown(d *Definition, ix *Index, report reportFunc) {
	if _, ok := ix.Dialog(d.FallbackDialog); d.FallbackDialog != "" && !ok {
		report("fallback_dialog", fmt.Sprintf("fallback dialog %q does not exist; use the id of one of the dialogs", d.FallbackDialog))
	}
}

func checkFallbackMissing(d *Definition, _ *Index, report reportFunc) {
	if d.FallbackDialog == "" {
		report("fallback_dialog", "no fallback dialog is set; messages the bot does not understand get no answer")
	}
}

func checkDialogNoID(d *Definition, _ *Index, report reportFunc) {
	for i, dl := range d.Dialogs {
		if strings.TrimSpace(dl.ID) == "" {
			report(dialogPath(i)+".id", "the dialog has no id; give it a unique id")
		}
	}
}

func checkDuplicateID(d *Definition, ix *Index, report reportFunc) {
	for i, dl := range d.Dialogs {
		if first, ok := ix.Dialog(dl.ID); ok && first != i {
			report(dialogPath(i)+".id", fmt.Sprintf("dialog id %q is already used by dialogs[%d]; ids must be unique", dl.ID, first))
		}
	}
}

func checkDuplicateName(d *Definition, _ *Index, report reportFunc) {
	eachRepeat(len(d.Dialogs), func(i int) string { return d.Dialogs[i].Name }, func(i, first int) {
		report(dialogPath(i)+".name", fmt.Sprintf("dialog name %q is already used by dialogs[%d]; names must be unique", d.Dialogs[i].Name, first))
	})
}

// eachRepeat calls repeat(i, first) for each of n items whose name(i),
// not empty, the item first already had; names are compared exactly.
func eachRepeat(n int, name func(i int) string, repeat func(i, first int)) {
	seen := make(map[string]int, n)
	for i := 0; i < n; i++ {
		s := name(i)
		if s == "" {
			continue
		}
		if first, dup := seen[s]; dup {
			repeat(i, first)
			continue
		}
		seen[s] = i
	}
}

func checkDialogEmpty(d *Definition, _ *Index, report reportFunc) {
	for i, dl := range d.Dialogs {
		if len(dl.Elements) == 0 {
			report(dialogPath(i)+".elements", fmt.Sprintf("dialog %q has no elements; add at least one or remove it", dl.ID))
		}
	}
}

func checkElementType(d *Definition, _ *Index, report reportFunc) {
	eachElement(d, func(i, j int, e *Element) {
		switch e.Type {
		case Text, Buttons, Input, Condition, GoTo, Webhook, Transfer, Close:
		default:
			report(elementPath(i, j)+".type", fmt.Sprintf("unknown element type %q; use text, buttons, input, condition, goto, webhook, transfer or close", e.Type))
		}
	})
}

func checkTargets(d *Definition, ix *Index, report reportFunc) {
	eachElement(d, func(i, j int, e *Element) {
		if e.Type == GoTo {
			if _, ok := ix.Dialog(e.Target); !ok {
				report(elementPath(i, j)+".target", missingDialog("goto points to", e.Target, "target"))
			}
		}
		if e.Type == Condition {
			for k, b := range e.Branches {
				if _, ok := ix.Dialog(b.Dialog); !ok {
					report(fmt.Sprintf("%s.branches[%d].dialog", elementPath(i, j), k), missingDialog("branch points to", b.Dialog, "its dialog"))
				}
			}
		}
	})
}

func checkTriggers(d *Definition, ix *Index, report reportFunc) {
	for i, k := range d.Keywords {
		if _, ok := ix.Dialog(k.Dialog); !ok {
			report(fmt.Sprintf("keywords[%d].dialog", i), missingDialog(fmt.Sprintf("keyword %q starts", k.Word), k.Dialog, "its dialog"))
		}
	}
	for i, in := range d.Intents {
		if _, ok := ix.Dialog(in.Dialog); !ok {
			report(fmt.Sprintf("intents[%d].dialog", i), missingDialog(fmt.Sprintf("intent %q starts", in.Name), in.Dialog, "its dialog"))
		}
	}
}

// checkKeywordEmpty finds a keyword whose word is empty or blank: no end
// user types it, and a message without text (a picture) would match it.
func checkKeywordEmpty(d *Definition, _ *Index, report reportFunc) {
	for i, k := range d.Keywords {
		if strings.TrimSpace(k.Word) != "" {
			continue
		}
		what := "the keyword"
		if k.Dialog != "" {
			what = fmt.Sprintf("the keyword for dialog %q", k.Dialog)
		}
		report(fmt.Sprintf("keywords[%d].word", i), what+" has no word; write the word an end user sends to start the dialog, or remove the keyword")
	}
}

// keywordKey is a keyword's word as a message matches it: in any letter
// case, with the spaces around it ignored.
func keywordKey(word string) string { return strings.ToLower(strings.TrimSpace(word)) }

// checkKeywordAmbiguous finds a keyword whose word an earlier keyword has
// too, as a message matches them, but that starts another dialog: an end
// user who sends the word gets one of the two dialogs, and the definition
// does not say which. Keywords without a word or naming no dialog are
// left to keyword.empty and trigger.unknown_dialog; the same word twice
// for one dialog is only redundant.
func checkKeywordAmbiguous(d *Definition, ix *Index, report reportFunc) {
	first := make(map[string]int, len(d.Keywords)) // word -> first keyword with a dialog
	for i, k := range d.Keywords {
		word := keywordKey(k.Word)
		dialog, ok := ix.Dialog(k.Dialog)
		if word == "" || !ok {
			continue
		}
		j, seen := first[word]
		if !seen {
			first[word] = i
			continue
		}
		if other, _ := ix.Dialog(d.Keywords[j].Dialog); other != dialog {
			report(fmt.Sprintf("keywords[%d]", i), fmt.Sprintf("keyword %q starts dialog %q, but keywords[%d] (%q) is the same word to a message and starts dialog %q, so which of the two starts is ambiguous; give the word one dialog, or this keyword another word",
				shorten(k.Word), shorten(k.Dialog), j, shorten(d.Keywords[j].Word), shorten(d.Keywords[j].Dialog))) // the first keyword is quoted once per later one: never all of it
		}
	}
}

// missingDialog says that what names id names no dialog: none at all when
// id is empty, else one that does not exist; either way, which field to
// set.
func missingDialog(what, id, field string) string {
	fix := "set " + field + " to the id of one of the dialogs"
	if id == "" {
		return what + " no dialog; " + fix
	}
	return fmt.Sprintf("%s dialog %q, which does not exist; %s", what, id, fix)
}

func checkUndeclared(d *Definition, ix *Index, report reportFunc) {
	eachElement(d, func(i, j int, e *Element) {
		var reported map[string]bool // paths and names: "{{x}} and {{x}}" is one problem
		attributeUses(e, func(field string, k int, name string) {
			if name == "" || ix.Declared(name) {
				return
			}
			path := elementPath(i, j) + field
			if k >= 0 {
				path = fmt.Sprintf("%s[%d].attribute", path, k)
			}
			if reported[path+"\x00"+name] {
				return
			}
			if reported == nil {
				reported = map[string]bool{}
			}
			reported[path+"\x00"+name] = true
			report(path, fmt.Sprintf("attribute %q is used but not declared; add it to attributes", name))
		})
	})
}

// checkPlaceholders finds a {{...}} in a field that placeholders stand in
// (the fields [Placeholders] are read from for attribute.undeclared) that
// is no placeholder - {{first name}}, {{}} - so no attribute's value
// replaces it and end users get it as written (a webhook is called with
// it); attribute.undeclared never sees it. Each one is reported once per field.
func checkPlaceholders(d *Definition, _ *Index, report reportFunc) {
	eachElement(d, func(i, j int, e *Element) {
		check := func(field, s, sent string) {
			if !strings.Contains(s, "{{") {
				return
			}
			var reported map[string]bool
			braces(s, func(_ int, m string) {
				if _, ok := placeholderName(m); ok || reported[m] {
					return
				}
				if reported == nil {
					reported = map[string]bool{}
				}
				reported[m] = true
				report(elementPath(i, j)+field, fmt.Sprintf("%q is no placeholder, so %s it as written; write {{name}} with the name of an attribute, in letters, digits, _, . and - only (such as {{first_name}})", shorten(m), sent))
			})
		}
		switch e.Type {
		case Text, Buttons, Input:
			check(".text", e.Text, "end users get")
		case Webhook:
			if e.Call != nil {
				check(".call.url", e.Call.URL, "the webhook is called with")
			}
		}
	})
}

func checkAttributeType(d *Definition, _ *Index, report reportFunc) {
	const types = "string, number, boolean, phone, email or date"
	for i, a := range d.Attributes {
		switch a.Type {
		case String, Number, Boolean, Phone, Email, Date:
		case "":
			report(fmt.Sprintf("attributes[%d].type", i), fmt.Sprintf("attribute %q has no type; set type to %s", a.Name, types))
		default:
			report(fmt.Sprintf("attributes[%d].type", i), fmt.Sprintf("attribute %q has unknown type %q; use %s", a.Name, a.Type, types))
		}
	}
}

// checkAttributeDuplicate finds an attribute declared twice: every use of
// the name means one variable, so a second declaration is at best
// redundant and at worst gives it another type.
func checkAttributeDuplicate(d *Definition, _ *Index, report reportFunc) {
	eachRepeat(len(d.Attributes), func(i int) string { return d.Attributes[i].Name }, func(i, first int) {
		report(fmt.Sprintf("attributes[%d].name", i), fmt.Sprintf("attribute %q is already declared by attributes[%d]; names must be unique, so remove this one or rename it", d.Attributes[i].Name, first))
	})
}

func checkUnused(d *Definition, ix *Index, report reportFunc) {
	for i, a := range d.Attributes {
		if !ix.Used(a.Name) {
			report(fmt.Sprintf("attributes[%d]", i), fmt.Sprintf("attribute %q is declared but never used; use it or remove it", a.Name))
		}
	}
}

func checkInputAttribute(d *Definition, _ *Index, report reportFunc) {
	eachElement(d, func(i, j int, e *Element) {
		if e.Type == Input && e.Attribute == "" {
			report(elementPath(i, j)+".attribute", "the user input saves its answer nowhere; set attribute")
		}
	})
}

func checkTextEmpty(d *Definition, _ *Index, report reportFunc) {
	eachElement(d, func(i, j int, e *Element) {
		if (e.Type == Text || e.Type == Buttons) && strings.TrimSpace(e.Text) == "" {
			report(elementPath(i, j)+".text", fmt.Sprintf("the %s element has no text; write the message", e.Type))
		}
	})
}

func checkButtonsEmpty(d *Definition, _ *Index, report reportFunc) {
	eachElement(d, func(i, j int, e *Element) {
		if e.Type != Buttons {
			return
		}
		if len(e.Options) == 0 {
			report(elementPath(i, j)+".options", "the buttons element has no options; add at least one")
		}
		for k, o := range e.Options {
			if strings.TrimSpace(o) == "" {
				report(fmt.Sprintf("%s.options[%d]", elementPath(i, j), k), fmt.Sprintf("option %d of the buttons element has no text, so it shows as an empty button or the channel refuses the message; write its label or remove it", k+1))
			}
		}
	})
}

func checkButtonsTooMany(d *Definition, ix *Index, report reportFunc) {
	limit := Limits(channelOf(d, ix)).MaxButtons
	channel := shorten(channelOf(d, ix)) // quoted once per element: never all of a long name
	eachElement(d, func(i, j int, e *Element) {
		if e.Type == Buttons && len(e.Options) > 0 && limit == 0 {
			report(elementPath(i, j)+".options", fmt.Sprintf("channel %q shows no buttons; send the options as text instead", channel))
		} else if e.Type == Buttons && len(e.Options) > limit {
			report(elementPath(i, j)+".options", fmt.Sprintf("%d options, but channel %q shows at most %d; remove some or use a text menu", len(e.Options), channel, limit))
		}
	})
}

// checkConditionBranches finds a condition without branches: it sends
// the conversation nowhere whatever the end user said, so it does nothing
// its designer meant (a missing branch dialog is target.unknown's).
func checkConditionBranches(d *Definition, _ *Index, report reportFunc) {
	eachElement(d, func(i, j int, e *Element) {
		if e.Type == Condition && len(e.Branches) == 0 {
			report(elementPath(i, j)+".branches", "the condition has no branches, so it never sends the conversation anywhere; add a branch (attribute, equals and dialog) or remove the element")
		}
	})
}

// checkTransferQueue finds a transfer whose queue is empty or blank: it
// hands the conversation to no queue of agents, so none may take it up.
func checkTransferQueue(d *Definition, _ *Index, report reportFunc) {
	eachElement(d, func(i, j int, e *Element) {
		if e.Type == Transfer && strings.TrimSpace(e.Queue) == "" {
			report(elementPath(i, j)+".queue", "the transfer names no agent queue, so no agent may take up the conversation; set queue to the queue of the agents who answer it")
		}
	})
}

// eachWebhook calls f for every webhook element with a call.
func eachWebhook(d *Definition, f func(path string, c *WebhookCall)) {
	eachElement(d, func(i, j int, e *Element) {
		if e.Type == Webhook {
			c := e.Call
			if c == nil {
				c = &WebhookCall{}
			}
			f(elementPath(i, j)+".call", c)
		}
	})
}

func checkWebhookURL(d *Definition, _ *Index, report reportFunc) {
	eachWebhook(d, func(path string, c *WebhookCall) {
		// A placeholder stands for a value; "0" fits wherever one can
		// stand in an http URL - host, port, path, query - where "x"
		// would be an invalid port.
		u, err := url.Parse(fillPlaceholders(c.URL, "0"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			report(path+".url", fmt.Sprintf("webhook URL %q is not an absolute http or https URL; write the whole address, such as https://api.example.com/orders", c.URL))
		}
	})
}

func checkWebhookMethod(d *Definition, _ *Index, report reportFunc) {
	eachWebhook(d, func(path string, c *WebhookCall) {
		switch c.Method {
		case "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			report(path+".method", fmt.Sprintf("webhook method %q is not GET, POST, PUT, PATCH or DELETE; use one of these, in capitals", c.Method))
		}
	})
}

// checkWebhookTimeout finds a negative timeout: the call's deadline would
// have passed before it starts, so it fails every time. Zero is no
// timeout given (the field is left out).
func checkWebhookTimeout(d *Definition, _ *Index, report reportFunc) {
	eachWebhook(d, func(path string, c *WebhookCall) {
		if c.TimeoutMS < 0 {
			report(path+".timeout_ms", fmt.Sprintf("timeout %d ms is negative, so the call fails before it starts; set timeout_ms to at most %d ms, or leave it out", c.TimeoutMS, MaxWebhookTimeoutMS))
		}
	})
}

func checkWebhookInsecure(d *Definition, _ *Index, report reportFunc) {
	eachWebhook(d, func(path string, c *WebhookCall) {
		if strings.HasPrefix(strings.ToLower(c.URL), "http://") {
			report(path+".url", "the webhook uses plain http; end-user data travels unencrypted, use https")
		}
	})
}

func checkWebhookSlow(d *Definition, _ *Index, report reportFunc) {
	eachWebhook(d, func(path string, c *WebhookCall) {
		if c.TimeoutMS > MaxWebhookTimeoutMS {
			report(path+".timeout_ms", fmt.Sprintf("timeout %d ms keeps the end user waiting; use at most %d ms", c.TimeoutMS, MaxWebhookTimeoutMS))
		}
	})
}

func checkIntentPhrases(d *Definition, _ *Index, report reportFunc) {
	for i, in := range d.Intents {
		// A blank phrase, or one repeated in another letter case or with
		// spaces around it, teaches the matcher nothing.
		distinct := make(map[string]bool)
		for _, p := range in.Phrases {
			if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
				distinct[p] = true
			}
		}
		n := len(distinct)
		if n >= MinIntentPhrases {
			continue
		}
		path := fmt.Sprintf("intents[%d].phrases", i)
		switch {
		case n == len(in.Phrases):
			report(path, fmt.Sprintf("intent %q has %d training phrases; add at least %d for reliable matching", in.Name, n, MinIntentPhrases))
		default:
			report(path, fmt.Sprintf("intent %q has %d distinct training phrases of %d (blank and repeated ones do not count); add at least %d for reliable matching", in.Name, n, len(in.Phrases), MinIntentPhrases))
		}
	}
}

// checkIntentNoName finds an intent whose name is empty or blank: the
// name is what tells a designer, and whatever reports the intent a message
// matched, which intent it is.
func checkIntentNoName(d *Definition, _ *Index, report reportFunc) {
	for i, in := range d.Intents {
		if strings.TrimSpace(in.Name) != "" {
			continue
		}
		what := "the intent"
		if in.Dialog != "" {
			what = fmt.Sprintf("the intent for dialog %q", in.Dialog)
		}
		report(fmt.Sprintf("intents[%d].name", i), what+" has no name, so nothing tells which intent a message matched; give it a unique name")
	}
}

// checkIntentDuplicateName finds an intent named as an earlier one: the
// name no longer tells which of the two a message matched.
func checkIntentDuplicateName(d *Definition, _ *Index, report reportFunc) {
	name := func(i int) string { // a blank one is intent.no_name's
		if strings.TrimSpace(d.Intents[i].Name) == "" {
			return ""
		}
		return d.Intents[i].Name
	}
	eachRepeat(len(d.Intents), name, func(i, first int) {
		report(fmt.Sprintf("intents[%d].name", i), fmt.Sprintf("intent name %q is already used by intents[%d], so which of the two a message matched is ambiguous; names must be unique, so rename this intent or merge its phrases into the other", d.Intents[i].Name, first))
	})
}

func checkUnreachable(d *Definition, ix *Index, report reportFunc) {
	for i, dl := range d.Dialogs {
		if first, ok := ix.Dialog(dl.ID); ok && first == i && !ix.Reachable(dl.ID) {
			report(dialogPath(i), fmt.Sprintf("dialog %q cannot be reached from the entry dialog, the fallback, an intent or a keyword", dl.ID))
		}
	}
}

func checkTextLength(d *Definition, ix *Index, report reportFunc) {
	channel := channelOf(d, ix)
	lim := Limits(channel)
	if lim.MaxText == 0 {
		return
	}
	eachElement(d, func(i, j int, e *Element) {
		if e.Type != Text && e.Type != Buttons && e.Type != Input {
			return
		}
		// A channel with one limit counts characters; one with two (SMS)
		// counts as an SMS does: GSM-7 septets or UCS-2 units.
		n, max := utf8.RuneCountInString(e.Text), lim.MaxText
		if lim.MaxTextUnicode != lim.MaxText {
			var gsm bool
			if n, gsm = MessageLength(e.Text); !gsm {
				max = lim.MaxTextUnicode
			}
		}
		if n > max {
			report(elementPath(i, j)+".text", fmt.Sprintf("%d characters; channel %q sends at most %d in one message, so it will be split", n, channel, max))
		}
	})
}

const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
const gsm7Extension = "^{}\\[~]|€\f"

// MessageLength returns the length of s in the units a single SMS counts:
// GSM-7 septets when every character is in the GSM-7 alphabet (gsm is true;
// extension characters count twice), and UTF-16 code units otherwise.
func MessageLength(s string) (n int, gsm bool) {
	for _, r := range s {
		switch {
		case strings.ContainsRune(gsm7Basic, r):
			n++
		case strings.ContainsRune(gsm7Extension, r):
			n += 2
		default:
			return len(utf16.Encode([]rune(s))), false
		}
	}
	return n, true
}
