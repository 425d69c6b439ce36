package lifecycle

import (
	"testing"
	"time"
)

// Durations in messages read as people say them (issue: "at most 90 days
// ahead", not 2160h0m0s).
func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{90 * 24 * time.Hour, "90 days"},
		{366 * 24 * time.Hour, "366 days"},
		{48 * time.Hour, "2 days"},
		{36 * time.Hour, "36 hours"},
		{24 * time.Hour, "24 hours"},
		{time.Hour, "1 hour"},
		{90 * time.Minute, "1 hour 30 minutes"},
		{7 * 24 * time.Hour, "7 days"},
		{10 * time.Minute, "10 minutes"},
		{time.Second, "1 second"},
		{61 * time.Second, "1 minute 1 second"},
		{1500 * time.Millisecond, "1.5s"},
		{time.Minute + 500*time.Millisecond, "1 minute 500ms"},
		{0, "0s"},
		{-time.Minute, "-1m0s"},
	} {
		if got := humanDuration(tc.d); got != tc.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
