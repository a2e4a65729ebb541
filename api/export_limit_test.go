package api

import "testing"

// TestExportNextBestOfferLimitBound: ?limit=50 on next-best-offer is a
// 400 (at most 20), and an export of next-best-offer accepted 50.
func TestExportNextBestOfferLimitBound(t *testing.T) {
	s := newOfferServer(t)
	s.do(t, "PUT", "/v1/offers/spring", `{"name":"Spring sale","products":["p1"],"value":20}`).want(t, 200)
	wantProblem(t, s.do(t, "GET", "/v1/customers/c1/next-best-offer?limit=50", ""), "limit")
	wantProblem(t, s.do(t, "POST", "/v1/exports", `{"customers":["c1"],"what":"next-best-offer","limit":50}`), "limit")
	wantProblem(t, s.do(t, "POST", "/v1/exports", `{"customers":["c1"],"what":"next-best-offer","limit":21}`), "limit")
	base := listen(t, s.srv)
	streamLines[exportLine](t, "POST", base+"/v1/exports", `{"customers":["c1"],"what":"next-best-offer","limit":20}`)
	streamLines[exportLine](t, "POST", base+"/v1/exports", `{"customers":["c1"],"limit":50}`)
}
