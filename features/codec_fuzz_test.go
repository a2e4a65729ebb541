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

// FuzzDecodeEventBlock: a block must never panic or call back with a
// sequence outside (0, key]; what decodes must re-encode to the same events
// under the same sequences.
func FuzzDecodeEventBlock(f *testing.F) {
	var b blockEncoder
	b.add(9, &logEvent{Cust: 1, Prod: 2, Type: 3, TS: 1700000000, Value: 4.5, Order: "o1"})
	b.add(12, &logEvent{Cust: 4, Prod: 5, Type: 1, TS: -3, RecID: "r"})
	f.Add(b.appendTo(nil, 14), uint64(14))
	f.Add([]byte{recEventBlock, 0, 0xff, 0xff, 0xff, 0xff, 0x0f}, uint64(1))
	f.Fuzz(func(t *testing.T, v []byte, key uint64) {
		type got struct {
			seq uint64
			e   logEvent
		}
		var first []got
		last := uint64(0)
		if err := decodeEventBlock(v, key, func(seq uint64, e *logEvent) error {
			if seq <= last || seq > key {
				t.Fatalf("sequence %d after %d under key %d", seq, last, key)
			}
			last = seq
			first = append(first, got{seq, *e})
			return nil
		}); err != nil || len(first) == 0 {
			return
		}
		var re blockEncoder
		for _, g := range first {
			re.add(g.seq, &g.e)
		}
		i := 0
		if err := decodeEventBlock(re.appendTo(nil, key), key, func(seq uint64, e *logEvent) error {
			g := first[i]
			if seq != g.seq || (*e != g.e && e.Value == e.Value && e.Qty == e.Qty) {
				t.Fatalf("event %d: %d %+v re-decoded as %d %+v", i, g.seq, g.e, seq, *e)
			}
			i++
			return nil
		}); err != nil || i != len(first) {
			t.Fatalf("re-encoded block: %d of %d events, %v", i, len(first), err)
		}
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
