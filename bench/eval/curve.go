package eval

import "math"

// Curve is nDCG@k and recall@k for k = 1..len(NDCG), averaged over the
// same customers as Metrics (binary gain, the definitions of
// metrics.go), to draw how quality grows with the list length.
type Curve struct {
	NDCG   []float64 `json:"ndcg"`
	Recall []float64 `json:"recall"`
}

// CurveAccumulator sums a Curve over customers. Not safe for concurrent use.
type CurveAccumulator struct {
	k        int
	users    int
	discount []float64
	idcg     []float64
	ndcg     []float64
	recall   []float64
}

// NewCurveAccumulator returns an accumulator for k = 1..maxK; maxK >= 1.
func NewCurveAccumulator(maxK int) *CurveAccumulator {
	maxK = max(maxK, 1)
	a := &CurveAccumulator{k: maxK, discount: make([]float64, maxK), idcg: make([]float64, maxK+1),
		ndcg: make([]float64, maxK), recall: make([]float64, maxK)}
	for i := range maxK {
		a.discount[i] = 1 / math.Log2(float64(i)+2)
		a.idcg[i+1] = a.idcg[i] + a.discount[i]
	}
	return a
}

// Add scores one customer's list against their relevant products; a
// customer with none is ignored, an empty list counts with no hit.
func (a *CurveAccumulator) Add(recommended []string, relevant map[string]struct{}) {
	if len(relevant) == 0 {
		return
	}
	a.users++
	hits := 0
	dcg := 0.0
	for i := range a.k {
		if i < len(recommended) {
			if _, ok := relevant[recommended[i]]; ok && !slicesContainsBefore(recommended, i) {
				hits++
				dcg += a.discount[i]
			}
		}
		a.ndcg[i] += dcg / a.idcg[min(len(relevant), i+1)]
		a.recall[i] += float64(hits) / float64(len(relevant))
	}
}

// Result returns the mean curve (zeros without customers).
func (a *CurveAccumulator) Result() *Curve {
	c := &Curve{NDCG: make([]float64, a.k), Recall: make([]float64, a.k)}
	if a.users == 0 {
		return c
	}
	for i := range a.k {
		c.NDCG[i] = a.ndcg[i] / float64(a.users)
		c.Recall[i] = a.recall[i] / float64(a.users)
	}
	return c
}
