package api

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// Dry-run plans are kept so that a client can apply exactly the plan it
// saw (R17): a dry run answers the plan with an id and Location
// /plans/{id}; POST /plans/{id}/apply commits that plan through
// Manager.ApplyPlan - the same ids, changes and audit entries - or answers
// 409 conflict when the bots or roles it read have moved. A plan that opens
// a test session (R26) answers the test session, 201 with Location. Only
// the user who made the plan may apply it, once, and only in the workspace
// they made it in (R27): a plan id of another user or workspace is not
// found. Plans are kept in the Config.Keeper, encoded (so another replica
// sharing it may apply them), each for the Manager's Policy.MaxPlanAge. An
// apply that fails with a 5xx (the store out of reach: retry later) keeps
// the plan for the retry. A
// plan the Keeper's bounds refuse is answered without id and Location: it
// cannot be applied; make the change again without dry_run.

// keptPlan is a plan as kept: the plan (its JSON form, which leaves out
// the command) and its command. ApplyPlan compares the plan it decides
// again with the kept one value for value, so decoding must give back the
// very values: Empty lists the empty slices and maps that JSON writes as
// absent, to make them empty again rather than nil.
type keptPlan struct {
	Plan    lifecycle.Plan `json:"plan"`
	Command keptCommand    `json:"command"`
	Empty   [][]int        `json:"empty,omitempty"`
}

// empties appends to out the path (field and element indices) of each
// empty, non-nil slice or map in v, exported fields only; it does not
// enter interfaces (the command is kept apart).
func empties(v reflect.Value, path []int, out *[][]int) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			empties(v.Elem(), path, out)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				empties(v.Field(i), append(path, i), out)
			}
		}
	case reflect.Slice, reflect.Map:
		if !v.IsNil() && v.Len() == 0 {
			*out = append(*out, slices.Clone(path))
		}
		if v.Kind() == reflect.Slice {
			for i := range v.Len() {
				empties(v.Index(i), append(path, i), out)
			}
		}
	}
}

// unempty makes the nil slice or map at path in v empty.
func unempty(v reflect.Value, path []int) error {
	for _, i := range path {
		for v.Kind() == reflect.Pointer && !v.IsNil() {
			v = v.Elem()
		}
		switch {
		case v.Kind() == reflect.Struct && i < v.NumField():
			v = v.Field(i)
		case v.Kind() == reflect.Slice && i < v.Len():
			v = v.Index(i)
		default:
			return errors.New("an empty value's path does not match the plan")
		}
	}
	switch {
	case v.Kind() == reflect.Slice && v.IsNil() && v.CanSet():
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
	case v.Kind() == reflect.Map && v.IsNil() && v.CanSet():
		v.Set(reflect.MakeMap(v.Type()))
	}
	return nil
}

// keptCommand is a lifecycle.Command as data: exactly one field is set.
// Decisions, which have no JSON form, are kept as Decision.String writes
// them.
type keptCommand struct {
	Create          *lifecycle.Create           `json:"create,omitempty"`
	Import          *lifecycle.Import           `json:"import,omitempty"`
	Update          *lifecycle.Update           `json:"update,omitempty"`
	Delete          *lifecycle.Delete           `json:"delete,omitempty"`
	Duplicate       *lifecycle.Duplicate        `json:"duplicate,omitempty"`
	Activate        *lifecycle.ScheduledAction  `json:"activate,omitempty"`
	Deactivate      *lifecycle.Deactivate       `json:"deactivate,omitempty"`
	EndGrace        *lifecycle.EndGrace         `json:"end_grace,omitempty"`
	Rollback        *lifecycle.ScheduledAction  `json:"rollback,omitempty"`
	GrantRole       *lifecycle.GrantRole        `json:"grant_role,omitempty"`
	RevokeRole      *lifecycle.RevokeRole       `json:"revoke_role,omitempty"`
	Schedule        *keptSchedule               `json:"schedule,omitempty"`
	CancelSchedule  *lifecycle.CancelSchedule   `json:"cancel_schedule,omitempty"`
	OpenTestSession *lifecycle.OpenTestSession  `json:"open_test_session,omitempty"`
	CloseTest       *lifecycle.CloseTestSession `json:"close_test_session,omitempty"`
}

type keptSchedule struct {
	ID         lifecycle.ScheduleID       `json:"id"`
	At         time.Time                  `json:"at"`
	Activate   *lifecycle.ScheduledAction `json:"activate,omitempty"`
	Deactivate *lifecycle.Deactivate      `json:"deactivate,omitempty"`
}

func activation(a lifecycle.Activate) *lifecycle.ScheduledAction {
	return &lifecycle.ScheduledAction{Op: lifecycle.OpActivate, Bot: a.Bot, Senders: a.Senders, Decision: a.Decision.String(), Ack: a.Ack}
}

func fromActivation(a *lifecycle.ScheduledAction) (lifecycle.Activate, error) {
	d, err := lifecycle.ParseDecision(a.Decision)
	return lifecycle.Activate{Bot: a.Bot, Decision: d, Ack: a.Ack, Senders: a.Senders}, err
}

// encodePlan encodes p, its command included.
func encodePlan(p lifecycle.Plan) ([]byte, error) {
	k := keptPlan{Plan: p}
	empties(reflect.ValueOf(p), nil, &k.Empty)
	c := &k.Command
	switch cmd := p.Command.(type) {
	case lifecycle.Create:
		c.Create = &cmd
	case lifecycle.Import:
		c.Import = &cmd
	case lifecycle.Update:
		c.Update = &cmd
	case lifecycle.Delete:
		c.Delete = &cmd
	case lifecycle.Duplicate:
		c.Duplicate = &cmd
	case lifecycle.Activate:
		c.Activate = activation(cmd)
	case lifecycle.Deactivate:
		c.Deactivate = &cmd
	case lifecycle.EndGrace:
		c.EndGrace = &cmd
	case lifecycle.Rollback:
		c.Rollback = activation(lifecycle.Activate{Bot: cmd.Bot, Decision: cmd.Decision, Ack: cmd.Ack})
	case lifecycle.GrantRole:
		c.GrantRole = &cmd
	case lifecycle.RevokeRole:
		c.RevokeRole = &cmd
	case lifecycle.CreateSchedule:
		c.Schedule = &keptSchedule{ID: cmd.ID, At: cmd.At}
		switch do := cmd.Do.(type) {
		case lifecycle.Activate:
			c.Schedule.Activate = activation(do)
		case lifecycle.Deactivate:
			c.Schedule.Deactivate = &do
		default:
			return nil, fmt.Errorf("a plan schedules a %T, which cannot be kept", cmd.Do)
		}
	case lifecycle.CancelSchedule:
		c.CancelSchedule = &cmd
	case lifecycle.OpenTestSession:
		c.OpenTestSession = &cmd
	case lifecycle.CloseTestSession:
		c.CloseTest = &cmd
	default:
		return nil, fmt.Errorf("a plan of a %T cannot be kept", p.Command)
	}
	return json.Marshal(k)
}

// decodePlan decodes what encodePlan encoded.
func decodePlan(b []byte) (lifecycle.Plan, error) {
	var k keptPlan
	if err := json.Unmarshal(b, &k); err != nil {
		return lifecycle.Plan{}, fmt.Errorf("a kept plan does not decode: %w", err)
	}
	c, p := k.Command, &k.Plan
	var err error
	for _, path := range k.Empty {
		if err = unempty(reflect.ValueOf(p).Elem(), path); err != nil {
			return lifecycle.Plan{}, fmt.Errorf("a kept plan does not decode: %w", err)
		}
	}
	switch {
	case c.Create != nil:
		p.Command = *c.Create
	case c.Import != nil:
		p.Command = *c.Import
	case c.Update != nil:
		p.Command = *c.Update
	case c.Delete != nil:
		p.Command = *c.Delete
	case c.Duplicate != nil:
		p.Command = *c.Duplicate
	case c.Activate != nil:
		p.Command, err = fromActivation(c.Activate)
	case c.Deactivate != nil:
		p.Command = *c.Deactivate
	case c.EndGrace != nil:
		p.Command = *c.EndGrace
	case c.Rollback != nil:
		var a lifecycle.Activate
		a, err = fromActivation(c.Rollback)
		p.Command = lifecycle.Rollback{Bot: a.Bot, Decision: a.Decision, Ack: a.Ack}
	case c.GrantRole != nil:
		p.Command = *c.GrantRole
	case c.RevokeRole != nil:
		p.Command = *c.RevokeRole
	case c.Schedule != nil && c.Schedule.Activate != nil:
		var a lifecycle.Activate
		a, err = fromActivation(c.Schedule.Activate)
		p.Command = lifecycle.CreateSchedule{ID: c.Schedule.ID, At: c.Schedule.At, Do: a}
	case c.Schedule != nil && c.Schedule.Deactivate != nil:
		p.Command = lifecycle.CreateSchedule{ID: c.Schedule.ID, At: c.Schedule.At, Do: *c.Schedule.Deactivate}
	case c.CancelSchedule != nil:
		p.Command = *c.CancelSchedule
	case c.OpenTestSession != nil:
		p.Command = *c.OpenTestSession
	case c.CloseTest != nil:
		p.Command = *c.CloseTest
	default:
		err = errors.New("no command")
	}
	if err != nil {
		return lifecycle.Plan{}, fmt.Errorf("a kept plan does not decode: %w", err)
	}
	return *p, nil
}

// dryRunReply answers a dry run's plan with its id and Location, or
// without them when the Keeper does not keep it.
func (s *Server) dryRunReply(who caller, p lifecycle.Plan) (reply, error) {
	b, err := encodePlan(p)
	if err != nil {
		return reply{}, err
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	out := plan(p, true)
	out.ID = "plan_" + hex.EncodeToString(id[:])
	now := s.m.Now()
	kctx, cancel := s.detached(who.ctx)
	defer cancel()
	err = s.keep.KeepPlan(kctx, who.scope(), out.ID, b, now, now.Add(s.m.Policy().MaxPlanAge))
	rep := reply{status: http.StatusOK, body: &out, header: http.Header{}}
	switch {
	case errors.Is(err, ErrNotKept):
		s.log.WarnContext(who.ctx, "dry-run plan not kept", append(logWorkspace(who.ctx), "bytes", len(b), "err", err)...)
		out.ID = ""
	case err != nil:
		return reply{}, s.keeperLate(kctx, err, "keeping the dry run's plan")
	default:
		rep.header.Set("Location", "/plans/"+url.PathEscape(out.ID))
	}
	return rep, nil
}

// applyKeptPlan is POST /plans/{id}/apply.
func (s *Server) applyKeptPlan(r *http.Request, who caller) (reply, error) {
	if err := s.decode(r, &emptyRequest{}, bodyMayBeEmpty); err != nil {
		return reply{}, err
	}
	id := r.PathValue("id")
	kctx, cancel := s.bounded(ctx(r))
	b, err := s.keep.TakePlan(kctx, who.scope(), id, s.m.Now())
	err = s.keeperLate(kctx, err, "reading the plan")
	cancel()
	if err != nil {
		return reply{}, err
	}
	if b == nil {
		return reply{}, fmt.Errorf("plan %s %w: a plan is applied once, and kept for %v after its dry run; "+
			"check the id, or make the dry run again", trunc(id), lifecycle.ErrNotFound, s.m.Policy().MaxPlanAge)
	}
	p, err := decodePlan(b)
	if err != nil {
		return reply{}, err
	}
	// A failure that is no answer about the plan - the store out of reach,
	// the request canceled or timed out (5xx: retry later) - keeps the plan
	// for the retry; a conflict (409) is final: plan again.
	keepOnFailure := func(err error) error {
		if errors.Is(err, lifecycle.ErrConflict) {
			// The plan is used up and the world moved past it: plan again,
			// no retry of this request can succeed.
			return &finalError{err}
		}
		if problemOf(err).Status >= 500 {
			if expires := p.Time.Add(s.m.Policy().MaxPlanAge); expires.After(s.m.Now()) {
				kctx, cancel := s.detached(ctx(r))
				defer cancel()
				if kerr := s.keep.KeepPlan(kctx, who.scope(), id, b, s.m.Now(), expires); kerr != nil {
					s.log.WarnContext(ctx(r), "dry-run plan not kept again after a failed apply", append(logWorkspace(ctx(r)), "err", kerr)...)
				}
			}
		}
		return err
	}
	if open, ok := p.Command.(lifecycle.OpenTestSession); ok {
		// The plan opens a test session (R26): answer it, as opening does.
		ts, err := who.m.ApplyTestPlan(ctx(r), p)
		if err != nil {
			return reply{}, keepOnFailure(openConflict(open.Bot, err))
		}
		return testSessionCreated(ts)
	}
	committed, err := who.m.ApplyPlan(ctx(r), p)
	if err != nil {
		return reply{}, keepOnFailure(err)
	}
	out := reply{status: http.StatusOK, body: plan(committed, false), header: http.Header{}}
	if b, ok := committed.Bot(planTarget(committed)); ok {
		out.header.Set("ETag", etag(b.Revision))
	}
	return out, nil
}

// planTarget is the bot a plan's command acts on - the one whose ETag the
// same request made without dry_run answers - or the bot it creates; ""
// when it acts on none. It is not the plan's first change: an activation
// changes the bot it replaces first.
func planTarget(p lifecycle.Plan) lifecycle.BotID {
	switch cmd := p.Command.(type) {
	case lifecycle.Update:
		return cmd.Bot
	case lifecycle.Activate:
		return cmd.Bot
	case lifecycle.Deactivate:
		return cmd.Bot
	case lifecycle.EndGrace:
		return cmd.Bot
	case lifecycle.Rollback:
		return cmd.Bot
	case lifecycle.Create, lifecycle.Import, lifecycle.Duplicate:
		for _, c := range p.Changes {
			if c.From == 0 && c.After != nil {
				return c.Bot
			}
		}
	}
	return ""
}
