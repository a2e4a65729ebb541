package load

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
)

// Comparison is a load run against a trivial baseline server followed
// by the same run against the target. DESIGN section 6 states throughput
// targets as a ratio to a trivial handler measured in the same run,
// because on a shared 2-core machine the load generator, the server and
// everything else running compete for the same CPU: absolute figures move
// by a third from minute to minute, the ratio much less.
//
// Its JSON form is the target's result (the contract's fields at the top
// level) with the baseline's result and the ratio added. Not safe for
// concurrent mutation.
type Comparison struct {
	*Result
	Baseline *Result `json:"baseline"`
	// Ratio is the target's throughput over the baseline's: the figure
	// the targets are stated in. In open loop both runs are offered the
	// same rate, so it is near 1 unless the target fell behind.
	Ratio float64 `json:"baseline_ratio"`
}

// RunWithBaseline learns the ids to request from o.URL (unless o.IDs
// is set), loads baselineURL with o and those ids, then o.URL with the
// same options and ids, and returns both results. The baseline runs first
// so that the target's caches are not warmer than the baseline's.
func RunWithBaseline(ctx context.Context, o Options, baselineURL string, progress io.Writer) (*Comparison, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	ids := o.IDs
	source := "file"
	var warnings []string
	if ids == nil {
		target, err := newTarget(o)
		if err != nil {
			return nil, err
		}
		weights, _ := scenarioWeights(o.Scenario)
		needProducts, needCustomers := needIDs(weights)
		found, w, err := discoverIDs(ctx, target, needProducts, needCustomers)
		target.hc.CloseIdleConnections()
		if err != nil {
			return nil, fmt.Errorf("cannot run load: %w", err)
		}
		ids, source, warnings = &found, "server", w
	}
	bo := o
	bo.URL = baselineURL
	bo.IDs = ids
	if progress != nil {
		fmt.Fprintf(progress, "baseline: trivial fiber handler at %s\n", baselineURL)
	}
	base, err := Run(ctx, bo, progress)
	if err != nil {
		return nil, fmt.Errorf("cannot run the baseline: %w", err)
	}
	if ctx.Err() != nil {
		return nil, errors.Join(errors.New("interrupted during the baseline run"), ctx.Err())
	}
	to := o
	to.IDs = ids
	if progress != nil {
		fmt.Fprintf(progress, "target: %s\n", o.URL)
	}
	res, err := Run(ctx, to, progress)
	if err != nil {
		return nil, err
	}
	res.IDs.Source = source
	res.Warnings = append(warnings, res.Warnings...)
	base.IDs.Source = source
	cmp := &Comparison{Result: res, Baseline: base}
	if base.RPS > 0 {
		cmp.Ratio = round(res.RPS / base.RPS)
	}
	return cmp, nil
}

// WriteTable writes the target's table, then the baseline's figures and
// the ratio.
func (c *Comparison) WriteTable(w io.Writer) error {
	if err := c.Result.WriteTable(w); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nbaseline\ttrivial fiber handler at %s, same options and ids\n", c.Baseline.URL)
	fmt.Fprintf(tw, "  throughput\t%s req/s\terrors %s\n", fmtFloat(c.Baseline.RPS), fmtInt(c.Baseline.Errors))
	fmt.Fprintf(tw, "  latency ms\tp50 %s\tp99 %s\tmax %s\n", fmtMs(c.Baseline.P50Ms), fmtMs(c.Baseline.P99Ms), fmtMs(c.Baseline.MaxMs))
	fmt.Fprintf(tw, "ratio\t%.2f\t(target req/s over baseline req/s)\n", c.Ratio)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("cannot write bench table: %w", err)
	}
	return nil
}

// WriteJSON writes the comparison as one indented JSON object.
func (c *Comparison) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("cannot write bench result: %w", err)
	}
	return nil
}
