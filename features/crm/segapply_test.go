package crm

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// TestIngestDoesNotWaitForSegmentRules holds the segment applier and
// ingests: every batch is acknowledged while no rule can run, so rule
// evaluation is not on the ingest path. Released, the applier brings
// membership up to date, and FlushSegments waits for it.
func TestIngestDoesNotWaitForSegmentRules(t *testing.T) {
	s := openTestStore(t, "", nil)
	ctx := context.Background()
	if _, err := s.PutSegment("big", "monetary > 100"); err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	hold := func() {
		select {
		case entered <- struct{}{}:
		default:
		}
		<-release
	}
	s.beforeApply.Store(&hold)
	t.Cleanup(func() { s.beforeApply.Store(nil) })
	ts := time.Date(2023, 12, 1, 0, 0, 0, 0, time.UTC)
	name := func(i int) string { return "c" + string(rune('a'+i%26)) + string(rune('a'+i/26)) }
	ingestFrom := func(from, to int) <-chan error {
		acked := make(chan error, 1)
		go func() {
			for i := from; i < to; i++ {
				ev := features.Event{CustomerID: name(i), ProductID: "p", Type: "purchase", Value: 500, Timestamp: ts}
				if _, err := s.Ingest(ctx, []features.Event{ev}, features.IngestOptions{NoSync: true}); err != nil {
					acked <- err
					return
				}
			}
			acked <- nil
		}()
		return acked
	}
	// The timeouts guard against a hang, they assert no speed: before the
	// applier, rules ran in the writer and an ack waited for them.
	wait := func(acked <-chan error) {
		t.Helper()
		select {
		case err := <-acked:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(30 * time.Second):
			close(release)
			t.Fatal("ingest waited for the held segment applier")
		}
	}
	wait(ingestFrom(0, 1))
	select {
	case <-entered:
	case <-time.After(30 * time.Second):
		t.Fatal("the applier never took the ingested customer")
	}
	// The applier is held inside a round: these must be acknowledged
	// without any rule running.
	wait(ingestFrom(1, 50))
	if n := s.SegmentBacklog(); n == 0 {
		t.Fatal("no customer waits while the applier is held")
	}
	close(release)
	if err := s.FlushSegments(); err != nil {
		t.Fatal(err)
	}
	if n := s.SegmentBacklog(); n != 0 {
		t.Fatalf("backlog %d after a flush", n)
	}
	for i := 0; i < 50; i++ {
		id := "c" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		c, ok := s.CustomerID(id)
		if !ok || !slices.Equal(s.SegmentsOf(c), []string{"big"}) {
			t.Fatalf("%s in %v after the flush", id, s.SegmentsOf(c))
		}
	}
}

// TestFlushSegmentsAfterClose returns ErrClosed rather than waiting for
// an applier that has stopped.
func TestFlushSegmentsAfterClose(t *testing.T) {
	s := openTestStore(t, "", nil)
	if err := s.FlushSegments(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.enqueueMembership(1)
	if err := s.FlushSegments(); err != features.ErrClosed {
		t.Fatalf("FlushSegments after Close = %v", err)
	}
}
