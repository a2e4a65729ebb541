package features

import (
	"slices"

	"github.com/affinity-rec/affinity/features/similarity"
)

// easeLists builds basis b's neighbour lists from EASE (similarity.SolveEASE):
// the Gram matrix XᵀX is the co-occurrence the neighbour builder counts
// anyway, taken here from every customer's distinct recent products. Row p
// keeps its K weights largest in magnitude, sorted by weight: positive
// associations first, then the negative ones, which personal scores
// subtract. It reports false when the basis has more products than
// o.DenseMaxProducts (the dense solve costs 8·n² bytes and O(n³) time),
// leaving the caller to fall back to counting.
// p runs all of the work (the rows of X, the Gram matrix, the solve, the
// lists): its workers, at its priority (a background refresh's are niced
// and leave a CPU to requests).
func easeLists(x *index, b Basis, support []uint32, nprod int, o NeighbourOptions, p pool) ([][]similarity.Neighbour, bool) {
	dense, prods := easeProducts(support, nprod, o.DenseMinSupport)
	n := len(prods)
	lists := make([][]similarity.Neighbour, nprod)
	if n > o.DenseMaxProducts {
		return nil, false
	}
	if n < 2 {
		return lists, true
	}
	rows := easeRows(x, b, dense, nprod, o, p)
	x.gram = similarity.Gram(rows, n, x.gram, p.n, p.run)
	if !similarity.SolveEASE(x.gram, n, o.Lambda, p.run) {
		// Not positive definite: only possible with Lambda 0 and
		// collinear products. Counting still works.
		return nil, false
	}
	similarity.EASELists(x.gram, n, prods, o.K, p.run, lists)
	return lists, true
}

// easeProducts gives the products in the dense model (those with at least
// minSupport customers on the basis) dense indexes: dense[p] is p's, or -1,
// and prods[i] is the product of index i.
func easeProducts(support []uint32, nprod, minSupport int) (dense []int32, prods []uint32) {
	dense = make([]int32, nprod)
	for p := range nprod {
		dense[p] = -1
		if p < len(support) && support[p] > 0 && int(support[p]) >= minSupport {
			dense[p] = int32(len(prods))
			prods = append(prods, uint32(p))
		}
	}
	return dense, prods
}

// easeRows lists each customer's distinct recent products on basis b as
// sorted dense indexes, the rows of X, on p's workers.
func easeRows(x *index, b Basis, dense []int32, nprod int, o NeighbourOptions, p pool) [][]int32 {
	cl := buildCustLists(x, b, nil, true, nprod, o, p)
	rows := make([][]int32, 0, len(cl.ref))
	for c := range cl.ref {
		l, ok := cl.get(uint32(c))
		if !ok {
			continue
		}
		r := make([]int32, 0, len(l))
		for _, p := range l {
			if int(p) < nprod && dense[p] >= 0 {
				r = append(r, dense[p])
			}
		}
		slices.Sort(r)
		rows = append(rows, r)
	}
	return rows
}
