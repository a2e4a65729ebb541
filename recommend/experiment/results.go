package experiment

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
)

// Results computes experiment id's results from everything handed to the
// service before the call. See docs/experiments.md for the methods.
func (x *Service) Results(ctx context.Context, id string) (Results, error) {
	c := x.lookup(id)
	if c == nil {
		return Results{}, unknownExperiment(id)
	}
	// Read-your-writes: a results read right after posting events sees them.
	if err := x.Flush(ctx); err != nil && ctx.Err() != nil {
		return Results{}, fmt.Errorf("cannot flush experiment data: %w", err)
	}
	if c = x.lookup(id); c == nil {
		return Results{}, unknownExperiment(id)
	}
	x.mu.RLock()
	st := x.states[id]
	rows := make([]variantCounts, 0, len(c.def.Variants))
	seen := map[string]bool{}
	for _, v := range c.def.Variants {
		seen[v.Name] = true
		rows = append(rows, countVariant(st, v.Name, v.Weight, c.fp))
	}
	if st != nil {
		var extra []string
		for name := range st.variants {
			if !seen[name] {
				extra = append(extra, name)
			}
		}
		sort.Strings(extra)
		for _, name := range extra {
			rows = append(rows, countVariant(st, name, 0, c.fp))
		}
	}
	x.mu.RUnlock()
	return buildResults(c, rows), nil
}

// variantCounts is one variant's counters, copied under the lock.
type variantCounts struct {
	name                          string
	weight                        float64
	exposures, customers, clicked int64
	conversions, srmUnits         int64
	revenue                       abtest.Sums
}

func countVariant(st *expState, name string, weight float64, fp uint64) variantCounts {
	vc := variantCounts{name: name, weight: weight}
	if st == nil {
		return vc
	}
	vs := st.variants[name]
	if vs == nil {
		return vc
	}
	vc.exposures, vc.clicked, vc.conversions = vs.exposures, vs.clicked, vs.conversions
	vc.customers = int64(len(vs.units))
	vc.revenue = abtest.Sums{N: vs.exposures, Sum: vs.revSum, SumSq: vs.revSumSq}
	for u, us := range vs.units {
		if us.cfg != fp {
			continue
		}
		if _, f := st.forcedUnits[u]; !f {
			vc.srmUnits++
		}
	}
	return vc
}

// Results is GET /v1/experiments/{id}/results (DESIGN 3.2), plus srm_flag.
// Fields tagged "-" feed the HTML report only. A plain value, safe for
// concurrent reads.
type Results struct {
	Experiment string          `json:"experiment"`
	Control    string          `json:"control"`
	SRMPValue  float64         `json:"srm_p_value"`
	SRMFlag    bool            `json:"srm_flag"`
	Variants   []VariantResult `json:"variants"`

	Status string `json:"-"`
}

// VariantResult is one variant's counts and estimates. Rates and lift are
// 95% intervals. Clicks counts exposures with at least one attributed click
// (so CTR is a proportion of exposures); conversions counts customers with
// at least one attributed purchase (so the conversion rate, its lift and
// p-value are per customer, the unit that was randomised).
type VariantResult struct {
	Name               string      `json:"name"`
	Weight             float64     `json:"weight"`
	Exposures          int64       `json:"exposures"`
	Customers          int64       `json:"customers"`
	Clicks             int64       `json:"clicks"`
	Conversions        int64       `json:"conversions"`
	Revenue            float64     `json:"revenue"`
	CTR                abtest.Rate `json:"ctr"`
	ConversionRate     abtest.Rate `json:"conversion_rate"`
	RevenuePerExposure abtest.Rate `json:"revenue_per_exposure"`
	Lift               abtest.Rate `json:"lift"`
	PValue             float64     `json:"p_value"`

	// Report-only extras.
	IsControl     bool        `json:"-"`
	Configured    bool        `json:"-"` // false: no longer in the definition
	SRMUnits      int64       `json:"-"` // hash-assigned units under the current weights
	RevenuePValue float64     `json:"-"` // Welch, revenue per exposure vs control
	CTRLift       abtest.Rate `json:"-"`
}

func buildResults(c *compiled, rows []variantCounts) Results {
	r := Results{Experiment: c.def.ID, Control: c.def.Variants[c.control].Name, Status: c.def.Status,
		Variants: make([]VariantResult, len(rows))}
	ctl := rows[c.control]
	ctlConv := abtest.Proportion{Successes: ctl.conversions, Trials: ctl.customers}
	ctlClick := abtest.Proportion{Successes: ctl.clicked, Trials: ctl.exposures}
	var obs []int64
	var weights []float64
	for i, v := range rows {
		conv := abtest.Proportion{Successes: v.conversions, Trials: v.customers}
		click := abtest.Proportion{Successes: v.clicked, Trials: v.exposures}
		vr := VariantResult{
			Name: v.name, Weight: v.weight, Exposures: v.exposures, Customers: v.customers,
			Clicks: v.clicked, Conversions: v.conversions, Revenue: round6(v.revenue.Sum),
			CTR: roundRate(abtest.Wilson(click)), ConversionRate: roundRate(abtest.Wilson(conv)),
			RevenuePerExposure: roundRate(abtest.MeanInterval(v.revenue)),
			PValue:             1, IsControl: i == c.control, Configured: i < len(c.def.Variants),
			SRMUnits: v.srmUnits, RevenuePValue: 1,
		}
		if i != c.control {
			vr.Lift = roundRate(abtest.RelativeLift(ctlConv, conv))
			vr.PValue = abtest.TwoProportionPValue(ctlConv, conv)
			vr.CTRLift = roundRate(abtest.RelativeLift(ctlClick, click))
			vr.RevenuePValue = abtest.WelchPValue(ctl.revenue, v.revenue)
		}
		r.Variants[i] = vr
		if vr.Configured {
			obs = append(obs, v.srmUnits)
			weights = append(weights, v.weight)
		}
	}
	r.SRMPValue = abtest.SRMPValue(obs, weights)
	r.SRMFlag = abtest.SRMFlag(r.SRMPValue)
	return r
}

func roundRate(r abtest.Rate) abtest.Rate {
	return abtest.Rate{Value: round6(r.Value), Low: round6(r.Low), High: round6(r.High)}
}

// round6 rounds to 6 decimals so that results read well and compare
// exactly in tests; NaN and infinities (no data) read as 0.
func round6(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*1e6) / 1e6
}
