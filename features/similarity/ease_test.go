package similarity

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// easeRowsFixture is 80 random customers' sorted products among n.
func easeRowsFixture(n int) [][]int32 {
	r := rand.New(rand.NewPCG(5, 8))
	var rows [][]int32
	for range 80 {
		var row []int32
		for p := range n {
			if r.Float64()*(1+float64(p)/4) < 0.5 {
				row = append(row, int32(p))
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// TestGram checks the upper triangle against counting every pair, with
// as many workers as bands, fewer and more; and that all the counting is
// done by the given workers (a pool that starts none leaves g empty), so a
// background refresh's Gram runs at its pool's priority.
func TestGram(t *testing.T) {
	const n = 12
	rows := easeRowsFixture(n)
	if g := Gram(rows, n, nil, 2, func(func()) {}); slices.ContainsFunc(g, func(v float64) bool { return v != 0 }) {
		t.Fatal("Gram counted outside its workers")
	}
	for _, c := range []struct{ bands, workers int }{{1, 1}, {3, 3}, {3, 1}, {2, 3}} {
		g := Gram(rows, n, make([]float64, 7), c.bands, Goroutines(c.workers))
		workers := fmt.Sprintf("%d bands on %d", c.bands, c.workers)
		for i := range n {
			for j := i; j < n; j++ {
				want := 0.0
				for _, r := range rows {
					hasI, hasJ := false, false
					for _, p := range r {
						hasI = hasI || int(p) == i
						hasJ = hasJ || int(p) == j
					}
					if hasI && hasJ {
						want++
					}
				}
				if g[i*n+j] != want {
					t.Fatalf("%s workers: G[%d][%d] = %v, want %v", workers, i, j, g[i*n+j], want)
				}
			}
		}
	}
}

// TestEASEMatchesDirectInverse checks SolveEASE and EASELists against
// B = I - P·diag(1/diag P), P = (XᵀX + λI)⁻¹ from gonum's plain inverse,
// and that each list holds the k weights largest in magnitude, by weight.
func TestEASEMatchesDirectInverse(t *testing.T) {
	const n, lambda, k = 10, 3.0, 4
	rows := easeRowsFixture(n)
	g := Gram(rows, n, nil, 2, Goroutines(2))
	full := mat.NewDense(n, n, nil)
	for i := range n {
		for j := i; j < n; j++ {
			full.Set(i, j, g[i*n+j])
			full.Set(j, i, g[i*n+j])
		}
		full.Set(i, i, full.At(i, i)+lambda)
	}
	var p mat.Dense
	if err := p.Inverse(full); err != nil {
		t.Fatal(err)
	}
	if !SolveEASE(g, n, lambda, Goroutines(2)) {
		t.Fatal("not positive definite")
	}
	for i := range n {
		for j := range n {
			if !near(g[i*n+j], p.At(i, j), 1e-9) {
				t.Fatalf("P[%d][%d] = %v, want %v", i, j, g[i*n+j], p.At(i, j))
			}
		}
	}
	// Dense index i is product 100+i.
	prods := make([]uint32, n)
	for i := range prods {
		prods[i] = uint32(100 + i)
	}
	lists := make([][]Neighbour, 100+n)
	// Every list is made by the given workers: none, none made.
	if EASELists(g, n, prods, k, func(func()) {}, lists); slices.ContainsFunc(lists, func(l []Neighbour) bool { return l != nil }) {
		t.Fatal("EASELists made lists outside its workers")
	}
	EASELists(g, n, prods, k, Goroutines(3), lists)
	for i := range n {
		var all []Neighbour
		for j := range n {
			if j != i {
				all = append(all, Neighbour{Product: prods[j], Score: float32(-p.At(i, j) / p.At(j, j))})
			}
		}
		sort.Slice(all, func(a, b int) bool { return math.Abs(float64(all[a].Score)) > math.Abs(float64(all[b].Score)) })
		want := map[uint32]float32{}
		for _, nb := range all[:k] {
			want[nb.Product] = nb.Score
		}
		got := lists[prods[i]]
		if len(got) != k {
			t.Fatalf("row %d: %d weights, want %d", i, len(got), k)
		}
		for x, nb := range got {
			w, ok := want[nb.Product]
			if !ok || !near(float64(nb.Score), float64(w), 1e-5) {
				t.Errorf("row %d: kept %v, want one of %v", i, nb, all[:k])
			}
			if x > 0 && got[x-1].Score < nb.Score {
				t.Errorf("row %d: not best first at %d", i, x)
			}
		}
	}
}

// TestSolveEASESingular: with λ 0 a product no customer has makes XᵀX
// singular, which SolveEASE reports.
func TestSolveEASESingular(t *testing.T) {
	rows := [][]int32{{0}, {0, 2}, {2}}
	g := Gram(rows, 3, nil, 1, Goroutines(1))
	if SolveEASE(g, 3, 0, Goroutines(1)) {
		t.Error("a singular Gram matrix was inverted")
	}
}
