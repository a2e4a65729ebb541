package experiment

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

func TestLogEntriesRoundTrip(t *testing.T) {
	op := exposureOp{exp: "e", variant: "v", recID: "r1", unit: "ü", pids: []uint32{0, 7, 1 << 31}, ts: 1700000000}
	got, forced, cfg, err := decodeExposure(encodeExposure(op, true, 42), nil)
	if err != nil || !forced || cfg != 42 || fmt.Sprint(got) != fmt.Sprint(op) {
		t.Fatalf("exposure round trip: %+v %v %d %v", got, forced, cfg, err)
	}
	for _, o := range []outcomeEntry{
		{recID: "r1", cust: "c", kind: outcomeConversion, value: 12.5, ts: 5, product: 7, hasProduct: true},
		{recID: "r1", cust: "c", kind: outcomeReturn, value: -4, ts: 6, product: 1 << 31, hasProduct: true},
		{recID: "r2", cust: "", kind: outcomeClick, ts: 7, hasProduct: true},
	} {
		got, err := decodeOutcome(encodeOutcome(o))
		if err != nil || got != o {
			t.Fatalf("outcome round trip: %+v, want %+v (%v)", got, o, err)
		}
	}
}

// TestOutcomeV1Entries: outcomes logged before returns counted still read,
// as entries with no product; a v1 entry cannot be a return.
func TestOutcomeV1Entries(t *testing.T) {
	v1 := func(kind byte) []byte {
		b := []byte{1, kind, 5}
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(12.5))
		return append(b, 2, 'r', '1', 1, 'c')
	}
	got, err := decodeOutcome(v1(2))
	want := outcomeEntry{recID: "r1", cust: "c", kind: outcomeConversion, value: 12.5, ts: 5}
	if err != nil || got != want {
		t.Fatalf("v1 conversion: %+v, want %+v (%v)", got, want, err)
	}
	if _, err := decodeOutcome(v1(3)); !errors.Is(err, features.ErrInvalid) {
		t.Fatalf("a v1 return must be refused: %v", err)
	}
}

func FuzzDecodeExposure(f *testing.F) {
	f.Add(encodeExposure(exposureOp{exp: "e", variant: "v", recID: "r", unit: "u", pids: []uint32{3}, ts: 1}, false, 7))
	f.Add([]byte{1, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		op, forced, cfg, err := decodeExposure(b, map[string]string{})
		if err != nil {
			if !errors.Is(err, features.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		again, f2, c2, err := decodeExposure(encodeExposure(op, forced, cfg), nil)
		if err != nil || fmt.Sprint(again) != fmt.Sprint(op) || f2 != forced || c2 != cfg {
			t.Fatalf("re-encoding changed the entry: %+v vs %+v (%v)", op, again, err)
		}
	})
}

func FuzzDecodeOutcome(f *testing.F) {
	f.Add(encodeOutcome(outcomeEntry{recID: "r", cust: "c", kind: outcomeClick, value: 3, ts: 9}))
	f.Add(encodeOutcome(outcomeEntry{recID: "r", cust: "c", kind: outcomeReturn, value: -3, ts: 9, product: 4}))
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := decodeOutcome(b)
		if err != nil {
			if !errors.Is(err, features.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		o2, err := decodeOutcome(encodeOutcome(o))
		o.hasProduct = true // re-encoded as v2
		if err != nil || o2.recID != o.recID || o2.cust != o.cust || o2.kind != o.kind || o2.ts != o.ts ||
			o2.product != o.product || o2.hasProduct != o.hasProduct || math.Float64bits(o2.value) != math.Float64bits(o.value) {
			t.Fatalf("re-encoding changed the entry (%v)", err)
		}
	})
}
