package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
)

// The snapshot lease is exclusive across servers: of six contenders on
// three connections to three servers, exactly one gets it; it can be
// renewed by its holder only, and taken again once released.
func TestLeaseIsExclusive(t *testing.T) {
	c := cluster3(t)
	ctx := context.Background()
	name := fmt.Sprintf("LEASE%d", runID(t))
	var ls []*Leases
	for i := range 3 {
		// Its own prefix too: subjects may not overlap with another stream on
		// the shared servers (another test, or the same one under -count).
		s := setup(t, connect(t, c.URL(i)), StreamConfig{Name: name, Prefix: fmt.Sprintf("lease%d", runID(t))})
		l, err := OpenLeases(ctx, s, 0)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	var mu sync.Mutex
	var won []*Lease
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			le, err := ls[i%3].TryAcquire(ctx, "bootstrap-snapshot", fmt.Sprint("node", i))
			if errors.Is(err, ErrLeaseHeld) {
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			won = append(won, le)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d contenders got the lease", len(won))
	}
	if err := won[0].Renew(ctx); err != nil {
		t.Fatal(err)
	}
	if who, err := ls[2].Holder(ctx, "bootstrap-snapshot"); err != nil || who != won[0].who {
		t.Fatalf("holder %q (%v), want %q", who, err, won[0].who)
	}
	if err := won[0].Release(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := ls[1].TryAcquire(ctx, "bootstrap-snapshot", "late")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	// The first holder's revision is stale now: it can neither renew nor
	// release the new holder's lease.
	if err := won[0].Renew(ctx); err == nil {
		t.Fatal("a released lease was renewed")
	}
	_ = won[0].Release(ctx)
	if who, _ := ls[0].Holder(ctx, "bootstrap-snapshot"); who != "late" {
		t.Fatalf("holder %q after the old holder's release, want late", who)
	}
	_ = again.Release(ctx)
}
