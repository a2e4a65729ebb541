package offer

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

func TestNBORespondErrors(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	e.put("a", Offer{Value: 1, Priority: 1})
	res := e.choose("c1", 1, "")
	for _, tc := range []struct {
		offer, cust, rec, resp string
		want                   error
		field                  string
	}{
		{"nope", "c1", res.RecommendationID, "accepted", ErrUnknownOffer, ""},
		{"a", "c2", res.RecommendationID, "accepted", ErrNoOpenExposure, ""},
		{"a", "c1", "r-never-served", "accepted", ErrNoOpenExposure, ""},
		{"a", "c1", res.RecommendationID, "perhaps", nil, "response"},
		{"a", "", res.RecommendationID, "accepted", nil, "customer_id"},
		{"a", "c1", "", "accepted", nil, "recommendation_id"},
	} {
		err := e.respond(tc.offer, tc.cust, tc.rec, tc.resp)
		if tc.want != nil && !errors.Is(err, tc.want) || tc.field != "" && fieldOf(err) != tc.field {
			t.Errorf("%+v: got %v", tc, err)
		}
	}
	if err := e.respond("a", "c1", res.RecommendationID, "declined"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.Choose(context.Background(), Request{CustomerID: "c1", Channel: "no channel"}); fieldOf(err) != "channel" {
		t.Errorf("bad channel: %v", err)
	}
	if _, err := e.svc.Choose(context.Background(), Request{CustomerID: "c1", Params: map[string]any{"nbo_policy": "coin"}}); !errors.Is(err, recommend.ErrBadRequest) {
		t.Errorf("bad policy: %v", err)
	}
	e.svc.Close()
	if _, err := e.svc.Choose(context.Background(), Request{CustomerID: "c1"}); !errors.Is(err, features.ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if _, err := e.svc.Put("b", Offer{Value: 1, Priority: 1}); !errors.Is(err, features.ErrClosed) {
		t.Errorf("put after Close: %v", err)
	}
}

func TestNBOPurchaseWithRecommendationIDAccepts(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	e.ingest(features.Event{CustomerID: "c1", ProductID: "p2", Type: "view"},
		features.Event{CustomerID: "c0", ProductID: "p3", Type: "view"},
		features.Event{CustomerID: "c0", ProductID: "p5", Type: "view"})
	if err := e.store.PutProduct("p5", features.Product{Category: "Garden", Available: true}); err != nil {
		t.Fatal(err)
	}
	e.put("prod", Offer{Products: []string{"p2"}, Value: 1, Priority: 2})
	e.put("cat", Offer{Category: "garden", Value: 1, Priority: 1})
	res := e.choose("c1", 2, "")
	if len(res.Offers) != 2 {
		t.Fatalf("choose: %+v", res)
	}
	rec := res.RecommendationID
	buy := func(cust, prod string) {
		e.ingest(features.Event{CustomerID: cust, ProductID: prod, Type: "purchase", RecommendationID: rec})
		e.svc.Flush()
	}
	accepted := func(id string) uint64 {
		v, _ := e.svc.Get(id)
		return v.Performance.Accepted
	}
	buy("c1", "p3") // not what either offer promotes
	buy("c9", "p2") // someone else quoting the id
	if accepted("prod") != 0 || accepted("cat") != 0 {
		t.Fatal("a purchase that does not answer the offer counted")
	}
	buy("c1", "p2")
	if accepted("prod") != 1 || accepted("cat") != 0 {
		t.Fatalf("purchase of the offer's product: prod %d cat %d", accepted("prod"), accepted("cat"))
	}
	buy("c1", "p5")
	if accepted("cat") != 1 {
		t.Fatal("purchase in the offer's category did not count")
	}
	buy("c1", "p2") // answered already: counts once
	if accepted("prod") != 1 {
		t.Fatal("one exposure accepted twice")
	}
	e.restart()
	if accepted("prod") != 1 || accepted("cat") != 1 {
		t.Fatal("purchase acceptances lost on restart")
	}
}

func TestNBOExposuresExpireAsIgnored(t *testing.T) {
	e := openOfferTestEnv(t, func(o *Options) { o.ResponseWindow = time.Hour })
	e.put("b", Offer{Value: 1, Priority: 1, Budget: 1})
	first := e.choose("c1", 1, "")
	if len(first.Offers) != 1 {
		t.Fatal("not shown")
	}
	if res := e.choose("c2", 1, ""); len(res.Offers) != 0 {
		t.Fatal("the open exposure must hold the only unit of budget")
	}
	e.now.Add(3600)
	if err := e.respond("b", "c1", first.RecommendationID, "accepted"); !errors.Is(err, ErrNoOpenExposure) {
		t.Fatalf("answer after the window: %v", err)
	}
	second := e.choose("c2", 1, "")
	if len(second.Offers) != 1 {
		t.Fatal("expired exposure still holds the budget")
	}
	e.now.Add(7200)
	e.svc.sweep()
	want := Performance{Shown: 2, Ignored: 2}
	check := func() {
		t.Helper()
		v, _ := e.svc.Get("b")
		p := v.Performance
		if p.Shown != want.Shown || p.Ignored != want.Ignored || p.Open != 0 || p.Accepted != 0 {
			t.Fatalf("performance %+v", p)
		}
	}
	check()
	e.restart()
	check()
}

// TestNBOExpiryQueueStaysSmall: answered exposures must not pile up in the
// expiry queue for the whole response window.
func TestNBOExpiryQueueStaysSmall(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	e.put("a", Offer{Value: 1, Priority: 1})
	for i := 0; i < 3000; i++ {
		cust := fmt.Sprintf("c%d", i)
		res := e.choose(cust, 1, "")
		if i%100 == 0 {
			continue // left open
		}
		if err := e.respond("a", cust, res.RecommendationID, "declined"); err != nil {
			t.Fatal(err)
		}
	}
	st := e.svc.set.Load().byID["a"].st
	st.mu.Lock()
	defer st.mu.Unlock()
	if len(st.open) != 30 || len(st.fifo) > 1024+2*len(st.open)+1 {
		t.Fatalf("open %d, queue %d", len(st.open), len(st.fifo))
	}
}
