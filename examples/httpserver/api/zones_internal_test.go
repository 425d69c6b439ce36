package api

import (
	"testing"
	"time"

	"github.com/botlife/botlife/lifecycle"
	"github.com/google/go-cmp/cmp"
)

// R23: a schedule is shown in the zone it was made in. A zone name stored
// before names had to be clean ("Europe/./Berlin") is read as the name it
// cleans to, as path.Clean cleans it; a zone this server does not know,
// even cleaned, is said to be unknown (zone_unknown) with the local time
// in UTC - never shown in UTC silently.
func TestR23StoredZonesShownInTheirZone(t *testing.T) {
	at := time.Date(2026, 6, 2, 0, 0, 0, 0, time.UTC)
	type shown struct {
		Zone, Local string
		ZoneUnknown bool
	}
	for _, tc := range []struct {
		zone string
		want shown
	}{
		{"Europe/Berlin", shown{"Europe/Berlin", "2026-06-02T02:00:00+02:00", false}},
		{"Europe/./Berlin", shown{"Europe/./Berlin", "2026-06-02T02:00:00+02:00", false}},
		{"Europe//Berlin", shown{"Europe//Berlin", "2026-06-02T02:00:00+02:00", false}},
		{"Europe/Berlin/", shown{"Europe/Berlin/", "2026-06-02T02:00:00+02:00", false}},
		{"./America/New_York", shown{"./America/New_York", "2026-06-01T20:00:00-04:00", false}},
		{"./UTC", shown{"./UTC", "2026-06-02T00:00:00Z", false}},
		{"UTC", shown{"UTC", "2026-06-02T00:00:00Z", false}},
		{"+01:00", shown{"+01:00", "2026-06-02T01:00:00+01:00", false}},
		{"", shown{"", "2026-06-02T00:00:00Z", false}},
		{"Mars/Olympus_Mons", shown{"Mars/Olympus_Mons", "2026-06-02T00:00:00Z", true}},
		{"Mars/./Olympus_Mons", shown{"Mars/./Olympus_Mons", "2026-06-02T00:00:00Z", true}},
		{"Local", shown{"Local", "2026-06-02T00:00:00Z", true}},
		{"./Local", shown{"./Local", "2026-06-02T00:00:00Z", true}},
	} {
		sc := schedule(lifecycle.Schedule{ID: "s1", At: at, Zone: tc.zone, Action: lifecycle.ScheduledAction{Op: lifecycle.OpActivate, Bot: "b1"}})
		got := shown{sc.Zone, sc.Local, sc.ZoneUnknown}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("a schedule stored in zone %q is shown (-want +got):\n%s", tc.zone, diff)
		}
	}
}
