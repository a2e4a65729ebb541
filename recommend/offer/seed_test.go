package offer

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// TestDrawSeedIsAFunctionOfItsInputs: the cluster-mode seed is the same
// for the same inputs (every node computes it alone) and changes with
// each of them.
func TestDrawSeedIsAFunctionOfItsInputs(t *testing.T) {
	a1, a2 := drawSeed(7, "c1", "web", 40, 1e18)
	if b1, b2 := drawSeed(7, "c1", "web", 40, 1e18); a1 != b1 || a2 != b2 {
		t.Fatalf("the same inputs gave (%x %x) and (%x %x)", a1, a2, b1, b2)
	}
	if a1 == a2 {
		t.Fatalf("the two seed words are equal: %x", a1)
	}
	others := map[string][2]uint64{}
	for name, in := range map[string]struct {
		base     uint64
		cust, ch string
		seq      uint64
		ns       int64
	}{
		"base": {8, "c1", "web", 40, 1e18}, "customer": {7, "c2", "web", 40, 1e18},
		"channel": {7, "c1", "email", 40, 1e18}, "no channel": {7, "c1", "", 40, 1e18},
		"tick sequence": {7, "c1", "web", 41, 1e18}, "tick time": {7, "c1", "web", 40, 1e18 + 1},
		"boundary": {7, "c1w", "eb", 40, 1e18},
	} {
		x1, x2 := drawSeed(in.base, in.cust, in.ch, in.seq, in.ns)
		if x1 == a1 || x2 == a2 {
			t.Errorf("changing the %s left the seed as it was", name)
		}
		others[name] = [2]uint64{x1, x2}
	}
	seen := map[[2]uint64]string{}
	for name, v := range others {
		if o, dup := seen[v]; dup {
			t.Errorf("changing the %s and the %s give the same seed", name, o)
		}
		seen[v] = name
	}
}

// TestStreamDrawsFollowTheTick: in stream-tick mode (cluster), a
// previewed next-best-offer draws the same propensities for the same
// customer at the same tick, other ones for other customers, and new ones
// after the next tick; a single node draws anew on every call.
func TestStreamDrawsFollowTheTick(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	var evs []features.Event
	for c := 0; c < 6; c++ {
		for p := 0; p < 4; p++ {
			evs = append(evs, features.Event{CustomerID: fmt.Sprintf("c%d", c), ProductID: fmt.Sprintf("p%d", p), Type: "purchase", Timestamp: offerTestEpoch.Add(-time.Hour)})
		}
	}
	e.ingest(evs...)
	for p := 0; p < 4; p++ {
		e.put(fmt.Sprintf("o%d", p), Offer{Products: []string{fmt.Sprintf("p%d", p)}, Value: 1, Priority: 1})
	}
	draws := func(cust string) []float64 {
		t.Helper()
		res, err := e.svc.Choose(context.Background(), Request{CustomerID: cust, Limit: 4, DryRun: true})
		if err != nil {
			t.Fatal(err)
		}
		var out []float64
		for _, c := range res.Offers {
			out = append(out, c.Propensity)
		}
		if len(out) != 4 {
			t.Fatalf("%s got %d offers, want 4", cust, len(out))
		}
		return out
	}
	if a, b := draws("c1"), draws("c1"); reflect.DeepEqual(a, b) {
		t.Fatalf("a single node drew the same twice: %v", a)
	}
	if err := e.store.UseStreamTicks(); err != nil {
		t.Fatal(err)
	}
	before := map[string][]float64{}
	for c := 0; c < 6; c++ {
		cust := fmt.Sprintf("c%d", c)
		a, b := draws(cust), draws(cust)
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("at one tick %s drew %v, then %v", cust, a, b)
		}
		for o, d := range before {
			if reflect.DeepEqual(d, a) {
				t.Fatalf("%s and %s drew the same: %v", o, cust, a)
			}
		}
		before[cust] = a
	}
	if err := e.store.ApplyTick(context.Background(), 1, features.Tick{At: offerTestEpoch.Add(time.Minute)}, nil); err != nil {
		t.Fatal(err)
	}
	for cust, d := range before {
		if a := draws(cust); reflect.DeepEqual(a, d) {
			t.Errorf("%s drew %v again after a new tick", cust, a)
		}
	}
}

// TestTickClosesExpiredShowings: in stream-tick mode a tick past the
// response window closes an open showing as ignored when it is applied,
// without waiting for the node's own sweep (a minute), so every node at
// that tick ranks with the same posterior.
func TestTickClosesExpiredShowings(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	e.ingest(features.Event{CustomerID: "c1", ProductID: "p1", Type: "purchase", Timestamp: offerTestEpoch.Add(-time.Hour)})
	e.put("o1", Offer{Products: []string{"p1"}, Value: 1, Priority: 1})
	if err := e.store.UseStreamTicks(); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ApplyTick(context.Background(), 1, features.Tick{At: offerTestEpoch}, nil); err != nil {
		t.Fatal(err)
	}
	if r := e.choose("c1", 1, ""); len(r.Offers) != 1 {
		t.Fatalf("shown %d offers, want 1", len(r.Offers))
	}
	win := e.svc.Options().ResponseWindow
	// The test store's clock is its own (not the wall clock, which ticks
	// replace): it moves with the tick.
	e.now.Store(offerTestEpoch.Add(win + time.Second).Unix())
	if err := e.store.ApplyTick(context.Background(), 2, features.Tick{At: offerTestEpoch.Add(win + time.Second)}, nil); err != nil {
		t.Fatal(err)
	}
	v, err := e.svc.Get("o1")
	if err != nil {
		t.Fatal(err)
	}
	if p := v.Performance; p.Ignored != 1 || p.Open != 0 {
		t.Fatalf("after a tick past the window: %+v, want 1 ignored, 0 open", p)
	}
}
