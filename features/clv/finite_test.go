package clv

import (
	"math"
	"math/rand/v2"
	"testing"
)

// extremes are the inputs most likely to break a closed form: zero,
// denormal, huge, infinite, NaN, negative.
var extremes = []float64{0, 5e-324, 1e-9, 0.5, 1, 1 - 1e-9, 1 + 1e-9, 2, 38.86, 1e6, 1e12, 1e300,
	math.MaxFloat64, math.Inf(1), math.Inf(-1), math.NaN(), -1}

var extremeCounts = []int{-5, 0, 1, 2, 7, 100, 10_000, 1 << 30, math.MaxInt}

// checkFinite fails when any prediction of m and g for s is not a finite
// number in its range.
func checkFinite(t *testing.T, m BGNBD, g GammaGamma, s Summary, h float64) {
	t.Helper()
	alive := m.PAlive(s)
	if !(alive >= 0 && alive <= 1) {
		t.Fatalf("%+v: PAlive(%+v) = %v", m, s, alive)
	}
	if c := m.ChurnRisk(s); !(c >= 0 && c <= 1) {
		t.Fatalf("%+v: ChurnRisk(%+v) = %v", m, s, c)
	}
	for name, v := range map[string]float64{
		"ExpectedPurchases":    m.ExpectedPurchases(s, h),
		"ExpectedPurchasesNew": m.ExpectedPurchasesNew(h),
		"ExpectedValue":        g.ExpectedValue(s),
		"ExpectedRevenue":      ExpectedRevenue(m, g, s, h),
		"PopulationMean":       g.PopulationMean(),
	} {
		if !finite(v) || v < 0 {
			t.Fatalf("%+v %+v: %s(%+v, t=%v) = %v", m, g, name, s, h, v)
		}
	}
}

// TestPredictionsFiniteAtExtremes crosses extreme summaries and horizons
// with the CDNOW models and with extreme (but positive) parameters.
func TestPredictionsFiniteAtExtremes(t *testing.T) {
	models := []BGNBD{cdnow, {R: 1e-6, Alpha: 1e-6, A: 1e-6, B: 1e-6}, {R: 1e6, Alpha: 1e6, A: 1e6, B: 1e6},
		{R: 0.5, Alpha: 3, A: 1, B: 0.01}, {R: 50, Alpha: 0.01, A: 3, B: 1e-3}}
	spends := []GammaGamma{cdnowSpend, {P: 1e-6, Q: 0.5, Gamma: 1e-6}, {P: 1e6, Q: 1 + 1e-12, Gamma: 1e6}}
	for _, m := range models {
		g := spends[0]
		for _, x := range extremeCounts {
			for _, tx := range extremes {
				for _, T := range extremes {
					checkFinite(t, m, g, Summary{Frequency: x, Recency: tx, Age: T, MeanValue: tx}, T)
				}
			}
		}
		for _, g := range spends {
			for _, v := range extremes {
				checkFinite(t, m, g, Summary{Frequency: 3, Recency: 1, Age: 2, MeanValue: v}, 1e12)
			}
		}
	}
}

// TestPredictionsFiniteRandom draws parameters and summaries over many
// orders of magnitude (seeded) and checks the same, plus two properties:
// expected purchases do not decrease with the horizon, and P(alive) does
// not increase with silence (a longer T for the same purchases).
func TestPredictionsFiniteRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	logU := func(lo, hi float64) float64 { return math.Exp(lo + (hi-lo)*rng.Float64()) }
	for range 5000 {
		m := BGNBD{R: logU(-5, 5), Alpha: logU(-5, 8), A: logU(-5, 5), B: logU(-5, 5)}
		T := logU(-3, 10)
		s := Summary{Frequency: int(logU(0, 8)) - 1, Age: T, MeanValue: logU(-5, 10)}
		if s.Frequency > 0 {
			s.Recency = T * rng.Float64()
		}
		h := logU(-3, 9)
		checkFinite(t, m, cdnowSpend, s, h)
		if e1, e2 := m.ExpectedPurchases(s, h), m.ExpectedPurchases(s, 2*h); e2 < e1*(1-1e-9) {
			t.Fatalf("%+v %+v: E[Y(%v)] = %v > E[Y(%v)] = %v", m, s, h, e1, 2*h, e2)
		}
		later := s
		later.Age *= 2
		if a1, a2 := m.PAlive(s), m.PAlive(later); a2 > a1+1e-12 {
			t.Fatalf("%+v %+v: P(alive) rose from %v to %v with silence", m, s, a1, a2)
		}
	}
}

// FuzzPredictionsFinite lets the fuzzer pick parameters and a summary:
// no output may be NaN, infinite, negative, or (probabilities) above 1.
func FuzzPredictionsFinite(f *testing.F) {
	f.Add(0.243, 4.414, 0.793, 2.426, 2, 30.43, 38.86, 39.0, 35.0)
	f.Add(1e-9, 1e9, 1.0, 1e-9, 0, 0.0, 1e300, 1e300, 0.0)
	f.Fuzz(func(t *testing.T, r, alpha, a, b float64, x int, tx, T, h, mv float64) {
		pos := func(v float64) float64 { return math.Min(math.Max(math.Abs(v), 1e-6), 1e6) }
		if !finite(r) || !finite(alpha) || !finite(a) || !finite(b) {
			return
		}
		m := BGNBD{R: pos(r), Alpha: pos(alpha), A: pos(a), B: pos(b)}
		checkFinite(t, m, GammaGamma{P: pos(r), Q: pos(a), Gamma: pos(b)},
			Summary{Frequency: x, Recency: tx, Age: T, MeanValue: mv}, h)
	})
}
