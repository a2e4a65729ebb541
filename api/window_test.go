package api

import (
	"strings"
	"testing"
)

// TestWindowErrorsSayWhatIsWrong: 99999d and 0d were told "window must
// look like 7d, 24h or 30m", which they do; the range is what is wrong.
func TestWindowErrorsSayWhatIsWrong(t *testing.T) {
	s := newOfferServer(t)
	for _, c := range []struct{ window, detail string }{
		{"99999d", "at most 36500d"},
		{"0d", "above 0"},
		{"0h", "above 0"},
		{"-5m", "above 0"},
		{"999999h", "at most 36500d"},
		{"NaNd", "must look like 7d"},
		{"week", "must look like 7d"},
	} {
		d := wantProblem(t, s.do(t, "GET", "/v1/popular?window="+c.window, ""), "window")
		if !strings.Contains(d, c.detail) || !strings.Contains(d, c.window) {
			t.Errorf("window=%s: %q, want it to say %q", c.window, d, c.detail)
		}
	}
	s.do(t, "GET", "/v1/popular?window=7d", "").want(t, 200)
	s.do(t, "GET", "/v1/popular?window=90m", "").want(t, 200)
}
