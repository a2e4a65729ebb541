package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// Rules refused when defined, through the HTTP API: the reproducer of
// issue 14 (34 s on 380 customers before), a rule within the compile-time
// bounds but slow on the store's profiles, and one that builds more than
// the memory budget.
var costlyRules = []struct{ name, rule, detail string }{
	{"toJSON over a huge range", `len(toJSON(1..999999)) > 0`, "toJSON is not allowed"},
	{"huge range", `len(1..999999) > 0`, "range of 999999 elements"},
	{"nested loops", `any(1..1000, any(1..1000, # == frequency))`, "may not nest a loop"},
	{"slow", strings.Repeat(`count(1..1000, # % 7 == frequency % 7 && # * 3 > monetary) + `, 9) + `0 > 0`, "per customer, limit 50 µs"},
	{"memory bomb", `len(map(1..1000, [#, #, #, #, #, #, #, #, #, #, #, #])) > 0`, "memory budget"},
}

func jsonBody(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCostlySegmentRulesRefused(t *testing.T) {
	s := newSegServer(t, "")
	s.loadDemo(t)
	for _, tc := range costlyRules {
		r := s.do(t, "PUT", "/v1/segments/costly", jsonBody(t, map[string]string{"rule": tc.rule}))
		var p Problem
		if r.status != 400 || r.ctype != "application/problem+json" {
			t.Errorf("%s: %d %s %s", tc.name, r.status, r.ctype, r.body)
			continue
		}
		r.decode(t, &p)
		if p.Field != "rule" || !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: field %q detail %q, want rule containing %q", tc.name, p.Field, p.Detail, tc.detail)
		}
	}
	s.do(t, "GET", "/v1/segments/costly", "").want(t, 404)
	// A short loop is fine (a few µs; cheap enough to pass under the race
	// detector on a busy machine too).
	s.do(t, "PUT", "/v1/segments/sevens", jsonBody(t, map[string]string{"rule": `count(1..10, # % 7 == frequency % 7) > 1`})).want(t, 200)
}

func TestCostlyEligibilityRefused(t *testing.T) {
	s := newOfferServer(t)
	for _, tc := range costlyRules {
		r := s.do(t, "PUT", "/v1/offers/costly", jsonBody(t, map[string]any{"value": 1, "eligibility": tc.rule}))
		var p Problem
		if r.status != 400 || r.ctype != "application/problem+json" {
			t.Errorf("%s: %d %s %s", tc.name, r.status, r.ctype, r.body)
			continue
		}
		r.decode(t, &p)
		if p.Field != "eligibility" || !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s: field %q detail %q, want eligibility containing %q", tc.name, p.Field, p.Detail, tc.detail)
		}
	}
	s.do(t, "GET", "/v1/offers/costly", "").want(t, 404)
}
