// Package botlife runs the lifecycle of chatbots for Go services that host many
// bots on shared messaging senders (a WhatsApp number, an SMS short code, a
// web-chat widget). This package holds no code: it is the map.
//
// # The model
//
// A chatbot (bot) is a definition - dialogs, intents, keywords, attributes,
// webhooks - plus settings: a name, a description, one channel, and the
// senders on that channel it answers on. The definition is the hosting
// service's own document, in its own format: the lifecycle keeps it byte for
// byte and never reads it; a pluggable checker turns it into the validation
// report (the reference chatbot definition is the default). A sender is a (channel, address)
// pair, such as ("whatsapp", "+441234567890").
//
// A bot is in one of four states:
//
//   - Draft: created, imported or duplicated, never activated. Only Draft bots
//     can be deleted.
//   - Active: live. New conversations (sessions) on its senders go to it. At
//     most one bot is Active on a sender at any instant.
//   - Deactivated: draining. It keeps serving its open sessions until a grace
//     deadline but gets no new ones. At most one per sender.
//   - Inactive: was live, now offline; all its sessions are closed.
//
// A bot becomes Active only after validation: findings of severity error block
// activation, warnings block it unless acknowledged. Activating a bot on a
// sender that already has an Active bot needs a decision: replace the old bot
// immediately (its sessions close now) or give it a grace period to finish its
// open conversations. Deactivating a bot takes every other bot on the senders
// it leaves offline too. A live bot is never edited: to change one, duplicate
// it (or export and import it), edit the copy, and activate the copy with a
// grace period for the old one. Time is never read behind your back:
// deadlines are data, compared with the time of an injectable clock.
//
// Every operation is done by an actor whose roles (Analyzer, Supervisor,
// Designer, Manager on a ladder; Admin beside it) decide what they may do,
// and every change is written to an audit log. One store may hold many
// workspaces - the hosting service's customer accounts - each with its own
// users, roles, bots, senders and audit log, none visible from another.
//
// # Packages
//
//   - [github.com/botlife/botlife/roles]: roles, permissions, the permission
//     matrix as data, and the rules for granting and revoking roles.
//   - [github.com/botlife/botlife/validate]: the Checker interface the
//     lifecycle validates definitions with; the reference chatbot definition
//     and its rules, the default Checker; findings (errors and warnings) and
//     reports.
//   - [github.com/botlife/botlife/lifecycle]: the pure core (states, the
//     transition table, Decide) and the Manager that runs operations against
//     a Store; session routing and grace deadlines.
//   - [github.com/botlife/botlife/store]: the in-memory reference Store.
//   - [github.com/botlife/botlife/store/storetest]: the conformance suite every
//     Store implementation runs (Run), and the differential test against the
//     memory store (RunParity).
//   - github.com/botlife/botlife/store/sqlite (a module of its own): a SQLite
//     Store for one machine, one file that survives restarts.
//   - github.com/botlife/botlife/store/postgres (a module of its own): a
//     PostgreSQL Store for services with several replicas.
//
// The runnable programs in examples/ show each piece at work; start with
// examples/redeploy, and see examples/customformat for a service with its
// own bot format.
package botlife
