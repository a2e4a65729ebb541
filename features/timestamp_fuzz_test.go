package features

import (
	"strings"
	"testing"
	"time"
)

// FuzzParseTimestamp: whatever the text, ParseTimestamp gives an error, the
// zero time for blank text only ("no timestamp"), or a time CheckTimestamp
// accepts. An explicit zero time must never pass as "no timestamp".
func FuzzParseTimestamp(f *testing.F) {
	for _, s := range []string{"", " ", "0", "-0", "631152000", "631151999.5", "1e9", "0001-01-01T00:00:00Z",
		"1990-01-01T00:00:00Z", "1989-12-31T23:59:59.999999999Z", "2106-01-01T00:00:00Z", "2011-12-09T12:50:00+01:00",
		"1990-01-01T00:30:00+01:00", "NaN", "Inf", "7258118400", "4102444800"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTimestamp(s)
		if err != nil {
			return
		}
		if ts.IsZero() {
			if strings.TrimSpace(s) != "" {
				t.Fatalf("%q parsed to the zero time", s)
			}
			return
		}
		if CheckTimestamp(ts) != nil || ts.Before(MinEventTime) || ts.Location() != time.UTC {
			t.Fatalf("%q parsed to %v, outside the accepted range", s, ts)
		}
	})
}
