package offer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// audienceTestEnv: x0-x5 bought p1 and p2; a1, a2 and a3 bought only p1
// (a3 is gold), b2 only p2. An offer on p2 is for a1, a2 and a3.
func audienceTestEnv(t *testing.T) *offerTestEnv {
	e := openOfferTestEnv(t, nil)
	var evs []features.Event
	for i := range 6 {
		c := fmt.Sprintf("x%d", i)
		evs = append(evs, features.Event{CustomerID: c, ProductID: "p1", Type: "purchase"},
			features.Event{CustomerID: c, ProductID: "p2", Type: "purchase"})
	}
	for _, c := range []string{"a1", "a2", "a3"} {
		evs = append(evs, features.Event{CustomerID: c, ProductID: "p1", Type: "purchase"})
	}
	evs = append(evs, features.Event{CustomerID: "b2", ProductID: "p2", Type: "purchase"})
	e.ingest(evs...)
	if err := e.store.PutCustomer("a3", features.Customer{Attributes: map[string]any{"level": "gold"}}); err != nil {
		t.Fatal(err)
	}
	e.store.Refresh()
	return e
}

func (e *offerTestEnv) audience(r AudienceRequest) AudienceResult {
	e.t.Helper()
	res, err := e.svc.Audience(context.Background(), r)
	if err != nil {
		e.t.Fatalf("audience of %s: %v", r.OfferID, err)
	}
	return res
}

func audienceCustomers(r AudienceResult) []string {
	out := []string{}
	for _, it := range r.Items {
		out = append(out, it.CustomerID)
	}
	return out
}

func TestOfferAudienceRespectsEligibilityAndCaps(t *testing.T) {
	e := audienceTestEnv(t)
	e.put("p2-once", Offer{Products: []string{"p2"}, Value: 1, Priority: 1, MaxPerCustomer: 1})
	e.put("p2-gold", Offer{Products: []string{"p2"}, Value: 1, Priority: 1, Eligibility: `attributes.level == "gold"`})
	r := e.audience(AudienceRequest{OfferID: "p2-once", ExcludeBuyers: true})
	if got := audienceCustomers(r); !slices.Equal(got, []string{"a1", "a2", "a3"}) || r.Status != AudienceActive || r.RecommendationID == "" {
		t.Fatalf("audience %v (%s)", got, r.Status)
	}
	if len(r.Items[0].Because) == 0 || r.Items[0].Because[0].ProductID != "p1" {
		t.Fatalf("reason: %+v", r.Items[0])
	}
	// Without exclude_buyers the buyers of p2 may be in it too.
	if got := audienceCustomers(e.audience(AudienceRequest{OfferID: "p2-once", Limit: 20})); len(got) <= 3 {
		t.Fatalf("with buyers: %v", got)
	}
	if got := audienceCustomers(e.audience(AudienceRequest{OfferID: "p2-gold", ExcludeBuyers: true})); !slices.Equal(got, []string{"a3"}) {
		t.Fatalf("gold only: %v", got)
	}
	// a1 is shown p2-once: at its cap, they leave its audience.
	if got := offerIDs(e.choose("a1", 1, "")); !slices.Equal(got, []string{"p2-once"}) {
		t.Fatalf("a1 was offered %v", got)
	}
	if got := audienceCustomers(e.audience(AudienceRequest{OfferID: "p2-once", ExcludeBuyers: true})); !slices.Equal(got, []string{"a2", "a3"}) {
		t.Fatalf("after a1's cap: %v", got)
	}
	// A segment restricts it.
	if _, err := e.crm.PutSegment("golds", `attributes.level == "gold"`); err != nil {
		t.Fatal(err)
	}
	if got := audienceCustomers(e.audience(AudienceRequest{OfferID: "p2-once", ExcludeBuyers: true, Segment: "golds"})); !slices.Equal(got, []string{"a3"}) {
		t.Fatalf("segment golds: %v", got)
	}
	if _, err := e.svc.Audience(context.Background(), AudienceRequest{OfferID: "p2-once", Segment: "nope"}); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("unknown segment: %v", err)
	}
	if _, err := e.svc.Audience(context.Background(), AudienceRequest{OfferID: "nope"}); !errors.Is(err, features.ErrNotFound) {
		t.Fatalf("unknown offer: %v", err)
	}
}

func TestOfferAudienceWindowAndBudget(t *testing.T) {
	e := audienceTestEnv(t)
	now := offerTestEpoch
	past, soon := now.Add(-time.Hour), now.Add(time.Hour)
	longAgo := now.Add(-48 * time.Hour)
	e.put("ended", Offer{Products: []string{"p2"}, Value: 1, Priority: 1, StartsAt: &longAgo, EndsAt: &past})
	e.put("later", Offer{Products: []string{"p2"}, Value: 1, Priority: 1, StartsAt: &soon})
	e.put("spent", Offer{Products: []string{"p2"}, Value: 1, Priority: 1, Budget: 1})
	if r := e.audience(AudienceRequest{OfferID: "ended", ExcludeBuyers: true}); r.Status != AudienceEnded || len(r.Items) != 0 {
		t.Fatalf("ended: %s %v", r.Status, audienceCustomers(r))
	}
	// A campaign is planned before the offer starts.
	if r := e.audience(AudienceRequest{OfferID: "later", ExcludeBuyers: true}); r.Status != AudienceScheduled || len(r.Items) != 3 {
		t.Fatalf("scheduled: %s %v", r.Status, audienceCustomers(r))
	}
	res := e.choose("a2", 1, "")
	if err := e.respond("spent", "a2", res.RecommendationID, "accepted"); err != nil {
		t.Fatalf("accept %v: %v", offerIDs(res), err)
	}
	if r := e.audience(AudienceRequest{OfferID: "spent", ExcludeBuyers: true}); r.Status != AudienceBudgetSpent || len(r.Items) != 0 {
		t.Fatalf("budget spent: %s %v", r.Status, audienceCustomers(r))
	}
}
