package features

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeLogEvent: log records are read back from disk, which may be
// damaged; decoding must never panic, and what encodes must decode the same.
func FuzzDecodeLogEvent(f *testing.F) {
	f.Add((&logEvent{Cust: 1, Prod: 2, Type: 3, TS: 1700000000, Value: 4.5, Qty: 2, Order: "o1", RecID: "r1"}).encode(nil))
	f.Add(encodeErase(7))
	f.Add([]byte{recEvent, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e logEvent
		if err := decodeLogEvent(b, &e); err != nil {
			return
		}
		var again logEvent
		if err := decodeLogEvent(e.encode(nil), &again); err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if again != e && !(e.Value != e.Value) && !(e.Qty != e.Qty) { // NaN != NaN
			t.Fatalf("round trip changed %+v to %+v", e, again)
		}
		_, _ = decodeErase(b)
	})
}

// FuzzDecodeSnapshot: a snapshot is outside bytes once it has been on disk;
// a damaged one must be refused (the log is then replayed), never panic.
func FuzzDecodeSnapshot(f *testing.F) {
	s := openTestStore(f, "", nil)
	ctx := f.Context()
	if _, err := s.Ingest(ctx, []Event{ev("c1", "p1", "purchase"), ev("c1", "p2", "view"), ev("c2", "p1", "purchase")}, IngestOptions{}); err != nil {
		f.Fatal(err)
	}
	s.Refresh()
	if err := s.Snapshot(); err != nil {
		f.Fatal(err)
	}
	var meta snapMeta
	if err := s.readSnapMeta(&meta); err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(filepath.Join(s.opts.Dir, meta.File))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid, meta.Seq)
	f.Add([]byte(snapMagic), uint64(0))
	probe := &Store{prod: s.prod, cust: s.cust, log: s.log, opts: s.opts}
	probe.types.Store(s.types.Load())
	f.Fuzz(func(t *testing.T, b []byte, seq uint64) {
		probe.idx = newIndex()
		_, _ = probe.decodeSnapshot(b, seq, func() error { return nil })
	})
}
