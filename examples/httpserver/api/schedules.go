package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/botlife/botlife/lifecycle"
)

// Schedules (R23): POST /schedules makes one, GET /schedules lists them in
// the order they were made (paged by seq), GET /schedules/{id} reads one and
// POST /schedules/{id}/cancel cancels a pending one. A schedule runs when
// ExpireDue (POST /system/expire-due) finds it due, as the user who made
// it. Time zones are read with time.LoadLocation: a program serving this
// API on hosts that may lack the tz database imports time/tzdata. A
// schedule whose stored zone this server does not know is shown with
// zone_unknown set and its local time in UTC, never silently in UTC.

// localLayout is a wall-clock time without an offset, read in a zone.
const localLayout = "2006-01-02T15:04:05"

// maxTimeText bounds the at and local strings (R21).
const maxTimeText = 64

// Schedule is an activation or a deactivation to run at an instant (R23).
type Schedule struct {
	ID  string `json:"id"`
	Seq uint64 `json:"seq"` // orders schedules by creation; 0 in a plan until stored
	// At is the instant it falls due, in UTC; Local the same instant in
	// Zone, with that zone's offset then.
	// A Zone stored by a server that took names that are not clean
	// ("Europe/./Berlin") is read as the name it cleans to, as path.Clean
	// cleans it ("Europe/Berlin"). A Zone that names no zone this server
	// knows, even cleaned, sets ZoneUnknown, and Local is then in UTC.
	At          string          `json:"at"`
	Zone        string          `json:"zone"`
	Local       string          `json:"local"`
	ZoneUnknown bool            `json:"zone_unknown,omitempty"`
	Action      ScheduledAction `json:"action"`
	// CreatedBy is the user who made it; it runs as them.
	CreatedBy string `json:"created_by"`
	CreatedAt string `json:"created_at"`
	Revision  uint64 `json:"revision"`
	// Status is pending, done, refused or canceled; RanAt when it ran or
	// was canceled; Outcome why it was refused.
	Status  string `json:"status"`
	RanAt   string `json:"ran_at,omitempty"`
	Outcome string `json:"outcome,omitempty"`
}

// ScheduledAction is the operation a schedule runs.
type ScheduledAction struct {
	Op      string   `json:"op"` // activate or deactivate
	Bot     string   `json:"bot"`
	Senders []Sender `json:"senders"` // empty: as the operation takes them by default
	// Decision and Ack are an activation's (R5, R4); Grace a
	// deactivation's grace period (R7).
	Decision string `json:"decision,omitempty"`
	Ack      *Ack   `json:"ack,omitempty"`
	Grace    string `json:"grace,omitempty"`
}

// Ack is an activation's acknowledgement of warnings (R4).
type Ack struct {
	Fingerprint string   `json:"fingerprint,omitempty"`
	Codes       []string `json:"codes"`
}

func schedule(sc lifecycle.Schedule) Schedule {
	a := sc.Action
	local, known := localTime(sc.At, sc.Zone)
	out := Schedule{ID: string(sc.ID), Seq: sc.Seq, At: timestamp(sc.At), Zone: sc.Zone, Local: local, ZoneUnknown: !known,
		Action:    ScheduledAction{Op: string(a.Op), Bot: string(a.Bot), Senders: senders(a.Senders)},
		CreatedBy: sc.CreatedBy, CreatedAt: timestamp(sc.CreatedAt), Revision: sc.Revision, Status: string(sc.Status),
		RanAt: timestamp(sc.RanAt), Outcome: sc.Outcome}
	switch a.Op {
	case lifecycle.OpActivate:
		out.Action.Decision = a.Decision
		if a.Ack.Fingerprint != "" || len(a.Ack.Codes) > 0 {
			out.Action.Ack = &Ack{Fingerprint: a.Ack.Fingerprint, Codes: append([]string{}, a.Ack.Codes...)}
		}
	case lifecycle.OpDeactivate:
		out.Action.Grace = a.Grace.String()
	}
	return out
}

// scheduleRequest is the body of POST /schedules: when, in one of two
// forms, and the operation, exactly one of activate and deactivate.
type scheduleRequest struct {
	// At is an RFC 3339 instant with its offset. With Zone, it is shown in
	// that zone.
	At string `json:"at"`
	// Local is a wall-clock time, "2026-12-01T02:00:00", in Zone (an IANA
	// name, required with Local), read with time.Date.
	Local string `json:"local"`
	Zone  string `json:"zone"`

	Bot        string             `json:"bot"`
	Activate   *activateRequest   `json:"activate"`
	Deactivate *deactivateRequest `json:"deactivate"`
}

// instant returns when the schedule falls due, in the zone it is shown in.
// A local time that a daylight-saving change skips or repeats is resolved
// as time.Date resolves it: with the offset of one side of the change
// (time.Date does not say which); the instant taken is fixed from then on
// and shown in the response.
func (req scheduleRequest) instant() (time.Time, error) {
	var loc *time.Location
	if req.Zone != "" {
		l, err := loadZone(req.Zone)
		if err != nil {
			return time.Time{}, err
		}
		loc = l
	}
	switch {
	case req.At != "" && req.Local != "":
		return time.Time{}, &lifecycle.InputError{Field: "at", Value: trunc(req.At), Problem: "and local are both given; give an instant (at) or a wall-clock time in a zone (local and zone)"}
	case req.At != "":
		t, err := parseTime("at", time.RFC3339, req.At, `is not an RFC 3339 time with an offset, such as "2026-12-01T02:00:00+01:00"`)
		if err != nil {
			return time.Time{}, err
		}
		if loc != nil {
			return t.In(loc), nil
		}
		return inOwnOffset(t), nil
	case req.Local != "":
		if loc == nil {
			return time.Time{}, &lifecycle.InputError{Field: "zone", Value: "", Problem: `is required with local; name an IANA time zone such as "Europe/Berlin"`}
		}
		w, err := parseTime("local", localLayout, req.Local, `is not a wall-clock time such as "2026-12-01T02:00:00" (no offset: the zone gives it)`)
		if err != nil {
			return time.Time{}, err
		}
		return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc), nil
	}
	return time.Time{}, &lifecycle.InputError{Field: "at", Value: "", Problem: "is required: give an instant (at) or a wall-clock time in a zone (local and zone)"}
}

func parseTime(field, layout, v, problem string) (time.Time, error) {
	if len(v) <= maxTimeText {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &lifecycle.InputError{Field: field, Value: trunc(v), Problem: problem}
}

// inOwnOffset returns t in a zone named by its offset ("+01:00"), or in
// UTC: never in the server's Local zone, which time.Parse picks when the
// offsets agree.
func inOwnOffset(t time.Time) time.Time {
	_, off := t.Zone()
	if off == 0 {
		return t.UTC()
	}
	return t.In(time.FixedZone(t.Format("-07:00"), off))
}

// zones caches the time zones loaded, by name: only clean names the tz
// database has, so it holds at most one entry per zone, and never more
// than maxZones.
var zones struct {
	sync.Mutex
	m map[string]*time.Location
}

// maxZones bounds the zones cached: the tz database has about 600.
const maxZones = 1024

// loadZone loads an IANA time zone named in a request. A name that is not
// clean - "Europe/./Berlin", "Europe//Berlin", "./UTC", which
// time.LoadLocation reads as the file they lead to - is refused: each is
// another name for one zone, without end, that a schedule would store and
// the cache keep.
func loadZone(name string) (*time.Location, error) {
	zones.Lock()
	l, ok := zones.m[name]
	zones.Unlock()
	if ok {
		return l, nil
	}
	bad := &lifecycle.InputError{Field: "zone", Value: trunc(name), Problem: `is not an IANA time zone name such as "Europe/Berlin" or "UTC"`}
	if name == "Local" || len(name) > maxID || !utf8.ValidString(name) || path.Clean(name) != name {
		return nil, bad
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, bad
	}
	zones.Lock()
	defer zones.Unlock()
	if zones.m == nil {
		zones.m = map[string]*time.Location{}
	}
	if len(zones.m) < maxZones {
		zones.m[name] = l
	}
	return l, nil
}

// localTime formats at in zone - an IANA name, an offset ("+01:00"), or
// a name that is not clean ("Europe/./Berlin", stored before such names
// were refused) read as the name it cleans to - and reports whether it
// knows the zone: an empty zone is UTC; any other (a name the tz
// database lacks, "Local") is not known, and at is formatted in UTC.
func localTime(at time.Time, zone string) (string, bool) {
	if zone == "" {
		return timestamp(at), true
	}
	if zone != "Local" {
		if l, err := loadZone(zone); err == nil {
			return at.In(l).Format(time.RFC3339Nano), true
		}
		if t, err := time.Parse("-07:00", zone); err == nil {
			_, off := t.Zone()
			return at.In(time.FixedZone(zone, off)).Format(time.RFC3339Nano), true
		}
		if clean := path.Clean(zone); clean != zone && clean != "Local" {
			if l, err := loadZone(clean); err == nil {
				return at.In(l).Format(time.RFC3339Nano), true
			}
		}
	}
	return timestamp(at), false
}

// command returns the operation the request schedules.
func (req scheduleRequest) command() (lifecycle.Schedulable, error) {
	if req.Bot == "" || len(req.Bot) > maxID {
		return nil, &lifecycle.InputError{Field: "bot", Value: "", Problem: fmt.Sprintf("must be a bot id of 1 to %d bytes", maxID)}
	}
	id := lifecycle.BotID(req.Bot)
	switch {
	case req.Activate != nil && req.Deactivate == nil:
		a, err := req.Activate.command(id)
		if err != nil {
			return nil, err
		}
		return a, nil
	case req.Deactivate != nil && req.Activate == nil:
		d, err := req.Deactivate.command(id)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	return nil, &lifecycle.InputError{Field: "operation", Value: "", Problem: "must be exactly one of activate and deactivate"}
}

// newScheduleID draws a schedule id such as "sched_3f2a9c0d1e4b".
func newScheduleID() lifecycle.ScheduleID {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return lifecycle.ScheduleID("sched_" + hex.EncodeToString(b[:]))
}

// scheduleReply answers a schedule; a new one with 201 and Location.
func scheduleReply(status int, sc lifecycle.Schedule) (reply, error) {
	rep := reply{status: status, body: schedule(sc), header: http.Header{}}
	if status == http.StatusCreated {
		rep.header.Set("Location", "/schedules/"+url.PathEscape(string(sc.ID)))
	}
	return rep, nil
}

func (s *Server) createSchedule(r *http.Request, who caller) (reply, error) {
	var req scheduleRequest
	if err := s.decode(r, &req, bodyRequired); err != nil {
		return reply{}, err
	}
	at, err := req.instant()
	if err != nil {
		return reply{}, err
	}
	cmd, err := req.command()
	if err != nil {
		return reply{}, err
	}
	id := newScheduleID()
	p, dry, err := s.change(r, who, lifecycle.CreateSchedule{ID: id, At: at, Do: cmd}, "")
	if err != nil || dry {
		return s.dryRunOr(who, p, err)
	}
	// As stored, with its seq; a matrix that lets its maker schedule but
	// not read schedules (P4) gets it as planned.
	sc, err := who.m.GetSchedule(ctx(r), who.user(), id)
	if err != nil {
		sc = p.Schedules[0].After
	}
	return scheduleReply(http.StatusCreated, sc)
}

// scheduleID reads the {id} path value.
func scheduleID(r *http.Request) (lifecycle.ScheduleID, error) {
	id := r.PathValue("id")
	if len(id) > maxID {
		return "", &lifecycle.InputError{Field: "schedule id", Value: "", Problem: fmt.Sprintf("is longer than %d bytes; use the id of a schedule as GET /schedules lists it", maxID)}
	}
	return lifecycle.ScheduleID(id), nil
}

func (s *Server) getSchedule(r *http.Request, who caller) (reply, error) {
	id, err := scheduleID(r)
	if err != nil {
		return reply{}, err
	}
	sc, err := who.m.GetSchedule(ctx(r), who.user(), id)
	if err != nil {
		return reply{}, err
	}
	return scheduleReply(http.StatusOK, sc)
}

func (s *Server) cancelSchedule(r *http.Request, who caller) (reply, error) {
	id, err := scheduleID(r)
	if err != nil {
		return reply{}, err
	}
	if err := s.decode(r, &emptyRequest{}, bodyMayBeEmpty); err != nil {
		return reply{}, err
	}
	p, dry, err := s.change(r, who, lifecycle.CancelSchedule{ID: id}, "")
	if err != nil || dry {
		return s.dryRunOr(who, p, err)
	}
	for _, c := range p.Schedules {
		if c.After.ID == id {
			return scheduleReply(http.StatusOK, c.After)
		}
	}
	return reply{}, fmt.Errorf("canceling schedule %s: the plan has no schedule", id)
}

func (s *Server) listSchedules(r *http.Request, who caller) (reply, error) {
	return seqPage(r, func(after uint64, limit int) ([]lifecycle.Schedule, error) {
		return who.m.Schedules(ctx(r), who.user(), after, limit)
	}, schedule, func(x Schedule) uint64 { return x.Seq })
}
