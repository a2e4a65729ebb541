package clv

import (
	"errors"
	"fmt"
	"math"
)

// Summary is what the models read of one customer, over a calibration
// period that ends "now".
type Summary struct {
	// Frequency is the number of repeat purchases x: purchases after the
	// first one (a customer who bought once has 0).
	Frequency int
	// Recency is t_x, the time from the first purchase to the last one
	// (0 when Frequency is 0).
	Recency float64
	// Age is T, the time from the first purchase to now (T >= t_x).
	Age float64
	// MeanValue is the mean value of the Frequency repeat purchases (the
	// Gamma-Gamma paper leaves the first purchase out); ignored when
	// Frequency is 0.
	MeanValue float64
}

// Fit errors. FitBGNBD and FitGammaGamma wrap them with details; test with
// errors.Is.
var (
	ErrTooFewCustomers = errors.New("clv: too few customers to fit")
	ErrBadSummary      = errors.New("clv: invalid summary")
	ErrDegenerate      = errors.New("clv: data cannot identify the model")
)

// MinCustomers is the smallest population a fit accepts: four parameters
// from fewer customers would be noise.
const MinCustomers = 20

// check reports why a summary cannot enter a fit (nil when it can).
func (s Summary) check() error {
	switch {
	case s.Frequency < 0:
		return fmt.Errorf("frequency %d is negative", s.Frequency)
	case !finite(s.Recency) || !finite(s.Age) || s.Recency < 0 || s.Age < 0:
		return fmt.Errorf("recency %v and age %v must be finite and >= 0", s.Recency, s.Age)
	case s.Recency > s.Age*(1+1e-9):
		return fmt.Errorf("recency %v is after age %v", s.Recency, s.Age)
	case s.Frequency > 0 && s.Recency == 0:
		return fmt.Errorf("%d repeat purchases with recency 0", s.Frequency)
	}
	return nil
}

// clean returns s made safe for prediction: a summary that would not pass
// check is read the nearest way that does, so predictions never see a
// negative, NaN or infinite time.
func (s Summary) clean() (x, tx, T float64) {
	x = math.Max(0, float64(s.Frequency))
	T = clampTime(s.Age)
	tx = math.Min(clampTime(s.Recency), T)
	if x == 0 {
		tx = 0
	}
	return x, tx, T
}

// maxTime bounds every time the models see: 1e12 units (three million
// years of seconds) keeps every logarithm and power finite.
const maxTime = 1e12

func clampTime(v float64) float64 {
	if !(v > 0) { // NaN, negative, zero
		return 0
	}
	return math.Min(v, maxTime)
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
