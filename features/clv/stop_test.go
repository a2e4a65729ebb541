package clv

import (
	"errors"
	"testing"
)

// TestFitStops checks that a closed stop ends both fits with ErrStopped
// (a shutting-down service waits for no fit), and that a nil or open stop
// leaves the fit as FitBGNBD and FitGammaGamma make it.
func TestFitStops(t *testing.T) {
	customers := simulate(3000, cdnow, cdnowSpend, 27, 39, 11)
	closed := make(chan struct{})
	close(closed)
	if _, err := FitBGNBDUntil(customers, closed); !errors.Is(err, ErrStopped) {
		t.Fatalf("BG/NBD with a closed stop: %v, want ErrStopped", err)
	}
	if _, err := FitGammaGammaUntil(customers, closed); !errors.Is(err, ErrStopped) {
		t.Fatalf("Gamma-Gamma with a closed stop: %v, want ErrStopped", err)
	}
	open := make(chan struct{})
	bg, err := FitBGNBDUntil(customers, open)
	if err != nil {
		t.Fatal(err)
	}
	want, err := FitBGNBD(customers)
	if err != nil {
		t.Fatal(err)
	}
	if bg != want {
		t.Fatalf("with an open stop %+v, without %+v", bg, want)
	}
	gg, err := FitGammaGammaUntil(customers, open)
	if err != nil {
		t.Fatal(err)
	}
	if wantGG, _ := FitGammaGamma(customers); gg != wantGG {
		t.Fatalf("Gamma-Gamma with an open stop %+v, without %+v", gg, wantGG)
	}
}
