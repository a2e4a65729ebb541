package similarity

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// spdLeaf is the order below which invertSPD hands a block to LAPACK
// whole: there the recursion's bookkeeping would outweigh the kernels.
const spdLeaf = 192

// invertSPD replaces a, a symmetric positive definite n×n matrix stored
// whole (both triangles) row-major with stride stride, by its inverse,
// both triangles. It reports false when a is not positive definite.
//
// Why not LAPACK's Cholesky inverse (Potrf, then Potri) alone: gonum's
// triangular kernels (Dtrmm, Dtrsm, Dsyrk) run in one goroutine, about 1.7
// times slower per core than its Dgemm, and the triangular inverse was half
// of EASE's solve: the Cholesky inverse kept 1.4 of two cores busy on
// average and could not use the rest. The block inverse through the Schur
// complement puts nearly all the work in matrix products:
// with A = [A11 A12; A21 A22] and X11 = A11⁻¹, W = X11·A12 and
// S = A22 - A21·W (positive definite when A is),
//
//	A⁻¹ = [X11 + W·S⁻¹·Wᵀ, -W·S⁻¹; (-W·S⁻¹)ᵀ, S⁻¹]
//
// with X11 and S⁻¹ by the same recursion, and LAPACK's Potrf and Potri for
// blocks of at most spdLeaf rows. It needs no memory beyond a: A12 and A21
// hold the same values (A is stored whole), so W is written over A12 while
// A21 still holds them, and P21 over A21 once S is formed. The products run
// on run's workers (see gemm); the leaves in the calling goroutine.
func invertSPD(a []float64, n, stride int, run Run) bool {
	if n <= spdLeaf {
		return choleskyInverse(a, n, stride)
	}
	k := n / 2
	m := n - k
	a11 := general(a, 0, 0, k, k, stride)
	a12 := general(a, 0, k, k, m, stride)
	a21 := general(a, k, 0, m, k, stride)
	a22 := general(a, k, k, m, m, stride)
	if !invertSPD(a11.Data, k, stride, run) {
		return false
	}
	gemm(run, blas.NoTrans, blas.Trans, 1, a11, a21, 0, a12)    // W = X11·A21ᵀ
	gemm(run, blas.NoTrans, blas.NoTrans, -1, a21, a12, 1, a22) // S = A22 - A21·W
	if !invertSPD(a22.Data, m, stride, run) {
		return false
	}
	gemm(run, blas.NoTrans, blas.Trans, -1, a22, a12, 0, a21)   // P21 = -S⁻¹·Wᵀ
	gemm(run, blas.NoTrans, blas.NoTrans, -1, a12, a21, 1, a11) // P11 = X11 - W·P21
	for i := range k {
		for j := range m {
			a12.Data[i*stride+j] = a21.Data[j*stride+i]
		}
	}
	return true
}

// choleskyInverse inverts a block (a leaf of invertSPD, or a whole matrix
// too ill-conditioned for it) with LAPACK's Cholesky inverse and
// mirrors the upper triangle it leaves into the lower one.
func choleskyInverse(a []float64, n, stride int) bool {
	t, ok := lapack64.Potrf(blas64.Symmetric{N: n, Stride: stride, Data: a, Uplo: blas.Upper})
	if !ok {
		return false
	}
	if _, ok := lapack64.Potri(t); !ok {
		return false
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			a[j*stride+i] = a[i*stride+j]
		}
	}
	return true
}

// general is the r×c block of a at row i, column j.
func general(a []float64, i, j, r, c, stride int) blas64.General {
	return blas64.General{Rows: r, Cols: c, Stride: stride, Data: a[i*stride+j : (i+r-1)*stride+j+c]}
}
