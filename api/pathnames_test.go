package api

import "testing"

// TestDotNamesRefused: "." and ".." are dot segments to every URL library,
// so a segment, rule, offer or experiment so named could be created (curl
// --path-as-is) but never read, changed or deleted by a normal client.
func TestDotNamesRefused(t *testing.T) {
	s := newOfferServer(t)
	puts := []struct{ path, body, field string }{
		{"/v1/segments/", `{"rule":"true"}`, "name"},
		{"/v1/rules/", `{"when":"price < 5","action":"boost"}`, "name"},
		{"/v1/offers/", `{"name":"o","products":["p1"],"value":1}`, "offer_id"},
		{"/v1/experiments/", `{"variants":[{"name":"c"}]}`, "id"},
	}
	for _, p := range puts {
		for _, name := range []string{".", ".."} {
			wantProblem(t, send(t, s.srv, "PUT", p.path+name, p.body), p.field)
			// Percent-encoded, the name is reachable, but still refused:
			// one rule for every way of writing it.
			wantProblem(t, send(t, s.srv, "PUT", p.path+map[string]string{".": "%2E", "..": "%2E%2E"}[name], p.body), p.field)
		}
		// A name that merely holds dots is fine.
		send(t, s.srv, "PUT", p.path+"a..b", p.body).want(t, 200)
	}
}
