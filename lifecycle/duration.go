package lifecycle

import (
	"strconv"
	"strings"
	"time"
)

// humanDuration writes d as people say it in a message: "90 days",
// "24 hours", "1 hour 30 minutes", "15 seconds", "250ms" - never
// "2160h0m0s".
func humanDuration(d time.Duration) string {
	if d <= 0 || d%time.Second != 0 && d < time.Minute {
		return d.String()
	}
	var parts []string
	for _, u := range []struct {
		size time.Duration
		name string
	}{{24 * time.Hour, "day"}, {time.Hour, "hour"}, {time.Minute, "minute"}, {time.Second, "second"}} {
		if u.size > time.Hour && d < 2*u.size {
			continue // "36 hours", not "1 day 12 hours"
		}
		n := d / u.size
		d -= n * u.size
		switch {
		case n == 1:
			parts = append(parts, "1 "+u.name)
		case n > 1:
			parts = append(parts, strconv.FormatInt(int64(n), 10)+" "+u.name+"s")
		}
	}
	if d > 0 {
		parts = append(parts, d.String())
	}
	return strings.Join(parts, " ")
}
