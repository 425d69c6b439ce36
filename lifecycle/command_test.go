package lifecycle_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
)

// R5: decisions parse from the forms String writes, and nothing else; a
// grace period must be positive.
func TestParseDecision(t *testing.T) {
	tests := []struct {
		in   string
		want lifecycle.Decision
		ok   bool
	}{
		{"", lifecycle.Decision{}, true},
		{"none", lifecycle.Decision{}, true},
		{" Immediate ", lifecycle.Immediate(), true},
		{"grace:15m", lifecycle.Grace(15 * time.Minute), true},
		{"grace:1ns", lifecycle.Grace(time.Nanosecond), true},
		{"grace:0s", lifecycle.Decision{}, false},
		{"grace:-1m", lifecycle.Decision{}, false},
		{"grace:soon", lifecycle.Decision{}, false},
		{"later", lifecycle.Decision{}, false},
	}
	for _, tt := range tests {
		t.Run("R5/"+tt.in, func(t *testing.T) {
			got, err := lifecycle.ParseDecision(tt.in)
			if (err == nil) != tt.ok || got != tt.want || (err != nil && !errors.Is(err, lifecycle.ErrInvalidInput)) {
				t.Fatalf("ParseDecision(%q) = %v, %v; want %v, ok = %v", tt.in, got, err, tt.want, tt.ok)
			}
			if tt.ok && tt.in != "" {
				back, err := lifecycle.ParseDecision(got.String())
				if err != nil || back != got {
					t.Errorf("ParseDecision(%q.String()) = %v, %v", got, back, err)
				}
			}
		})
	}
}

// R5, R21: a refused decision is quoted in its error by at most its first
// 40 bytes: the input may be anything a client sent.
func TestParseDecisionQuotesAShortenedInput(t *testing.T) {
	long := "grace:" + strings.Repeat("9", 5000)
	_, err := lifecycle.ParseDecision(long)
	if !errors.Is(err, lifecycle.ErrInvalidInput) || !strings.Contains(err.Error(), `"`+long[:40]+`..."`) || len(err.Error()) > 200 {
		t.Errorf("ParseDecision(5,006 bytes) = %v", err)
	}
}
