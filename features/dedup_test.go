package features

import (
	"context"
	"fmt"
	"testing"
)

func TestDedupFilterRoundTrip(t *testing.T) {
	d := newDedupFilter(64)
	var keys [][16]byte
	for i := range 300 { // spills into three more filters
		keys = append(keys, eventKey(fmt.Sprintf("e%d", i)))
	}
	d.addAll(keys)
	b := append([]byte("x"), d.appendBinary(nil)...)
	dec := decoder{b: b[1:]}
	got, err := decodeDedupFilter(&dec)
	if err != nil {
		t.Fatal(err)
	}
	if len(dec.b) != 0 {
		t.Fatalf("%d bytes left over", len(dec.b))
	}
	if len(got.full) != len(d.full) || got.cap != d.cap || got.n != d.n {
		t.Fatalf("got %d full filters cap %d n %d, want %d %d %d", len(got.full), got.cap, got.n, len(d.full), d.cap, d.n)
	}
	for _, k := range keys {
		if !got.test(k) {
			t.Fatalf("key %x lost", k)
		}
	}
	// Adding goes on where it stopped.
	got.add(eventKey("new"))
	if !got.test(eventKey("new")) {
		t.Fatal("a key added after loading is not found")
	}
	// Damaged bytes are refused, never a panic or a huge allocation.
	for i := range b[1:] {
		bad := append([]byte(nil), b[1:]...)
		bad[i] ^= 0xff
		dec := decoder{b: bad}
		if f, err := decodeDedupFilter(&dec); err == nil && f == nil {
			t.Fatalf("byte %d: nil filter without error", i)
		}
	}
	raw := b[1:]
	for _, cut := range []int{0, 1, 5, 30, len(raw) - 1} {
		dec := decoder{b: raw[:cut]}
		if _, err := decodeDedupFilter(&dec); err == nil {
			t.Errorf("cut at %d accepted", cut)
		}
	}
}

// TestEventIDsAfterRestartAndCrash: the ids are found again after a clean
// restart (from the snapshot's filters) and after a crash that left a log
// tail beyond the snapshot (from Badger).
func TestEventIDsAfterRestartAndCrash(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	batch := func(from, n int) []Event {
		var evs []Event
		for i := from; i < from+n; i++ {
			evs = append(evs, Event{EventID: fmt.Sprintf("e%d", i), CustomerID: fmt.Sprintf("c%d", i%7), ProductID: fmt.Sprintf("p%d", i%5), Type: "view"})
		}
		return evs
	}
	s := openTestStore(t, dir, nil)
	if _, err := s.Ingest(ctx, batch(0, 50), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestStore(t, dir, nil)
	if res, err := s.Ingest(ctx, batch(0, 50), IngestOptions{}); err != nil || res.Duplicates != 50 {
		t.Fatalf("after a clean restart: %+v %v", res, err)
	}
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	// Events after the snapshot, then a crash: no snapshot on the way out.
	if _, err := s.Ingest(ctx, batch(50, 30), IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	s.closeMu.Lock()
	s.closed = true
	s.closeMu.Unlock()
	close(s.stop)
	s.wg.Wait()
	if err := s.db.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestStore(t, dir, nil)
	res, err := s.Ingest(ctx, append(batch(0, 80), batch(80, 5)...), IngestOptions{})
	if err != nil || res.Duplicates != 80 || res.Accepted != 85 {
		t.Fatalf("after a crash: %+v %v", res, err)
	}
	if st := s.Stats(); st.Events != 85 {
		t.Fatalf("%d events stored, want 85", st.Events)
	}
}
