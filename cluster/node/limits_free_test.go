package node_test

import (
	"context"
	"testing"

	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// TestBudgetUnitFreedOnce: every node closes every showing it learns of
// from the stream (an answer, an expiry at a tick, an erasure), and each
// tells the shared limits; a showing's budget unit must still go back only
// once, or a budget would be passed after expiries.
func TestBudgetUnitFreedOnce(t *testing.T) {
	nc := natstest.StartT(t, 1)
	ms := []*member{startMember(t, t.TempDir(), nc.URLs()), startMember(t, t.TempDir(), nc.URLs())}
	ctx := context.Background()
	var lims []interface {
		offer.Limits
		Close()
	}
	for _, m := range ms {
		defer m.stop()
		l, err := m.node.OfferLimits(ctx)
		if err != nil {
			t.Fatal(err)
		}
		lims = append(lims, l)
	}
	u := offer.LimitUnit{Offer: "o", Incarnation: "i1", Customer: "c1", Budget: 10}
	for _, rec := range []string{"r1", "r2", "r3"} {
		if ok, err := lims[0].Reserve(ctx, u); err != nil || !ok {
			t.Fatalf("reserve %s: %v %v", rec, ok, err)
		}
	}
	// Both nodes close r1 and r2 (r2 twice on each); r3 stays open.
	for _, l := range lims {
		if err := l.Free(ctx, "o", "i1", []string{"r1", "r2", "r2"}); err != nil {
			t.Fatal(err)
		}
	}
	for _, l := range lims {
		l.Close() // leased and freed units go back to the shared key
	}
	c, err := cluster.OpenCounters(ctx, ms[0].node.Stream())
	if err != nil {
		t.Fatal(err)
	}
	v, err := c.Value(ctx, cluster.CounterKey("budget", "o", "i1"))
	if err != nil {
		t.Fatal(err)
	}
	if v != 1 {
		t.Fatalf("budget key holds %d units for three showings of which two were closed (want 1: r3's)", v)
	}
}
