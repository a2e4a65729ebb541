package features

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
	"unsafe"

	"github.com/RoaringBitmap/roaring/v2"
)

// TestFinishModelMatchesBitmaps checks the history count against the
// bitmaps it stands for: per product and basis, the number of distinct
// customers, and per basis the customers with any such event, with repeat
// events, every class and an erased customer.
func TestFinishModelMatchesBitmaps(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 9))
	x := newIndex()
	const ncust, nprod = 300, 40
	for c := range ncust {
		for range r.IntN(25) {
			x.applyLocked(uint32(c), Interaction{Product: uint32(r.IntN(nprod)), Class: Class(r.IntN(int(numClasses)))}, false)
		}
	}
	x.eraseLocked(17)
	m := &Model{}
	if got := finishModel(x, m, nprod-5); got != nprod {
		t.Fatalf("product count %d, want %d (the index's)", got, nprod)
	}
	for b := Basis(0); b < NumBases; b++ {
		var all []uint32
		seen := map[uint32]bool{}
		for p := range uint32(nprod) {
			want := uint32(0)
			if cs := customersOf(x, b, p); cs != nil {
				want = uint32(cs.GetCardinality())
				for _, c := range cs.ToArray() {
					if !seen[c] {
						seen[c] = true
						all = append(all, c)
					}
				}
			}
			if m.Support[b][p] != want {
				t.Errorf("%v support of %d: %d, want %d", b, p, m.Support[b][p], want)
			}
		}
		if m.Customers[b] != len(all) {
			t.Errorf("%v customers %d, want %d", b, m.Customers[b], len(all))
		}
		if seen[17] {
			t.Errorf("%v: erased customer still counted", b)
		}
		if len(m.Popular[b]) == 0 || len(m.Neighbours[b]) != nprod {
			t.Errorf("%v: %d popular, %d neighbour slots", b, len(m.Popular[b]), len(m.Neighbours[b]))
		}
	}
}

// BenchmarkBuildModel times a counted (RP3) build over 200k customers and
// 20k products with skewed popularity: every list, and a partial refresh of
// the 2,000 most popular products (what a write load makes stale).
func BenchmarkBuildModel(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 5))
	const ncust, nprod = 200_000, 20_000
	x := newIndex()
	for c := range ncust {
		for range 5 + r.IntN(40) {
			// A product index skewed to the low ids (popular first).
			p := uint32(float64(nprod) * r.Float64() * r.Float64() * r.Float64())
			x.applyLocked(uint32(c), Interaction{Product: p, Class: ClassBought}, false)
		}
	}
	o := DefaultNeighbourOptions()
	o.Similarity = SimRP3
	full := buildModel(x, nil, nil, nprod, o, false, buildWorkers(true))
	dirty := roaring.New()
	dirty.AddRange(0, 2000)
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			buildModel(x, nil, nil, nprod, o, false, buildWorkers(true))
		}
	})
	b.Run("partial", func(b *testing.B) {
		for b.Loop() {
			buildModel(x, full, dirty, nprod, o, false, buildWorkers(true))
		}
	})
}

// TestInteractionLayout keeps an interaction at 24 bytes (histories are
// most of the memory) and its timestamp saturating at its range's ends.
func TestInteractionLayout(t *testing.T) {
	if n := unsafe.Sizeof(Interaction{}); n != 24 {
		t.Errorf("Interaction is %d bytes, want 24", n)
	}
	for _, c := range []struct {
		in   int64
		want uint32
	}{{-5, 0}, {0, 0}, {1_700_000_000, 1_700_000_000}, {math.MaxUint32 + 10, math.MaxUint32}} {
		if got := unixTS(c.in); got != c.want {
			t.Errorf("unixTS(%d) = %d, want %d", c.in, got, c.want)
		}
	}
	last := time.Date(2105, 12, 31, 23, 59, 59, 0, time.UTC)
	if uint64(last.Unix()) > math.MaxUint32 {
		t.Fatalf("the last valid timestamp %v does not fit 32 bits", last)
	}
	ev := Event{CustomerID: "c", ProductID: "p", Type: "view", Timestamp: last}
	if err := ValidateEvent(&ev); err != nil {
		t.Errorf("%v rejected: %v", last, err)
	}
	ev.Timestamp = last.Add(time.Second)
	if err := ValidateEvent(&ev); err == nil {
		t.Errorf("%v accepted", ev.Timestamp)
	}
}
