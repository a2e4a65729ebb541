package api

import (
	"testing"
)

// TestExportListsEachCustomerOnce: a customer listed three times got three
// next-best-offer lines, each taking a showing from the offer's budget.
func TestExportListsEachCustomerOnce(t *testing.T) {
	s := newOfferServer(t)
	s.do(t, "PUT", "/v1/offers/spring", `{"name":"Spring sale","products":["p1"],"value":20}`).want(t, 200)
	base := listen(t, s.srv)
	lines, hdr := streamLines[exportLine](t, "POST", base+"/v1/exports", `{"customers":["c3","c1","c3","c3","c1"],"what":"next-best-offer"}`)
	if len(lines) != 2 || lines[0].CustomerID != "c3" || lines[1].CustomerID != "c1" || hdr.Get("X-Affinity-Total") != "2" {
		t.Fatalf("total %s, lines %+v; want c3 then c1, once each", hdr.Get("X-Affinity-Total"), lines)
	}
	var v struct {
		Performance struct {
			Shown uint64 `json:"shown"`
		} `json:"performance"`
	}
	s.do(t, "GET", "/v1/offers/spring", "").want(t, 200).decode(t, &v)
	if v.Performance.Shown != 2 {
		t.Fatalf("offer shown %d times for 2 customers", v.Performance.Shown)
	}
}
