package api

import "testing"

// TestRuleWeightZeroRefused: the spec has weight exclusiveMinimum 0; an
// explicit 0 was stored as the default 1. Left out, it is still 1.
func TestRuleWeightZeroRefused(t *testing.T) {
	s := newOfferServer(t)
	for _, action := range []string{"boost", "bury"} {
		wantProblem(t, send(t, s.srv, "PUT", "/v1/rules/r9", `{"when":"price < 5","action":"`+action+`","weight":0}`), "weight")
	}
	var r merchRuleReply
	send(t, s.srv, "PUT", "/v1/rules/r9", `{"when":"price < 5","action":"boost"}`).want(t, 200).decode(t, &r)
	if r.Weight != 1 {
		t.Fatalf("weight %v, want the default 1", r.Weight)
	}
}
