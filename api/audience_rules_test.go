package api

import (
	"fmt"
	"math"
	"testing"
)

// Merchandising rules on audiences (recommend/audience_rules.go): a filter
// rule keeps its products out of the evidence and the targets, a boost
// makes its products' part of a score count 1 + weight times more, a pin
// rule or an unknown one is a 400 naming rules. In the offer server's shop
// c0..c19 bought p0..p4 where (c+p)%3 != 0.
func TestAudienceRules(t *testing.T) {
	s := newOfferServer(t)
	for name, body := range map[string]string{
		"no-p1":    `{"when":"product_id == \"p1\"","action":"filter"}`,
		"no-p0":    `{"when":"product_id == \"p0\"","action":"filter"}`,
		"boost-p2": `{"when":"product_id == \"p2\"","action":"boost","weight":1}`,
		"pin-p2":   `{"when":"product_id == \"p2\"","action":"pin","position":1}`,
	} {
		s.do(t, "PUT", "/v1/rules/"+name, body).want(t, 200)
	}
	get := func(path string) audienceJSON {
		t.Helper()
		var a audienceJSON
		s.do(t, "GET", path, "").want(t, 200).decode(t, &a)
		return a
	}
	parts := func(a audienceJSON) map[string]map[string]float64 {
		out := map[string]map[string]float64{}
		for _, it := range a.Items {
			out[it.CustomerID] = map[string]float64{}
			for _, b := range it.Because {
				out[it.CustomerID][b.ProductID] = b.Score
			}
		}
		return out
	}
	const q = "/v1/products/p0/customers?exclude_buyers=false&limit=1000"
	plain := parts(get(q))
	filtered := parts(get(q + "&rules=no-p1"))
	sawP1 := false
	for c, ps := range filtered {
		if _, ok := ps["p1"]; ok {
			t.Fatalf("%s's score still uses the filtered p1: %v", c, ps)
		}
		sawP1 = sawP1 || plain[c]["p1"] > 0
	}
	if !sawP1 || len(filtered) == 0 {
		t.Fatalf("setup: p1 was no evidence without the rule either: %v", plain)
	}
	if a := get(q + "&rules=no-p0"); len(a.Items) != 0 {
		t.Fatalf("the audience of a filtered product: %v", a.ids())
	}
	boosted := parts(get(q + "&rules=boost-p2"))
	checked := 0
	for c, ps := range plain {
		if v, ok := ps["p2"]; ok && boosted[c] != nil {
			if got := boosted[c]["p2"]; math.Abs(got-2*v) > 1e-5 {
				t.Fatalf("%s: boosted p2 part %v, want 2 x %v", c, got, v)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("setup: no score used p2")
	}
	for _, path := range []string{q + "&rules=pin-p2", q + "&rules=nope", q + "&rules=a,,b"} {
		wantProblemField(t, s, path, "rules")
	}

	// An offer over p0 and p1 with p1 filtered out is an offer over p0.
	s.do(t, "PUT", "/v1/offers/o", `{"products":["p0","p1"]}`).want(t, 200)
	s.do(t, "PUT", "/v1/offers/o0", `{"products":["p0"]}`).want(t, 200)
	const oq = "/audience?exclude_buyers=false&limit=1000&rules=no-p1"
	if a, b := get("/v1/offers/o"+oq), get("/v1/offers/o0"+oq); fmt.Sprint(a.Items) != fmt.Sprint(b.Items) || len(a.Items) == 0 {
		t.Fatalf("offer over p0, p1 with p1 filtered:\n%v\nover p0:\n%v", a.Items, b.Items)
	}
	wantProblemField(t, s, "/v1/offers/o/audience?rules=pin-p2", "rules")
}

func wantProblemField(t *testing.T, s *offerServer, path, field string) {
	t.Helper()
	var p struct{ Field, Detail string }
	s.do(t, "GET", path, "").want(t, 400).decode(t, &p)
	if p.Field != field {
		t.Fatalf("%s: problem %+v, want field %s", path, p, field)
	}
}
