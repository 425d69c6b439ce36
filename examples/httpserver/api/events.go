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
// Seq order, none skipped. A client resumes after a disconnect by sending
// the last id it handled as Last-Event-ID (EventSource does that by itself)
// or as ?after=N; delivery is at least once, so consumers dedupe by id. A
// comment line every Config.Heartbeat keeps idle connections open. Needs
// "View audit log". The stream is the principal's workspace's log only
// (R27).
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	who, err := s.authenticate(w, r, s.users)
	if err != nil {
		s.writeProblem(w, r, err)
		return
	}
	after, err := eventsAfter(r)
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
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's WriteTimeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, ": botlife audit stream\nretry: 2000\n\n"); err != nil {
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
			if it.err != nil {
				s.log.ErrorContext(ctx, "event stream failed", "err", it.err)
				data, _ := json.Marshal(problemOf(it.err))
				fmt.Fprintf(&buf, "event: error\ndata: %s\n\n", data)
			} else {
				data, err := json.Marshal(auditEntry(it.e))
				if err != nil {
					s.log.ErrorContext(ctx, "event stream failed", "err", err)
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

// eventsAfter reads where a stream starts: Last-Event-ID, else ?after, else
// the beginning.
func eventsAfter(r *http.Request) (uint64, error) {
	v, field := r.Header.Get("Last-Event-ID"), "Last-Event-ID"
	if v == "" {
		v, field = r.URL.Query().Get("after"), "after"
	}
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, &lifecycle.InputError{Field: field, Value: trunc(v), Problem: "is not an event id; send the id of the last event handled"}
	}
	return n, nil
}
