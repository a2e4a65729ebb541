package features

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/dgraph-io/badger/v4"
)

type seqEvent struct {
	seq uint64
	e   logEvent
}

func readBlock(t *testing.T, v []byte, key uint64) []seqEvent {
	t.Helper()
	var out []seqEvent
	if err := decodeEventBlock(v, key, func(seq uint64, e *logEvent) error {
		out = append(out, seqEvent{seq, *e})
		return nil
	}); err != nil {
		t.Fatalf("decode: %v", err)
	}
	return out
}

// A block rewritten without some of its events (an erasure) keeps the
// sequences of the others, its first and its last included.
func TestEventBlockKeepsSequencesThroughRewrites(t *testing.T) {
	var b blockEncoder
	var want []seqEvent
	for seq := uint64(41); seq <= 50; seq++ {
		e := logEvent{Cust: uint32(seq % 3), Prod: uint32(seq), Type: 1, TS: 1700000000 + int64(seq), Value: float64(seq) / 4, Order: fmt.Sprint("o", seq)}
		b.add(seq, &e)
		want = append(want, seqEvent{seq, e})
	}
	v := b.appendTo(nil, 50)
	got := readBlock(t, v, 50)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("round trip:\n got %v\nwant %v", got, want)
	}
	// Drop customer 2 (seq 41, 44, 47, 50: the first and the last).
	var kept []seqEvent
	for _, se := range got {
		if se.e.Cust != 2 {
			b.add(se.seq, &se.e)
			kept = append(kept, se)
		}
	}
	again := readBlock(t, b.appendTo(nil, 50), 50)
	if fmt.Sprint(again) != fmt.Sprint(kept) {
		t.Fatalf("after rewrite:\n got %v\nwant %v", again, kept)
	}
	// A key the block does not fit under is refused, not misread.
	if err := decodeEventBlock(v, 5, func(uint64, *logEvent) error { return nil }); err == nil {
		t.Fatal("a block decoded under a key below its first sequence")
	}
}

// replay starts inside a block when a snapshot was taken while its commit
// was being applied, and reads records of the one-event-per-key format
// older stores wrote.
func TestReplayFromInsideABlockAndOldRecords(t *testing.T) {
	s := openTestStore(t, "", nil)
	evs := syntheticEvents(300, 40, 30, 7, false)
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	blocks := 0
	if err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixLog)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			blocks++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if blocks < 2 || blocks > 300/8 {
		t.Fatalf("300 events in one commit were written as %d records", blocks)
	}
	// Three events in the old format after them.
	c, _ := s.CustomerID("c1")
	p, _ := s.ProductID("p1")
	code, _ := s.types.Load().Code("purchase")
	if err := s.db.Update(func(txn *badger.Txn) error {
		for seq := uint64(301); seq <= 303; seq++ {
			le := logEvent{Cust: c, Prod: p, Type: code, TS: 1700000000}
			if err := txn.Set(keyU64(prefixLog, seq), le.encode(nil)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, after := range []uint64{0, 1, 37, 150, 299, 300, 302} {
		s.idx = newIndex()
		n, err := s.replay(after, false)
		if err != nil {
			t.Fatalf("replay after %d: %v", after, err)
		}
		if want := 303 - int(after); n != want || s.idx.events != want {
			t.Fatalf("replay after %d applied %d (index holds %d), want %d", after, n, s.idx.events, want)
		}
		if s.seq.Load() != 303 {
			t.Fatalf("replay after %d left the sequence at %d", after, s.seq.Load())
		}
	}
	// The last event replayed from inside a block is the 300th ingested.
	s.idx = newIndex()
	if _, err := s.replay(299, false); err != nil {
		t.Fatal(err)
	}
	last := evs[299]
	lc, _ := s.CustomerID(last.CustomerID)
	lp, _ := s.ProductID(last.ProductID)
	h := s.idx.hist[lc]
	if len(h) == 0 || h[0].Product != lp {
		t.Fatalf("replay after 299 gave customer %s history %v, want product %d", last.CustomerID, h, lp)
	}
}

// Events with both ids at their longest still give blocks under Badger's
// value threshold, so the log stays in the LSM tree.
func TestEventBlocksStayUnderTheValueThreshold(t *testing.T) {
	s := openTestStore(t, "", nil)
	long := func(c byte) string { return string(bytes.Repeat([]byte{c}, MaxIDLen)) }
	var evs []Event
	for i := range 40 {
		e := ev(fmt.Sprint("c", i%7), fmt.Sprint("p", i%5), "purchase")
		if i%3 != 0 {
			e.OrderID, e.RecommendationID = long('o'), long('r')
		}
		evs = append(evs, e)
	}
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	events := 0
	if err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixLog), PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			if len(v) >= 1<<10 {
				t.Errorf("a %d-byte block", len(v))
			}
			key := binary.BigEndian.Uint64(it.Item().Key()[len(prefixLog):])
			if err := decodeEventBlock(v, key, func(uint64, *logEvent) error { events++; return nil }); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if events != len(evs) {
		t.Fatalf("the log holds %d events, want %d", events, len(evs))
	}
}

// Erasing the customer of a block's last event keeps the block's key and
// the other events' sequences, before and after a restart.
func TestEraseTheLastEventOfABlock(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	var evs []Event
	for i := range 10 {
		evs = append(evs, ev([]string{"keep", "gone"}[i%2], fmt.Sprint("p", i), "purchase"))
	}
	if _, err := s.Ingest(context.Background(), evs, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.EraseCustomer("gone"); err != nil {
		t.Fatal(err)
	}
	// The erasure's background snapshot and rebuild read s.idx, which the
	// test replaces (erase_followup.go).
	s.settleErasures()
	// Left: "keep" at sequences 1, 3, 5, 7, 9; the erase record is 11.
	s.idx = newIndex()
	n, err := s.replay(4, false)
	if err != nil {
		t.Fatal(err)
	}
	if n != 4 || s.idx.events != 3 || s.seq.Load() != 11 {
		t.Fatalf("replay after 4: %d records, %d events, sequence %d; want 4, 3, 11", n, s.idx.events, s.seq.Load())
	}
	s.Close()
	r := openTestStore(t, dir, nil)
	c, _ := r.CustomerID("keep")
	if h := r.HistoryView(c); len(h) != 5 {
		t.Fatalf("after a restart %q has %d events, want 5", "keep", len(h))
	}
	if _, err := r.Ingest(context.Background(), []Event{ev("keep", "p1", "view")}, IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := r.seq.Load(); got != 12 {
		t.Fatalf("the next event got sequence %d, want 12", got)
	}
}

// A store written before blocks (schema 1) opens and is marked 2; a schema
// this build does not know is refused.
func TestSchemaVersions(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	set := func(v byte) {
		t.Helper()
		if err := s.db.Update(func(txn *badger.Txn) error {
			return txn.Set([]byte(schemaVersionName), []byte{v})
		}); err != nil {
			t.Fatal(err)
		}
	}
	set(1)
	if err := s.checkSchema(); err != nil {
		t.Fatalf("schema 1: %v", err)
	}
	var got []byte
	if err := s.db.View(func(txn *badger.Txn) error {
		it, err := txn.Get([]byte(schemaVersionName))
		if err == nil {
			got, err = it.ValueCopy(nil)
		}
		return err
	}); err != nil || len(got) != 1 || got[0] != schemaVersion {
		t.Fatalf("schema after opening a version 1 store: %v %v", got, err)
	}
	set(schemaVersion + 1)
	if err := s.checkSchema(); !errors.Is(err, ErrInvalid) {
		t.Fatalf("an unknown schema gave %v", err)
	}
	set(schemaVersion)
}
