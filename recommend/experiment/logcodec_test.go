package experiment

import (
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
	rec, cust, click, value, err := decodeOutcome(encodeOutcome("r1", "c", false, 12.5, 5))
	if err != nil || rec != "r1" || cust != "c" || click || value != 12.5 {
		t.Fatalf("outcome round trip: %q %q %v %g %v", rec, cust, click, value, err)
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
	f.Add(encodeOutcome("r", "c", true, 3, 9))
	f.Add([]byte{1, 2})
	f.Fuzz(func(t *testing.T, b []byte) {
		rec, cust, click, value, err := decodeOutcome(b)
		if err != nil {
			if !errors.Is(err, features.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		r2, c2, k2, v2, err := decodeOutcome(encodeOutcome(rec, cust, click, value, 0))
		if err != nil || r2 != rec || c2 != cust || k2 != click || math.Float64bits(v2) != math.Float64bits(value) {
			t.Fatalf("re-encoding changed the entry (%v)", err)
		}
	})
}
