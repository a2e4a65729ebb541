package clv

import (
	"fmt"
	"math"
	"sort"
)

// GammaGamma is a fitted (or given) Gamma-Gamma spend model: a customer's
// order values are Gamma(p, ν), and ν ~ Gamma(q, γ) across customers.
type GammaGamma struct {
	P, Q, Gamma float64
	// LogLikelihood, Customers and Evaluations describe the fit, as in
	// BGNBD.
	LogLikelihood          float64
	Customers, Evaluations int
}

// PopulationMean is the expected order value of a customer we know
// nothing about, pγ/(q−1); with q <= 1 the mean is infinite and this
// returns the largest float.
func (m GammaGamma) PopulationMean() float64 {
	if m.Q <= 1 {
		return math.MaxFloat64
	}
	return sane(m.P * m.Gamma / (m.Q - 1))
}

// ExpectedValue is the expected value of the customer's next order,
// E[M | x, m_x] = (γ + m_x·x)·p / (p·x + q − 1) (equation 4 of the RFM and
// CLV paper): a weighted mean of the population mean and the customer's
// own mean m_x, the customer's weighing more the more orders (x) it rests
// on. A customer without repeat purchases gets the population mean. When
// q <= 1 (a population mean that does not exist) it returns the
// customer's own mean, or 0 for a customer without one.
func (m GammaGamma) ExpectedValue(s Summary) float64 {
	x := math.Max(0, float64(s.Frequency))
	mx := s.MeanValue
	if !(mx > 0) || x == 0 {
		x, mx = 0, 0
	}
	mx = math.Min(mx, math.MaxFloat64/4/math.Max(x, 1)) // keep m_x·x finite
	if m.Q <= 1 {
		return sane(mx)
	}
	return sane((m.Gamma + mx*x) * m.P / (m.P*x + m.Q - 1))
}

// FitGammaGamma fits the spend model by maximum likelihood over the
// customers with at least one repeat purchase and a positive MeanValue
// (the others say nothing about spend); it needs MinCustomers of them.
func FitGammaGamma(customers []Summary) (GammaGamma, error) {
	return FitGammaGammaUntil(customers, nil)
}

// FitGammaGammaUntil is FitGammaGamma that gives up with ErrStopped once
// stop is closed (a nil stop never is).
func FitGammaGammaUntil(customers []Summary, stop <-chan struct{}) (GammaGamma, error) {
	var xs, ms []float64
	sum := 0.0
	for i, s := range customers {
		if s.Frequency <= 0 {
			continue
		}
		if !finite(s.MeanValue) || s.MeanValue < 0 {
			return GammaGamma{}, fmt.Errorf("%w: customer %d: mean value %v", ErrBadSummary, i, s.MeanValue)
		}
		if s.MeanValue == 0 {
			continue
		}
		xs, ms = append(xs, float64(s.Frequency)), append(ms, s.MeanValue)
		sum += s.MeanValue
	}
	if len(xs) < MinCustomers {
		return GammaGamma{}, fmt.Errorf("%w: %d customers with repeat purchases and a value, need %d",
			ErrTooFewCustomers, len(xs), MinCustomers)
	}
	sortByX(xs, ms)
	// γ is in money units; rescaling values to a mean of 1 lets one
	// starting point serve pennies and millions alike.
	scale := sum / float64(len(xs))
	for i := range ms {
		ms[i] /= scale
	}
	negLL := func(v []float64) float64 {
		return -ggLogLikelihood(math.Exp(v[0]), math.Exp(v[1]), math.Exp(v[2]), xs, ms)
	}
	best, evals, err := minimize(negLL, []float64{0, math.Log(2), 0}, stop)
	if err != nil {
		return GammaGamma{}, fmt.Errorf("clv: Gamma-Gamma fit failed: %w", err)
	}
	for i, name := range [3]string{"p", "q", "gamma"} {
		if math.Abs(best[i]) > logBound-1 {
			return GammaGamma{}, fmt.Errorf("%w: Gamma-Gamma parameter %s ran to %.3g (order values do not vary, or vary without bound)",
				ErrDegenerate, name, math.Exp(best[i]))
		}
	}
	m := GammaGamma{P: math.Exp(best[0]), Q: math.Exp(best[1]), Gamma: math.Exp(best[2]) * scale,
		Customers: len(xs), Evaluations: evals}
	for i := range ms {
		ms[i] *= scale
	}
	m.LogLikelihood = ggLogLikelihood(m.P, m.Q, m.Gamma, xs, ms)
	return m, nil
}

// ggLogLikelihood is the log of the density of the observed mean order
// values (the note's equation 3), per customer
//
//	log Γ(px+q) − log Γ(px) − log Γ(q) + q·log γ + (px−1)·log m_x +
//	px·log x − (px+q)·log(γ + m_x·x)
//
// The gamma-function terms depend on x only: they are computed once per
// run of equal x (callers pass customers sorted by x for speed; any order
// gives the same sum).
func ggLogLikelihood(p, q, gamma float64, xs, ms []float64) float64 {
	lq, lgam := lgamma(q), math.Log(gamma)
	total, lastX, c := 0.0, -1.0, 0.0
	for i, x := range xs {
		px := p * x
		if x != lastX {
			lastX, c = x, lgamma(px+q)-lgamma(px)-lq+q*lgam+px*math.Log(x)
		}
		total += c + (px-1)*math.Log(ms[i]) - (px+q)*math.Log(gamma+ms[i]*x)
	}
	return total
}

// ExpectedRevenue is the expected revenue from the customer over the next
// t time units: expected purchases times the expected value of each, the
// models' independence assumption (spend does not depend on frequency).
func ExpectedRevenue(bg BGNBD, gg GammaGamma, s Summary, t float64) float64 {
	return sane(bg.ExpectedPurchases(s, t) * gg.ExpectedValue(s))
}

// sortByX sorts the customers' (x, m_x) pairs by x, so the likelihood
// computes its log-gamma terms once per distinct x.
func sortByX(xs, ms []float64) {
	idx := make([]int, len(xs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return xs[idx[i]] < xs[idx[j]] })
	x2, m2 := make([]float64, len(xs)), make([]float64, len(ms))
	for k, i := range idx {
		x2[k], m2[k] = xs[i], ms[i]
	}
	copy(xs, x2)
	copy(ms, m2)
}
