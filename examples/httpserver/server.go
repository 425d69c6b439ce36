package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/botlife/botlife/roles"
	"github.com/botlife/botlife/validate"
)

// ActorHeader names the user making a request. This is demo-only
// authentication: a real service takes the user from its own authentication
// and never trusts a header set by the client.
const ActorHeader = "X-Botlife-User"

// maxBody bounds every request body.
const maxBody = 2 << 20

type server struct {
	m   *lifecycle.Manager
	log *slog.Logger
}

// newServer returns the JSON API over m.
func newServer(m *lifecycle.Manager, log *slog.Logger) http.Handler {
	s := &server{m: m, log: log}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /bots", s.create)
	mux.HandleFunc("GET /bots", s.list)
	mux.HandleFunc("POST /bots/import", s.importBot)
	mux.HandleFunc("GET /bots/{id}", s.get)
	mux.HandleFunc("PATCH /bots/{id}", s.update)
	mux.HandleFunc("DELETE /bots/{id}", s.delete)
	mux.HandleFunc("POST /bots/{id}/activate", s.activate)
	mux.HandleFunc("POST /bots/{id}/deactivate", s.deactivate)
	mux.HandleFunc("POST /bots/{id}/duplicate", s.duplicate)
	mux.HandleFunc("GET /bots/{id}/export", s.export)
	mux.HandleFunc("POST /route", s.route)
	mux.HandleFunc("GET /audit", s.audit)
	return mux
}

// errorBody is every error response.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	// Findings are the validation errors or unacknowledged warnings.
	Findings    []validate.Finding   `json:"findings,omitempty"`
	Fingerprint string               `json:"fingerprint,omitempty"`
	Occupants   []lifecycle.Occupant `json:"occupants,omitempty"`
}

// statusOf maps botlife's sentinels to HTTP statuses.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, lifecycle.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, lifecycle.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, lifecycle.ErrNoBot):
		return http.StatusNotFound, "no_bot"
	case errors.Is(err, lifecycle.ErrSenderOccupied):
		return http.StatusConflict, "sender_occupied"
	case errors.Is(err, lifecycle.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, lifecycle.ErrInvalidTransition):
		return http.StatusConflict, "invalid_transition"
	case errors.Is(err, lifecycle.ErrNotEditable):
		return http.StatusConflict, "not_editable"
	case errors.Is(err, lifecycle.ErrNotDeletable):
		return http.StatusConflict, "not_deletable"
	case errors.Is(err, lifecycle.ErrValidation):
		return http.StatusUnprocessableEntity, "validation_failed"
	case errors.Is(err, lifecycle.ErrWarningsNotAcknowledged):
		return http.StatusUnprocessableEntity, "warnings_not_acknowledged"
	case errors.Is(err, lifecycle.ErrInvalidInput), errors.Is(err, roles.ErrUnknownRole),
		errors.Is(err, roles.ErrRoleHeld), errors.Is(err, roles.ErrRoleNotHeld), errors.Is(err, lifecycle.ErrLastAdmin):
		return http.StatusBadRequest, "invalid_input"
	}
	return http.StatusInternalServerError, "internal"
}

func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code := statusOf(err)
	body := errorBody{Error: err.Error(), Code: code}
	var ve *validate.ValidationError
	var we *lifecycle.WarningsError
	var oe *lifecycle.OccupiedError
	switch {
	case errors.As(err, &ve):
		body.Findings = ve.Findings
	case errors.As(err, &we):
		body.Findings, body.Fingerprint = we.Unacknowledged, we.Report.Fingerprint()
	case errors.As(err, &oe):
		body.Occupants = oe.Occupants
	}
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		body.Error = "internal error"
	} else {
		s.log.InfoContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "status", status, "code", code)
	}
	s.reply(w, r, status, body)
}

// reply writes v as JSON with status, or a 500 if v cannot be encoded.
func (s *server) reply(w http.ResponseWriter, r *http.Request, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		s.log.ErrorContext(r.Context(), "encoding the response failed", "path", r.URL.Path, "err", err)
		status = http.StatusInternalServerError
		buf.Reset()
		buf.WriteString(`{"error":"internal error","code":"internal"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// actor reads the demo-only actor header.
func actor(r *http.Request) (lifecycle.Actor, error) {
	user := r.Header.Get(ActorHeader)
	if user == "" {
		return lifecycle.Actor{}, &lifecycle.InputError{Field: ActorHeader, Value: "", Problem: "header is missing; say who you are (demo-only authentication)"}
	}
	return lifecycle.User(user), nil
}

// decode reads a JSON body strictly into v: at most maxBody bytes, one
// object, no unknown fields.
func decode(r *http.Request, w http.ResponseWriter, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &lifecycle.InputError{Field: "request body", Value: "", Problem: fmt.Sprintf("is not valid JSON for this call: %v", err)}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &lifecycle.InputError{Field: "request body", Value: "", Problem: "has data after the JSON object"}
	}
	return nil
}

type createRequest struct {
	Name        string              `json:"name"`
	Description string              `json:"description"`
	Channel     string              `json:"channel"`
	Senders     []lifecycle.Sender  `json:"senders"`
	Definition  validate.Definition `json:"definition"`
	IdleTimeout string              `json:"idle_timeout"`
}

func parseDuration(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, &lifecycle.InputError{Field: field, Value: s, Problem: "is not a duration; use a form such as \"15m\""}
	}
	return d, nil
}

// with runs h with the request's actor, turning errors into responses.
func (s *server) with(w http.ResponseWriter, r *http.Request, h func(lifecycle.Actor) (int, any, error)) {
	a, err := actor(r)
	if err != nil {
		s.reply(w, r, http.StatusUnauthorized, errorBody{Error: err.Error(), Code: "unauthenticated"})
		return
	}
	status, v, err := h(a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, status, v)
}

func (s *server) create(w http.ResponseWriter, r *http.Request) {
	s.with(w, r, func(a lifecycle.Actor) (int, any, error) {
		var req createRequest
		if err := decode(r, w, &req); err != nil {
			return 0, nil, err
		}
		idle, err := parseDuration("idle_timeout", req.IdleTimeout)
		if err != nil {
			return 0, nil, err
		}
		b, err := s.m.Create(r.Context(), a, lifecycle.Create{Name: req.Name, Description: req.Description, Channel: req.Channel,
			Senders: req.Senders, Definition: req.Definition, IdleTimeout: idle})
		return http.StatusCreated, b, err
	})
}

func (s *server) list(w http.ResponseWriter, r *http.Request) {
	s.with(w, r, func(a lifecycle.Actor) (int, any, error) {
		limit := 100
		if v := r.URL.Query().Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return 0, nil, &lifecycle.InputError{Field: "limit", Value: v, Problem: "is not a number"}
			}
			limit = n
		}
		list, err := s.m.List(r.Context(), a, lifecycle.BotID(r.URL.Query().Get("after")), limit)
		return http.StatusOK, list, err
	})
}

func (s *server) get(w http.ResponseWriter, r *http.Request) {
	s.with(w, r, func(a lifecycle.Actor) (int, any, error) {
		b, err := s.m.Get(r.Context(), a, lifecycle.BotID(r.PathValue("id")))
		return http.StatusOK, b, err
	})
}

type updateRequest struct {
	Name        *string              `json:"name"`
	Description *string              `json:"description"`
	Senders     *[]lifecycle.Sender  `json:"senders"`
	Definition  *validate.Definition `json:"definition"`
	IdleTimeout *string              `json:"idle_timeout"`
}

func (s *server) update(w http.ResponseWriter, r *http.Request) {
	s.with(w, r, func(a lifecycle.Actor) (int, any, error) {
		var req updateRequest
		if err := decode(r, w, &req); err != nil {
			return 0, nil, err
		}
		u := lifecycle.Update{Bot: lifecycle.BotID(r.PathValue("id")), Name: req.Name, Description: req.Description, Senders: req.Senders, Definition: req.Definition}
		if req.IdleTimeout != nil {
			d, err := parseDuration("idle_timeout", *req.IdleTimeout)
			if err != nil {
				return 0, nil, err
			}
			u.IdleTimeout = &d
		}
		b, err := s.m.Update(r.Context(), a, u)
		return http.StatusOK, b, err
	})
}

func (s *server) delete(w http.ResponseWriter, r *http.Request) {
	s.with(w, r, func(a lifecycle.Actor) (int, any, error) {
		err := s.m.Delete(r.Context(), a, lifecycle.BotID(r.PathValue("id")))
		return http.StatusOK, map[string]string{"deleted": r.PathValue("id")}, err
	})
}

// activateRequest is the body of POST /bots/{id}/activate.
type activateRequest struct {
	// Decision is "", "immediate" or "grace:<duration>".
	Decision string        `json:"decision"`
	Ack      lifecycle.Ack `json:"ack"`
	DryRun   bool          `json:"dry_run"`
}

// decodeActivate parses an activation request body.
func decodeActivate(body io.Reader) (lifecycle.Decision, lifecycle.Ack, bool, error) {
	dec := json.NewDecoder(io.LimitReader(body, maxBody))
	dec.DisallowUnknownFields()
	var req activateRequest
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		return lifecycle.Decision{}, lifecycle.Ack{}, false, &lifecycle.InputError{Field: "request body", Value: "", Problem: fmt.Sprintf("is not a valid activation request: %v", err)}
	}
	d, err := lifecycle.ParseDecision(req.Decision)
	return d, req.Ack, req.DryRun, err
}

func (s *server) activate(w http.ResponseWriter, r *http.Request) {
	s.with(w, r, func(a lifecycle.Actor) (int, any, error) {
		dec, ack, dry, err := decodeActivate(r.Body)
		if err != nil {
			return 0, nil, err
		}
		cmd := lifecycle.Activate{Bot: lifecycle.BotID(r.PathValue("id")), Decision: dec, Ack: ack}
		if dry {
			p, err := s.m.Plan(r.Context(), a, cmd)
			return http.StatusOK, p, err
		}
		p, err := s.m.Apply(r.Context(), a, cmd)
		return http.StatusOK, p, err
	})
}

type deactivateRequest struct {
	Grace string `json:"grace"`
}

func (s *server) deactivate(w http.ResponseWriter, r *http.Request) {
	s.with(w, r, func(a lifecycle.Actor) (int, any, error) {
		var req deactivateRequest
		if err := decode(r, w, &req); err != nil {
			return 0, nil, err
		}
		grace, err := parseDuration("grace", req.Grace)
		if err != nil {
			return 0, nil, err
		}
		p, err := s.m.Deactivate(r.Context(), a, lifecycle.BotID(r.PathValue("id")), grace)
		return http.StatusOK, p, err
	})
}

func (s *server) duplicate(w http.ResponseWriter, r *http.Request) {
	s.with(w, r, func(a lifecycle.Actor) (int, any, error) {
		var req struct {
			Name string `json:"name"`
		}
		if err := decode(r, w, &req); err != nil {
			return 0, nil, err
		}
		b, err := s.m.Duplicate(r.Context(), a, lifecycle.BotID(r.PathValue("id")), req.Name)
		return http.StatusCreated, b, err
	})
}

func (s *server) export(w http.ResponseWriter, r *http.Request) {
	a, err := actor(r)
	if err != nil {
		s.reply(w, r, http.StatusUnauthorized, errorBody{Error: err.Error(), Code: "unauthenticated"})
		return
	}
	doc, err := s.m.Export(r.Context(), a, lifecycle.BotID(r.PathValue("id")))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(doc)
}

func (s *server) importBot(w http.ResponseWriter, r *http.Request) {
	s.with(w, r, func(a lifecycle.Actor) (int, any, error) {
		data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return 0, nil, &lifecycle.InputError{Field: "request body", Value: "", Problem: fmt.Sprintf("could not be read: %v", err)}
		}
		b, err := s.m.Import(r.Context(), a, data)
		return http.StatusCreated, b, err
	})
}

type routeRequest struct {
	Channel string `json:"channel"`
	Address string `json:"address"`
	EndUser string `json:"end_user"`
}

// route is called by the messaging gateway, not by a user: it needs no actor.
func (s *server) route(w http.ResponseWriter, r *http.Request) {
	var req routeRequest
	if err := decode(r, w, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	sender, err := lifecycle.NewSender(req.Channel, req.Address)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sess, err := s.m.Route(r.Context(), sender, req.EndUser)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.reply(w, r, http.StatusOK, sess)
}

func (s *server) audit(w http.ResponseWriter, r *http.Request) {
	s.with(w, r, func(a lifecycle.Actor) (int, any, error) {
		var after uint64
		if v := r.URL.Query().Get("after"); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, nil, &lifecycle.InputError{Field: "after", Value: v, Problem: "is not a sequence number"}
			}
			after = n
		}
		log, err := s.m.AuditLog(r.Context(), a, after, 1000)
		return http.StatusOK, log, err
	})
}
