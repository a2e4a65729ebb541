package features

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// lagIndex is an index where customers 0..99 each bought products 1 and 2
// (support 100), with no marks.
func lagIndex() *index {
	x := newIndex()
	for c := range uint32(100) {
		for _, p := range []uint32{1, 2} {
			x.applyLocked(c, Interaction{Product: p, Class: ClassBought}, false)
		}
	}
	return x
}

func lagSupport(q uint32) uint32 {
	if q == 1 || q == 2 {
		return 100
	}
	return 1
}

// TestTakeStaleLagsCoCustomerProducts: a new pair makes its own product
// stale at once, and the customer's other products only once their
// pending changes reach lagEps of their support or the oldest is
// lagMaxAge old; an exact take (takeDirty) takes everything, and a
// snapshot counts lagging products as stale.
func TestTakeStaleLagsCoCustomerProducts(t *testing.T) {
	x := lagIndex()
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	pol := &lagPolicy{now: now, support: lagSupport, eps: lagEps, maxAge: lagMaxAge}
	x.applyLocked(0, Interaction{Product: 5, Class: ClassBought}, true)
	d, all, _ := x.takeStale(pol)
	if all || d == nil || d.ToArray()[0] != 5 || d.GetCardinality() != 1 {
		t.Fatalf("first take: %v (all %v), want [5]", d, all)
	}
	if got := x.staleProducts(); fmt.Sprint(got) != "[1 2]" {
		t.Fatalf("stale for a snapshot: %v, want [1 2]", got)
	}
	// Pending changes reach lagEps of the support (five changes of 100
	// at lagEps 0.05): one so far, three more stay below.
	need := int(lagEps * 100)
	for c := range uint32(need - 2) {
		x.applyLocked(1+c, Interaction{Product: 6, Class: ClassBought}, true)
	}
	if d, _, _ := x.takeStale(pol); d == nil || d.Contains(1) || !d.Contains(6) {
		t.Fatalf("take below the threshold: %v, want 6 without 1", d)
	}
	x.applyLocked(50, Interaction{Product: 7, Class: ClassBought}, true)
	if d, _, _ := x.takeStale(pol); d == nil || !d.Contains(1) || !d.Contains(2) || !d.Contains(7) {
		t.Fatalf("take at the threshold: %v, want 1, 2 and 7", d)
	}
	// Age: one change, then a take lagMaxAge later.
	x.applyLocked(60, Interaction{Product: 8, Class: ClassBought}, true)
	if d, _, _ := x.takeStale(pol); d.Contains(1) {
		t.Fatalf("a fresh change was taken: %v", d)
	}
	late := &lagPolicy{now: now.Add(lagMaxAge), support: lagSupport, eps: lagEps, maxAge: lagMaxAge}
	if d, _, _ := x.takeStale(late); d == nil || !d.Contains(1) || !d.Contains(2) {
		t.Fatalf("take after lagMaxAge: %v, want 1 and 2", d)
	}
	// An exact take takes what is pending.
	x.applyLocked(61, Interaction{Product: 9, Class: ClassBought}, true)
	x.takeStale(pol)
	if d, _, _ := x.takeDirty(); d == nil || !d.Contains(1) || !d.Contains(2) {
		t.Fatalf("exact take: %v, want 1 and 2", d)
	}
	if got := x.staleProducts(); len(got) != 0 {
		t.Fatalf("stale after an exact take: %v", got)
	}
}

// TestPacedRefreshThenRefreshIsExact: background refreshes may leave
// co-customer lists pending, and a forced Refresh after them serves the
// lists a full build computes.
func TestPacedRefreshThenRefreshIsExact(t *testing.T) {
	s := openTestStore(t, "", func(o *Options) { o.Neighbours.Similarity = SimRP3 })
	ctx := context.Background()
	ingest := func(evs ...Event) {
		t.Helper()
		if _, err := s.Ingest(ctx, evs, IngestOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var evs []Event
	for c := range 200 {
		for k := range 6 {
			evs = append(evs, ev(fmt.Sprint("c", c), fmt.Sprint("p", (c*7+k*k)%40), "purchase"))
		}
	}
	ingest(evs...)
	s.Refresh()
	lagged := false
	for round := range 5 {
		for c := range 10 {
			ingest(ev(fmt.Sprint("c", c*13+round), fmt.Sprint("p", 40+round*10+c), "purchase"))
		}
		s.refresh(refreshPaced)
		lagged = lagged || len(s.idx.staleProducts()) > 0
	}
	if !lagged {
		t.Fatal("setup: no paced refresh left a list pending")
	}
	s.Refresh()
	full := buildModel(s.idx, nil, nil, s.prod.len(), s.Model().Options, false, 1)
	if d := listsDiffer(s.Model().Neighbours, full.Neighbours); d != "" {
		t.Fatalf("after Refresh the lists differ from a full build: %s", d)
	}
}

// TestPacedRefreshUnderWrites: background refreshes (niced workers, the
// feeder, pending co-customer lists) running while events are written and
// snapshots taken, and then a forced Refresh serves the lists of a full
// build. Run with -race, it checks the lock-free reads of the histories.
func TestPacedRefreshUnderWrites(t *testing.T) {
	s := openTestStore(t, "", func(o *Options) { o.Neighbours.Similarity = SimRP3 })
	ctx := context.Background()
	done := make(chan error, 1)
	go func() {
		for i := range 600 {
			c := fmt.Sprint("c", i%40)
			_, err := s.Ingest(ctx, []Event{ev(c, fmt.Sprint("p", (i*7)%90), "purchase"), ev(c, fmt.Sprint("p", i%13), "view")}, IngestOptions{})
			if err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
			s.refresh(refreshPaced)
			if err := s.Snapshot(); err != nil {
				t.Fatal(err)
			}
		}
	}
	s.refresh(refreshPaced)
	s.Refresh()
	full := buildModel(s.idx, nil, nil, s.prod.len(), s.Model().Options, false, 1)
	if d := listsDiffer(s.Model().Neighbours, full.Neighbours); d != "" {
		t.Fatalf("after Refresh the lists differ from a full build: %s", d)
	}
}
