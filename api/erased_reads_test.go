package api

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// TestReadsDoNotRecreateAnErasedCustomer: after DELETE /v1/customers/c1, a
// next-best-offer read and an experiment's recommendations for c1 answer,
// but log no exposure under c1 (a next-best-offer read used to), while the
// same reads for a never-seen id do; and c1 stays unknown to the store.
// An event for c1 brings them back, and exposures are logged again.
func TestReadsDoNotRecreateAnErasedCustomer(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, eng := seededStore(t, func(o *features.Options) {
		o.Logger = quiet
		o.Clock = func() time.Time { return time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC) }
	}, purchases(20, 5, 10, func(c, p int) bool { return (c+p)%3 != 0 }))
	oo := offer.DefaultOptions()
	oo.Logger = quiet
	offers, err := offer.New(st.Records(), st, crmOf(t, st), eng, oo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { offers.Close() })
	x := newTestExperiments(t, st, quiet, 10*time.Millisecond)
	srv := serverOver(t, Deps{Store: st, Engine: eng, CRM: crmOf(t, st), Experiments: x, Offers: offers}, quiet)
	send(t, srv, "PUT", "/v1/offers/o1", `{"value":5}`).want(t, 200)
	send(t, srv, "PUT", "/v1/experiments/home", homeExperiment).want(t, 200)
	send(t, srv, "DELETE", "/v1/customers/c1", "").want(t, 204)
	// The services erase their part in the background: let them finish, so
	// that what the reads below log is not erased with it.
	offers.Flush()
	if err := x.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	shown := func() uint64 {
		var v struct {
			Performance struct{ Shown uint64 } `json:"performance"`
		}
		send(t, srv, "GET", "/v1/offers/o1", "").want(t, 200).decode(t, &v)
		return v.Performance.Shown
	}
	exposures := func() int64 {
		if err := x.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		var res struct{ Variants []struct{ Exposures int64 } }
		send(t, srv, "GET", "/v1/experiments/home/results", "").want(t, 200).decode(t, &res)
		n := int64(0)
		for _, v := range res.Variants {
			n += v.Exposures
		}
		return n
	}
	read := func(cust string) {
		var nbo nboJSON
		send(t, srv, "GET", "/v1/customers/"+cust+"/next-best-offer", "").want(t, 200).decode(t, &nbo)
		if len(nbo.Offers) != 1 {
			t.Fatalf("next-best-offer for %s: %+v", cust, nbo)
		}
		send(t, srv, "GET", "/v1/customers/"+cust+"/recommendations?experiment=home", "").want(t, 200)
	}

	read("c1")
	if n := shown(); n != 0 {
		t.Errorf("an erased customer's next-best-offer read logged %d exposures", n)
	}
	if n := exposures(); n != 0 {
		t.Errorf("an erased customer's recommendations logged %d experiment exposures", n)
	}
	if _, ok := st.CustomerID("c1"); ok {
		t.Fatal("reads re-created the erased customer")
	}
	// The same reads for a never-seen id are logged: the test can see them.
	read("stranger")
	if n, m := shown(), exposures(); n != 1 || m != 1 {
		t.Fatalf("a never-seen customer's reads: %d offer and %d experiment exposures, want 1 and 1", n, m)
	}
	// Back by their own doing: an event takes them off the erased list.
	send(t, srv, "POST", "/v1/events", `{"customer_id":"c1","product_id":"p1","type":"view"}`).want(t, 200)
	read("c1")
	if n, m := shown(), exposures(); n != 2 || m != 2 {
		t.Fatalf("after c1's new event: %d offer and %d experiment exposures, want 2 and 2", n, m)
	}
}
