package api

import "testing"

// TestExperimentVariantRulesMustExist: a variant naming a rule that does
// not exist was stored, and the typo skipped at serve time, while
// ?rules=unknown on a list is a 400.
func TestExperimentVariantRulesMustExist(t *testing.T) {
	s := newOfferServer(t)
	body := `{"variants":[{"name":"c"},{"name":"t","params":{"rules":["cheap","never-existed"]}}]}`
	s.do(t, "PUT", "/v1/rules/cheap", `{"when":"price < 5","action":"boost"}`).want(t, 200)
	wantProblem(t, s.do(t, "PUT", "/v1/experiments/ez", body), "variants[1].params.rules[1]")
	s.do(t, "GET", "/v1/experiments/ez", "").want(t, 404)
	s.do(t, "PUT", "/v1/rules/never-existed", `{"when":"price > 5","action":"bury"}`).want(t, 200)
	s.do(t, "PUT", "/v1/experiments/ez", body).want(t, 200)
	// Products may be synced after the experiment: unknown ones are kept.
	s.do(t, "PUT", "/v1/experiments/fx", `{"variants":[{"name":"c"},{"name":"t","params":{"algorithm":"fixed","products":["not-synced-yet"]}}]}`).want(t, 200)
}
