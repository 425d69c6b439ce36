package api

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// R17 and idempotency with a Keeper out of time: the 503 timeout problem
// keeperLate answers keeps what ended the call - the server's budget and
// the Keeper's own error - as its cause: the "request failed" log line
// names both, and errors.Is finds context.DeadlineExceeded and the
// Keeper's error, whatever error the Keeper returned. The answer is the
// same problem as without a cause: the cause is never shown.
func TestR17KeeperLateKeepsItsCause(t *testing.T) {
	driverErr := errors.New("conn closed while reading the reply")
	for _, tc := range []struct {
		name      string
		keeperErr error // what the Keeper call returned
	}{
		{name: "the Keeper returned its context's error", keeperErr: context.DeadlineExceeded},
		{name: "the Keeper returned an error of its own", keeperErr: driverErr},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log bytes.Buffer
			s := &Server{keepTime: -time.Nanosecond, log: slog.New(slog.NewTextHandler(&log, nil))}
			kctx, cancel := s.bounded(context.Background()) // a budget already spent
			defer cancel()
			if !errors.Is(context.Cause(kctx), errKeeperBudget) {
				t.Fatalf("the bounded context ended with %v, want the budget's end", context.Cause(kctx))
			}
			err := s.keeperLate(kctx, tc.keeperErr, "claiming the Idempotency-Key")

			want := problemOf(fail(probTimeout, "claiming the Idempotency-Key took longer than the server allows (-1ns); nothing changed: retry later"))
			if diff := cmp.Diff(want, problemOf(err)); diff != "" {
				t.Errorf("the problem answered (-want +got):\n%s", diff)
			}
			for _, target := range []error{context.DeadlineExceeded, errKeeperBudget, tc.keeperErr} {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false, want true", err, target)
				}
			}
			r := httptest.NewRequest("POST", "/bots", nil)
			if got := s.renderProblem(r, err).status; got != 503 {
				t.Errorf("status %d, want 503", got)
			}
			line := log.String()
			for _, part := range []string{`msg="request failed"`, errKeeperBudget.Error(), tc.keeperErr.Error()} {
				if !strings.Contains(line, part) {
					t.Errorf("the log line %q does not hold %q", line, part)
				}
			}
		})
	}
}

// keeperLate answers a Keeper call that did not run out of the server's
// budget with its own error, untouched: the request's cancellation, a
// kept nothing (ErrNotKept), another failure.
func TestR17KeeperLateLeavesOtherErrors(t *testing.T) {
	s := &Server{keepTime: time.Hour}
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	kctx, stop := s.bounded(gone)
	defer stop()
	other := errors.New("boom")
	for _, err := range []error{nil, context.Canceled, ErrNotKept, other} {
		if got := s.keeperLate(kctx, err, "x"); got != err {
			t.Errorf("keeperLate(canceled, %v) = %v, want it untouched", err, got)
		}
	}
}
