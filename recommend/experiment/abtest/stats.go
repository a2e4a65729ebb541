package abtest

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// Every interval here is two-sided at 95%. The level is fixed because the
// results contract (DESIGN 3.2) promises 95% and nothing else asks for
// another one.
var z95 = distuv.UnitNormal.Quantile(0.975) // 1.959963984540054

// SRMThreshold is the p-value below which SRMFlag reports a sample-ratio
// mismatch. It is far stricter than 0.05 because the check runs on every
// results read of every experiment: a loose threshold would cry wolf, and a
// real assignment or logging bug gives p-values many orders smaller.
const SRMThreshold = 0.001

// Rate is an estimate with its 95% interval, serialised as
// {"value","low","high"}. Every function here returns finite fields, so a
// Rate never makes encoding/json fail on NaN or Inf. It is a plain value,
// safe for concurrent use.
type Rate struct {
	Value float64 `json:"value"`
	Low   float64 `json:"low"`
	High  float64 `json:"high"`
}

// Proportion is a count of successes (clicks, conversions) out of trials
// (exposures, customers). Functions clamp it to 0 <= Successes <= Trials, so a
// snapshot of two counters read at slightly different moments still gives a
// sane answer. It is a plain value, safe for concurrent use.
type Proportion struct {
	Successes int64
	Trials    int64
}

func (p Proportion) clamped() (x, n float64) {
	if p.Trials <= 0 {
		return 0, 0
	}
	s := min(max(p.Successes, 0), p.Trials)
	return float64(s), float64(p.Trials)
}

// Sums summarises a per-exposure quantity such as revenue: N exposures, the
// sum of the values and the sum of their squares (exposures without revenue
// count as zeros in N). Storing these three numbers is enough for the mean
// and its variance, and they add up across shards and time buckets. It is a
// plain value, safe for concurrent use.
type Sums struct {
	N     int64
	Sum   float64
	SumSq float64
}

// meanVar returns the mean and the unbiased sample variance, clamping the
// variance at 0: sumSq - sum*mean cancels catastrophically when the values
// barely vary, and can come out slightly negative.
func (s Sums) meanVar() (n, mean, variance float64, ok bool) {
	if s.N <= 0 || !finite(s.Sum) || !finite(s.SumSq) {
		return 0, 0, 0, false
	}
	n = float64(s.N)
	mean = s.Sum / n
	if s.N > 1 {
		variance = max((s.SumSq-s.Sum*mean)/(n-1), 0)
	}
	if !finite(mean) || !finite(variance) {
		return 0, 0, 0, false
	}
	return n, mean, variance, true
}

// Wilson returns the observed proportion with its 95% Wilson score interval
// (Wilson 1927). Unlike the textbook p ± z·sqrt(p(1-p)/n) it stays inside
// [0, 1] and keeps close to nominal coverage at small counts and rates near 0,
// which is where click and conversion rates live.
//
// With no trials it returns {0, 0, 1}: nothing is known, so the interval is the
// whole range. It is a pure function, safe for concurrent use.
func Wilson(p Proportion) Rate {
	x, n := p.clamped()
	if n == 0 {
		return Rate{Value: 0, Low: 0, High: 1}
	}
	phat := x / n
	z2 := z95 * z95
	denom := 1 + z2/n
	centre := (phat + z2/(2*n)) / denom
	half := z95 / denom * math.Sqrt(phat*(1-phat)/n+z2/(4*n*n))
	r := Rate{Value: phat, Low: max(centre-half, 0), High: min(centre+half, 1)}
	// The closed form loses the exact endpoints to rounding; pin them.
	if x == 0 {
		r.Low = 0
	}
	if x == n {
		r.High = 1
	}
	return r
}

// TwoProportionPValue returns the two-sided p-value of the pooled
// two-proportion z-test of H0: both arms have the same rate. It equals
// Pearson's chi-squared test of the 2x2 table without continuity correction
// (R's prop.test(correct = FALSE)).
//
// It returns 1 (no evidence of a difference) when either arm has no trials or
// when the pooled rate is 0 or 1, where the two arms are identical. It is a
// pure function, safe for concurrent use.
func TwoProportionPValue(control, treatment Proportion) float64 {
	xc, nc := control.clamped()
	xt, nt := treatment.clamped()
	if nc == 0 || nt == 0 {
		return 1
	}
	pooled := (xc + xt) / (nc + nt)
	se := math.Sqrt(pooled * (1 - pooled) * (1/nc + 1/nt))
	if !(se > 0) {
		return 1
	}
	z := (xt/nt - xc/nc) / se
	return twoSidedNormal(z)
}

// RelativeLift returns treatment/control - 1 for two rates with a 95%
// interval from the delta method on the log of the rate ratio (the Katz
// log interval, Katz et al. 1978):
//
//	se(ln RR) = sqrt(1/x_t - 1/n_t + 1/x_c - 1/n_c)
//	lift ∈ exp(ln RR ± 1.96·se) - 1
//
// The log makes the interval asymmetric the way a ratio is (a lift cannot go
// below -100%) and keeps close to nominal coverage once each arm has a few
// dozen successes.
//
// When any cell of the 2x2 table is zero (no successes or no failures in an
// arm, which includes an arm with no trials) the ratio or its variance is
// infinite, so 0.5 is added to every cell (Haldane-Anscombe correction) and
// Value comes from the corrected table too, so it always lies inside the
// interval. With no data at all this gives {0, -0.94, 15.0}: finite, centred on
// no effect and too wide to be mistaken for evidence. It is a pure function,
// safe for concurrent use.
func RelativeLift(control, treatment Proportion) Rate {
	xc, nc := control.clamped()
	xt, nt := treatment.clamped()
	if xc == 0 || xc == nc || xt == 0 || xt == nt {
		xc, nc, xt, nt = xc+0.5, nc+1, xt+0.5, nt+1
	}
	logRR := math.Log((xt / nt) / (xc / nc))
	se := math.Sqrt(1/xt - 1/nt + 1/xc - 1/nc)
	return Rate{
		Value: math.Expm1(logRR),
		Low:   math.Expm1(logRR - z95*se),
		High:  math.Expm1(logRR + z95*se),
	}
}

// MeanInterval returns the mean per exposure (revenue per exposure) with a
// 95% normal-approximation interval, mean ± 1.96·s/sqrt(n), where s² is the
// unbiased per-exposure variance from the sums. Revenue is skewed (mostly
// zeros), so the interval is trustworthy only with many exposures; the results
// endpoint has thousands, and the coverage test checks it at 2,000.
//
// With no exposures (or non-finite sums, i.e. a NaN upstream) it returns
// {0, 0, 0}; with one exposure the spread is unknown and the interval collapses
// to the value. The exposures count shown beside it tells the reader which
// case it is. It is a pure function, safe for concurrent use.
func MeanInterval(s Sums) Rate {
	n, mean, variance, ok := s.meanVar()
	if !ok {
		return Rate{}
	}
	half := z95 * math.Sqrt(variance/n)
	r := Rate{Value: mean, Low: mean - half, High: mean + half}
	if !finite(r.Low) || !finite(r.High) { // values near MaxFloat64
		return Rate{}
	}
	return r
}

// WelchPValue returns the two-sided p-value of Welch's unequal-variance
// t-test of H0: both arms have the same mean per exposure, with the
// Welch-Satterthwaite degrees of freedom. Welch rather than Student because
// a treatment that changes revenue usually changes its spread too; at the
// sample sizes of an experiment it is the z-test with a small-sample safety
// margin.
//
// It returns 1 when either arm has fewer than two exposures (no variance
// estimate). When both variances are zero it returns 1 if the means are equal
// and 0 if they differ. It is a pure function, safe for concurrent use.
func WelchPValue(control, treatment Sums) float64 {
	if control.N < 2 || treatment.N < 2 {
		return 1
	}
	nc, mc, vc, okc := control.meanVar()
	nt, mt, vt, okt := treatment.meanVar()
	if !okc || !okt {
		return 1
	}
	ac, at := vc/nc, vt/nt // squared standard errors of the two means
	se2 := ac + at
	if !(se2 > 0) {
		if mc == mt {
			return 1
		}
		return 0
	}
	t := (mt - mc) / math.Sqrt(se2)
	// Dividing by se2 first keeps the squares from underflowing to 0/0 when
	// the values are tiny.
	fc, ft := ac/se2, at/se2
	df := 1 / (fc*fc/(nc-1) + ft*ft/(nt-1))
	p := 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Survival(math.Abs(t))
	return clampP(p)
}

// SRMPValue returns the p-value of Pearson's chi-squared goodness-of-fit test
// of the observed counts per variant against the shares their weights
// configure (a sample-ratio-mismatch check). A small p-value means the split
// is not what Assign would produce: a bug in assignment, in logging, or in
// which exposures are counted.
//
// Count distinct units (customers) where you can: exposures of one customer
// are not independent, so exposure counts overstate the evidence. Count only
// hash-assigned units; forced variants (?variant=) are not drawn from the
// weights.
//
// A variant with zero (or invalid) weight expects nothing, so any count in
// it gives 0. It returns 1 when the lengths differ, nothing was observed, or
// fewer than two variants have positive weight and none is violated. It is a
// pure function, safe for concurrent use.
func SRMPValue(observed []int64, weights []float64) float64 {
	if len(observed) != len(weights) {
		return 1
	}
	var total, wsum float64
	arms := 0
	for i, o := range observed {
		o = max(o, 0)
		if w := weights[i]; validWeight(w) && w > 0 {
			wsum += w
			arms++
		} else if o > 0 {
			return 0
		}
		total += float64(o)
	}
	if total == 0 || arms < 2 {
		return 1
	}
	var chi2 float64
	for i, o := range observed {
		w := weights[i]
		if !validWeight(w) || w == 0 {
			continue
		}
		expected := total * w / wsum
		d := float64(max(o, 0)) - expected
		chi2 += d * d / expected
	}
	return clampP(distuv.ChiSquared{K: float64(arms - 1)}.Survival(chi2))
}

// SRMFlag reports whether an SRM p-value is below SRMThreshold. It is a pure
// function, safe for concurrent use.
func SRMFlag(pValue float64) bool { return pValue < SRMThreshold }

func twoSidedNormal(z float64) float64 {
	return clampP(2 * distuv.UnitNormal.Survival(math.Abs(z)))
}

// clampP turns a NaN from a degenerate input into "no evidence" and keeps
// rounding from pushing a p-value past 1.
func clampP(p float64) float64 {
	if math.IsNaN(p) {
		return 1
	}
	return min(max(p, 0), 1)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
