package crm

import (
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// TestReturnMatchesItsPurchase: a return without a value takes back the
// purchase it returns (the same order's when it names one, else the
// latest before it); a refund takes its own amount; nothing goes below 0,
// and frequency keeps the order.
func TestReturnMatchesItsPurchase(t *testing.T) {
	o := features.DefaultOptions(t.TempDir())
	o.SyncWrites = false
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tt := st.Types()
	buy, _ := tt.Code("purchase")
	ret, _ := tt.Code("return")
	day := int64(86400)
	t0 := time.Date(2011, 1, 3, 10, 0, 0, 0, time.UTC).Unix()
	h := []features.Interaction{
		{Product: 1, Order: 11, TS: uint32(t0), Type: buy, Value: 40},
		{Product: 1, Order: 12, TS: uint32(t0 + day), Type: buy, Value: 25},
		{Product: 2, Order: 12, TS: uint32(t0 + day), Type: buy, Value: 10},
	}
	cases := []struct {
		name         string
		in           features.Interaction
		amount       float64
		purchaseTime int64
	}{
		{"order named", features.Interaction{Product: 1, Order: 11, TS: uint32(t0 + 2*day), Type: ret}, 40, t0},
		{"latest", features.Interaction{Product: 1, TS: uint32(t0 + 2*day), Type: ret}, 25, t0 + day},
		{"refund", features.Interaction{Product: 1, Order: 11, TS: uint32(t0 + 2*day), Type: ret, Value: -5}, 5, t0},
		{"not bought", features.Interaction{Product: 3, TS: uint32(t0 + 2*day), Type: ret}, 0, t0 + 2*day},
		{"before the purchase", features.Interaction{Product: 2, TS: uint32(t0), Type: ret}, 0, t0},
	}
	for _, c := range cases {
		a, pts := returnAmount(tt, h, c.in.Product, c.in.Order, int64(c.in.TS), c.in.Value)
		if a != c.amount || pts != c.purchaseTime {
			t.Errorf("%s: %v at %d, want %v at %d", c.name, a, pts, c.amount, c.purchaseTime)
		}
	}
	var r valueRec
	for _, in := range h {
		r.addPurchase(int64(in.TS), in.Value, in.Order)
	}
	r.addReturn(t0+2*day, t0, 40)
	if r.monetary != 35 || r.frequency() != 2 || r.firstDayValue != 0 {
		t.Fatalf("after returning the first order: monetary %v, frequency %d, first day %v", r.monetary, r.frequency(), r.firstDayValue)
	}
	r.addReturn(t0+3*day, t0+day, 1000)
	if r.monetary != 0 || r.decayed != 0 {
		t.Fatalf("a refund above what was bought: monetary %v, decayed %v; want 0", r.monetary, r.decayed)
	}
}
