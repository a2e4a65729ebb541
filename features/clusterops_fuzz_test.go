package features

import (
	"bytes"
	"testing"
)

// FuzzDecodeOp: op messages come from the stream, which a newer version or
// a damaged client may have written; decoding must never panic, must
// refuse a kind or version it does not know, and what decodes must
// re-encode to the same bytes.
func FuzzDecodeOp(f *testing.F) {
	f.Add(EncodeOp(Op{Kind: OpProductPatch, Origin: "abc/1", Fields: [][]byte{[]byte("p1"), []byte(`{"Price":2}`)}}))
	f.Add(EncodeOp(Op{Kind: OpRecordAppend, Fields: [][]byte{[]byte("log"), {1, 2}, {}}}))
	f.Add(EncodeOp(Op{Kind: OpCustomerErase, Fields: [][]byte{[]byte("c1")}}))
	f.Add(EncodeOp(Op{Kind: OpCustomerErase, Fields: [][]byte{[]byte("c1"), []byte("anon-1"), []byte("anon-2")}}))
	f.Add(EncodeOp(Op{Kind: OpCustomerMerge, Origin: "abc/2", Fields: [][]byte{[]byte("anon-1"), []byte("c1")}}))
	f.Add(EncodeOp(Op{Kind: OpCustomerMerge, Fields: [][]byte{[]byte("anon-1")}}))
	f.Add([]byte{opFormatV1, 99, 0, 0})
	f.Add([]byte{2, 1, 0, 1, 0})
	f.Add([]byte{opFormatV1, byte(OpRecordAppend), 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		op, err := DecodeOp(b)
		if err != nil {
			return
		}
		if len(b) == 0 || b[0] != opFormatV1 {
			t.Fatalf("decoded a message of format %v", b[:1])
		}
		sp, ok := opSpecs[op.Kind]
		if !ok {
			t.Fatalf("decoded unknown kind %d", op.Kind)
		}
		if len(op.Fields) < sp.min || sp.max > 0 && len(op.Fields) > sp.max {
			t.Fatalf("%s with %d fields", sp.name, len(op.Fields))
		}
		if again := EncodeOp(op); !bytes.Equal(again, b) {
			t.Fatalf("re-encoded %x as %x", b, again)
		}
	})
}

func TestOpRoundTrip(t *testing.T) {
	for kind, sp := range opSpecs {
		fields := make([][]byte, sp.min)
		for i := range fields {
			fields[i] = []byte{byte(i), 'x'}
		}
		op := Op{Kind: kind, Origin: "tok/7", Fields: fields}
		got, err := DecodeOp(EncodeOp(op))
		if err != nil {
			t.Fatalf("%s: %v", sp.name, err)
		}
		if got.Kind != kind || got.Origin != op.Origin || len(got.Fields) != len(fields) {
			t.Fatalf("%s: %+v", sp.name, got)
		}
		// One field too few is refused.
		if sp.min > 0 {
			if _, err := DecodeOp(EncodeOp(Op{Kind: kind, Fields: fields[1:]})); err == nil {
				t.Fatalf("%s with %d fields decoded", sp.name, sp.min-1)
			}
		}
	}
	if _, err := DecodeOp([]byte{opFormatV1, 200, 0, 0}); err == nil {
		t.Fatal("an unknown kind decoded")
	}
	if _, err := DecodeOp([]byte{opFormatV1 + 1, byte(OpProductDelete), 0, 1, 1, 'p'}); err == nil {
		t.Fatal("an unknown version decoded")
	}
}
