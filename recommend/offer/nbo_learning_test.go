package offer

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// TestNBOSimulationConverges is the seeded, bounded simulation: three offers
// whose true acceptance rates the chooser does not know. Customers answer
// each shown offer at its rate; Thompson sampling must end up showing the
// best one most of the time, keep exploring the others, and never break a
// cap.
func TestNBOSimulationConverges(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	rates := map[string]float64{"low": 0.04, "mid": 0.12, "best": 0.30}
	for id := range rates {
		e.put(id, Offer{Value: 1, Priority: 1, MaxPerCustomer: 2})
	}
	const rounds, pool = 1500, 3000
	rng := mrand.New(mrand.NewPCG(7, 7))
	shows := map[[2]string]int{}
	perOffer := map[string]int{}
	bestLate, late, explored := 0, 0, 0
	for i := 0; i < rounds; i++ {
		cust := fmt.Sprintf("sim-%d", rng.IntN(pool))
		res := e.choose(cust, 1, "")
		if len(res.Offers) != 1 {
			t.Fatalf("round %d: %d offers for %s", i, len(res.Offers), cust)
		}
		id := res.Offers[0].OfferID
		shows[[2]string{cust, id}]++
		if n := shows[[2]string{cust, id}]; n > 2 {
			t.Fatalf("round %d: %s shown %s %d times (cap 2)", i, cust, id, n)
		}
		perOffer[id]++
		if strings.Contains(res.Offers[0].Reason, "exploring") {
			explored++
			if i >= 2*rounds/3 && id == "best" {
				t.Fatalf("round %d: the best offer, expected best by far, flagged as exploring: %+v", i, res.Offers[0])
			}
		}
		if i >= 2*rounds/3 {
			late++
			if id == "best" {
				bestLate++
			}
		}
		resp := "declined"
		switch {
		case rng.Float64() < rates[id]:
			resp = "accepted"
		case rng.IntN(2) == 0:
			resp = "ignored"
		}
		if err := e.respond(id, cust, res.RecommendationID, resp); err != nil {
			t.Fatalf("round %d: respond: %v", i, err)
		}
	}
	share := float64(bestLate) / float64(late)
	t.Logf("shown per offer %v; best in the last third: %.1f%%; flagged exploring: %d", perOffer, 100*share, explored)
	if explored == 0 {
		t.Error("no choice was flagged as exploring")
	}
	if share < 0.6 {
		t.Errorf("best offer shown in %.1f%% of the last third of rounds, want most (>= 60%%)", 100*share)
	}
	for id := range rates {
		if perOffer[id] < 5 {
			t.Errorf("offer %s shown %d times: exploration stopped too early", id, perOffer[id])
		}
	}
	// The counts the offers report are the simulation's.
	total := uint64(0)
	for id := range rates {
		v, _ := e.svc.Get(id)
		p := v.Performance
		if p.Shown != uint64(perOffer[id]) || p.Accepted+p.Declined+p.Ignored != p.Shown || p.Open != 0 {
			t.Errorf("%s performance %+v, shown %d in the simulation", id, p, perOffer[id])
		}
		total += p.Shown
	}
	if total != rounds {
		t.Errorf("shown %d in all, want %d", total, rounds)
	}
}

func TestNBOPriorFollowsHistory(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	var evs []features.Event
	for i := 0; i < 6; i++ {
		c := fmt.Sprintf("x%d", i)
		evs = append(evs, features.Event{CustomerID: c, ProductID: "p1", Type: "purchase"},
			features.Event{CustomerID: c, ProductID: "p2", Type: "purchase"})
	}
	evs = append(evs, features.Event{CustomerID: "loner", ProductID: "p9", Type: "purchase"},
		features.Event{CustomerID: "c", ProductID: "p1", Type: "purchase"})
	e.ingest(evs...)
	e.store.Refresh()
	e.put("assoc", Offer{Products: []string{"p2"}, Value: 1, Priority: 1})
	e.put("other", Offer{Products: []string{"p9"}, Value: 1, Priority: 1})
	res, err := e.svc.Choose(context.Background(), Request{CustomerID: "c", Limit: 2, Params: map[string]any{"nbo_policy": "greedy"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := offerIDs(res); strings.Join(got, ",") != "assoc,other" {
		t.Fatalf("order %v, want assoc first", got)
	}
	a, o := res.Offers[0], res.Offers[1]
	if !(a.Association > 0 && o.Association == 0 && a.Prior > o.Prior && a.Basis == "prior" && a.Responses == 0) {
		t.Fatalf("prior parts: %+v / %+v", a, o)
	}
	if !strings.Contains(a.Reason, "history") || a.Score != a.Propensity*a.Value*a.Priority {
		t.Fatalf("reason or score: %+v", a)
	}
	// An unknown customer has the base prior for both.
	cold := e.choose("stranger", 2, "")
	for _, c := range cold.Offers {
		if c.Prior != DefaultOptions().PriorBase || c.Association != 0 {
			t.Fatalf("cold prior %+v", c)
		}
	}
}

// TestNBOLearnsPerSegment: two segments that want opposite offers. Once each
// segment has enough answers, its members get the offer their segment
// accepts, from the segment's own posterior.
func TestNBOLearnsPerSegment(t *testing.T) {
	e := openOfferTestEnv(t, func(o *Options) { o.MinSegmentResponses = 40 })
	for name, country := range map[string]string{"fr": "FR", "uk": "GB"} {
		if _, err := e.crm.PutSegment(name, fmt.Sprintf("attributes.country == %q", country)); err != nil {
			t.Fatal(err)
		}
	}
	const perSegment = 150
	for i := 0; i < perSegment; i++ {
		for _, c := range []string{"FR", "GB"} {
			if err := e.store.PutCustomer(fmt.Sprintf("%s-%d", c, i), features.Customer{Attributes: map[string]any{"country": c}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Membership follows writes in the background: wait for it, so every
	// response counts for its customer's segment from the first round.
	if err := e.crm.FlushSegments(); err != nil {
		t.Fatal(err)
	}
	e.put("wine", Offer{Value: 1, Priority: 1})
	e.put("tea", Offer{Value: 1, Priority: 1})
	rate := map[string]float64{"FR/wine": 0.5, "FR/tea": 0.05, "GB/wine": 0.05, "GB/tea": 0.5}
	rng := mrand.New(mrand.NewPCG(3, 3))
	late := map[string]int{}
	for i := 0; i < 600; i++ {
		country := []string{"FR", "GB"}[i%2]
		cust := fmt.Sprintf("%s-%d", country, rng.IntN(perSegment))
		res := e.choose(cust, 1, "")
		o := res.Offers[0]
		if i >= 400 {
			late[country+"/"+o.OfferID]++
			if seg := map[string]string{"FR": "segment:fr", "GB": "segment:uk"}[country]; o.Basis != seg {
				t.Fatalf("round %d: %s decided on %q, want %q", i, cust, o.Basis, seg)
			}
		}
		resp := "declined"
		if rng.Float64() < rate[country+"/"+o.OfferID] {
			resp = "accepted"
		}
		if err := e.respond(o.OfferID, cust, res.RecommendationID, resp); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("last 200 rounds: %v", late)
	if late["FR/wine"] < 70 || late["GB/tea"] < 70 {
		t.Fatalf("segments did not get their own best offer: %v", late)
	}
}
