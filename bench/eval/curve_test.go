package eval

import (
	"math"
	"testing"
)

// TestCurveByHand: two customers worked out by hand. A: list [x a y b],
// relevant {a, b, c}; B: list [] (empty), relevant {d}.
func TestCurveByHand(t *testing.T) {
	a := NewCurveAccumulator(4)
	a.Add([]string{"x", "a", "y", "b"}, map[string]struct{}{"a": {}, "b": {}, "c": {}})
	a.Add(nil, map[string]struct{}{"d": {}})
	a.Add([]string{"x"}, nil) // no relevant product: ignored
	c := a.Result()
	d := func(r int) float64 { return 1 / math.Log2(float64(r)+1) }
	// Customer A: hits at ranks 2 and 4; ideal = min(3, k) hits on top.
	wantA := []float64{0, d(2) / (d(1) + d(2)), d(2) / (d(1) + d(2) + d(3)), (d(2) + d(4)) / (d(1) + d(2) + d(3))}
	wantRecallA := []float64{0, 1. / 3, 1. / 3, 2. / 3}
	for k := range 4 {
		if got, want := c.NDCG[k], wantA[k]/2; math.Abs(got-want) > 1e-12 {
			t.Errorf("nDCG@%d = %v, want %v", k+1, got, want)
		}
		if got, want := c.Recall[k], wantRecallA[k]/2; math.Abs(got-want) > 1e-12 {
			t.Errorf("recall@%d = %v, want %v", k+1, got, want)
		}
	}
	// The curve at k agrees with the headline metrics at k.
	m := NewMetricsAccumulator(4, 10)
	m.Add([]string{"x", "a", "y", "b"}, map[string]struct{}{"a": {}, "b": {}, "c": {}})
	m.Add(nil, map[string]struct{}{"d": {}})
	if r := m.Result(); math.Abs(r.NDCG-c.NDCG[3]) > 1e-12 || math.Abs(r.Recall-c.Recall[3]) > 1e-12 {
		t.Errorf("curve at 4 (%v, %v) differs from the metrics (%v, %v)", c.NDCG[3], c.Recall[3], r.NDCG, r.Recall)
	}
}
