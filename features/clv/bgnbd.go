package clv

import "math"

// BGNBD is a fitted (or given) BG/NBD model: purchase rates λ ~ Gamma(r, α)
// (α in the summaries' time unit), dropout probabilities p ~ Beta(a, b).
type BGNBD struct {
	R, Alpha, A, B float64
	// LogLikelihood is the fit's log-likelihood over its customers (0 for
	// a model built from given parameters).
	LogLikelihood float64
	// Customers is how many summaries the fit used; Evaluations how many
	// times it computed the likelihood.
	Customers, Evaluations int
	// NoDropout is set when the fit ran a to 0 or b to infinity: the data
	// show no dropout (every customer looks alive, as in Online Retail
	// over a few months), and the model is the NBD limit, P(alive) ≈ 1 for
	// everyone. Predictions stay valid; ChurnRisk is then uninformative
	// and PNoPurchase carries the risk.
	NoDropout bool
}

// PAlive is the probability that the customer is still alive (still
// buying) now, equation (A4) of the 2005 paper's note:
//
//	1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
//
// A customer without a repeat purchase is alive by the model's
// construction (dropout can only follow a purchase), so it is 1 for them.
func (m BGNBD) PAlive(s Summary) float64 {
	x, tx, T := s.clean()
	if x == 0 {
		return 1
	}
	return 1 / (1 + math.Exp(m.logDeadOdds(x, tx, T)))
}

// ChurnRisk is the probability that the customer has stopped buying,
// 1 − P(alive). It is 0 for a customer without a repeat purchase (the
// model's construction) and near 0 for everyone when NoDropout is set;
// PNoPurchase is the risk score that stays informative then.
func (m BGNBD) ChurnRisk(s Summary) float64 { return 1 - m.PAlive(s) }

// PNoPurchase is the probability that the customer makes no purchase in
// the next t time units: dead already, or alive with no Poisson arrival
// in t (dropout only follows a purchase). Given alive, λ is
// Gamma(r+x, α+T) a posteriori, so
//
//	P = 1 − P(alive) + P(alive) · ((α+T)/(α+T+t))^(r+x)
//
// Unlike ChurnRisk it is informative when the fit found no dropout, and
// for customers without a repeat purchase.
func (m BGNBD) PNoPurchase(s Summary, t float64) float64 {
	x, _, T := s.clean()
	t = clampTime(t)
	alive := m.PAlive(s)
	quiet := math.Exp(-(m.R + x) * math.Log1p(t/(m.Alpha+T)))
	return math.Max(0, math.Min(1, 1-alive+alive*quiet))
}

// logDeadOdds is log(a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)), the log odds of
// "dropped out after the last purchase" against "alive", for x > 0.
func (m BGNBD) logDeadOdds(x, tx, T float64) float64 {
	lo := math.Log(m.A) - math.Log(m.B+x-1) +
		(m.R+x)*(math.Log(m.Alpha+T)-math.Log(m.Alpha+tx))
	// Beyond ±700 exp over/underflows; the probability is 0 or 1 there
	// to double precision anyway.
	return math.Max(-700, math.Min(700, lo))
}

// ExpectedPurchases is E[Y(t) | x, t_x, T]: the expected number of
// purchases in the next t time units (equation 10 of the paper):
//
//	(a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) ·
//	  ₂F₁(r+x, b+x; a+b+x−1; t/(α+T+t))] · P(alive)
//
// The result is finite and >= 0 for every input. When the series does not
// converge within its bound (t vastly longer than the history), it
// returns the expectation with dropout ignored, capped by the expectation
// over an infinite horizon when that exists: an upper bound that keeps the
// ranking sensible.
func (m BGNBD) ExpectedPurchases(s Summary, t float64) float64 {
	x, tx, T := s.clean()
	t = clampTime(t)
	if t == 0 {
		return 0
	}
	alive := m.PAlive(Summary{Frequency: s.Frequency, Recency: tx, Age: T})
	z := t / (m.Alpha + T + t)
	a := avoidOne(m.A)
	lf, ok := log2F1(m.R+x, m.B+x, a+m.B+x-1, z)
	if ok {
		inner := -math.Expm1((m.R+x)*math.Log1p(-z) + lf) // 1 − (1−z)^(r+x)·₂F₁
		v := (a + m.B + x - 1) / (a - 1) * inner * alive
		if finite(v) && v >= 0 {
			return v
		}
	}
	return m.purchaseBound(x, T, t, alive)
}

// purchaseBound is the fallback of ExpectedPurchases: the posterior mean
// rate (r+x)/(α+T) times t and P(alive), and when a > 1 no more than the
// expected purchases over an infinite horizon, (a+b+x−1)/(a−1)·P(alive)
// (the limit of equation 10 as t grows).
func (m BGNBD) purchaseBound(x, T, t, alive float64) float64 {
	v := (m.R + x) / (m.Alpha + T) * t * alive
	if m.A > 1 {
		v = math.Min(v, (m.A+m.B+x-1)/(m.A-1)*alive)
	}
	return sane(v)
}

// ExpectedPurchasesNew is E[X(t)], the expected number of repeat purchases
// of a customer in their first t time units (equation 9):
//
//	(a+b−1)/(a−1) · [1 − (α/(α+t))^r · ₂F₁(r, b; a+b−1; t/(α+t))]
func (m BGNBD) ExpectedPurchasesNew(t float64) float64 {
	t = clampTime(t)
	if t == 0 {
		return 0
	}
	a := avoidOne(m.A)
	z := t / (m.Alpha + t)
	lf, ok := log2F1(m.R, m.B, a+m.B-1, z)
	if ok {
		v := (a + m.B - 1) / (a - 1) * -math.Expm1(m.R*math.Log1p(-z)+lf)
		if finite(v) && v >= 0 {
			return v
		}
	}
	return m.purchaseBound(0, 0, t, 1)
}

// avoidOne moves a off 1, where the closed forms are 0/0 (their limit is
// continuous in a, so a millionth away changes the result by about as
// much).
func avoidOne(a float64) float64 {
	if math.Abs(a-1) < 1e-6 {
		return 1 + 1e-6
	}
	return a
}

// sane maps NaN and negatives to 0 and +Inf to the largest float, the
// last guard of every exported prediction.
func sane(v float64) float64 {
	switch {
	case !(v > 0):
		return 0
	case math.IsInf(v, 1):
		return math.MaxFloat64
	}
	return v
}
