package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// The wire format. Every name is snake_case; every duration is a Go duration
// string ("15m0s"); every timestamp is RFC 3339 in UTC, with fractional
// seconds only when they are not zero; every id is a JSON string. The API's
// types are its own, converted from the library's, so a change inside the
// library never changes the wire by accident: openapi.yaml describes exactly
// these types and a test holds every response to it.

// timestamp formats t as RFC 3339 in UTC; "" for the zero time.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// Sender is a (channel, address) pair.
type Sender struct {
	Channel string `json:"channel,omitempty"`
	Address string `json:"address"`
}

func senders(in []lifecycle.Sender) []Sender {
	out := make([]Sender, len(in))
	for i, s := range in {
		out[i] = Sender{Channel: s.Channel, Address: s.Address}
	}
	return out
}

func libSenders(in []Sender) []lifecycle.Sender {
	if in == nil {
		return nil
	}
	out := make([]lifecycle.Sender, len(in))
	for i, s := range in {
		out[i] = lifecycle.Sender{Channel: s.Channel, Address: s.Address}
	}
	return out
}

// Bot is a bot in detail.
type Bot struct {
	ID               string   `json:"id"`
	Name             string   `json:"name"`
	Description      string   `json:"description"`
	Channel          string   `json:"channel"`
	Senders          []Sender `json:"senders"`
	Definition       Document `json:"definition"`
	IdleTimeout      string   `json:"idle_timeout"`
	State            string   `json:"state"`
	Revision         uint64   `json:"revision"`
	Activations      uint64   `json:"activations"`
	CreatedAt        string   `json:"created_at"`
	UpdatedAt        string   `json:"updated_at"`
	FirstActivatedAt string   `json:"first_activated_at,omitempty"`
	ActivatedAt      string   `json:"activated_at,omitempty"`
	DeactivatedAt    string   `json:"deactivated_at,omitempty"`
	EndedAt          string   `json:"ended_at,omitempty"`
	GraceDeadline    string   `json:"grace_deadline,omitempty"`
	EndReason        string   `json:"end_reason,omitempty"`
	// Live is where the bot is live, one entry per sender, sorted (R22):
	// Active there or draining until the entry's grace deadline. Empty
	// while the bot is not live.
	Live []SenderState `json:"live"`
}

// SenderState is a bot's state on one of its senders (R22).
type SenderState struct {
	Sender Sender `json:"sender"`
	State  string `json:"state"` // active or deactivated (draining)
	// Activation numbers the activation the bot joined the sender in; the
	// sessions opened there belong to it.
	Activation    uint64 `json:"activation"`
	GraceDeadline string `json:"grace_deadline,omitempty"`
}

func senderStates(in []lifecycle.SenderState) []SenderState {
	out := make([]SenderState, len(in))
	for i, e := range in {
		out[i] = SenderState{Sender: Sender{Channel: e.Sender.Channel, Address: e.Sender.Address}, State: state(e.State),
			Activation: e.Activation, GraceDeadline: timestamp(e.GraceDeadline)}
	}
	return out
}

func state(s lifecycle.State) string {
	b, _ := s.MarshalText()
	return string(b)
}

func bot(b lifecycle.Bot) Bot {
	if b.State != lifecycle.Inactive {
		// ended_at and end_reason tell how the bot went offline: a bot live
		// again (activated, or rolled back to) shows no earlier end as its own.
		b.EndedAt, b.EndReason = time.Time{}, ""
	}
	return Bot{ID: string(b.ID), Name: b.Name, Description: b.Description, Channel: b.Channel,
		Senders: senders(b.Senders), Definition: Document(b.Definition), IdleTimeout: b.IdleTimeout.String(),
		State: state(b.State), Revision: b.Revision, Activations: b.Activations,
		CreatedAt: timestamp(b.CreatedAt), UpdatedAt: timestamp(b.UpdatedAt),
		FirstActivatedAt: timestamp(b.FirstActivatedAt), ActivatedAt: timestamp(b.ActivatedAt),
		DeactivatedAt: timestamp(b.DeactivatedAt), EndedAt: timestamp(b.EndedAt),
		GraceDeadline: timestamp(b.GraceDeadline), EndReason: string(b.EndReason), Live: senderStates(b.Live)}
}

// Summary is a bot on the dashboard: everything but its definition.
type Summary struct {
	ID            string   `json:"id"`
	Name          string   `json:"name"`
	Description   string   `json:"description"`
	Channel       string   `json:"channel"`
	Senders       []Sender `json:"senders"`
	State         string   `json:"state"`
	GraceDeadline string   `json:"grace_deadline,omitempty"`
	UpdatedAt     string   `json:"updated_at"`
}

func summary(s lifecycle.Summary) Summary {
	return Summary{ID: string(s.ID), Name: s.Name, Description: s.Description, Channel: s.Channel,
		Senders: senders(s.Senders), State: state(s.State), GraceDeadline: timestamp(s.GraceDeadline),
		UpdatedAt: timestamp(s.UpdatedAt)}
}

// roleNames lists a role set as lower-case role names.
func roleNames(s roles.Set) []string {
	out := []string{}
	for _, r := range s.Roles() {
		b, _ := r.MarshalText()
		out = append(out, string(b))
	}
	return out
}

// Change is one bot a plan creates, changes or deletes.
type Change struct {
	Bot      string `json:"bot"`
	From     string `json:"from"`
	To       string `json:"to"`
	Revision uint64 `json:"revision"`
	After    *Bot   `json:"after,omitempty"`
}

// RoleChange is one user's roles changed by a plan.
type RoleChange struct {
	User string   `json:"user"`
	From []string `json:"from"`
	To   []string `json:"to"`
}

// Transition is one bot's move in an audit entry.
type Transition struct {
	Bot  string `json:"bot"`
	From string `json:"from"`
	To   string `json:"to"`
}

// SenderMove is one bot's move on one sender in an audit entry (R22);
// from and to are inactive where the bot is off the sender.
type SenderMove struct {
	Bot    string `json:"bot"`
	Sender Sender `json:"sender"`
	From   string `json:"from"`
	To     string `json:"to"`
}

// AuditEntry is one entry of the audit log.
type AuditEntry struct {
	Seq    uint64   `json:"seq"`
	Time   string   `json:"time"`
	Actor  string   `json:"actor"`
	System bool     `json:"system"`
	Roles  []string `json:"roles"`
	Action string   `json:"action"`
	Denied bool     `json:"denied"`
	// Bot is, in a denied entry, the bot the refused operation named (R16).
	Bot         string       `json:"bot,omitempty"`
	Transitions []Transition `json:"transitions"`
	// Senders lists every move of a bot on one of its senders (R22).
	Senders       []SenderMove `json:"senders"`
	GraceDeadline string       `json:"grace_deadline,omitempty"`
	Acknowledged  []string     `json:"acknowledged"`
	User          string       `json:"user,omitempty"`
	Role          string       `json:"role,omitempty"`
	Reason        string       `json:"reason,omitempty"`
	// Schedule names the schedule the entry made, canceled or ran (R23).
	Schedule string `json:"schedule,omitempty"`
	// TestSession says which test session the entry opened or closed, on
	// which bot and content (R26).
	TestSession *TestSessionAudit `json:"test_session,omitempty"`
}

// TestSessionAudit is what an audit entry says of a test session (R26).
type TestSessionAudit struct {
	Bot string `json:"bot"`
	// Activation numbers the test session in its bot's activations.
	Activation uint64 `json:"activation"`
	// Content is the fingerprint of the content it was opened on.
	Content string `json:"content"`
}

func auditEntry(e lifecycle.AuditEntry) AuditEntry {
	out := AuditEntry{Seq: e.Seq, Time: timestamp(e.Time), Actor: e.Actor, System: e.System,
		Roles: roleNames(e.Roles), Action: string(e.Action), Denied: e.Denied, Transitions: []Transition{},
		GraceDeadline: timestamp(e.GraceDeadline), Acknowledged: []string{}, User: e.User, Reason: e.Reason,
		Senders: []SenderMove{}, Schedule: string(e.Schedule), Bot: string(e.Bot)}
	for _, t := range e.Transitions {
		out.Transitions = append(out.Transitions, Transition{Bot: string(t.Bot), From: state(t.From), To: state(t.To)})
	}
	for _, m := range e.Senders {
		out.Senders = append(out.Senders, SenderMove{Bot: string(m.Bot), Sender: Sender{Channel: m.Sender.Channel, Address: m.Sender.Address},
			From: state(m.From), To: state(m.To)})
	}
	out.Acknowledged = append(out.Acknowledged, e.Acknowledged...)
	if e.Test != nil {
		out.TestSession = &TestSessionAudit{Bot: string(e.Test.Bot), Activation: e.Test.Activation, Content: e.Test.Content}
	}
	if e.Role.Valid() {
		b, _ := e.Role.MarshalText()
		out.Role = string(b)
	}
	return out
}

// Report is a validation report.
type Report struct {
	Findings    []validate.Finding `json:"findings"`
	Fingerprint string             `json:"fingerprint,omitempty"` // of the warnings; "" without warnings
}

func report(r validate.Report) Report {
	f := r.Findings
	if f == nil {
		f = []validate.Finding{}
	}
	return Report{Findings: f, Fingerprint: r.Fingerprint()}
}

// Plan is what an operation changes: returned by a dry run (nothing stored)
// and by every state-changing operation (stored).
type Plan struct {
	// ID names a dry run's plan, kept for POST /plans/{id}/apply; absent
	// on a committed plan.
	ID string `json:"id,omitempty"`
	// DryRun is true when nothing was stored.
	DryRun      bool         `json:"dry_run"`
	Op          string       `json:"op"`
	Actor       string       `json:"actor"`
	System      bool         `json:"system"`
	Reason      string       `json:"reason,omitempty"`
	Time        string       `json:"time"`
	Changes     []Change     `json:"changes"`
	Roles       []RoleChange `json:"roles"`
	Audit       []AuditEntry `json:"audit"`
	Report      *Report      `json:"report,omitempty"`
	DarkSenders []Sender     `json:"dark_senders"`
	// Schedules are the schedules the plan creates or changes (R23), as
	// it leaves them; a new one has seq 0 until it is stored.
	Schedules []Schedule `json:"schedules"`
}

func plan(p lifecycle.Plan, dryRun bool) Plan {
	out := Plan{DryRun: dryRun, Op: string(p.Op), Actor: p.Actor.ID, System: p.Actor.System, Reason: p.Actor.Reason,
		Time: timestamp(p.Time), Changes: []Change{}, Roles: []RoleChange{}, Audit: []AuditEntry{},
		DarkSenders: senders(p.DarkSenders), Schedules: []Schedule{}}
	for _, sc := range p.Schedules {
		out.Schedules = append(out.Schedules, schedule(sc.After))
	}
	for _, c := range p.Changes {
		ch := Change{Bot: string(c.Bot), From: state(c.From), To: state(c.To), Revision: c.Revision}
		if c.After != nil {
			b := bot(*c.After)
			ch.After = &b
		}
		out.Changes = append(out.Changes, ch)
	}
	for _, r := range p.Roles {
		out.Roles = append(out.Roles, RoleChange{User: r.User, From: roleNames(r.From), To: roleNames(r.To)})
	}
	for _, e := range p.Audit {
		out.Audit = append(out.Audit, auditEntry(e))
	}
	if p.Report != nil {
		r := report(*p.Report)
		out.Report = &r
	}
	return out
}

// Session is one end user's conversation with one bot through one sender.
type Session struct {
	ID             string `json:"id"`
	Sender         Sender `json:"sender"`
	EndUser        string `json:"end_user"`
	Bot            string `json:"bot"`
	Activation     uint64 `json:"activation"`
	OpenedAt       string `json:"opened_at"`
	LastActivityAt string `json:"last_activity_at"`
	ClosedAt       string `json:"closed_at,omitempty"`
	CloseReason    string `json:"close_reason,omitempty"`
	Messages       uint64 `json:"messages"`
}

func session(s lifecycle.Session) Session {
	return Session{ID: strconv.FormatUint(uint64(s.ID), 10), Sender: Sender{Channel: s.Sender.Channel, Address: s.Sender.Address},
		EndUser: s.EndUser, Bot: string(s.Bot), Activation: s.Activation, OpenedAt: timestamp(s.OpenedAt),
		LastActivityAt: timestamp(s.LastActivityAt), ClosedAt: timestamp(s.ClosedAt), CloseReason: string(s.CloseReason),
		Messages: s.Messages}
}

// TestSession is a test session as its tester sees it (R26): a
// conversation with a bot in any state, on no sender, that only its tester
// may use.
type TestSession struct {
	// ID is opaque; percent-encode it in a path (it may hold '#').
	ID     string `json:"id"`
	Bot    string `json:"bot"`
	Tester string `json:"tester"`
	// Content is the fingerprint of the bot's content (definition and
	// senders) the test session is pinned to; absent in the answer to a
	// message.
	Content        string `json:"content,omitempty"`
	OpenedAt       string `json:"opened_at"`
	LastActivityAt string `json:"last_activity_at"`
	ClosedAt       string `json:"closed_at,omitempty"`
	CloseReason    string `json:"close_reason,omitempty"`
	Messages       uint64 `json:"messages"`
}

func testSession(s lifecycle.TestSession) TestSession {
	return TestSession{ID: string(s.ID), Bot: string(s.Bot), Tester: s.Tester, Content: s.Content,
		OpenedAt: timestamp(s.OpenedAt), LastActivityAt: timestamp(s.LastActivityAt), ClosedAt: timestamp(s.ClosedAt),
		CloseReason: string(s.CloseReason), Messages: s.Messages}
}

// SessionStats counts the sessions of one bot or one sender.
type SessionStats struct {
	Bot      string            `json:"bot,omitempty"`
	Sender   *Sender           `json:"sender,omitempty"`
	Opened   uint64            `json:"opened"`
	Open     uint64            `json:"open"`
	Closed   map[string]uint64 `json:"closed"`
	Messages uint64            `json:"messages"`
}

// Analytics are session counts per bot and per sender.
type Analytics struct {
	ByBot    []SessionStats `json:"by_bot"`
	BySender []SessionStats `json:"by_sender"`
}

func analytics(a lifecycle.Analytics) Analytics {
	conv := func(s lifecycle.SessionStats, byBot bool) SessionStats {
		out := SessionStats{Opened: s.Opened, Open: s.Open, Closed: map[string]uint64{}, Messages: s.Messages}
		if byBot {
			out.Bot = string(s.Bot)
		} else {
			out.Sender = &Sender{Channel: s.Sender.Channel, Address: s.Sender.Address}
		}
		for k, v := range s.Closed {
			out.Closed[string(k)] = v
		}
		return out
	}
	out := Analytics{ByBot: []SessionStats{}, BySender: []SessionStats{}}
	for _, s := range a.ByBot {
		out.ByBot = append(out.ByBot, conv(s, true))
	}
	for _, s := range a.BySender {
		out.BySender = append(out.BySender, conv(s, false))
	}
	return out
}

// UserRoles is the roles one user holds.
type UserRoles struct {
	User  string   `json:"user"`
	Roles []string `json:"roles"`
}

// Page is one page of a list: its items and, when more follow, the link to
// the next page (also sent as a Link header with rel="next").
type Page[T any] struct {
	Items []T    `json:"items"`
	Next  string `json:"next,omitempty"`
}

// Expiry is what ExpireDue settled.
type Expiry struct {
	DrainsEnded    []string `json:"drains_ended"`
	SessionsClosed int      `json:"sessions_closed"`
	// Schedules are the due schedules that ran, in order, done or refused
	// (R23); FailedSchedules could not be run now and are tried again.
	Schedules       []string `json:"schedules"`
	FailedSchedules []string `json:"failed_schedules"`
}

func expiry(e lifecycle.Expiry) Expiry {
	out := Expiry{DrainsEnded: []string{}, SessionsClosed: e.SessionsClosed, Schedules: []string{}, FailedSchedules: []string{}}
	for _, id := range e.DrainsEnded {
		out.DrainsEnded = append(out.DrainsEnded, string(id))
	}
	for _, id := range e.Schedules {
		out.Schedules = append(out.Schedules, string(id))
	}
	for _, id := range e.FailedSchedules {
		out.FailedSchedules = append(out.FailedSchedules, string(id))
	}
	return out
}

// Occupant is a bot Active on a sender that an activation wants.
type Occupant struct {
	Sender Sender `json:"sender"`
	Bot    string `json:"bot"`
	Name   string `json:"name"`
}

// Document is a bot's definition in a response: the service's document,
// its format name and its text, byte for byte as stored (R25).
type Document struct {
	Format string `json:"format"`
	Text   string `json:"text"`
}

// Definition is a bot's definition in a request: either the service's
// document as it is stored, {"format": ..., "text": ...} (R25), or a
// reference chatbot definition object, which the API stores in
// validate.ReferenceFormat. Responses always carry the document form.
type Definition struct {
	doc *lifecycle.Definition
	ref *validate.Definition
}

// UnmarshalJSON reads either form strictly: an object with a "format" or
// a "text" key is the document form, any other object a reference
// definition, read by validate.Decode; unknown fields, keys in another
// letter case and repeated keys are refused in both.
func (d *Definition) UnmarshalJSON(data []byte) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(data, &keys); err != nil || keys == nil {
		return errors.New(`definition must be an object: {"format": ..., "text": ...} or a reference chatbot definition`)
	}
	for k := range keys {
		if k != strings.ToLower(k) {
			return fmt.Errorf("unknown field %q in definition; field names are case-sensitive", trunc(k))
		}
	}
	_, hasFormat := keys["format"]
	_, hasText := keys["text"]
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if hasFormat || hasText {
		var doc Document
		if err := dec.Decode(&doc); err != nil {
			return fmt.Errorf(`definition is not {"format": ..., "text": ...}: %s`, jsonProblem(err))
		}
		lib := lifecycle.Definition(doc)
		*d = Definition{doc: &lib}
		return nil
	}
	ref, err := validate.Decode(string(data)) // the reference decoder: exact keys, each once (R13)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "the document is not a "+validate.ReferenceFormat+" definition: ")
		return fmt.Errorf("definition is not a reference chatbot definition: %s", strings.TrimPrefix(msg, "json: "))
	}
	*d = Definition{ref: &ref}
	return nil
}

// definition returns the document to store: a reference definition is
// encoded in validate.ReferenceFormat (an error is an input error, R21).
func (d Definition) definition() (lifecycle.Definition, error) {
	switch {
	case d.doc != nil:
		return *d.doc, nil
	case d.ref != nil:
		return lifecycle.ReferenceDefinition(*d.ref)
	}
	return lifecycle.Definition{}, nil
}
