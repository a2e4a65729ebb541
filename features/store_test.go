package features

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// openTestStore opens a real Badger store under t.TempDir and closes it at
// the end of the test.
func openTestStore(t testing.TB, dir string, mod func(*Options)) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	o := DefaultOptions(dir)
	o.SyncWrites = false
	o.RefreshInterval = time.Hour // tests call Refresh themselves
	// Tests use tiny catalogues: every product belongs in the dense model.
	o.Neighbours.DenseMinSupport = 1
	// Tests check the lists of the options they give; the tuner's own
	// tests turn it on.
	o.Neighbours.Tune = false
	o.Clock = func() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }
	if mod != nil {
		mod(&o)
	}
	s, err := Open(o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func ev(c, p, typ string) Event { return Event{CustomerID: c, ProductID: p, Type: typ} }

func TestIngestValidatesEachEvent(t *testing.T) {
	s := openTestStore(t, "", nil)
	res, err := s.Ingest(context.Background(), []Event{
		ev("c1", "p1", "purchase"),
		ev("", "p1", "purchase"),
		ev("c1", "p1", "teleport"),
		{CustomerID: "c1", ProductID: string(make([]byte, 300)), Type: "view"},
		ev("c2", "p1", "view"),
	}, IngestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 2 || len(res.Rejected) != 3 {
		t.Fatalf("got %+v", res)
	}
	wantFields := []string{"customer_id", "type", "product_id"}
	for i, r := range res.Rejected {
		if r.Field != wantFields[i] {
			t.Errorf("rejection %d field %q, want %q (%s)", i, r.Field, wantFields[i], r.Detail)
		}
	}
}

func TestRelatedAndRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	ctx := context.Background()
	var evs []Event
	// p1 and p2 are bought together by 5 customers, p1 and p3 by 1.
	for i := 0; i < 5; i++ {
		c := fmt.Sprintf("c%d", i)
		evs = append(evs, ev(c, "p1", "purchase"), ev(c, "p2", "purchase"))
	}
	evs = append(evs, ev("c9", "p1", "purchase"), ev("c9", "p3", "purchase"))
	if _, err := s.Ingest(ctx, evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	check := func(s *Store) {
		t.Helper()
		p1, _ := s.ProductID("p1")
		l := s.Model().NeighboursOf(BasisBought, p1)
		if len(l) != 2 || s.ProductName(l[0].Product) != "p2" || s.ProductName(l[1].Product) != "p3" {
			t.Fatalf("neighbours of p1: %+v", l)
		}
	}
	check(s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := openTestStore(t, dir, nil)
	check(s2)
	if st := s2.Stats(); st.Events != 12 {
		t.Fatalf("events after restart %d", st.Events)
	}
}

func TestEventIDsAreIdempotent(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	ctx := context.Background()
	e := Event{EventID: "e1", CustomerID: "c", ProductID: "p", Type: "view"}
	for i := 0; i < 2; i++ {
		res, err := s.Ingest(ctx, []Event{e, e}, IngestOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Accepted != 2 || res.Duplicates != 2-(1-i) {
			// first call: one new, one duplicate in batch; second: both duplicates
			t.Fatalf("call %d: %+v", i, res)
		}
	}
	s.Close()
	s2 := openTestStore(t, dir, nil)
	res, _ := s2.Ingest(ctx, []Event{e}, IngestOptions{})
	if res.Duplicates != 1 || s2.Stats().Events != 1 {
		t.Fatalf("after restart: %+v events %d", res, s2.Stats().Events)
	}
}

// TestHistoryViewWhileWriting reads a customer's history without copying it
// while events for that customer are applied: under -race
// this checks that a view never shares memory with a later write, and every
// view is a prefix of the events in order.
func TestHistoryViewWhileWriting(t *testing.T) {
	s := openTestStore(t, "", func(o *Options) { o.SyncWrites = false })
	ctx := context.Background()
	if _, err := s.Ingest(ctx, []Event{ev("c", "p0", "view")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	c, _ := s.CustomerID("c")
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for i := 1; i < 400; i++ {
			if _, err := s.Ingest(ctx, []Event{ev("c", fmt.Sprintf("p%d", i), "view")}, IngestOptions{}); err != nil {
				done <- err
				return
			}
		}
	}()
	longest := 0
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			running = false
		default:
		}
		h := s.HistoryView(c)
		for i, in := range h {
			if want, _ := s.ProductID(fmt.Sprintf("p%d", i)); in.Product != want {
				t.Fatalf("view entry %d is product %d, want %d", i, in.Product, want)
			}
		}
		longest = max(longest, len(h))
	}
	if got := len(s.HistoryView(c)); got != 400 {
		t.Fatalf("history has %d events, want 400", got)
	}
	if longest == 0 {
		t.Fatal("no view was read")
	}
}

// TestModelAgeAfterRestart: a model read back from the snapshot has a build
// time, so /metrics' refresh lag is not "forever" after a restart.
func TestModelAgeAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	if _, err := s.Ingest(context.Background(), []Event{ev("c", "p", "purchase"), ev("c", "q", "purchase")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, nil)
	if age := time.Since(s.Stats().ModelBuilt); age < 0 || age > time.Minute {
		t.Fatalf("model age after a restart is %v", age)
	}
}
