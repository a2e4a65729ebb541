package features

import (
	"context"
	"errors"
	"testing"
)

// TestApplyOpResumes: ops applied from the log write what they say and
// record their stream sequence, which survives a reopen (an op handed in
// again is skipped: an append is not appended twice); an op's own refusal
// is its result, not a stop; an op this version cannot read stops the
// apply naming its sequence, and nothing is written for it.
func TestApplyOpResumes(t *testing.T) {
	dir := t.TempDir()
	s := openTestStore(t, dir, nil)
	s.SetOpLog(nil) // applies only: nothing is submitted here
	op := func(k OpKind, fields ...string) []byte {
		fs := make([][]byte, len(fields))
		for i, f := range fields {
			fs[i] = []byte(f)
		}
		return EncodeOp(Op{Kind: k, Fields: fs})
	}
	ctx := context.Background()
	steps := [][]byte{
		op(OpProductsPut, `{"p1":{"category":"shoes","price":10,"available":true}}`),
		op(OpProductPatch, "p1", `{"Price":12}`),
		op(OpProductPatch, "nobody", `{"Price":12}`), // refused: unknown, the apply goes on
		op(OpCustomerPut, "c1", `{"attributes":{"tier":"gold"}}`),
		op(OpCustomerPatch, "c1", `{"tier":null,"age":3}`),
		op(OpRecordPut, "segment", "fr", "rule-1"),
		op(OpRecordAppend, "log", "a", "b"),
		op(OpRecordDelete, "segment", "nothing"), // refused: absent
	}
	for i, b := range steps {
		if err := s.ApplyOp(ctx, uint64(i+1), b); err != nil {
			t.Fatalf("op %d: %v", i+1, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir, nil)
	defer s.Close()
	s.SetOpLog(nil)
	if seq, err := s.StreamSeq(); err != nil || seq != uint64(len(steps)) {
		t.Fatalf("stream seq after reopen %d, %v", seq, err)
	}
	// Handed in again (a follower restarted from an older position).
	if err := s.ApplyOp(ctx, 7, steps[6]); err != nil {
		t.Fatal(err)
	}
	p, _, err := s.GetProduct("p1")
	if err != nil || p.Price != 12 || p.Category != "shoes" {
		t.Fatalf("p1 %+v %v", p, err)
	}
	id, _ := s.CustomerID("c1")
	if a := s.CustomerAttributes(id); a["age"] != float64(3) || a["tier"] != nil {
		t.Fatalf("c1 %v", a)
	}
	if v, err := s.Records().Get("segment", "fr"); err != nil || string(v) != "rule-1" {
		t.Fatalf("record %q %v", v, err)
	}
	var n int
	_ = s.Records().Scan("log", 0, func(seq uint64, v []byte) error { n++; return nil })
	if n != 2 {
		t.Fatalf("log holds %d entries, want 2", n)
	}
	// Unknown kind, unknown version: a *BadLogEntry naming the sequence.
	for _, bad := range [][]byte{{opFormatV1, 250, 0, 0}, {opFormatV1 + 1, byte(OpProductDelete), 0, 1, 2, 'p', '1'}, op(OpProductDelete)} {
		err := s.ApplyOp(ctx, 9, bad)
		var be *BadLogEntry
		if !errors.As(err, &be) || be.Seq != 9 {
			t.Fatalf("bad op %v: %v", bad, err)
		}
	}
	if seq, _ := s.StreamSeq(); seq != uint64(len(steps)) {
		t.Fatalf("a bad op moved the stream seq to %d", seq)
	}
}

// BenchmarkApplyOp is the store's side of applying one op from the log
// (decode, one writer round trip, one Badger commit with the stream
// sequence): a product PUT, and a record append of 100 entries (an
// exposure batch), with and without an fsync per commit.
func BenchmarkApplyOp(b *testing.B) {
	put := EncodeOp(Op{Kind: OpProductsPut, Fields: [][]byte{[]byte(`{"p1":{"category":"shoes","price":10,"available":true}}`)}})
	fields := [][]byte{[]byte("log")}
	for range 100 {
		fields = append(fields, make([]byte, 120))
	}
	appendOp := EncodeOp(Op{Kind: OpRecordAppend, Fields: fields})
	for _, c := range []struct {
		name string
		msg  []byte
		sync bool
	}{{"product-put", put, true}, {"append-100", appendOp, true}, {"product-put-nosync", put, false}, {"append-100-nosync", appendOp, false}} {
		b.Run(c.name, func(b *testing.B) {
			s := openTestStore(b, b.TempDir(), func(o *Options) { o.SyncWrites = c.sync })
			defer s.Close()
			s.SetOpLog(nil)
			b.ResetTimer()
			for i := range b.N {
				if err := s.ApplyOp(context.Background(), uint64(i+1), c.msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
