package api

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
)

// maxID bounds ids and end users taken from paths and bodies (R21).
const maxID = 256

// decode reads the request body with the one decoder.
func (s *Server) decode(r *http.Request, v any, rule bodyRule) error {
	data, err := readBody(r, s.maxBody)
	if err != nil {
		return err
	}
	return decodeJSON(data, v, rule)
}

// botID reads the {id} path value.
func botID(r *http.Request) (lifecycle.BotID, error) {
	id := r.PathValue("id")
	if len(id) > maxID {
		return "", &lifecycle.InputError{Field: "bot id", Value: "", Problem: fmt.Sprintf("is longer than %d bytes; use the id of a bot as GET /bots lists it", maxID)}
	}
	return lifecycle.BotID(id), nil
}

func etag(rev uint64) string { return `"` + strconv.FormatUint(rev, 10) + `"` }

// ifMatch reads If-Match: nil when absent, else a test of a revision.
func ifMatch(r *http.Request) (func(rev uint64) bool, error) {
	h := r.Header.Values("If-Match")
	if len(h) == 0 {
		return nil, nil
	}
	var revs []uint64
	for _, part := range strings.Split(strings.Join(h, ","), ",") {
		part = strings.TrimSpace(part)
		switch {
		case part == "*":
			return func(uint64) bool { return true }, nil
		case strings.HasPrefix(part, "W/"):
			// A weak tag never matches in If-Match (RFC 9110 13.1.1).
		case len(part) >= 2 && part[0] == '"' && part[len(part)-1] == '"':
			n, err := strconv.ParseUint(part[1:len(part)-1], 10, 64)
			if err == nil {
				revs = append(revs, n)
			}
		default:
			return nil, &lifecycle.InputError{Field: "If-Match", Value: trunc(part), Problem: `is not an entity tag; send the bot's ETag, such as "3"`}
		}
	}
	return func(rev uint64) bool {
		for _, r := range revs {
			if r == rev {
				return true
			}
		}
		return false
	}, nil
}

// change runs a state-changing command: a dry run with ?dry_run=true, and,
// with If-Match, only if the target bot's revision matches. The plan is then
// committed exactly as decided, never a change made on other facts (R17); a
// commit that loses to another change is decided again and If-Match tested
// again, so the answer is 412 only when the bot's revision moved (or the
// commits kept losing).
func (s *Server) change(r *http.Request, who caller, cmd lifecycle.Command, target lifecycle.BotID) (lifecycle.Plan, bool, error) {
	return s.changeWith(r, who, cmd, target, committer{apply: who.m.Apply, applyPlan: who.m.ApplyPlan})
}

// committer is how changeWith commits a command: at once (apply), or
// exactly as a plan decided it (applyPlan). A test session's opening
// (R26) commits through the Manager's own calls, which also open it.
// A conflict of applyPlan that may have committed part of its work (a
// test session's lease) is a *finalError; any other committed nothing, so
// the command may be decided again (as Apply does).
type committer struct {
	apply     func(context.Context, lifecycle.Actor, lifecycle.Command) (lifecycle.Plan, error)
	applyPlan func(context.Context, lifecycle.Plan) (lifecycle.Plan, error)
}

// conflictAttempts is how many times a change with If-Match is decided
// and committed while its commits conflict with other changes.
const conflictAttempts = 3

// changeWith is change, committing through c.
func (s *Server) changeWith(r *http.Request, who caller, cmd lifecycle.Command, target lifecycle.BotID, c committer) (lifecycle.Plan, bool, error) {
	dry, err := dryRun(r)
	if err != nil {
		return lifecycle.Plan{}, false, err
	}
	match, err := ifMatch(r)
	if err != nil {
		return lifecycle.Plan{}, false, err
	}
	if target == "" {
		match = nil
	}
	actor := who.user()
	if !dry && match == nil {
		p, err := c.apply(ctx(r), actor, cmd)
		return p, false, err
	}
	for attempt := 1; ; attempt++ {
		p, dry, err := s.planAndCommit(r, who, cmd, target, c, dry, match)
		// A commit that conflicts lost to another change committed
		// between the decision and the commit: if the target's revision
		// is still the one If-Match names, the command is decided again,
		// as Apply does without If-Match; else the next decision answers
		// 412.
		var lost *commitConflict
		if !errors.As(err, &lost) {
			return p, dry, err
		}
		if final := (*finalError)(nil); errors.As(lost.error, &final) {
			// The commit may have done part of its work (a test session's
			// lease): its own answer, never a 412 that says nothing was
			// done.
			return lifecycle.Plan{}, false, lost.error
		}
		if attempt >= conflictAttempts || ctx(r).Err() != nil {
			return lifecycle.Plan{}, false, fail(probPrecondition, fmt.Sprintf("bot %s changed while the request ran; read it again", target))
		}
	}
}

// commitConflict is a conflict of a plan's commit.
type commitConflict struct{ error }

func (e *commitConflict) Unwrap() error { return e.error }

// planAndCommit decides cmd as a plan, tests If-Match (match) on the
// target's revision in it, and commits it through c unless dry.
func (s *Server) planAndCommit(r *http.Request, who caller, cmd lifecycle.Command, target lifecycle.BotID, c committer,
	dry bool, match func(uint64) bool) (lifecycle.Plan, bool, error) {
	actor := who.user()
	p, err := who.m.Plan(ctx(r), actor, cmd)
	if err != nil {
		if !dry && errors.Is(err, lifecycle.ErrForbidden) {
			// A refusal on permission grounds is audited (P1, R16), which
			// Plan does not do: ApplyPlan of the refused plan decides it
			// again, refuses it again and audits that, or finds the world
			// moved and commits nothing.
			if _, aerr := who.m.ApplyPlan(ctx(r), p); aerr != nil {
				err = aerr
			}
		}
		return lifecycle.Plan{}, dry, err
	}
	if match != nil {
		rev, found := uint64(0), false
		for _, c := range p.Changes {
			if c.Bot == target {
				rev, found = c.Revision, true
			}
		}
		if !found || !match(rev) {
			return lifecycle.Plan{}, dry, fail(probPrecondition, fmt.Sprintf("bot %s is at revision %d, not the one If-Match names; read it again", target, rev))
		}
	}
	if dry {
		return p, true, nil
	}
	committed, err := c.applyPlan(ctx(r), p)
	if errors.Is(err, lifecycle.ErrConflict) {
		return lifecycle.Plan{}, false, &commitConflict{err}
	}
	return committed, false, err
}

// planReply answers a plan; a committed plan carries the target bot's new
// ETag.
func (s *Server) planReply(who caller, p lifecycle.Plan, dry bool, target lifecycle.BotID) (reply, error) {
	if dry {
		return s.dryRunReply(who, p)
	}
	rep := reply{status: http.StatusOK, body: plan(p, false), header: http.Header{}}
	if b, ok := p.Bot(target); ok {
		rep.header.Set("ETag", etag(b.Revision))
	}
	return rep, nil
}

// dryRunOr answers err, or else the dry run's plan.
func (s *Server) dryRunOr(who caller, p lifecycle.Plan, err error) (reply, error) {
	if err != nil {
		return reply{}, err
	}
	return s.dryRunReply(who, p)
}

// botReply answers a bot with its ETag, and Location when created.
func botReply(status int, b lifecycle.Bot) (reply, error) {
	rep := reply{status: status, body: bot(b), header: http.Header{}}
	rep.header.Set("ETag", etag(b.Revision))
	if status == http.StatusCreated {
		rep.header.Set("Location", "/bots/"+url.PathEscape(string(b.ID)))
	}
	return rep, nil
}

// created answers the bot a plan created: 201 with Location, or the plan of
// a dry run.
func (s *Server) created(who caller, p lifecycle.Plan, dry bool, err error) (reply, error) {
	if err != nil {
		return reply{}, err
	}
	if dry {
		return s.dryRunReply(who, p)
	}
	for _, c := range p.Changes {
		if c.From == 0 && c.After != nil {
			return botReply(http.StatusCreated, *c.After)
		}
	}
	return reply{}, errors.New("the plan created no bot")
}

// --- bots ------------------------------------------------------------------

type createRequest struct {
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Channel     string     `json:"channel"`
	Senders     []Sender   `json:"senders"`
	Definition  Definition `json:"definition"`
	IdleTimeout string     `json:"idle_timeout"`
}

func parseDuration(field, v string) (time.Duration, error) {
	if v == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, &lifecycle.InputError{Field: field, Value: trunc(v), Problem: `is not a duration; use a Go duration such as "15m" or "1h30m"`}
	}
	return d, nil
}

func (s *Server) createBot(r *http.Request, who caller) (reply, error) {
	var req createRequest
	if err := s.decode(r, &req, bodyRequired); err != nil {
		return reply{}, err
	}
	idle, err := parseDuration("idle_timeout", req.IdleTimeout)
	if err != nil {
		return reply{}, err
	}
	def, err := req.Definition.definition()
	if err != nil {
		return reply{}, err
	}
	p, dry, err := s.change(r, who, lifecycle.Create{Name: req.Name, Description: req.Description, Channel: req.Channel,
		Senders: libSenders(req.Senders), Definition: def, IdleTimeout: idle}, "")
	return s.created(who, p, dry, err)
}

// bodyLimit is the most bytes r's body may have: routeMaxBody on /route;
// on /bots/import what the library imports (Policy.MaxImport, room for
// every export: its definition text is a JSON string there, so a bot
// made from a body under MaxBody may export to more); else MaxBody.
func (s *Server) bodyLimit(r *http.Request) int64 {
	switch r.URL.Path {
	case "/route":
		return routeMaxBody
	case "/bots/import":
		return max(s.maxBody, int64(s.m.Policy().MaxImport))
	}
	return s.maxBody
}

func (s *Server) importBot(r *http.Request, who caller) (reply, error) {
	data, err := readBody(r, s.bodyLimit(r))
	if err != nil {
		return reply{}, err
	}
	if len(data) == 0 {
		return reply{}, fail(probBadBody, "send the document GET /bots/{id}/export wrote")
	}
	p, dry, err := s.change(r, who, lifecycle.Import{Data: data}, "")
	return s.created(who, p, dry, err)
}

func (s *Server) getBot(r *http.Request, who caller) (reply, error) {
	id, err := botID(r)
	if err != nil {
		return reply{}, err
	}
	b, err := who.m.Get(ctx(r), who.user(), id)
	if err != nil {
		return reply{}, err
	}
	return botReply(http.StatusOK, b)
}

type updateRequest struct {
	Name        *string     `json:"name"`
	Description *string     `json:"description"`
	Senders     *[]Sender   `json:"senders"`
	Definition  *Definition `json:"definition"`
	IdleTimeout *string     `json:"idle_timeout"`
}

func (s *Server) updateBot(r *http.Request, who caller) (reply, error) {
	id, err := botID(r)
	if err != nil {
		return reply{}, err
	}
	var req updateRequest
	if err := s.decode(r, &req, bodyRequired); err != nil {
		return reply{}, err
	}
	u := lifecycle.Update{Bot: id, Name: req.Name, Description: req.Description}
	if req.Definition != nil {
		def, err := req.Definition.definition()
		if err != nil {
			return reply{}, err
		}
		u.Definition = &def
	}
	if req.Senders != nil {
		ss := libSenders(*req.Senders)
		if ss == nil {
			ss = []lifecycle.Sender{}
		}
		u.Senders = &ss
	}
	if req.IdleTimeout != nil {
		d, err := parseDuration("idle_timeout", *req.IdleTimeout)
		if err != nil {
			return reply{}, err
		}
		u.IdleTimeout = &d
	}
	p, dry, err := s.change(r, who, u, id)
	if err != nil && u == (lifecycle.Update{Bot: id}) && errors.Is(err, lifecycle.ErrInvalidInput) {
		// The library refuses an update of nothing (R11) - after the
		// permission, the bot and its state - in the words of its Go
		// fields; a client sends JSON ones.
		err = errEmptyPatch
	}
	if err != nil || dry {
		return s.dryRunOr(who, p, err)
	}
	b, _ := p.Bot(id)
	return botReply(http.StatusOK, b)
}

// errEmptyPatch refuses a PATCH /bots/{id} that names no field to change
// ({}, null, or only nulls): it would edit nothing (R11).
var errEmptyPatch = fmt.Errorf("%w: the body names no field to change; send at least one of name, description, senders, definition "+
	"and idle_timeout (a field left out or null stays as it is)", lifecycle.ErrInvalidInput)

func (s *Server) deleteBot(r *http.Request, who caller) (reply, error) {
	id, err := botID(r)
	if err != nil {
		return reply{}, err
	}
	p, dry, err := s.change(r, who, lifecycle.Delete{Bot: id}, id)
	if err != nil || dry {
		return s.dryRunOr(who, p, err)
	}
	return reply{status: http.StatusNoContent}, nil
}

func (s *Server) exportBot(r *http.Request, who caller) (reply, error) {
	id, err := botID(r)
	if err != nil {
		return reply{}, err
	}
	doc, err := who.m.Export(ctx(r), who.user(), id)
	if err != nil {
		return reply{}, err
	}
	return reply{status: http.StatusOK, raw: doc}, nil
}

func (s *Server) validateBot(r *http.Request, who caller) (reply, error) {
	id, err := botID(r)
	if err != nil {
		return reply{}, err
	}
	rep, err := who.m.Validate(ctx(r), who.user(), id)
	if err != nil {
		return reply{}, err
	}
	return ok(report(rep))
}

type duplicateRequest struct {
	Name string `json:"name"`
}

func (s *Server) duplicateBot(r *http.Request, who caller) (reply, error) {
	id, err := botID(r)
	if err != nil {
		return reply{}, err
	}
	var req duplicateRequest
	if err := s.decode(r, &req, bodyMayBeEmpty); err != nil {
		return reply{}, err
	}
	p, dry, err := s.change(r, who, lifecycle.Duplicate{Bot: id, Name: req.Name}, "")
	return s.created(who, p, dry, err)
}

// ackRequest acknowledges validation warnings (R4).
type ackRequest struct {
	Fingerprint string   `json:"fingerprint"`
	Codes       []string `json:"codes"`
}

// rollbackRequest is the body of rollback.
type rollbackRequest struct {
	// Decision is "", "immediate" or "grace:<duration>" (R5).
	Decision string     `json:"decision"`
	Ack      ackRequest `json:"ack"`
}

// activateRequest is the body of activate, and the activation of a
// schedule.
type activateRequest struct {
	// Decision is "", "immediate" or "grace:<duration>" (R5).
	Decision string     `json:"decision"`
	Ack      ackRequest `json:"ack"`
	// Senders, if not empty, are the bot's senders to activate it on
	// (R22); absent or empty, all it is off on.
	Senders []Sender `json:"senders"`
}

// command returns the activation of bot id the request asks for.
func (req activateRequest) command(id lifecycle.BotID) (lifecycle.Activate, error) {
	d, err := parseDecision(req.Decision)
	if err != nil {
		return lifecycle.Activate{}, err
	}
	return lifecycle.Activate{Bot: id, Decision: d, Ack: lifecycle.Ack{Fingerprint: req.Ack.Fingerprint, Codes: req.Ack.Codes},
		Senders: libSenders(req.Senders)}, nil
}

// decodeActivate reads an activation body (possibly empty) for bot id.
func decodeActivate(data []byte, id lifecycle.BotID) (lifecycle.Activate, error) {
	var req activateRequest
	if err := decodeJSON(data, &req, bodyMayBeEmpty); err != nil {
		return lifecycle.Activate{}, err
	}
	return req.command(id)
}

func (s *Server) activateBot(r *http.Request, who caller) (reply, error) {
	return s.activateOr(r, who, func(data []byte, id lifecycle.BotID) (lifecycle.Command, error) {
		return decodeActivate(data, id)
	})
}

func (s *Server) rollbackBot(r *http.Request, who caller) (reply, error) {
	return s.activateOr(r, who, func(data []byte, id lifecycle.BotID) (lifecycle.Command, error) {
		var req rollbackRequest
		if err := decodeJSON(data, &req, bodyMayBeEmpty); err != nil {
			return nil, err
		}
		a, err := activateRequest{Decision: req.Decision, Ack: req.Ack}.command(id)
		if err != nil {
			return nil, err
		}
		return lifecycle.Rollback{Bot: id, Decision: a.Decision, Ack: a.Ack}, nil
	})
}

// activateOr runs the command decode reads from the body of an activation
// or a rollback of the bot {id}.
func (s *Server) activateOr(r *http.Request, who caller, decode func([]byte, lifecycle.BotID) (lifecycle.Command, error)) (reply, error) {
	id, err := botID(r)
	if err != nil {
		return reply{}, err
	}
	data, err := readBody(r, s.maxBody)
	if err != nil {
		return reply{}, err
	}
	cmd, err := decode(data, id)
	if err != nil {
		return reply{}, err
	}
	p, dry, err := s.change(r, who, cmd, id)
	if err != nil {
		return reply{}, err
	}
	return s.planReply(who, p, dry, id)
}

// deactivateRequest is the body of deactivate, and the deactivation of a
// schedule.
type deactivateRequest struct {
	// Grace lets open sessions finish; "" or "0s" closes them now (R7).
	Grace string `json:"grace"`
	// Senders, if not empty, are the bot's senders to take it off (R22);
	// it stays Active on the others. Absent or empty, all it is Active on.
	Senders []Sender `json:"senders"`
}

// command returns the deactivation of bot id the request asks for.
func (req deactivateRequest) command(id lifecycle.BotID) (lifecycle.Deactivate, error) {
	grace, err := parseDuration("grace", req.Grace)
	if err != nil {
		return lifecycle.Deactivate{}, err
	}
	return lifecycle.Deactivate{Bot: id, Grace: grace, Senders: libSenders(req.Senders)}, nil
}

func (s *Server) deactivateBot(r *http.Request, who caller) (reply, error) {
	id, err := botID(r)
	if err != nil {
		return reply{}, err
	}
	var req deactivateRequest
	if err := s.decode(r, &req, bodyMayBeEmpty); err != nil {
		return reply{}, err
	}
	cmd, err := req.command(id)
	if err != nil {
		return reply{}, err
	}
	p, dry, err := s.change(r, who, cmd, id)
	if err != nil {
		return reply{}, err
	}
	return s.planReply(who, p, dry, id)
}

type emptyRequest struct{}

func (s *Server) endGrace(r *http.Request, who caller) (reply, error) {
	id, err := botID(r)
	if err != nil {
		return reply{}, err
	}
	if err := s.decode(r, &emptyRequest{}, bodyMayBeEmpty); err != nil {
		return reply{}, err
	}
	p, dry, err := s.change(r, who, lifecycle.EndGrace{Bot: id}, id)
	if err != nil {
		return reply{}, err
	}
	return s.planReply(who, p, dry, id)
}

// --- lists -----------------------------------------------------------------

// page reads ?limit (1 to 500, default 50) and ?cursor.
func page(r *http.Request) (limit int, cursor string, err error) {
	limit = 50
	q := r.URL.Query()
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return 0, "", &lifecycle.InputError{Field: "limit", Value: trunc(v), Problem: "must be a number from 1 to 500"}
		}
		limit = n
	}
	if v := q.Get("cursor"); v != "" {
		b, err := base64.RawURLEncoding.DecodeString(v)
		// Every cursor this server gives is an id or a number: text (R21),
		// which every store reads alike.
		if err != nil || len(b) == 0 || len(b) > maxID || !pathIsText(string(b)) {
			return 0, "", &lifecycle.InputError{Field: "cursor", Value: trunc(v), Problem: "is not a cursor this server gave; start from the first page"}
		}
		cursor = string(b)
	}
	return limit, cursor, nil
}

// pageReply answers items (read with limit+1 to know whether more follow)
// with a next link built from the last item's cursor.
func pageReply[T any](r *http.Request, items []T, limit int, last func(T) string) (reply, error) {
	pg := Page[T]{Items: items}
	if pg.Items == nil {
		pg.Items = []T{}
	}
	rep := reply{status: http.StatusOK, header: http.Header{}}
	if len(items) > limit {
		pg.Items = items[:limit]
		q := url.Values{}
		q.Set("limit", strconv.Itoa(limit))
		q.Set("cursor", base64.RawURLEncoding.EncodeToString([]byte(last(pg.Items[limit-1]))))
		pg.Next = r.URL.Path + "?" + q.Encode()
		rep.header.Set("Link", "<"+pg.Next+`>; rel="next"`)
	}
	rep.body = pg
	return rep, nil
}

func (s *Server) listBots(r *http.Request, who caller) (reply, error) {
	limit, cursor, err := page(r)
	if err != nil {
		return reply{}, err
	}
	list, err := who.m.List(ctx(r), who.user(), lifecycle.BotID(cursor), limit+1)
	if err != nil {
		return reply{}, err
	}
	out := make([]Summary, len(list))
	for i, b := range list {
		out[i] = summary(b)
	}
	return pageReply(r, out, limit, func(b Summary) string { return b.ID })
}

func numericCursor(cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(cursor, 10, 64)
	if err != nil {
		return 0, &lifecycle.InputError{Field: "cursor", Value: trunc(cursor), Problem: "is not a cursor this server gave; start from the first page"}
	}
	return n, nil
}

func (s *Server) audit(r *http.Request, who caller) (reply, error) {
	return seqPage(r, func(after uint64, limit int) ([]lifecycle.AuditEntry, error) {
		return who.m.AuditLog(ctx(r), who.user(), after, limit)
	}, auditEntry, func(e AuditEntry) uint64 { return e.Seq })
}

// seqPage answers a page of a list numbered by sequence: the cursor is the
// last number of the previous page.
func seqPage[T, W any](r *http.Request, read func(after uint64, limit int) ([]T, error), wire func(T) W, seq func(W) uint64) (reply, error) {
	limit, cursor, err := page(r)
	if err != nil {
		return reply{}, err
	}
	after, err := numericCursor(cursor)
	if err != nil {
		return reply{}, err
	}
	list, err := read(after, limit+1)
	if err != nil {
		return reply{}, err
	}
	out := make([]W, len(list))
	for i, x := range list {
		out[i] = wire(x)
	}
	return pageReply(r, out, limit, func(x W) string { return strconv.FormatUint(seq(x), 10) })
}

func (s *Server) sessions(r *http.Request, who caller) (reply, error) {
	limit, cursor, err := page(r)
	if err != nil {
		return reply{}, err
	}
	after, err := numericCursor(cursor)
	if err != nil {
		return reply{}, err
	}
	list, err := who.m.Sessions(ctx(r), who.user(), lifecycle.SessionID(after), limit+1)
	if err != nil {
		return reply{}, err
	}
	out := make([]Session, len(list))
	for i, x := range list {
		out[i] = session(x)
	}
	return pageReply(r, out, limit, func(x Session) string { return x.ID })
}

func sessionID(r *http.Request) (lifecycle.SessionID, error) {
	v := r.PathValue("id")
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		return 0, &lifecycle.InputError{Field: "session id", Value: trunc(v), Problem: "is not a session id; use a number from 1 up, as GET /sessions lists them"}
	}
	return lifecycle.SessionID(n), nil
}

func (s *Server) getSession(r *http.Request, who caller) (reply, error) {
	id, err := sessionID(r)
	if err != nil {
		return reply{}, err
	}
	// Sessions checks the permission (View chatbots detailed) and reads the
	// session as seen now (R9).
	list, err := who.m.Sessions(ctx(r), who.user(), id-1, 1)
	if err != nil {
		return reply{}, err
	}
	if len(list) == 0 || list[0].ID != id {
		return reply{}, &lifecycle.NotFoundError{Kind: "session", ID: strconv.FormatUint(uint64(id), 10)}
	}
	return ok(session(list[0]))
}

func (s *Server) analytics(r *http.Request, who caller) (reply, error) {
	a, err := who.m.Analytics(ctx(r), who.user())
	if err != nil {
		return reply{}, err
	}
	return ok(analytics(a))
}

// --- roles -----------------------------------------------------------------

func pathUser(r *http.Request) (string, error) {
	u := r.PathValue("user")
	if u == "" || len(u) > maxID {
		return "", &lifecycle.InputError{Field: "user", Value: "", Problem: fmt.Sprintf("must be 1 to %d bytes", maxID)}
	}
	return u, nil
}

func (s *Server) userRoles(r *http.Request, who caller) (reply, error) {
	u, err := pathUser(r)
	if err != nil {
		return reply{}, err
	}
	rs, err := who.m.UserRoles(ctx(r), who.user(), u)
	if err != nil {
		return reply{}, err
	}
	return ok(UserRoles{User: u, Roles: roleNames(rs)})
}

type grantRequest struct {
	Role string `json:"role"`
}

func (s *Server) grantRole(r *http.Request, who caller) (reply, error) {
	u, err := pathUser(r)
	if err != nil {
		return reply{}, err
	}
	var req grantRequest
	if err := s.decode(r, &req, bodyRequired); err != nil {
		return reply{}, err
	}
	role, err := parseRole(req.Role)
	if err != nil {
		return reply{}, err
	}
	p, dry, err := s.change(r, who, lifecycle.GrantRole{User: u, Role: role}, "")
	if err != nil || dry {
		return s.dryRunOr(who, p, err)
	}
	return ok(UserRoles{User: u, Roles: roleNames(p.Roles[0].To)})
}

// parseRole is roles.ParseRole, whose refusal quotes the name back
// only as trunc does (R21): whole, it copied a body's role of any length,
// control characters included.
func parseRole(name string) (roles.Role, error) {
	role, err := roles.ParseRole(name)
	var pe *roles.ParseError
	if errors.As(err, &pe) {
		pe.Input = trunc(pe.Input)
	}
	return role, err
}

// parseDecision is lifecycle.ParseDecision, whose refusal quotes the
// decision back only as trunc does (R21).
func parseDecision(v string) (lifecycle.Decision, error) {
	d, err := lifecycle.ParseDecision(v)
	var ie *lifecycle.InputError
	if errors.As(err, &ie) {
		ie.Value = trunc(ie.Value)
	}
	return d, err
}

func (s *Server) revokeRole(r *http.Request, who caller) (reply, error) {
	u, err := pathUser(r)
	if err != nil {
		return reply{}, err
	}
	role, err := parseRole(r.PathValue("role"))
	if err != nil {
		return reply{}, err
	}
	p, dry, err := s.change(r, who, lifecycle.RevokeRole{User: u, Role: role}, "")
	if err != nil || dry {
		return s.dryRunOr(who, p, err)
	}
	return reply{status: http.StatusNoContent}, nil
}

// --- the messaging gateway -------------------------------------------------

type routeRequest struct {
	Channel string `json:"channel"`
	Address string `json:"address"`
	EndUser string `json:"end_user"`
}

// route is called by the messaging gateway for each inbound message. Its
// body is at most 4 KiB, and the sender address and end user at most 256
// bytes each (R21); a refusal never quotes them.
func (s *Server) route(r *http.Request, who caller) (reply, error) {
	data, err := readBody(r, routeMaxBody)
	if err != nil {
		return reply{}, err
	}
	var req routeRequest
	if err := decodeJSON(data, &req, bodyRequired); err != nil {
		return reply{}, err
	}
	for _, f := range []struct{ name, v string }{{"channel", req.Channel}, {"address", req.Address}, {"end_user", req.EndUser}} {
		if f.v == "" || len(f.v) > maxID {
			return reply{}, &lifecycle.InputError{Field: f.name, Value: "", Problem: fmt.Sprintf("must be 1 to %d bytes", maxID)}
		}
	}
	sender, err := lifecycle.NewSender(req.Channel, req.Address)
	if err != nil {
		return reply{}, err
	}
	sess, err := who.m.Route(ctx(r), sender, req.EndUser)
	if err != nil {
		return reply{}, err
	}
	return ok(session(sess))
}

func (s *Server) closeSession(r *http.Request, who caller) (reply, error) {
	id, err := sessionID(r)
	if err != nil {
		return reply{}, err
	}
	if err := s.decode(r, &emptyRequest{}, bodyMayBeEmpty); err != nil {
		return reply{}, err
	}
	sess, err := who.m.CloseSession(ctx(r), id)
	if err != nil {
		return reply{}, err
	}
	return ok(session(sess))
}

// --- the hosting service acting as the system (R19) ------------------------

type systemRequest struct {
	// Reason is audited; required, at most 500 characters.
	Reason string `json:"reason"`
	// Grace applies to deactivation only.
	Grace string `json:"grace,omitempty"`
}

func (s *Server) systemActor(r *http.Request, withGrace bool) (lifecycle.Actor, time.Duration, error) {
	var req systemRequest
	if err := s.decode(r, &req, bodyRequired); err != nil {
		return lifecycle.Actor{}, 0, err
	}
	if strings.TrimSpace(req.Reason) == "" || len([]rune(req.Reason)) > 500 {
		return lifecycle.Actor{}, 0, &lifecycle.InputError{Field: "reason", Value: trunc(req.Reason), Problem: "must be 1 to 500 characters: it is audited"}
	}
	if !withGrace && req.Grace != "" {
		return lifecycle.Actor{}, 0, &lifecycle.InputError{Field: "grace", Value: trunc(req.Grace), Problem: "applies to deactivation only; leave it out"}
	}
	grace, err := parseDuration("grace", req.Grace)
	return lifecycle.System(req.Reason), grace, err
}

func (s *Server) systemDeactivate(r *http.Request, who caller) (reply, error) {
	id, err := botID(r)
	if err != nil {
		return reply{}, err
	}
	actor, grace, err := s.systemActor(r, true)
	if err != nil {
		return reply{}, err
	}
	p, err := who.m.Apply(ctx(r), actor, lifecycle.Deactivate{Bot: id, Grace: grace})
	if err != nil {
		return reply{}, err
	}
	return s.planReply(who, p, false, id)
}

func (s *Server) systemEndGrace(r *http.Request, who caller) (reply, error) {
	id, err := botID(r)
	if err != nil {
		return reply{}, err
	}
	actor, _, err := s.systemActor(r, false)
	if err != nil {
		return reply{}, err
	}
	p, err := who.m.Apply(ctx(r), actor, lifecycle.EndGrace{Bot: id})
	if err != nil {
		return reply{}, err
	}
	return s.planReply(who, p, false, id)
}

func (s *Server) expireDue(r *http.Request, who caller) (reply, error) {
	if err := s.decode(r, &emptyRequest{}, bodyMayBeEmpty); err != nil {
		return reply{}, err
	}
	e, err := who.m.ExpireDue(ctx(r))
	if err != nil {
		return reply{}, err
	}
	return ok(expiry(e))
}
