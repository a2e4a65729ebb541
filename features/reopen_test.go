package features

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestReopenAfterCrashKeepsTheDenseLists: a store reopened after a crash
// (a log tail past its snapshot) serves the snapshot's dense lists with the
// tail in the histories and the supports, instead of solving before it is
// open (minutes at a few thousand products), and its first paced refresh
// runs the solve.
func TestReopenAfterCrashKeepsTheDenseLists(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	slow := func(o *Options) { o.DenseInterval = time.Hour }
	s := openTestStore(t, dir, slow)
	var evs []Event
	for c := range 30 {
		for p := range 5 {
			evs = append(evs, ev(fmt.Sprint("c", c), fmt.Sprint("p", (c*p+c)%17), "purchase"))
		}
	}
	if _, err := s.Ingest(ctx, evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	served := s.Model()
	p16, _ := s.ProductID("p16")
	// The tail: new pairs, which make the dense lists stale.
	var tail []Event
	for c := range 8 {
		tail = append(tail, ev(fmt.Sprint("late", c), "p16", "purchase"), ev(fmt.Sprint("late", c), "p3", "purchase"))
	}
	if _, err := s.Ingest(ctx, tail, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	last := s.Stats().LastSeq
	crashStore(t, s)

	s = openTestStore(t, dir, slow)
	if s.Stats().LastSeq != last {
		t.Fatalf("reopened at seq %d, the log has %d", s.Stats().LastSeq, last)
	}
	got := s.Model()
	if d := listsDiffer(got.Neighbours, served.Neighbours); d != "" {
		t.Fatalf("the reopen solved before serving (lists changed: %s)", d)
	}
	if got.SupportOf(BasisBought, p16) != served.SupportOf(BasisBought, p16)+8 {
		t.Fatalf("p16 has %d customers after the reopen, %d before the tail: the tail is not counted",
			got.SupportOf(BasisBought, p16), served.SupportOf(BasisBought, p16))
	}
	late, ok := s.CustomerID("late3")
	if !ok || len(s.HistoryView(late)) != 2 {
		t.Fatalf("late3's history after the reopen: %v (known %v)", s.HistoryView(late), ok)
	}
	if got.Seq != last {
		t.Fatalf("model at seq %d, log at %d", got.Seq, last)
	}
	// The solve is due at the first paced refresh, DenseInterval or not.
	s.refresh(refreshPaced)
	if listsDiffer(s.Model().Neighbours, served.Neighbours) == "" {
		t.Fatal("the first paced refresh after the reopen did not solve")
	}
	fresh := s.Model().Neighbours
	s.Refresh()
	if d := listsDiffer(s.Model().Neighbours, fresh); d != "" {
		t.Fatalf("the background solve differs from a forced one: %s", d)
	}
}
