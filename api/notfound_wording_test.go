package api

import "testing"

// TestNotFoundIsWordedAlike: 404s read "not found: unknown experiment
// \"nope\"", "unknown rule \"nope\": not found" and "unknown product:
// \"nope\"" depending on the resource; they read one way now.
func TestNotFoundIsWordedAlike(t *testing.T) {
	s := newOfferServer(t)
	for _, c := range []struct{ method, path, detail string }{
		{"POST", "/v1/exports", `unknown experiment "nope"`},
		{"GET", "/v1/experiments/nope", `unknown experiment "nope"`},
		{"GET", "/v1/experiments/nope/results", `unknown experiment "nope"`},
		{"DELETE", "/v1/experiments/nope", `unknown experiment "nope"`},
		{"GET", "/v1/rules/nope", `unknown rule "nope"`},
		{"DELETE", "/v1/rules/nope", `unknown rule "nope"`},
		{"GET", "/v1/products/nope/related", `unknown product "nope"`},
		{"GET", "/v1/products/nope/customers", `unknown product "nope"`},
		{"GET", "/v1/products/nope", `unknown product "nope"`},
		{"GET", "/v1/offers/nope", `unknown offer "nope"`},
		{"GET", "/v1/segments/nope", `unknown segment "nope"`},
		{"GET", "/v1/customers/nope/profile", `unknown customer "nope"`},
		{"GET", "/v1/popular?experiment=nope", `unknown experiment "nope"`},
	} {
		body := ""
		if c.method == "POST" {
			body = `{"customers":["c1"],"experiment":"nope"}`
		}
		r := s.do(t, c.method, c.path, body)
		var p Problem
		r.want(t, 404).decode(t, &p)
		if p.Detail != c.detail || r.ctype != "application/problem+json" {
			t.Errorf("%s %s: %q, want %q", c.method, c.path, p.Detail, c.detail)
		}
	}
}
