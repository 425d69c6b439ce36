package validate

// Definition is the reference chatbot definition: what a bot says and does.
// It is plain JSON-tagged data; export and import carry it unchanged.
//
// A conversation starts in the entry dialog, or in the dialog a keyword or an
// intent points to. A dialog runs its elements in order. Attributes hold what
// the end user typed or a webhook returned, and may be used in texts and URLs
// as {{name}}, where name is letters, digits, "_", "." and "-" (spaces
// around it allowed); any other {{...}} is sent as written
// (placeholder.invalid).
type Definition struct {
	// Channel names the channel the bot runs on ("sms", "whatsapp", ...). It
	// sets channel limits such as the number of buttons and the length of a
	// single message when the definition is validated on its own; checked
	// for a bot ([Validator.Check]), the bot's channel sets them.
	Channel string `json:"channel"`
	// EntryDialog is the id of the dialog a new session starts in.
	EntryDialog string `json:"entry_dialog"`
	// FallbackDialog is the id of the dialog used when nothing matches.
	FallbackDialog string      `json:"fallback_dialog,omitempty"`
	Dialogs        []Dialog    `json:"dialogs"`
	Intents        []Intent    `json:"intents,omitempty"`
	Keywords       []Keyword   `json:"keywords,omitempty"`
	Attributes     []Attribute `json:"attributes,omitempty"`
}

// Dialog is a named sequence of elements.
type Dialog struct {
	ID       string    `json:"id"`
	Name     string    `json:"name"`
	Elements []Element `json:"elements"`
}

// ElementType says what an element does.
type ElementType string

// The element types.
const (
	Text      ElementType = "text"      // send Text
	Buttons   ElementType = "buttons"   // send Text with Options as buttons or quick replies
	Input     ElementType = "input"     // wait for the end user's reply and save it to Attribute
	Condition ElementType = "condition" // go to the first matching branch's dialog
	GoTo      ElementType = "goto"      // continue in the dialog Target
	Webhook   ElementType = "webhook"   // call an HTTP API (see WebhookCall)
	Transfer  ElementType = "transfer"  // hand the conversation to a human agent
	Close     ElementType = "close"     // end the session
)

// Element is one step of a dialog. Which fields matter depends on Type.
type Element struct {
	Type      ElementType  `json:"type"`
	Text      string       `json:"text,omitempty"`      // text, buttons
	Options   []string     `json:"options,omitempty"`   // buttons
	Attribute string       `json:"attribute,omitempty"` // input: where the reply goes
	Branches  []Branch     `json:"branches,omitempty"`  // condition: at least one (condition.no_branches)
	Target    string       `json:"target,omitempty"`    // goto: a dialog id
	Call      *WebhookCall `json:"call,omitempty"`      // webhook
	Queue     string       `json:"queue,omitempty"`     // transfer: the agent queue (transfer.no_queue)
}

// Branch sends the conversation to Dialog when Attribute equals Equals.
type Branch struct {
	Attribute string `json:"attribute"`
	Equals    string `json:"equals"`
	Dialog    string `json:"dialog"`
}

// WebhookCall is an HTTP call made during a dialog.
type WebhookCall struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	// TimeoutMS is how long the call may take, in milliseconds: 0 (left
	// out) is the service's default, a negative one an error
	// (webhook.invalid_timeout), one above [MaxWebhookTimeoutMS] a warning
	// (webhook.slow).
	TimeoutMS int `json:"timeout_ms,omitempty"`
	// SaveTo names the attribute that receives the response body, if any.
	SaveTo string `json:"save_to,omitempty"`
}

// Intent starts Dialog when the end user's message matches its training
// phrases. Its Name tells it apart: it is neither empty nor blank
// (intent.no_name) and unique among the intents (intent.duplicate_name).
type Intent struct {
	Name    string   `json:"name"`
	Phrases []string `json:"phrases"`
	Dialog  string   `json:"dialog"`
}

// Keyword starts Dialog when the end user's message is Word, in any letter
// case and with the spaces around it ignored. Word must not be empty or
// blank (keyword.empty), and a word starts one dialog: another keyword with
// the same word for another dialog is a warning (keyword.ambiguous).
type Keyword struct {
	Word   string `json:"word"`
	Dialog string `json:"dialog"`
}

// AttributeType is the type of an attribute's value.
type AttributeType string

// The attribute types.
const (
	String  AttributeType = "string"
	Number  AttributeType = "number"
	Boolean AttributeType = "boolean"
	Phone   AttributeType = "phone"
	Email   AttributeType = "email"
	Date    AttributeType = "date"
)

// Attribute declares a variable of the conversation. Its Name is unique
// among the attributes (attribute.duplicate_name) and its Type is one of
// the attribute types (attribute.unknown_type).
type Attribute struct {
	Name string        `json:"name"`
	Type AttributeType `json:"type"`
}

// ChannelLimits are what a channel accepts in one message.
type ChannelLimits struct {
	MaxButtons int // buttons or quick replies in one message
	// MaxText is the longest text that goes out as a single message, in
	// characters; MaxTextUnicode applies when the text needs more than the
	// GSM-7 alphabet (SMS: 160 and 70). When the two differ, a text is
	// counted as an SMS counts it ([MessageLength]: GSM-7 septets, or UTF-16
	// units); when they are equal, in characters. Zero means no limit.
	MaxText        int
	MaxTextUnicode int
}

// Limits returns the limits of a channel, named in any letter case and
// with surrounding spaces ignored, as [*Validator.Check] normalises it.
// Unknown channels get generous defaults (10 buttons, no text limit).
func Limits(channel string) ChannelLimits {
	switch normalChannel(channel) {
	case "sms":
		return ChannelLimits{MaxButtons: 0, MaxText: 160, MaxTextUnicode: 70}
	case "whatsapp":
		return ChannelLimits{MaxButtons: 3, MaxText: 4096, MaxTextUnicode: 4096}
	case "viber":
		return ChannelLimits{MaxButtons: 6, MaxText: 7000, MaxTextUnicode: 7000}
	case "messenger":
		return ChannelLimits{MaxButtons: 3, MaxText: 2000, MaxTextUnicode: 2000}
	case "livechat":
		return ChannelLimits{MaxButtons: 10}
	}
	return ChannelLimits{MaxButtons: 10}
}

// Clone returns a deep copy of d: changing the copy never changes d.
func (d Definition) Clone() Definition {
	d.Dialogs = cloneSlice(d.Dialogs, func(dl Dialog) Dialog {
		dl.Elements = cloneSlice(dl.Elements, func(e Element) Element {
			e.Options = cloneSlice(e.Options, nil)
			e.Branches = cloneSlice(e.Branches, nil)
			if e.Call != nil {
				c := *e.Call
				e.Call = &c
			}
			return e
		})
		return dl
	})
	d.Intents = cloneSlice(d.Intents, func(in Intent) Intent {
		in.Phrases = cloneSlice(in.Phrases, nil)
		return in
	})
	d.Keywords = cloneSlice(d.Keywords, nil)
	d.Attributes = cloneSlice(d.Attributes, nil)
	return d
}

// cloneSlice copies s (keeping nil as nil and empty as empty), applying f to
// each element when f is not nil.
func cloneSlice[T any](s []T, f func(T) T) []T {
	if s == nil {
		return nil
	}
	out := make([]T, len(s))
	for i, v := range s {
		if f != nil {
			v = f(v)
		}
		out[i] = v
	}
	return out
}
