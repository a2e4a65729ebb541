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
// products each among n (Gram's shape).
func randomGram(n int, seed uint64) []float64 {
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
	return Gram(rows, n, nil, 2, Goroutines(2))
}

// blockPath fails the test unless SolveEASE takes the block inverse for g
// and lambda (not LAPACK's whole-matrix inverse, for ill-conditioned ones).
func blockPath(t *testing.T, g []float64, n int, lambda float64) {
	t.Helper()
	full := append([]float64(nil), g...)
	for i := range n {
		for j := i + 1; j < n; j++ {
			full[j*n+i] = full[i*n+j]
		}
	}
	if c := maxRowSum(full, n) / lambda; c > blockMaxCond {
		t.Fatalf("condition bound %.3g over %.3g: the solve would not take the block inverse", c, blockMaxCond)
	}
}

func sortInt32(s []int32) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// lapackInverse is what SolveEASE computed before the block inverse:
// LAPACK's Cholesky inverse of the whole matrix, with lambda added.
func lapackInverse(t *testing.T, upper []float64, n int, lambda float64) []float64 {
	t.Helper()
	a := append([]float64(nil), upper...)
	for i := range n {
		a[i*n+i] += lambda
	}
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
			g := randomGram(n, uint64(n))
			blockPath(t, g, n, 5)
			want := lapackInverse(t, g, n, 5)
			if !SolveEASE(g, n, 5, Goroutines(2)) {
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
// and the block inverse says so instead of returning garbage.
func TestBlockInverseReportsSingular(t *testing.T) {
	const n = 3*spdLeaf + 5
	for _, zero := range []int{3, n - 2} {
		g := randomGram(n, 11)
		for j := range n {
			g[zero*n+j], g[j*n+zero] = 0, 0
		}
		for i := range n {
			g[i*n+i]++
			for j := i + 1; j < n; j++ {
				g[j*n+i] = g[i*n+j]
			}
		}
		g[zero*n+zero] = 0
		if invertSPD(g, n, n, Goroutines(2)) {
			t.Errorf("zero row %d: inverted a singular matrix", zero)
		}
	}
}

// TestIllConditionedSolveMatchesLAPACK: with pairs of products always
// bought together and a tiny λ, the block inverse's error grows with the
// square of the condition number (0.09 of the identity at λ 1e-4 in a
// review; here, at λ 1e-7, it called the matrix not positive definite);
// such a matrix goes to LAPACK whole and agrees with its inverse.
func TestIllConditionedSolveMatchesLAPACK(t *testing.T) {
	const n, lambda = 2*spdLeaf + 10, 1e-7
	// Product 2i+1 is bought by exactly the customers of 2i.
	r := rand.New(rand.NewPCG(13, 7))
	rows := make([][]int32, 2*n)
	for c := range rows {
		seen := map[int32]bool{}
		for range 15 {
			p := int32(r.IntN(n/2)) * 2
			seen[p], seen[p+1] = true, true
		}
		for p := range seen {
			rows[c] = append(rows[c], p)
		}
		sortInt32(rows[c])
	}
	g := Gram(rows, n, nil, 2, Goroutines(2))
	want := lapackInverse(t, g, n, lambda)
	if !SolveEASE(g, n, lambda, Goroutines(2)) {
		t.Fatal("not positive definite")
	}
	var scale float64
	for _, v := range want {
		scale = max(scale, math.Abs(v))
	}
	for i := range want {
		if d := math.Abs(g[i] - want[i]); d > 1e-9*scale {
			t.Fatalf("P entry %d = %v, LAPACK %v (scale %v)", i, g[i], want[i], scale)
		}
	}
}

// BenchmarkSolveEASE is the dense solve alone: the block inverse on one
// and on two workers against LAPACK's Cholesky inverse of the whole matrix
// (whose triangular kernels run in one goroutine and whose Dgemm takes
// every CPU).
func BenchmarkSolveEASE(b *testing.B) {
	for _, n := range []int{1500, 3000} {
		g := randomGram(n, 3)
		for i := range n {
			g[i*n+i] += 5
		}
		a := make([]float64, len(g))
		for _, w := range []int{1, 2} {
			b.Run(fmt.Sprintf("block-%dworkers/%d", w, n), func(b *testing.B) {
				for b.Loop() {
					copy(a, g)
					if !SolveEASE(a, n, 0.001, Goroutines(w)) {
						b.Fatal("not positive definite")
					}
				}
			})
		}
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
