package similarity

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTopKKeepsBest streams random scores, many of them tied, through
// heaps of several sizes and checks each against a full sort: the k best,
// best first, a tie going to the lower product id.
func TestTopKKeepsBest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	all := make([]Neighbour, 500)
	for i := range all {
		all[i] = Neighbour{Product: uint32(i), Score: float32(r.IntN(40)) - 10}
	}
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	want := slices.Clone(all)
	slices.SortFunc(want, func(a, b Neighbour) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return int(a.Product) - int(b.Product)
	})
	for _, k := range []int{1, 7, 100, 500, 600} {
		var h TopK
		for _, n := range all {
			h.Push(n, k)
		}
		got := h.Sorted()
		if w := want[:min(k, len(want))]; !slices.Equal(got, w) {
			t.Errorf("k %d: got %v..., want %v...", k, got[:min(5, len(got))], w[:min(5, len(w))])
		}
	}
}

// TestTopKSortedInPlace: Sorted orders a slice that never went through
// Push, as popularity lists use it.
func TestTopKSortedInPlace(t *testing.T) {
	l := []Neighbour{{3, 1}, {1, 5}, {2, 1}, {0, -2}}
	got := TopK(l).Sorted()
	want := []Neighbour{{1, 5}, {2, 1}, {3, 1}, {0, -2}}
	if !slices.Equal(got, want) || &got[0] != &l[0] {
		t.Errorf("got %v, want %v, in place", got, want)
	}
}
