package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// events streams the audit log as Server-Sent Events (R24): one event per
// entry, its id the entry's Seq and its data the entry as JSON, exactly in
// Seq order, none skipped. Without Last-Event-ID or ?after the stream starts
// at now: with the first change committed after it opened; ?after=0
// replays the log from its start. A client resumes after a disconnect by
// sending the last id it handled as Last-Event-ID (EventSource does that by
// itself) or as ?after=N; delivery is at least once, so consumers dedupe
// by id. An id past the workspace's last event is refused (400
// invalid-input naming the last) before the stream starts; the last itself
// waits for the next. The stream opens with a block that has an id and no data - the
// Seq it starts after - so that EventSource, which dispatches no event for
// it, reconnects from there even when the connection is cut before a first
// event (else the reconnect would start at a new now, skipping what was
// committed in between). A
// comment line every Config.Heartbeat keeps idle connections open. Needs
// "View audit log", checked again before each entry that changes the
// user's roles: once the user may no longer view the log, the stream sends
// an error event instead and ends (P2). The stream is
// the principal's workspace's log only (R27).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	who, err := s.authenticate(w, r, authBy{s.users, KindUser})
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	r = withWorkspace(r, who)
	who.ctx = r.Context()
	after, field, err := eventsAfter(r)
	if err == nil {
		err = knownQuery(r)
	}
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	actor := who.user()
	// Check the permission before the stream starts, so a refusal is a
	// problem answer and not an event (Watch checks it again).
	if _, err := who.m.AuditLog(ctx(r), actor, after, 1); err != nil {
		s.writeProblem(w, r, err)
		return
	}
	// Without an id the stream starts after the last event; an id past
	// it - a store restored from a backup, an id of another workspace's
	// stream - is refused before the stream starts, rather than waited on
	// in silence until this log catches up with it. The log only grows,
	// so an id the check passes is never past the last later.
	last, err := lastSeq(r, who, actor)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	switch {
	case field == "":
		after = last
	case after > last:
		s.writeProblem(w, r, &lifecycle.InputError{Field: field, Value: strconv.FormatUint(after, 10),
			Problem: fmt.Sprintf("is past the last event, %d, of this workspace's log (an id of another workspace, or of a log before a restore?); "+
				"send the id of the last event handled, or none to start at now", last)})
		return
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's WriteTimeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead { // the headers a GET would get, and no stream to hold open
		return
	}
	if _, err := fmt.Fprintf(w, ": botlife audit stream after event %d\nid: %d\nretry: 2000\n\n", after, after); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}

	type item struct {
		e   lifecycle.AuditEntry
		err error
	}
	ctx := r.Context()
	items := make(chan item)
	go func() {
		defer close(items)
		for e, err := range who.m.Watch(ctx, actor, after) {
			select {
			case items <- item{e, err}:
			case <-ctx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()
	// stillAllowed checks "View audit log" again (P2: a role change takes
	// effect on the next operation; Watch checks after each read of the
	// log) before an entry that changes the user's roles - every role
	// change is one (R16). A refusal is audited (R16) and ends the stream
	// with an error event.
	stillAllowed := func() error {
		_, err := who.m.AuditLog(ctx, actor, 0, 1)
		return err
	}
	refused := func(err error) {
		data, _ := json.Marshal(problemOf(err))
		fmt.Fprintf(w, "event: error\ndata: %s\n\n", data)
		_ = rc.Flush()
	}
	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	var buf bytes.Buffer
	for {
		buf.Reset()
		select {
		case <-ctx.Done():
			for range items {
			}
			return
		case <-tick.C:
			buf.WriteString(": keep-alive\n\n")
		case it, open := <-items:
			if !open {
				return
			}
			if it.err == nil && it.e.User == actor.ID && (it.e.Action == lifecycle.OpGrantRole || it.e.Action == lifecycle.OpRevokeRole) {
				if err := stillAllowed(); err != nil {
					refused(err)
					return
				}
			}
			if it.err != nil {
				s.log.ErrorContext(ctx, "event stream failed", append(logWorkspace(r.Context()), "err", it.err)...)
				data, _ := json.Marshal(problemOf(it.err))
				fmt.Fprintf(&buf, "event: error\ndata: %s\n\n", data)
			} else {
				data, err := json.Marshal(auditEntry(it.e))
				if err != nil {
					s.log.ErrorContext(ctx, "event stream failed", append(logWorkspace(r.Context()), "err", err)...)
					return
				}
				fmt.Fprintf(&buf, "id: %d\nevent: audit\ndata: %s\n\n", it.e.Seq, data)
			}
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// eventsAfter reads where a stream starts: Last-Event-ID, else ?after;
// field names the one sent, and is empty when neither is.
func eventsAfter(r *http.Request) (after uint64, field string, err error) {
	v, field := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if v == "" {
		v, field = r.URL.Query().Get("after"), "after"
	}
	if v == "" {
		return 0, "", nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, field, &lifecycle.InputError{Field: field, Value: trunc(v), Problem: "is not an event id; send the id of the last event handled"}
	}
	return n, field, nil
}

// lastSeq finds the Seq of the workspace's last audit entry - where a
// stream that starts at now starts - in a few reads of one entry each
// (doubling, then bisecting): "is there an entry after n" holds exactly
// for n below the last Seq.
func lastSeq(r *http.Request, who caller, actor lifecycle.Actor) (uint64, error) {
	after := func(n uint64) (uint64, bool, error) {
		es, err := who.m.AuditLog(ctx(r), actor, n, 1)
		if err != nil || len(es) == 0 {
			return 0, false, err
		}
		return es[0].Seq, true, nil
	}
	lo, hi := uint64(0), uint64(1) // the last Seq is at least lo
	for {
		seq, ok, err := after(hi)
		if err != nil {
			return 0, err
		}
		if !ok {
			break // the last Seq is in [lo, hi]
		}
		lo, hi = seq, 2*seq
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		seq, ok, err := after(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = seq // > mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}
