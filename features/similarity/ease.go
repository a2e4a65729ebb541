package similarity

import (
	"math"
	"sync/atomic"
)

// EASE (Steck, "Embarrassingly shallow autoencoders for sparse data", WWW
// 2019): the item-item weights B minimising ||X - XB||² + λ||B||² with
// diag(B) = 0 have the closed form B = I - P·diag(1/diag(P)),
// P = (XᵀX + λI)⁻¹, and XᵀX is the co-occurrence (Gram) matrix. The solve
// is dense: 8·n² bytes and O(n³) time for n products.
//
// gonum's BLAS and LAPACK do the arithmetic (well kept and tested): its
// Dgemm does nearly all of it, through a block inverse (spdinverse.go), and
// its Cholesky inverse does the small blocks.

// Gram returns the upper triangle of XᵀX, n×n row-major, where rows holds
// each customer's products as sorted indexes below n. It reuses buf when it
// is large enough: the n² buffer (50-100 MB on Online Retail) is worth
// keeping from one build to the next, as allocating it on every refresh
// under a write load made the resident set balloon with garbage. The rows
// of g are dealt into bands (row i to band i mod bands), and run's workers
// take whole bands in turn, so no two write the same cell and any number
// of workers fills every band. Each band reads every row of X: bands is
// the number of workers run starts, no more.
func Gram(rows [][]int32, n int, buf []float64, bands int, run Run) []float64 {
	if cap(buf) < n*n {
		buf = make([]float64, n*n)
	}
	g := buf[:n*n]
	clear(g)
	bands = max(1, bands)
	var next atomic.Int64
	run(func() {
		for w := int(next.Add(1) - 1); w < bands; w = int(next.Add(1) - 1) {
			for _, r := range rows {
				for a, i := range r {
					if int(i)%bands != w {
						continue
					}
					row := g[int(i)*n:]
					for _, j := range r[a:] {
						row[j]++
					}
				}
			}
		}
	})
	return g
}

// SolveEASE turns g, the upper triangle of an n×n Gram matrix as Gram
// returns it, into P = (g + λI)⁻¹ in place, both triangles filled so that a
// row reads contiguously. It reports false when g + λI is not positive
// definite (only possible with λ 0 and collinear products). The matrix
// products run on run's workers.
func SolveEASE(g []float64, n int, lambda float64, run Run) bool {
	for i := range n {
		g[i*n+i] += lambda
		for j := i + 1; j < n; j++ {
			g[j*n+i] = g[i*n+j]
		}
	}
	if lambda <= 0 || maxRowSum(g, n)/lambda > blockMaxCond {
		return choleskyInverse(g, n, n)
	}
	return invertSPD(g, n, n, run)
}

// blockMaxCond is the largest condition number the block inverse is
// trusted with. It forms each Schur complement through an explicit
// inverse, so it loses accuracy with about the square of the condition
// number where LAPACK's Cholesky inverse loses it linearly (max |A·P - I|
// at n = 1,000 with collinear products: 1.5e-8 against 7.7e-12 at λ = 1,
// 0.09 against 5e-8 at λ = 1e-4). g + λI's condition number is at most
// its largest absolute row sum over λ (Gershgorin's bound on the largest
// eigenvalue; g is positive semi-definite, so λ bounds the smallest). The
// default λ and the tuner's choices are far inside it; a tiny λ on a large
// store goes to LAPACK, slower and exact to working precision.
const blockMaxCond = 1e5

func maxRowSum(g []float64, n int) float64 {
	var m float64
	for i := range n {
		var s float64
		for _, v := range g[i*n : i*n+n] {
			s += math.Abs(v)
		}
		m = max(m, s)
	}
	return m
}

// EASELists sets lists[prods[i]] to row i of B for each of the n rows of P
// (SolveEASE's result), prods mapping dense indexes to products. Each row
// keeps its k weights largest in magnitude, sorted by weight: positive
// associations first, then the negative ones (a product that makes another
// less likely). run's workers take rows 16 at a time.
func EASELists(p []float64, n int, prods []uint32, k int, run Run, lists [][]Neighbour) {
	var next atomic.Int64
	run(func() {
		h := make(TopK, 0, k)
		for lo := int(next.Add(16) - 16); lo < n; lo = int(next.Add(16) - 16) {
			for i := lo; i < min(lo+16, n); i++ {
				lists[prods[i]] = easeRow(p, n, i, prods, k, h[:0])
			}
		}
	})
}

// easeRow returns row i of B as a neighbour list: the k weights
// B_ij = -P_ij/P_jj largest in magnitude, by weight, best first.
func easeRow(p []float64, n, i int, prods []uint32, k int, h TopK) []Neighbour {
	row := p[i*n : (i+1)*n]
	for j, v := range row {
		if j == i || v == 0 {
			continue
		}
		w := -v / p[j*n+j]
		// The heap keeps the k largest Scores; rank by magnitude and put
		// the sign back below.
		h.Push(Neighbour{Product: uint32(j), Score: float32(math.Abs(w))}, k)
	}
	out := make([]Neighbour, len(h))
	for x, nb := range h {
		j := int(nb.Product)
		out[x] = Neighbour{Product: prods[j], Score: float32(-row[j] / p[j*n+j])}
	}
	return TopK(out).Sorted()
}
