package experiment

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
)

// simArm is one variant of the synthetic experiment with the true rates
// its simulated customers act on.
type simArm struct {
	name            string
	weight          float64
	ctr, conv, mean float64
}

func TestSyntheticExperimentRecoversTrueRates(t *testing.T) {
	st := expTestStore(t, "")
	prods := seedProducts(t, st, 50)
	x := expTestService(t, st, nil)
	arms := []simArm{
		{"control", 1, 0.10, 0.040, 50},
		{"boost", 1, 0.13, 0.060, 50},
		{"same", 2, 0.10, 0.040, 50},
	}
	e := Experiment{ID: "synthetic", Status: StatusRunning}
	byName := map[string]simArm{}
	for _, a := range arms {
		e.Variants = append(e.Variants, VariantConfig{Name: a.name, Weight: a.weight})
		byName[a.name] = a
	}
	mustPut(t, x, e)
	const units = 12000
	evs := simulateStorefront(t, x, byName, prods, units)
	ctx := context.Background()
	// The events arrive after every Expose returned, as they would over HTTP.
	if _, err := st.Ingest(ctx, evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	r := mustResults(t, x, "synthetic")
	if r.SRMFlag {
		t.Errorf("honest split flagged as SRM: p = %g", r.SRMPValue)
	}
	within := func(what string, rate abtest.Rate, truth float64) {
		t.Helper()
		if truth < rate.Low || truth > rate.High {
			t.Errorf("%s: true %.4f outside the 95%% interval [%.4f, %.4f] (estimate %.4f)", what, truth, rate.Low, rate.High, rate.Value)
		}
	}
	var total int64
	for _, vr := range r.Variants {
		a := byName[vr.Name]
		total += vr.Exposures
		t.Logf("%-7s exp %5d cust %5d clicks %4d conv %3d ctr %.4f [%.4f,%.4f] conv %.4f [%.4f,%.4f] rev/exp %.2f [%.2f,%.2f] lift %+.3f [%+.3f,%+.3f] p %.4f",
			vr.Name, vr.Exposures, vr.Customers, vr.Clicks, vr.Conversions, vr.CTR.Value, vr.CTR.Low, vr.CTR.High,
			vr.ConversionRate.Value, vr.ConversionRate.Low, vr.ConversionRate.High,
			vr.RevenuePerExposure.Value, vr.RevenuePerExposure.Low, vr.RevenuePerExposure.High,
			vr.Lift.Value, vr.Lift.Low, vr.Lift.High, vr.PValue)
		if vr.Exposures != vr.Customers {
			t.Errorf("%s: one exposure per customer, got %d exposures for %d customers", vr.Name, vr.Exposures, vr.Customers)
		}
		within(vr.Name+" ctr", vr.CTR, a.ctr)
		within(vr.Name+" conversion rate", vr.ConversionRate, a.conv)
		within(vr.Name+" revenue per exposure", vr.RevenuePerExposure, a.conv*a.mean)
		if vr.Name != "control" {
			within(vr.Name+" lift", vr.Lift, a.conv/arms[0].conv-1)
		}
	}
	if total != units {
		t.Errorf("exposures = %d, want %d", total, units)
	}
	if b := variantOf(t, r, "boost"); b.PValue > 0.05 {
		t.Errorf("a 50%% conversion lift on ~3000 customers per arm should be detected, p = %g", b.PValue)
	}
	if s := variantOf(t, r, "same"); s.PValue < 0.01 {
		t.Errorf("an arm identical to control should rarely look different, p = %g", s.PValue)
	}
	if c := variantOf(t, r, "control"); c.Lift != (abtest.Rate{}) || c.PValue != 1 {
		t.Errorf("control row: lift %+v p %g, want zeros and 1", c.Lift, c.PValue)
	}
}

// simulateStorefront drives the running "synthetic" experiment the way a
// storefront does: it enrols units c0..c(units-1) and exposes a list to
// each, and returns the click and purchase events, carrying the
// recommendation_id, that their arm's true rates produce (plus noise that
// must not count), for the caller to post through the real store, whose
// hook attributes them.
func simulateStorefront(t *testing.T, x *Service, byName map[string]simArm, prods []string, units int) []features.Event {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 11))
	var evs []features.Event
	ctx := context.Background()
	for i := range units {
		unit := fmt.Sprintf("c%d", i)
		v, _, err := x.Enrol(ctx, "synthetic", "", unit)
		if err != nil {
			t.Fatal(err)
		}
		a := byName[v]
		recID := "rec-" + unit
		items := []string{prods[i%50], prods[(i+1)%50], prods[(i+2)%50]}
		x.Expose("synthetic", v, recID, unit, false, items)
		if rng.Float64() < a.ctr {
			evs = append(evs, features.Event{CustomerID: unit, ProductID: items[0], Type: "click", RecommendationID: recID})
			// A second click on the same list does not count twice.
			evs = append(evs, features.Event{CustomerID: unit, ProductID: items[1], Type: "view", RecommendationID: recID})
		}
		if rng.Float64() < a.conv {
			evs = append(evs, features.Event{CustomerID: unit, ProductID: items[2], Type: "purchase",
				Value: 10 + 80*rng.Float64(), RecommendationID: recID})
		}
		// Noise that must not count: a cart, a click on a product that was
		// not on the list, an unknown recommendation id.
		if i%10 == 0 {
			evs = append(evs,
				features.Event{CustomerID: unit, ProductID: items[0], Type: "cart", RecommendationID: recID},
				features.Event{CustomerID: unit, ProductID: prods[(i+25)%50], Type: "click", RecommendationID: recID},
				features.Event{CustomerID: unit, ProductID: items[0], Type: "purchase", Value: 1000, RecommendationID: "rec-unknown"})
		}
	}
	return evs
}
