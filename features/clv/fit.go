package clv

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/optimize"
)

// Fit limits: a fit stops after maxEvaluations likelihood evaluations
// whatever happens (about 2 ms each on 4,000 customers), and a parameter
// whose logarithm leaves ±logBound is at a boundary the data cannot pin
// (e^±16 is about 1e7 and 1e-7).
const (
	maxEvaluations = 4000
	logBound       = 16.0
)

// minimize runs Nelder-Mead from start on f over log-parameters and
// returns the best point found and the evaluations used. Why Nelder-Mead:
// the likelihoods are smooth but their gradients need derivatives of the
// log-gamma terms in every parameter, and with 3 or 4 parameters a simplex
// converges in a few hundred evaluations without them; gonum's
// implementation is maintained and bounded by Settings.
//
// A closed stop ends the fit with ErrStopped: every later evaluation
// answers at once with the worst value, so the simplex converges in
// microseconds instead of running the rest of its evaluations (minutes on
// a million customers), and the caller is told not to use the point.
func minimize(f func([]float64) float64, start []float64, stop <-chan struct{}) ([]float64, int, error) {
	evals := 0
	problem := optimize.Problem{Func: func(v []float64) float64 {
		if stopped(stop) {
			return math.MaxFloat64
		}
		evals++
		for _, lv := range v {
			if !(math.Abs(lv) <= logBound) {
				return math.MaxFloat64
			}
		}
		y := f(v)
		if !finite(y) {
			return math.MaxFloat64
		}
		return y
	}}
	settings := &optimize.Settings{
		FuncEvaluations: maxEvaluations,
		Converger:       &optimize.FunctionConverge{Absolute: 1e-9, Relative: 1e-11, Iterations: 200},
	}
	res, err := optimize.Minimize(problem, start, settings, &optimize.NelderMead{})
	if stopped(stop) {
		return nil, evals, ErrStopped
	}
	if res == nil {
		return nil, evals, err
	}
	// Running out of evaluations still leaves the best point found; any
	// other failure (a NaN that slipped through) is an error.
	if err != nil && res.Status != optimize.FunctionEvaluationLimit {
		return nil, evals, err
	}
	return res.X, evals, nil
}

// FitBGNBD fits the BG/NBD model to the customers by maximum likelihood
// (equation 6 of the paper, summed in log space). It needs at least
// MinCustomers valid summaries, some repeat purchases and some time
// between first purchase and now.
func FitBGNBD(customers []Summary) (BGNBD, error) {
	return FitBGNBDUntil(customers, nil)
}

// ErrStopped is the answer of a fit whose stop channel closed first.
var ErrStopped = errors.New("clv: fit stopped")

func stopped(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	default:
		return false
	}
}

// FitBGNBDUntil is FitBGNBD that gives up with ErrStopped once stop is
// closed (a nil stop never is): a service shutting down need not wait for
// a fit on a million customers.
func FitBGNBDUntil(customers []Summary, stop <-chan struct{}) (BGNBD, error) {
	data, scale, err := prepareBGNBD(customers)
	if err != nil {
		return BGNBD{}, err
	}
	negLL := func(v []float64) float64 {
		return -data.logLikelihood(math.Exp(v[0]), math.Exp(v[1]), math.Exp(v[2]), math.Exp(v[3]))
	}
	// Times are rescaled to a mean age of 1, so α starts near the right
	// order of magnitude in any unit.
	best, evals, err := minimize(negLL, []float64{0, 0, 0, 0}, stop)
	if err != nil {
		return BGNBD{}, fmt.Errorf("clv: BG/NBD fit failed: %w", err)
	}
	// r or α at a bound: no purchase rate to estimate. a → 0 or b → ∞ is
	// the no-dropout limit, a valid model (see BGNBD.NoDropout).
	for i, name := range [2]string{"r", "alpha"} {
		if math.Abs(best[i]) > logBound-1 {
			return BGNBD{}, fmt.Errorf("%w: BG/NBD parameter %s ran to %.3g (no purchase rate to estimate)",
				ErrDegenerate, name, math.Exp(best[i]))
		}
	}
	noDropout := best[2] < -(logBound-1) || best[3] > logBound-1 || best[2]-best[3] < -(logBound-1)
	m := BGNBD{R: math.Exp(best[0]), Alpha: math.Exp(best[1]), A: math.Exp(best[2]), B: math.Exp(best[3]),
		Customers: len(customers), Evaluations: evals, NoDropout: noDropout}
	// α is in time units; the other three are unitless. The likelihood
	// of the rescaled data differs from the original's by a constant, so
	// report the one in the caller's unit.
	m.Alpha *= scale
	m.LogLikelihood = m.LogLikelihoodOf(customers)
	return m, nil
}

// bgnbdData is the fit's view of the customers: times rescaled, and the
// customers grouped by x so the log-gamma terms (which depend on x only)
// are computed once per distinct x.
type bgnbdData struct {
	xs     []float64   // distinct x
	tx, tt [][]float64 // per distinct x: t_x and T of its customers
}

func prepareBGNBD(customers []Summary) (bgnbdData, float64, error) {
	var d bgnbdData
	if len(customers) < MinCustomers {
		return d, 0, fmt.Errorf("%w: %d customers, need %d", ErrTooFewCustomers, len(customers), MinCustomers)
	}
	sumT, repeat := 0.0, 0
	for i, s := range customers {
		if err := s.check(); err != nil {
			return d, 0, fmt.Errorf("%w: customer %d: %v", ErrBadSummary, i, err)
		}
		sumT += s.Age
		repeat += min(s.Frequency, 1)
	}
	switch {
	case sumT == 0:
		return d, 0, fmt.Errorf("%w: every customer's age is 0 (no time observed)", ErrDegenerate)
	case repeat == 0:
		return d, 0, fmt.Errorf("%w: no customer made a repeat purchase", ErrDegenerate)
	}
	scale := sumT / float64(len(customers))
	index := map[int]int{}
	for _, s := range customers {
		i, ok := index[s.Frequency]
		if !ok {
			i = len(d.xs)
			index[s.Frequency] = i
			d.xs = append(d.xs, float64(s.Frequency))
			d.tx, d.tt = append(d.tx, nil), append(d.tt, nil)
		}
		d.tx[i] = append(d.tx[i], s.Recency/scale)
		d.tt[i] = append(d.tt[i], s.Age/scale)
	}
	return d, scale, nil
}

// logLikelihood is equation (6) in log form, per customer
//
//	log Γ(r+x)α^r/Γ(r) + log B(a,b+x)/B(a,b) +
//	log[ (α+T)^−(r+x) + δ(x>0)·a/(b+x−1)·(α+t_x)^−(r+x) ]
//
// with the last term a log-sum-exp.
func (d bgnbdData) logLikelihood(r, alpha, a, b float64) float64 {
	lr, la, lab, lb := lgamma(r), math.Log(alpha), lgamma(a+b), lgamma(b)
	total := 0.0
	for i, x := range d.xs {
		c := lgamma(r+x) - lr + r*la + lab + lgamma(b+x) - lb - lgamma(a+b+x)
		dead := math.Inf(-1)
		if x > 0 {
			dead = math.Log(a) - math.Log(b+x-1)
		}
		for j, T := range d.tt[i] {
			alive := -(r + x) * math.Log(alpha+T)
			ll := alive
			if x > 0 {
				ll = logAddExp(alive, dead-(r+x)*math.Log(alpha+d.tx[i][j]))
			}
			total += c + ll
		}
	}
	return total
}

// LogLikelihoodOf is the model's log-likelihood of the customers in their
// own time unit (summaries that would not pass a fit are read clamped).
func (m BGNBD) LogLikelihoodOf(customers []Summary) float64 {
	var d bgnbdData
	index := map[float64]int{}
	for _, s := range customers {
		x, tx, T := s.clean()
		i, ok := index[x]
		if !ok {
			i = len(d.xs)
			index[x] = i
			d.xs = append(d.xs, x)
			d.tx, d.tt = append(d.tx, nil), append(d.tt, nil)
		}
		d.tx[i] = append(d.tx[i], tx)
		d.tt[i] = append(d.tt[i], T)
	}
	return d.logLikelihood(m.R, m.Alpha, m.A, m.B)
}

func lgamma(v float64) float64 {
	l, _ := math.Lgamma(v)
	return l
}

func logAddExp(p, q float64) float64 {
	if p < q {
		p, q = q, p
	}
	if math.IsInf(q, -1) {
		return p
	}
	return p + math.Log1p(math.Exp(q-p))
}
