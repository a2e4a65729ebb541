package similarity

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/lapack/lapack64"
)

// randomGram is the upper triangle of XᵀX for 2n customers of 30 random
// products each among n (Gram's shape), with lambda on the diagonal.
func randomGram(n int, lambda float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 7))
	rows := make([][]int32, 2*n)
	for c := range rows {
		seen := map[int32]bool{}
		for range 30 {
			seen[int32(r.IntN(n))] = true
		}
		for p := range seen {
			rows[c] = append(rows[c], p)
		}
		sortInt32(rows[c])
	}
	g := Gram(rows, n, nil, 2)
	for i := range n {
		g[i*n+i] += lambda
	}
	return g
}

func sortInt32(s []int32) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// lapackInverse is what SolveEASE computed before the block inverse:
// LAPACK's Cholesky inverse of the whole matrix.
func lapackInverse(t *testing.T, upper []float64, n int) []float64 {
	t.Helper()
	a := append([]float64(nil), upper...)
	c, ok := lapack64.Potrf(blas64.Symmetric{N: n, Stride: n, Data: a, Uplo: blas.Upper})
	if !ok {
		t.Fatal("Potrf: not positive definite")
	}
	if _, ok := lapack64.Potri(c); !ok {
		t.Fatal("Potri failed")
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			a[j*n+i] = a[i*n+j]
		}
	}
	return a
}

// TestBlockInverseMatchesLAPACK: SolveEASE's block inverse agrees with
// LAPACK's Cholesky inverse to 1e-10 of the inverse's largest entry, both
// triangles, at orders that take one leaf, one split, uneven splits and
// several levels.
func TestBlockInverseMatchesLAPACK(t *testing.T) {
	for _, n := range []int{spdLeaf, spdLeaf + 1, 2*spdLeaf + 1, 777} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			g := randomGram(n, 5, uint64(n))
			want := lapackInverse(t, g, n)
			if !SolveEASE(g, n, 0) { // lambda is already on the diagonal
				t.Fatal("SolveEASE: not positive definite")
			}
			var scale float64
			for _, v := range want {
				scale = max(scale, math.Abs(v))
			}
			for i := range n {
				for j := range n {
					if d := math.Abs(g[i*n+j] - want[i*n+j]); d > 1e-10*scale {
						t.Fatalf("P[%d][%d] = %v, LAPACK %v (scale %v)", i, j, g[i*n+j], want[i*n+j], scale)
					}
				}
			}
		})
	}
}

// TestBlockInverseReportsSingular: a product no customer has leaves a zero
// row with λ 0, in the first half or the second (the Schur complement's),
// and the solve says so instead of returning garbage.
func TestBlockInverseReportsSingular(t *testing.T) {
	const n = 3*spdLeaf + 5
	for _, zero := range []int{3, n - 2} {
		g := randomGram(n, 1, 11)
		for j := range n {
			g[zero*n+j], g[j*n+zero] = 0, 0
		}
		if SolveEASE(g, n, 0) {
			t.Errorf("zero row %d: solved a singular matrix", zero)
		}
	}
}

// BenchmarkSolveEASE is the dense solve alone: the block inverse against
// LAPACK's Cholesky inverse of the whole matrix.
func BenchmarkSolveEASE(b *testing.B) {
	for _, n := range []int{1500, 3000} {
		g := randomGram(n, 5, 3)
		a := make([]float64, len(g))
		b.Run(fmt.Sprintf("block/%d", n), func(b *testing.B) {
			for b.Loop() {
				copy(a, g)
				if !SolveEASE(a, n, 0) {
					b.Fatal("not positive definite")
				}
			}
		})
		b.Run(fmt.Sprintf("lapack/%d", n), func(b *testing.B) {
			for b.Loop() {
				copy(a, g)
				c, ok := lapack64.Potrf(blas64.Symmetric{N: n, Stride: n, Data: a, Uplo: blas.Upper})
				if !ok {
					b.Fatal("not positive definite")
				}
				lapack64.Potri(c)
			}
		})
	}
}
