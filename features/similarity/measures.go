package similarity

import "math"

// The pairwise measures score products i and j from cij, the customers
// they share (or a weighted count of them), cii and cjj, each one's
// customers, and n, the customers in all.

// Jaccard is |I∩J| / |I∪J|.
func Jaccard(cij, cii, cjj float64) float64 { return cij / (cii + cjj - cij) }

// Lift is how many times more often the pair co-occurs than chance.
func Lift(cij, cii, cjj, n float64) float64 { return cij * n / (cii * cjj) }

// Cosine is cij / (cii^alpha · cjj^(1-alpha)): alpha 0.5 is the cosine
// of the two customer vectors; other values are the asymmetric cosine.
func Cosine(cij, cii, cjj, alpha float64) float64 {
	return cij / (math.Pow(cii, alpha) * math.Pow(cjj, 1-alpha))
}

// RP3 is RP3beta's random-walk similarity (Paudel et al., 2017): the walk
// i -> customer -> j, with j's popularity penalised by the exponent beta.
func RP3(cij, cii, cjj, beta float64) float64 {
	return cij / (cii * math.Pow(cjj, beta))
}

// LLR is Dunning's log-likelihood ratio of the pair's 2x2 contingency
// table.
func LLR(cij, cii, cjj, n float64) float64 {
	return llr(cij, cii-cij, cjj-cij, n-cii-cjj+cij)
}

// llr is Dunning's log-likelihood ratio for a 2x2 contingency table, as
// Mahout computes it; it is 0 when the pair co-occurs no more than chance.
func llr(k11, k12, k21, k22 float64) float64 {
	if k22 < 0 {
		k22 = 0
	}
	rowE := entropy2(k11+k12, k21+k22)
	colE := entropy2(k11+k21, k12+k22)
	matE := entropy4(k11, k12, k21, k22)
	if rowE+colE < matE {
		return 0
	}
	// Only positive association is a recommendation.
	if k11*(k11+k12+k21+k22) < (k11+k12)*(k11+k21) {
		return 0
	}
	return 2 * (rowE + colE - matE)
}

func xlogx(x float64) float64 {
	if x <= 0 {
		return 0
	}
	return x * math.Log(x)
}

func entropy2(a, b float64) float64 { return xlogx(a+b) - xlogx(a) - xlogx(b) }

func entropy4(a, b, c, d float64) float64 {
	return xlogx(a+b+c+d) - xlogx(a) - xlogx(b) - xlogx(c) - xlogx(d)
}

// Norms holds per-product powers so that a cosine or RP3 score is one
// division, Score(cij, i, j) = cij / (A[i]·B[j]): math.Pow per pair was a
// tenth of a build.
type Norms struct{ A, B []float64 }

// CosineNorms are Cosine's powers of the supports: A = s^alpha,
// B = s^(1-alpha).
func CosineNorms(support []uint32, alpha float64) Norms {
	n := Norms{A: make([]float64, len(support)), B: make([]float64, len(support))}
	for p, v := range support {
		n.A[p] = math.Pow(float64(v), alpha)
		n.B[p] = math.Pow(float64(v), 1-alpha)
	}
	return n
}

// RP3Norms are RP3's: A = s, B = s^beta.
func RP3Norms(support []uint32, beta float64) Norms {
	n := Norms{A: make([]float64, len(support)), B: make([]float64, len(support))}
	for p, v := range support {
		n.A[p] = float64(v)
		n.B[p] = math.Pow(float64(v), beta)
	}
	return n
}

// Score is the pair's score from its co-occurrence cij.
func (n Norms) Score(cij float64, i, j uint32) float64 {
	return cij / (n.A[i] * n.B[j])
}

// RP3UserWeight is n^-exp, how much a customer with n distinct products
// counts in RP3's co-occurrences (a customer with many products says less
// about each pair).
func RP3UserWeight(n int, exp float64) float32 {
	return float32(math.Pow(float64(n), -exp))
}

// IDFWeight is 1/log2(2+n), the damping idf-cosine gives a customer with
// n distinct products.
func IDFWeight(n int) float32 {
	return float32(1 / math.Log2(2+float64(n)))
}
