package clv

import "math"

// maxSeriesTerms bounds the hypergeometric series. Its terms peak near
// n ≈ (a+b−c)/(1−z); with BG/NBD's arguments that is about x·t/(α+T), so
// a million terms cover forecasts far longer than any history.
const maxSeriesTerms = 1_000_000

// log2F1 returns log ₂F₁(a, b; c; z) for a, b, c > 0 and 0 <= z < 1 by its
// power series, summed in log space: with a, b, c > 0 every term is
// positive, so nothing cancels, and tracking the largest term keeps sums
// near 10^300 (many repeat purchases, z near 1) from overflowing. ok is
// false when the series did not converge within maxSeriesTerms.
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
	logZ := math.Log(z)
	// sum·e^top is the partial sum; top is the log of the largest term.
	logTerm, top, sum := 0.0, 0.0, 1.0
	for n := 0.0; n < maxSeriesTerms; n++ {
		logTerm += math.Log((a+n)*(b+n)/((c+n)*(n+1))) + logZ
		if logTerm > top {
			sum = sum*math.Exp(top-logTerm) + 1
			top = logTerm
			continue
		}
		rel := math.Exp(logTerm - top)
		sum += rel
		// The ratio of successive terms tends to z, from above or from
		// below; once it is below 1 every later ratio is at most
		// q = max(current ratio, z), so the tail is at most term·q/(1−q).
		q := math.Max(z, (a+n+1)*(b+n+1)/((c+n+1)*(n+2))*z)
		if q < 1 && rel*q/(1-q) < 1e-16*sum {
			return top + math.Log(sum), true
		}
	}
	return 0, false
}
