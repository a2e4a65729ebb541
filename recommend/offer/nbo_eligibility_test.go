package offer

import (
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

func TestNBONeverChoosesIneligibleOffers(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	e.ingest(features.Event{CustomerID: "c", ProductID: "p1", Type: "purchase", Value: 20},
		features.Event{CustomerID: "vip", ProductID: "p1", Type: "purchase", Value: 20})
	if _, err := e.crm.PutSegment("vips", `attributes.level == "gold"`); err != nil {
		t.Fatal(err)
	}
	if err := e.store.PutCustomer("vip", features.Customer{Attributes: map[string]any{"level": "gold"}}); err != nil {
		t.Fatal(err)
	}
	// Membership is evaluated off the write path: wait for it.
	if err := e.crm.FlushSegments(); err != nil {
		t.Fatal(err)
	}
	// An offer whose budget is used up before the others exist.
	e.put("spent", Offer{Value: 100, Priority: 1, Budget: 1})
	res := e.choose("someone", 1, "")
	if err := e.respond("spent", "someone", res.RecommendationID, "accepted"); err != nil {
		t.Fatal(err)
	}
	now := offerTestEpoch
	past, soon := now.Add(-time.Hour), now.Add(time.Hour)
	longAgo := now.Add(-48 * time.Hour)
	e.put("ok", Offer{Value: 1, Priority: 1})
	e.put("expired", Offer{Value: 100, Priority: 1, StartsAt: &longAgo, EndsAt: &past})
	e.put("future", Offer{Value: 100, Priority: 1, StartsAt: &soon})
	e.put("email-only", Offer{Value: 100, Priority: 1, Channels: []string{"email"}})
	e.put("rich-only", Offer{Value: 100, Priority: 1, Eligibility: "monetary > 1000000"})
	e.put("vip-only", Offer{Value: 100, Priority: 1, Eligibility: `"vips" in segments`})
	e.put("once", Offer{Value: 100, Priority: 1, MaxPerCustomer: 1})
	first := e.choose("c", 20, "web")
	if got := offerIDs(first); strings.Join(got, ",") != "once,ok" {
		t.Fatalf("first answer %v, want once,ok", got)
	}
	for i := 0; i < 100; i++ {
		for _, cust := range []string{"c", "unknown-customer"} {
			res := e.choose(cust, 20, "web")
			for _, id := range offerIDs(res) {
				if id != "ok" && !(id == "once" && cust == "unknown-customer" && i == 0) {
					t.Fatalf("call %d for %s chose %s (%v)", i, cust, id, offerIDs(res))
				}
			}
		}
	}
	// The same offers do get chosen where they apply, so the test above
	// can fail.
	if got := offerIDs(e.choose("vip", 20, "web")); !containsAll(got, "vip-only") {
		t.Errorf("vip member got %v, want vip-only among them", got)
	}
	if got := offerIDs(e.choose("c", 20, "email")); !containsAll(got, "email-only") {
		t.Errorf("email channel got %v", got)
	}
	if got := offerIDs(e.choose("c", 20, "")); !containsAll(got, "email-only") {
		t.Errorf("no channel means every channel: got %v", got)
	}
	e.now.Store(soon.Unix())
	if got := offerIDs(e.choose("c", 20, "web")); !containsAll(got, "future") {
		t.Errorf("after its start: %v", got)
	}
	e.now.Store(now.Add(-2 * time.Hour).Unix())
	if got := offerIDs(e.choose("c", 20, "web")); !containsAll(got, "expired") {
		t.Errorf("before its end: %v", got)
	}
	// Nothing eligible: an empty list, not an error.
	if err := e.svc.Delete("ok"); err != nil {
		t.Fatal(err)
	}
	e.now.Store(now.Unix())
	if res := e.choose("c", 1, "sms"); len(res.Offers) != 0 || res.RecommendationID == "" {
		t.Errorf("nothing eligible: %+v", res)
	}
}
