package features

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// holdErasureFollowUps makes s's erasure follow-ups wait at their start
// until release is called (or the store stops).
func holdErasureFollowUps(s *Store) (release func()) {
	ch := make(chan struct{})
	s.erasures.testBefore = func() {
		select {
		case <-ch:
		case <-s.stop:
		}
	}
	return sync.OnceFunc(func() { close(ch) })
}

// checkErasedFromMemory fails t unless customer ext (internal id c) is
// gone from s's id dictionary, histories, bitmaps and attributes.
func checkErasedFromMemory(t *testing.T, s *Store, ext string, c uint32, what string) {
	t.Helper()
	if _, ok := s.CustomerID(ext); ok {
		t.Fatalf("%s: %q still resolves", what, ext)
	}
	if h := s.HistoryView(c); len(h) != 0 {
		t.Fatalf("%s: %q's history is back: %v", what, ext, h)
	}
	if a := s.CustomerAttributes(c); a != nil {
		t.Fatalf("%s: %q's attributes are back: %v", what, ext, a)
	}
	for p := range s.NumProducts() {
		if s.ProductCustomers(BasisAny, uint32(p)).Contains(c) {
			t.Fatalf("%s: %q is still among product %d's customers", what, ext, p)
		}
	}
	if !s.Erased(ext) {
		t.Fatalf("%s: %q is not on the erased list", what, ext)
	}
}

// Concurrent erasures all answer, gone at once, before any model rebuild
// (the follow-up is held), and the rebuild they leave is one for all of
// them; it no longer counts them.
func TestConcurrentErasuresShareOneRebuild(t *testing.T) {
	s := openTestStore(t, "", nil)
	const n = 8
	var evs []Event
	for i := range n {
		c := fmt.Sprint("gone-", i)
		evs = append(evs, ev(c, "p1", "purchase"), ev(c, fmt.Sprint("p", 2+i%3), "purchase"))
	}
	evs = append(evs, ev("stays", "p1", "purchase"), ev("stays", "p2", "purchase"))
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	p1, _ := s.ProductID("p1")
	if sup := s.Model().SupportOf(BasisBought, p1); sup != n+1 {
		t.Fatalf("setup: p1 support %d, want %d", sup, n+1)
	}
	ids := make([]uint32, n)
	for i := range ids {
		ids[i], _ = s.CustomerID(fmt.Sprint("gone-", i))
	}
	// Every model build, whoever asks for it (a pre-existing test hook).
	var builds atomic.Int32
	s.builds.testInFlight = func() { builds.Add(1) }
	release := holdErasureFollowUps(s)
	defer release()

	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = s.EraseCustomer(fmt.Sprint("gone-", i)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("erasure %d: %v", i, err)
		}
		checkErasedFromMemory(t, s, fmt.Sprint("gone-", i), ids[i], "answered")
	}
	if b := builds.Load(); b != 0 {
		t.Fatalf("%d model builds ran inside the erasures, want none (they follow in the background)", b)
	}
	release()
	if !s.settleErasures() {
		t.Fatal("the store stopped")
	}
	if b, r := builds.Load(), s.erasures.rebuilds.Load(); b != 1 || r != 1 {
		t.Fatalf("%d model builds (%d by erasures) for %d concurrent erasures, want 1 shared", b, r, n)
	}
	if sup := s.Model().SupportOf(BasisBought, p1); sup != 1 {
		t.Fatalf("p1 support %d after the rebuild, want 1 (only %q)", sup, "stays")
	}
	if s.snapSeq.Load() != s.seq.Load() {
		t.Fatalf("the snapshot is at sequence %d, the log at %d: not rewritten after the erasures", s.snapSeq.Load(), s.seq.Load())
	}
}

// A crash right after an erasure answered, before its background snapshot
// was written: the restart loads the older snapshot, which holds their
// history, and the log tail, which holds the erasure's record but none of
// their events; their history must not come back, and the customer count
// must not count them.
func TestErasureSurvivesACrashBeforeTheSnapshot(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s := openTestStore(t, dir, nil)
	// "gone" first: id 0, below the ids that stay.
	if _, err := s.Ingest(ctx, []Event{ev("gone", "p1", "purchase"), ev("gone", "p2", "purchase"),
		ev("keep", "p1", "purchase"), ev("keep", "p2", "view")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutCustomer("gone", Customer{Attributes: map[string]any{"email": "gone@example.com"}}); err != nil {
		t.Fatal(err)
	}
	s.Refresh()
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	// After the snapshot: in the log tail the erasure deletes.
	if _, err := s.Ingest(ctx, []Event{ev("gone", "p3", "view"), ev("keep", "p3", "purchase")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	gone, _ := s.CustomerID("gone")
	keep, _ := s.CustomerID("keep")
	holdErasureFollowUps(s) // never released: the crash comes first
	if err := s.EraseCustomer("gone"); err != nil {
		t.Fatal(err)
	}
	checkErasedFromMemory(t, s, "gone", gone, "answered")
	if s.snapSeq.Load() >= s.seq.Load() {
		t.Fatalf("setup: the snapshot (%d) is not older than the erasure (%d)", s.snapSeq.Load(), s.seq.Load())
	}
	crashStore(t, s)

	s = openTestStore(t, dir, nil)
	if s.snapSeq.Load() >= s.seq.Load() {
		t.Fatalf("setup: the restart did not load the older snapshot (%d, log %d)", s.snapSeq.Load(), s.seq.Load())
	}
	checkErasedFromMemory(t, s, "gone", gone, "after a crash")
	if h := s.HistoryView(keep); len(h) != 3 {
		t.Fatalf("after a crash %q has %d events, want 3", "keep", len(h))
	}
	if n := s.Stats().Customers; n != 1 {
		t.Fatalf("after a crash the store counts %d customers, want 1", n)
	}
	// The follow-up the crash interrupted runs after the restart: the
	// snapshot file is rewritten without their history at once, not at
	// the next periodic snapshot.
	if !s.settleErasures() {
		t.Fatal("the store closed before the follow-up finished")
	}
	if s.snapSeq.Load() != s.seq.Load() {
		t.Fatalf("after the restart's follow-up the snapshot is at %d, the log at %d", s.snapSeq.Load(), s.seq.Load())
	}
	s.Close()
	s = openTestStore(t, dir, nil)
	checkErasedFromMemory(t, s, "gone", gone, "after a clean restart")
}

// liveByName counts the ids that still name a customer, as the value
// insights count them (crm's knownCustomer).
func liveByName(s *Store) int {
	n := 0
	for c := range s.NumCustomers() {
		if s.CustomerName(uint32(c)) != "" {
			n++
		}
	}
	return n
}

// The customer count of Stats (readiness, metrics, the stats history) is
// of live customers: an erasure takes one off, a merge the visitor, also
// when it creates the customer; a customer with only a record counts.
func TestStatsCountLiveCustomers(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	if _, err := s.Ingest(context.Background(), []Event{ev("a", "p1", "purchase"), ev("b", "p1", "purchase"),
		ev("anon-1", "p2", "view"), ev("anon-2", "p2", "view")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	want := func(n int, what string) {
		t.Helper()
		if got := s.Stats().Customers; got != n || liveByName(s) != n {
			t.Fatalf("%s: Stats counts %d customers, ids naming one %d; want %d", what, got, liveByName(s), n)
		}
	}
	want(4, "ingested")
	if err := s.EraseCustomer("a"); err != nil {
		t.Fatal(err)
	}
	want(3, "a erased")
	if _, err := s.MergeCustomers("anon-1", "b"); err != nil {
		t.Fatal(err)
	}
	want(2, "anon-1 merged into b")
	if _, err := s.MergeCustomers("anon-2", "c"); err != nil {
		t.Fatal(err)
	}
	want(2, "anon-2 merged into c, created")
	if err := s.PutCustomer("d", Customer{Attributes: map[string]any{"tier": "gold"}}); err != nil {
		t.Fatal(err)
	}
	want(3, "d put")
	s.Close()
	s = openTestStore(t, dir, nil)
	want(3, "after a restart")
}

// Erasures queued while the writer is busy are done in one batch: one read
// of the log for all of them. Each is gone, the same customer asked twice
// is erased once (both succeed), and a full replay of the log, erase
// records included, keeps them gone.
func TestQueuedErasuresShareOneLogRead(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	const n = 6
	var evs []Event
	for i := range n {
		evs = append(evs, ev(fmt.Sprint("gone-", i), "p1", "purchase"), ev("stays", fmt.Sprint("p", i), "purchase"))
	}
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	ids := make([]uint32, n)
	for i := range ids {
		ids[i], _ = s.CustomerID(fmt.Sprint("gone-", i))
	}
	seq := s.seq.Load()
	busy, release := make(chan struct{}), make(chan struct{})
	go s.do(func() error { close(busy); <-release; return nil })
	<-busy
	var wg sync.WaitGroup
	errs := make([]error, n+1)
	for i := range n + 1 {
		wg.Go(func() { errs[i] = s.EraseCustomer(fmt.Sprint("gone-", min(i, n-1))) })
	}
	for {
		s.eraseQ.mu.Lock()
		queued := len(s.eraseQ.pending)
		s.eraseQ.mu.Unlock()
		if queued == n+1 {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("erasure %d: %v", i, err)
		}
	}
	if b := s.eraseQ.batches.Load(); b != 1 {
		t.Fatalf("%d erasures queued together were done in %d batches, want 1", n+1, b)
	}
	if got := s.seq.Load(); got != seq+n {
		t.Fatalf("the log is at %d after %d erasures from %d, want one erase record each", got, n, seq)
	}
	for i, c := range ids {
		checkErasedFromMemory(t, s, fmt.Sprint("gone-", i), c, "answered")
	}
	st, _ := s.CustomerID("stays")
	if h := s.HistoryView(st); len(h) != n {
		t.Fatalf("%q has %d events, want %d", "stays", len(h), n)
	}
	if !s.settleErasures() {
		t.Fatal("the store stopped")
	}
	s.idx = newIndex()
	if _, err := s.replay(0, false); err != nil {
		t.Fatal(err)
	}
	for i, c := range ids {
		checkErasedFromMemory(t, s, fmt.Sprint("gone-", i), c, "full replay")
	}
	if h := s.HistoryView(st); len(h) != n {
		t.Fatalf("full replay: %q has %d events, want %d", "stays", len(h), n)
	}
}
