package features

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestCloseAbandonsTheBuildInFlight: Close does not wait for a background
// build (a dense solve can take minutes): it snapshots the model being
// served, with the build's marks pending, and the build publishes nothing.
// The reopened store serves the same lists and rebuilds the tail's.
func TestCloseAbandonsTheBuildInFlight(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	var evs []Event
	for c := range 30 {
		for p := range 5 {
			evs = append(evs, ev(fmt.Sprint("c", c), fmt.Sprint("p", (c*p+c)%17), "purchase"))
		}
	}
	s := openTestStore(t, dir, nil)
	if _, err := s.Ingest(ctx, evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	served := s.Model()
	var tail []Event
	for c := range 8 {
		tail = append(tail, ev(fmt.Sprint("late", c), "p16", "purchase"), ev(fmt.Sprint("late", c), "p3", "purchase"))
	}
	if _, err := s.Ingest(ctx, tail, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	inBuild, release := make(chan struct{}), make(chan struct{})
	finished := make(chan struct{})
	s.builds.testInFlight = func() {
		close(inBuild)
		<-release
	}
	s.kick <- struct{}{} // the background loop's refresh, with a solve
	<-inBuild
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		close(release)
		t.Fatal("Close waited for the build in flight")
	}
	if s.Model() != served {
		t.Fatal("the store changed its model while closing")
	}
	go func() {
		// The abandoned build ends, publishing nothing.
		close(release)
		s.refreshMu.Lock()
		s.refreshMu.Unlock()
		close(finished)
	}()
	<-finished
	if s.Model() != served {
		t.Fatal("the abandoned build published its model")
	}

	s = openTestStore(t, dir, nil)
	p16, _ := s.ProductID("p16")
	if d := listsDiffer(s.Model().Neighbours, served.Neighbours); d != "" {
		t.Fatalf("the reopened store serves other lists: %s", d)
	}
	if !s.denseStale || !s.idx.dirty.Contains(p16) {
		t.Fatalf("the abandoned build's work is not pending after the reopen: solve %v, p16 stale %v",
			s.denseStale, s.idx.dirty.Contains(p16))
	}
	s.Refresh()
	if got, was := s.Model().SupportOf(BasisBought, p16), served.SupportOf(BasisBought, p16); got != was+8 {
		t.Fatalf("after the reopened store's refresh p16 has %d customers, %d before the tail: the abandoned build's marks were lost", got, was)
	}
	if listsDiffer(s.Model().Neighbours, served.Neighbours) == "" {
		t.Fatal("the tail changed no list: the test did not make them stale")
	}
}
