package features

import (
	"math/rand/v2"
	"testing"
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
