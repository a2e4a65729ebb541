package clv

import "math"

// maxSeriesTerms bounds the hypergeometric series (a few ns a term).
// With BG/NBD's arguments its terms peak near n ≈ x·t/(α+T) and then
// shrink like z^n, so 20,000 terms cover a customer with a thousand
// repeat purchases, or a forecast 500 times longer than the history.
const maxSeriesTerms = 20_000

// rescaleAt is where the running sum is scaled down (by rescaleAt), so
// that terms near 10^300 (many repeat purchases, z near 1) never overflow.
const rescaleAt = 1e200

// log2F1 returns log ₂F₁(a, b; c; z) for a, b, c > 0 and 0 <= z < 1 by its
// power series. With a, b, c > 0 every term is positive, so nothing
// cancels; the sum is kept as sum·e^logScale. ok is false when the series
// would need more than maxSeriesTerms terms.
//
// gonum has no Gauss hypergeometric function (mathext covers other special
// functions), and this argument range needs only the series.
func log2F1(a, b, c, z float64) (v float64, ok bool) {
	if !(z >= 0 && z < 1) || !(a > 0 && b > 0 && c > 0) {
		return 0, false
	}
	if z == 0 {
		return 0, true
	}
	if seriesLength(a, b, c, z) > maxSeriesTerms {
		return 0, false
	}
	term, sum, logScale := 1.0, 1.0, 0.0
	for n := 0.0; n < maxSeriesTerms; n++ {
		term *= (a + n) * (b + n) / ((c + n) * (n + 1)) * z
		sum += term
		if sum > rescaleAt {
			term /= rescaleAt
			sum /= rescaleAt
			logScale += math.Log(rescaleAt)
		}
		// The ratio of successive terms tends to z, from above or from
		// below; once it is below 1 every later ratio is at most
		// q = max(next ratio, z), so the tail is at most term·q/(1−q).
		q := math.Max(z, (a+n+1)*(b+n+1)/((c+n+1)*(n+2))*z)
		if q < 1 && term*q/(1-q) < 1e-16*sum {
			return logScale + math.Log(sum), true
		}
	}
	return 0, false
}

// seriesLength estimates how many terms the series needs: up to the
// largest term, where the ratio of successive terms
// (a+n)(b+n)z / ((c+n)(n+1)) falls to 1 (the positive root of
// (1−z)n² + (c+1−(a+b)z)n + c−abz = 0), then about 40/(1−z) more for
// the geometric tail to fall below 1e-16. It lets hopeless cases (z near
// 1, a and b near a billion) give up at once instead of after
// maxSeriesTerms terms.
func seriesLength(a, b, c, z float64) float64 {
	qa, qb, qc := 1-z, c+1-(a+b)*z, c-a*b*z
	peak := 0.0
	if disc := qb*qb - 4*qa*qc; disc > 0 {
		peak = math.Max(0, (-qb+math.Sqrt(disc))/(2*qa))
	}
	return peak + 40/qa
}
