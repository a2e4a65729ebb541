package clv

import (
	"math"
	"testing"
)

// TestLog2F1KnownValues checks the series against closed forms:
// ₂F₁(1,1;2;z) = −log(1−z)/z, ₂F₁(a,b;b;z) = (1−z)^−a and
// ₂F₁(1/2,1;3/2;z²) = atanh(z)/z.
func TestLog2F1KnownValues(t *testing.T) {
	for _, z := range []float64{1e-6, 0.1, 0.5, 0.9, 0.99, 0.995} {
		for _, c := range []struct {
			name       string
			a, b, c, z float64
			want       float64
		}{
			{"log", 1, 1, 2, z, -math.Log1p(-z) / z},
			{"power", 3.7, 2.2, 2.2, z, math.Pow(1-z, -3.7)},
			{"atanh", 0.5, 1, 1.5, z * z, math.Atanh(z) / z},
		} {
			got, ok := log2F1(c.a, c.b, c.c, c.z)
			if !ok || math.Abs(got-math.Log(c.want)) > 1e-12*math.Max(1, math.Abs(got)) {
				t.Errorf("%s at z=%v: log ₂F₁ = %v (ok %v), want %v", c.name, c.z, got, ok, math.Log(c.want))
			}
		}
	}
	// Terms near 10^300 and beyond: the power form in log space.
	got, ok := log2F1(900, 50, 50, 0.9)
	if want := -900 * math.Log(0.1); !ok || math.Abs(got/want-1) > 1e-12 {
		t.Errorf("log ₂F₁(900,50;50;0.9) = %v (ok %v), want %v", got, ok, want)
	}
	if _, ok := log2F1(1, 1, 2, 0.9999); ok {
		t.Error("z = 0.9999 needs about 400,000 terms: it should give up, not run")
	}
	if _, ok := log2F1(1e9, 1e9, 1e9, 0.9); ok {
		t.Error("a series of about 10^10 terms should give up, not run")
	}
}
