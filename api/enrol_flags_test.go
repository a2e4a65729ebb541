package api

import (
	"strings"
	"testing"
)

// TestExperimentFlagsBoundedWithoutExperiment: variant= and unit_id= were
// checked only next to experiment=; alone, any length passed.
func TestExperimentFlagsBoundedWithoutExperiment(t *testing.T) {
	s := newOfferServer(t)
	long := func(n int) string { return strings.Repeat("v", n) }
	for _, path := range []string{"/v1/popular", "/v1/customers/c1/recommendations", "/v1/customers/c1/next-best-offer"} {
		wantProblem(t, send(t, s.srv, "GET", path+"?variant="+long(300), ""), "variant")
		wantProblem(t, send(t, s.srv, "GET", path, "", "X-Affinity-Variant", long(300)), "variant")
		send(t, s.srv, "GET", path+"?variant=v", "").want(t, 200)
	}
	// unit_id is for lists (next-best-offer always has its customer).
	for _, path := range []string{"/v1/popular", "/v1/customers/c1/recommendations"} {
		wantProblem(t, send(t, s.srv, "GET", path+"?unit_id="+long(5000), ""), "unit_id")
		send(t, s.srv, "GET", path+"?unit_id=u1", "").want(t, 200)
	}
}
