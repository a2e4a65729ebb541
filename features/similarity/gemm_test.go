package similarity

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

func randomGeneral(r, c int, rng *rand.Rand) blas64.General {
	g := blas64.General{Rows: r, Cols: c, Stride: c, Data: make([]float64, r*c)}
	for i := range g.Data {
		g.Data[i] = rng.Float64() - 0.5
	}
	return g
}

// Goroutines is a Run of n plain goroutines.
func Goroutines(n int) Run {
	return func(task func()) {
		done := make(chan struct{}, n)
		for range max(1, n) {
			go func() {
				defer func() { done <- struct{}{} }()
				task()
			}()
		}
		for range max(1, n) {
			<-done
		}
	}
}

// inline is a Run of the calling goroutine alone.
func inline(task func()) { task() }

// TestGemmRunsOnlyOnTheGivenWorkers: gemm computes what gonum's Dgemm
// does, for every transpose the inverse uses and sizes off the tile grid,
// and starts no goroutine of its own: gonum's Dgemm starts one per 64×64
// block of the result (and allocates for each), which in a background
// refresh ran at the default priority on every CPU.
func TestGemmRunsOnlyOnTheGivenWorkers(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	const m, n, k = 200, 130, 150
	for _, tb := range []blas.Transpose{blas.NoTrans, blas.Trans} {
		a := randomGeneral(m, k, rng)
		b := randomGeneral(k, n, rng)
		if tb == blas.Trans {
			b = randomGeneral(n, k, rng)
		}
		c0 := randomGeneral(m, n, rng)
		want := blas64.General{Rows: m, Cols: n, Stride: n, Data: append([]float64(nil), c0.Data...)}
		blas64.Gemm(blas.NoTrans, tb, -0.5, a, b, 2, want)
		got := blas64.General{Rows: m, Cols: n, Stride: n, Data: append([]float64(nil), c0.Data...)}
		gemm(inline, blas.NoTrans, tb, -0.5, a, b, 2, got)
		for i := range want.Data {
			if math.Abs(got.Data[i]-want.Data[i]) > 1e-12 {
				t.Fatalf("transpose %c: c[%d] = %v, Dgemm %v", tb, i, got.Data[i], want.Data[i])
			}
		}
		theirs := testing.AllocsPerRun(3, func() { blas64.Gemm(blas.NoTrans, tb, 1, a, b, 0, want) })
		ours := testing.AllocsPerRun(3, func() { gemm(inline, blas.NoTrans, tb, 1, a, b, 0, got) })
		if theirs < 6 {
			t.Fatalf("gonum's Dgemm allocated %.0f times for %d blocks: the check below says nothing", theirs, 4*3)
		}
		if ours > 3 {
			t.Errorf("transpose %c: gemm allocated %.0f times (gonum's Dgemm %.0f): it started goroutines of its own", tb, ours, theirs)
		}
	}
}

// TestSolveIsTheSameOnAnyNumberOfWorkers: each tile of a product is summed
// in the same order whichever worker takes it, so the inverse is the same
// to the bit with one worker or three (a node's lists do not depend on its
// CPUs).
func TestSolveIsTheSameOnAnyNumberOfWorkers(t *testing.T) {
	const n = 2*spdLeaf + 37
	g1 := randomGram(n, 9)
	blockPath(t, g1, n, 5)
	g3 := append([]float64(nil), g1...)
	if !SolveEASE(g1, n, 5, Goroutines(1)) || !SolveEASE(g3, n, 5, Goroutines(3)) {
		t.Fatal("not positive definite")
	}
	for i := range g1 {
		if g1[i] != g3[i] {
			t.Fatalf("entry %d: %v with one worker, %v with three", i, g1[i], g3[i])
		}
	}
}
