package similarity

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// TestMeasuresOnSets checks each measure on two customer sets counted by
// hand: 10 customers in all, I = {0..5}, J = {3..8}, so c_ij = 3.
func TestMeasuresOnSets(t *testing.T) {
	const cij, cii, cjj, n = 3.0, 6.0, 6.0, 10.0
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"jaccard", Jaccard(cij, cii, cjj), 3.0 / 9},
		{"lift", Lift(cij, cii, cjj, n), (3.0 / 10) / ((6.0 / 10) * (6.0 / 10))},
		{"cosine", Cosine(cij, cii, cjj, 0.5), 3 / math.Sqrt(6*6)},
		{"asymmetric cosine", Cosine(cij, 4, 9, 0.5), 3 / (2.0 * 3.0)},
		{"rp3 beta 0", RP3(cij, cii, cjj, 0), 3.0 / 6},
		{"rp3 beta 0.5", RP3(cij, 4, 9, 0.5), 3 / (4 * 3.0)},
	} {
		if !near(c.got, c.want, 1e-12) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// TestLLR checks Dunning's ratio against the values Apache Mahout's
// LogLikelihoodTest asserts for the same tables, and that a pair seen
// together no more than chance scores 0.
func TestLLR(t *testing.T) {
	for _, c := range []struct {
		k11, k12, k21, k22, want, tol float64
	}{
		{1, 0, 0, 1, 2.772589, 1e-6},
		{10, 0, 0, 10, 27.72589, 1e-5},
		{5, 1995, 0, 100000, 39.33052, 1e-5},
		{1000, 1995, 1000, 100000, 4730.737, 1e-3},
		{1000, 1000, 1000, 100000, 5734.343, 1e-3},
		{1000, 1000, 1000, 99000, 5714.932, 1e-3},
	} {
		if got := llr(c.k11, c.k12, c.k21, c.k22); math.Abs(got-c.want) > c.tol {
			t.Errorf("llr(%v, %v, %v, %v) = %v, want %v", c.k11, c.k12, c.k21, c.k22, got, c.want)
		}
	}
	// LLR takes the co-occurrence and supports: c_ij 10, c_ii 20, c_jj 50
	// among 100 is exactly chance (10/100 = 20/100 · 50/100): 0 but for
	// rounding.
	if got := LLR(10, 20, 50, 100); math.Abs(got) > 1e-9 {
		t.Errorf("independent pair: %v, want 0", got)
	}
	// Less than chance is no recommendation.
	if got := LLR(2, 20, 50, 100); got != 0 {
		t.Errorf("negatively associated pair: %v, want 0", got)
	}
	if got := LLR(18, 20, 50, 100); got <= 0 {
		t.Errorf("positively associated pair: %v, want > 0", got)
	}
}

// TestNormsMatchMeasures: the precomputed powers give Cosine's and RP3's
// scores exactly, so a build may use either.
func TestNormsMatchMeasures(t *testing.T) {
	sup := []uint32{0, 1, 3, 17, 250, 9000}
	const cij = 2.5
	cos, rp3 := CosineNorms(sup, 0.3), RP3Norms(sup, 0.7)
	for i := range sup {
		for j := range sup {
			a, b := float64(sup[i]), float64(sup[j])
			if got, want := cos.Score(cij, uint32(i), uint32(j)), Cosine(cij, a, b, 0.3); got != want && !(math.IsInf(got, 1) && math.IsInf(want, 1)) {
				t.Errorf("cosine %d,%d: %v, want %v", i, j, got, want)
			}
			if got, want := rp3.Score(cij, uint32(i), uint32(j)), RP3(cij, a, b, 0.7); got != want && !(math.IsInf(got, 1) && math.IsInf(want, 1)) {
				t.Errorf("rp3 %d,%d: %v, want %v", i, j, got, want)
			}
		}
	}
}

func TestCustomerWeights(t *testing.T) {
	if got := RP3UserWeight(4, 0.5); got != 0.5 {
		t.Errorf("RP3UserWeight(4, 0.5) = %v, want 0.5", got)
	}
	if got := RP3UserWeight(7, 0); got != 1 {
		t.Errorf("RP3UserWeight(7, 0) = %v, want 1", got)
	}
	if got := IDFWeight(2); got != 0.5 {
		t.Errorf("IDFWeight(2) = %v, want 0.5", got)
	}
	if IDFWeight(100) >= IDFWeight(10) {
		t.Error("a customer with more products should count less")
	}
}
