// Package validate checks a chatbot definition before it goes live.
//
// # The model
//
// A [Definition] is what a chatbot says and does: dialogs made of elements
// (texts, buttons, user inputs, conditions, gotos, webhooks, agent transfers,
// session closes), intents and keywords that start dialogs, and the
// attributes a conversation remembers. A [Validator] runs a set of [Rule]s
// over a definition and returns a [Report] of [Finding]s. Each finding has a
// stable dotted code, a severity, a path into the definition and a message
// that says what to fix.
//
// Findings of severity [Error] block activation. Findings of severity
// [Warning] block it too unless the request acknowledges them, either by the
// report's [Report.Fingerprint] (exactly these warnings) or by their codes.
// A new warning that was not acknowledged still blocks.
//
// # Checkers and formats
//
// The lifecycle never reads a bot's definition: it holds the service's own
// document, a format name and a text, and hands it to a [Checker] (R25). A
// service with its own bot format implements Checker; [*Validator] is the
// default Checker and reads [ReferenceFormat], the reference Definition as
// JSON ([Encode], [Decode]). It decodes strictly - text that is not a
// Definition is one error finding, [CodeDefinitionInvalid] - and checks the
// definition against the bot's channel: an empty channel takes the bot's,
// another one is the error definition.channel_mismatch.
//
// Validators are immutable values: [Validator.With] adds or replaces rules,
// [Validator.Without] disables rules, [Validator.WithSeverity] promotes a
// warning to an error (or demotes an error). A rule that panics never crashes
// the caller; it becomes an error finding with code "rule.panic".
//
// # Default rules
//
//	code                         severity  what it finds
//	definition.no_dialogs        error     the definition has no dialogs
//	entry.missing                error     no entry dialog is set
//	entry.unknown                error     the entry dialog names no dialog
//	fallback.unknown             error     the fallback dialog names no dialog
//	dialog.no_id                 error     a dialog has an empty id
//	dialog.duplicate_id          error     two dialogs share an id
//	dialog.duplicate_name        error     two dialogs share a name
//	dialog.empty                 error     a dialog has no elements
//	element.unknown_type         error     an element has an unknown type
//	target.unknown               error     a goto or a condition branch points to no dialog
//	trigger.unknown_dialog       error     a keyword or an intent starts no dialog
//	keyword.empty                error     a keyword has no word (empty or blank)
//	attribute.undeclared         error     an attribute is used ({{name}}, input, branch, webhook) but not declared
//	attribute.unknown_type       error     an attribute has no type or an unknown one
//	attribute.duplicate_name     error     two attributes share a name
//	input.no_attribute           error     a user input saves its answer nowhere
//	text.empty                   error     a text or buttons element has no text
//	buttons.no_options           error     a buttons element has no options, or an option without text
//	buttons.too_many             error     more options than the channel shows (SMS 0, WhatsApp 3, Viber 6, Messenger 3)
//	webhook.invalid_url          error     a webhook has no absolute http(s) URL
//	webhook.invalid_method       error     a webhook's method is not GET, POST, PUT, PATCH or DELETE
//	webhook.invalid_timeout      error     a webhook's timeout is negative
//	definition.channel_mismatch  error     the definition names another channel than the bot's
//	dialog.unreachable           warning   a dialog cannot be reached from entry, fallback, intents or keywords
//	attribute.unused             warning   an attribute is declared but never used
//	webhook.insecure             warning   a webhook uses plain http
//	webhook.slow                 warning   a webhook's timeout is above 10 seconds
//	intent.few_phrases           warning   an intent has fewer than 5 distinct training phrases
//	text.too_long                warning   a text does not fit one message (SMS: 160 GSM-7 or 70 UCS-2 characters)
//	fallback.missing             warning   no fallback dialog is set
//	keyword.ambiguous            warning   two keywords with the same word (in any letter case, spaces around it ignored) start different dialogs
//	condition.no_branches        warning   a condition element has no branches
//	transfer.no_queue            warning   a transfer element names no agent queue (empty or blank)
//	intent.no_name               warning   an intent has an empty or blank name
//	intent.duplicate_name        warning   two intents share a name
//	placeholder.invalid          warning   a text or webhook URL has a {{...}} that is no placeholder ({{first name}}), so it is sent as written
//
// Validation with the default rules is linear in the size of the definition.
//
// This package imports only the standard library.
package validate
