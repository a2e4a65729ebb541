package similarity

import (
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Run runs task on each goroutine of the caller's worker pool and returns
// once every one has returned. The pool decides how many goroutines work
// and at what priority (a background refresh runs them at nice 19, one
// fewer than the CPUs, so requests keep a CPU).
type Run func(task func())

// gemmTile is the side of the blocks gemm hands to gonum: gonum's own
// block size, below which its Dgemm computes in the calling goroutine.
const gemmTile = 64

// gemm is blas64.Gemm, c = alpha·op(a)·op(b) + beta·c, with its parallelism
// in run's hands. gonum's Dgemm starts GOMAXPROCS goroutines of its own at
// the default priority for any product larger than 128×128, which would
// take every CPU for seconds in a background refresh's dense solve, past
// the one its pool leaves to requests. So c is cut into gemmTile-square
// tiles, the workers take tiles in turn, and each tile is summed over
// gemmTile-long slices of the inner dimension as gonum's parallel Dgemm
// does (each call small enough for gonum to compute it in place).
func gemm(run Run, tA, tB blas.Transpose, alpha float64, a, b blas64.General, beta float64, c blas64.General) {
	m, n := c.Rows, c.Cols
	k := a.Cols
	if tA == blas.Trans {
		k = a.Rows
	}
	cols := (n + gemmTile - 1) / gemmTile
	tiles := int64(((m + gemmTile - 1) / gemmTile) * cols)
	var next atomic.Int64
	run(func() {
		for t := next.Add(1) - 1; t < tiles; t = next.Add(1) - 1 {
			i, j := int(t)/cols*gemmTile, int(t)%cols*gemmTile
			mi, nj := min(gemmTile, m-i), min(gemmTile, n-j)
			ct := block(c, i, j, mi, nj)
			bt := beta
			for l := 0; l < k; l += gemmTile {
				kl := min(gemmTile, k-l)
				blas64.Gemm(tA, tB, alpha, opBlock(a, tA, i, l, mi, kl), opBlock(b, tB, l, j, kl, nj), bt, ct)
				bt = 1
			}
		}
	})
}

// opBlock is the block of g that op(g)'s r×c block at row i, column j
// comes from.
func opBlock(g blas64.General, t blas.Transpose, i, j, r, c int) blas64.General {
	if t == blas.Trans {
		return block(g, j, i, c, r)
	}
	return block(g, i, j, r, c)
}

// block is the r×c block of g at row i, column j.
func block(g blas64.General, i, j, r, c int) blas64.General {
	return general(g.Data, i, j, r, c, g.Stride)
}
