package experiment

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

func ingestOne(t testing.TB, st *features.Store, ev features.Event) {
	t.Helper()
	if _, err := st.Ingest(context.Background(), []features.Event{ev}, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
}

// TestReturnsTakeRevenueBack: returns carrying a recommendation_id take
// their refund (or, without one, the purchase's value) off that exposure's
// revenue, never more than its purchases of the product brought; the
// conversion stays; restart and an erasure's recount agree.
func TestReturnsTakeRevenueBack(t *testing.T) {
	dir := t.TempDir()
	st := expTestStore(t, dir)
	prods := seedProducts(t, st, 4)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("ret", StatusRunning, 1))
	x.Expose("ret", "control", "r1", "alice", false, prods[:3])
	x.Expose("ret", "control", "r2", "bob", false, prods[:3])
	x.Expose("ret", "control", "r3", "carol", false, prods[:3])
	mustFlush(t, x)

	ev := func(cust, prod, typ string, v float64, rec string) features.Event {
		return features.Event{CustomerID: cust, ProductID: prod, Type: typ, Value: v, RecommendationID: rec}
	}
	for _, e := range []features.Event{
		ev("alice", prods[0], "purchase", 30, "r1"),
		ev("alice", prods[1], "purchase", 20, "r1"),
		ev("bob", prods[1], "purchase", 40, "r2"),
		ev("alice", prods[0], "return", 0, "r1"),    // no refund: the purchase's 30
		ev("alice", prods[1], "return", -5, "r1"),   // 5 of 20
		ev("alice", prods[1], "return", -100, "r1"), // only the 15 left
		ev("alice", prods[2], "return", -9, "r1"),   // never bought here: nothing
		ev("bob", prods[0], "return", -9, "r1"),     // not bob's purchase: nothing
		ev("alice", prods[3], "return", -9, "r1"),   // not on the list: nothing
		ev("alice", prods[0], "return", -9, ""),     // no recommendation id: nothing
		ev("carol", prods[2], "purchase", 8, "r3"),
	} {
		ingestOne(t, st, e)
	}
	r := mustResults(t, x, "ret")
	v := variantOf(t, r, "control")
	// Exposures' net revenue: r1 0, r2 40, r3 8.
	if v.Revenue != 48 || v.Conversions != 3 || v.Exposures != 3 {
		t.Fatalf("revenue %g conversions %d exposures %d; want 48 (net of returns), 3, 3", v.Revenue, v.Conversions, v.Exposures)
	}
	mean, sd := 16.0, math.Sqrt(((0-16)*(0-16)+(40-16)*(40-16)+(8-16)*(8-16))/2.0)
	if got, low := v.RevenuePerExposure.Value, mean-1.96*sd/math.Sqrt(3); math.Abs(got-mean) > 1e-6 || math.Abs(v.RevenuePerExposure.Low-low) > 1e-3 {
		t.Fatalf("revenue per exposure %+v, want %g with low %g (the sums of squares are net too)", v.RevenuePerExposure, mean, low)
	}
	// The three returns that took something are logged, the rest are not.
	if n := countLog(t, st, outcomeLogKind); n != 7 {
		t.Errorf("outcome log holds %d entries, want 4 purchases and 3 returns", n)
	}

	x.Close()
	st.Close()
	st = expTestStore(t, dir)
	x = expTestService(t, st, nil)
	if r2 := mustResults(t, x, "ret"); fmt.Sprintf("%+v", r2) != fmt.Sprintf("%+v", r) {
		t.Fatalf("after restart\n got %+v\nwant %+v", r2, r)
	}

	// A return after the restart still finds the purchase logged before it.
	ingestOne(t, st, ev("bob", prods[1], "return", 0, "r2"))
	// Erasing carol recounts the experiment from the index: the returns
	// are counted the same way.
	if err := st.EraseCustomer("carol"); err != nil {
		t.Fatal(err)
	}
	v = variantOf(t, mustResults(t, x, "ret"), "control")
	if v.Revenue != 0 || v.Conversions != 2 || v.Exposures != 2 {
		t.Fatalf("after bob's return and carol's erasure: revenue %g conversions %d exposures %d; want 0, 2, 2", v.Revenue, v.Conversions, v.Exposures)
	}
}

func TestReturnTaken(t *testing.T) {
	buy := func(p uint32, v float64) *outcomeRef {
		return &outcomeRef{cust: "c", product: p, hasProduct: true, value: v}
	}
	ret := func(p uint32, v, taken float64) *outcomeRef {
		return &outcomeRef{cust: "c", product: p, hasProduct: true, ret: true, value: v, taken: taken}
	}
	v1 := &outcomeRef{cust: "c", value: 50} // logged before returns counted
	for _, c := range []struct {
		name  string
		prior []*outcomeRef
		r     *outcomeRef
		want  float64
	}{
		{"no refund: the latest purchase", []*outcomeRef{buy(1, 10), buy(1, 12)}, ret(1, 0, 0), 12},
		{"refund", []*outcomeRef{buy(1, 10)}, ret(1, -4, 0), 4},
		{"refund capped by what is held", []*outcomeRef{buy(1, 10), ret(1, -7, 7)}, ret(1, -7, 0), 3},
		{"other product", []*outcomeRef{buy(2, 10)}, ret(1, -4, 0), 0},
		{"other customer", []*outcomeRef{{cust: "d", product: 1, hasProduct: true, value: 10}}, ret(1, -4, 0), 0},
		{"v1 conversion", []*outcomeRef{v1}, ret(0, 0, 0), 0},
		{"clicks are no purchase", []*outcomeRef{{cust: "c", click: true, product: 1, hasProduct: true}}, ret(1, 0, 0), 0},
	} {
		if got := returnTaken(c.prior, c.r); got != c.want {
			t.Errorf("%s: took %g, want %g", c.name, got, c.want)
		}
	}
}
