package api

import (
	"slices"
	"strings"
	"testing"
)

type audienceJSON struct {
	OfferID string `json:"offer_id"`
	Status  string `json:"status"`
	Items   []struct {
		CustomerID string  `json:"customer_id"`
		Score      float64 `json:"score"`
		Reason     string  `json:"reason"`
		Because    []struct {
			ProductID string  `json:"product_id"`
			Score     float64 `json:"score"`
		} `json:"because"`
	} `json:"items"`
	RecommendationID string `json:"recommendation_id"`
}

func (a audienceJSON) ids() []string {
	var out []string
	for _, it := range a.Items {
		out = append(out, it.CustomerID)
	}
	return out
}

// TestProductAudienceHTTP: in the offer server's shop c0..c19 bought
// p0..p4 where (c+p)%3 != 0, so p0's non-buyers are c0, c3, ..., c18.
func TestProductAudienceHTTP(t *testing.T) {
	s := newOfferServer(t)
	var a audienceJSON
	s.do(t, "GET", "/v1/products/p0/customers?limit=5", "").want(t, 200).decode(t, &a)
	nonBuyers := []string{"c0", "c3", "c6", "c9", "c12", "c15", "c18"}
	if len(a.Items) == 0 || len(a.Items) > 5 || a.RecommendationID == "" {
		t.Fatalf("audience %+v", a)
	}
	for i, it := range a.Items {
		if !slices.Contains(nonBuyers, it.CustomerID) || it.Reason == "" || len(it.Because) == 0 {
			t.Fatalf("item %d: %+v", i, it)
		}
		if i > 0 && it.Score > a.Items[i-1].Score {
			t.Fatalf("not best first: %v", a.Items)
		}
	}
	var all audienceJSON
	s.do(t, "GET", "/v1/products/p0/customers?exclude_buyers=false&limit=1000", "").want(t, 200).decode(t, &all)
	if len(all.Items) <= len(nonBuyers) {
		t.Fatalf("with buyers: %v", all.ids())
	}
	var empty audienceJSON
	s.do(t, "GET", "/v1/products/p0/customers?segment=nobody", "").want(t, 404)
	if _, err := crmOf(t, s.store).PutSegment("nobody", `frequency > 1000`); err != nil {
		t.Fatal(err)
	}
	s.do(t, "GET", "/v1/products/p0/customers?segment=nobody", "").want(t, 200).decode(t, &empty)
	if len(empty.Items) != 0 {
		t.Fatalf("empty segment: %v", empty.ids())
	}
	s.do(t, "GET", "/v1/products/nope/customers", "").want(t, 404)
	for q, field := range map[string]string{
		"limit=0": "limit", "limit=1001": "limit", "limit=ten": "limit",
		"exclude_buyers=maybe": "exclude_buyers", "segment=no%20spaces": "segment",
	} {
		r := s.do(t, "GET", "/v1/products/p0/customers?"+q, "").want(t, 400)
		if !strings.Contains(r.ctype, "problem+json") || !strings.Contains(string(r.body), `"field":"`+field+`"`) {
			t.Fatalf("%s: %s %s", q, r.ctype, r.body)
		}
	}
}

func TestOfferAudienceHTTP(t *testing.T) {
	s := newOfferServer(t)
	s.do(t, "PUT", "/v1/offers/p0-deal", `{"products":["p0"],"max_per_customer":1}`).want(t, 200)
	var a audienceJSON
	s.do(t, "GET", "/v1/offers/p0-deal/audience?limit=3", "").want(t, 200).decode(t, &a)
	if a.OfferID != "p0-deal" || a.Status != "active" || len(a.Items) == 0 || len(a.Items) > 3 || a.RecommendationID == "" {
		t.Fatalf("offer audience %+v", a)
	}
	// The first customer is shown the offer once: capped, they leave it.
	first := a.Items[0].CustomerID
	var nbo nboJSON
	s.do(t, "GET", "/v1/customers/"+first+"/next-best-offer", "").want(t, 200).decode(t, &nbo)
	if len(nbo.Offers) != 1 {
		t.Fatalf("nbo for %s: %+v", first, nbo)
	}
	s.do(t, "GET", "/v1/offers/p0-deal/audience?limit=1000", "").want(t, 200).decode(t, &a)
	if slices.Contains(a.ids(), first) {
		t.Fatalf("%s is capped but still in %v", first, a.ids())
	}
	s.do(t, "PUT", "/v1/offers/over", `{"products":["p0"],"ends_at":"2024-01-01T00:00:00Z"}`).want(t, 200)
	s.do(t, "GET", "/v1/offers/over/audience", "").want(t, 200).decode(t, &a)
	if a.Status != "ended" || len(a.Items) != 0 {
		t.Fatalf("ended offer: %+v", a)
	}
	s.do(t, "GET", "/v1/offers/nope/audience", "").want(t, 404)
	s.do(t, "GET", "/v1/offers/p0-deal/audience?exclude_buyers=2", "").want(t, 400)
}
