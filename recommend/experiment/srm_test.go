package experiment

import (
	"context"
	"fmt"
	"testing"
)

func TestSRM(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 5)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("honest", StatusRunning, 1, 1))
	mustPut(t, x, ab("skewed", StatusRunning, 1, 1))
	mustPut(t, x, ab("forced", StatusRunning, 1, 1))
	exposeAll(t, x, "honest", 4000, prods, nil)
	// A logging bug that loses a fifth of the treatment's exposures.
	exposeAll(t, x, "skewed", 4000, prods, func(v string, i int) bool { return v != "treatment" || i%5 != 0 })
	// QA forces 600 units into the treatment: not drawn from the weights,
	// so they must not count against them.
	exposeAll(t, x, "forced", 4000, prods, nil)
	for i := range 600 {
		unit := fmt.Sprintf("qa%d", i)
		v, _, err := x.Enrol(context.Background(), "forced", "treatment", unit)
		if err != nil {
			t.Fatal(err)
		}
		x.Expose("forced", v, fmt.Sprintf("qa-r%d", i), unit, true, prods[:3])
	}
	for _, tc := range []struct {
		exp  string
		flag bool
	}{{"honest", false}, {"skewed", true}, {"forced", false}} {
		r := mustResults(t, x, tc.exp)
		t.Logf("%s: srm p = %.3g, units %d / %d, exposures %d / %d", tc.exp, r.SRMPValue,
			r.Variants[0].SRMUnits, r.Variants[1].SRMUnits, r.Variants[0].Exposures, r.Variants[1].Exposures)
		if r.SRMFlag != tc.flag || r.SRMFlag != (r.SRMPValue < 0.001) {
			t.Errorf("%s: srm_flag = %v (p = %g), want %v", tc.exp, r.SRMFlag, r.SRMPValue, tc.flag)
		}
	}
	// The forced units still count as customers of the treatment.
	if f := variantOf(t, mustResults(t, x, "forced"), "treatment"); f.Customers != f.SRMUnits+600 {
		t.Errorf("the treatment has %d customers, want its %d hashed plus the 600 forced", f.Customers, f.SRMUnits)
	}
}

// Ramping the treatment from 10% to 50% mid-experiment: the units hashed
// under the old weights are not compared with the new ones.
func TestSRMAfterWeightChange(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 5)
	x := expTestService(t, st, nil)
	mustPut(t, x, ab("ramp", StatusRunning, 90, 10))
	exposeAll(t, x, "ramp", 3000, prods, nil)
	mustPut(t, x, ab("ramp", StatusRunning, 50, 50))
	for i := range 3000 {
		unit := fmt.Sprintf("n%d", i)
		v, _, _ := x.Enrol(context.Background(), "ramp", "", unit)
		x.Expose("ramp", v, fmt.Sprintf("ramp-n%d", i), unit, false, prods[:3])
	}
	r := mustResults(t, x, "ramp")
	if r.SRMFlag {
		t.Fatalf("a weight change made the SRM check compare old units with new weights: p = %g", r.SRMPValue)
	}
	if n := r.Variants[0].SRMUnits + r.Variants[1].SRMUnits; n != 3000 {
		t.Errorf("SRM should count the 3000 units hashed under the current weights, got %d", n)
	}
}
