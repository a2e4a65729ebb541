package load

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"
)

// Run runs a load test against o.URL and returns its result. It first
// learns the ids to request (o.IDs or the server), then runs the warmup, if
// any, and the measured phase. progress, if not nil, gets a live status line
// when it is a terminal and a plain line every few seconds otherwise.
//
// When ctx is cancelled the run stops early and the result so far is
// returned with Interrupted set, so that an interrupted bench still reports.
func Run(ctx context.Context, o Options, progress io.Writer) (*Result, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	target, err := newTarget(o)
	if err != nil {
		return nil, err
	}
	defer target.hc.CloseIdleConnections()

	weights, _ := scenarioWeights(o.Scenario)
	needProducts, needCustomers := needIDs(weights)
	var ids IDs
	var warnings []string
	source := "none"
	switch {
	case o.IDs != nil:
		ids, source = *o.IDs, "file"
	case needProducts || needCustomers:
		ids, warnings, err = discoverIDs(ctx, target, needProducts, needCustomers)
		if err != nil {
			return nil, fmt.Errorf("cannot run load: %w", err)
		}
		source = "server"
	}
	query := url.Values{}
	if o.Experiment != "" {
		query.Set("experiment", o.Experiment)
	}
	if o.Variant != "" {
		query.Set("variant", o.Variant)
	}
	plan, err := newPlan(o.Scenario, target.base, query.Encode(), ids, o.Seed)
	if err != nil {
		return nil, fmt.Errorf("cannot run load: %w", err)
	}
	warnings = append(warnings, plan.warnings...)
	plan.eventIDPool = o.EventIDPool

	if o.Warmup > 0 {
		newPhase(o, plan, target, o.Warmup).run(ctx, o.Warmup, progress, "warmup")
	}
	r := newPhase(o, plan, target, o.Duration)
	var elapsed time.Duration
	var mem *ServerMemory
	if ctx.Err() == nil {
		w := watchServerMemory(ctx, target, time.Second)
		elapsed = r.run(ctx, o.Duration, progress, o.Scenario)
		mem = w.finish()
	} else {
		r.start = time.Now() // interrupted during the warmup: an empty result
	}
	res := r.result(elapsed)
	res.ServerMemory = mem
	res.Interrupted = ctx.Err() != nil
	res.Warnings = append(warnings, res.Warnings...)
	res.IDs = IDsInfo{Source: source, Products: plan.products, Customers: plan.customers, Synthetic: plan.synthetic}
	return res, nil
}

// result merges the shards into a Result.
func (r *phase) result(elapsed time.Duration) *Result {
	o := r.o
	res := &Result{
		Scenario:     o.Scenario,
		URL:          o.URL,
		Mode:         "closed",
		Concurrency:  o.Concurrency,
		DurationS:    o.Duration.Seconds(),
		ElapsedS:     round(elapsed.Seconds()),
		ErrorsByKind: map[string]int64{},
		ErrorSamples: map[string]string{},
		Late:         r.lateCount(),
		SlowWakes:    r.slowWakes.Load(),
		StartedAt:    r.start,
		hist:         newHist(),
	}
	if o.Rate > 0 {
		res.Mode = "open"
		res.TargetRPS = o.Rate
		res.service = newHist()
	}
	kinds, secs := r.mergeShards(res)
	finished := r.finished.Load()
	res.Requests = finished
	res.Errors = r.failed.Load()
	if o.Rate > 0 && elapsed > 0 {
		if unsent := r.unsentCount(); unsent > 0 {
			res.ErrorsByKind["unsent"] = unsent
			res.Requests += unsent
			res.Errors += unsent
		}
	}
	res.OK = res.Requests - res.Errors
	if elapsed > 0 {
		res.RPS = round(float64(finished) / elapsed.Seconds())
	}
	res.Latency = latencyOf(res.hist)
	if res.service != nil {
		l := latencyOf(res.service)
		res.Service = &l
	}
	res.Kinds = r.kindResults(kinds, res.Latency, elapsed)
	res.PerSecond = r.perSecond(secs)
	if len(res.ErrorSamples) == 0 {
		res.ErrorSamples = nil
	}
	res.Warnings = r.warnings(res)
	return res
}

// mergeShards adds every shard's histograms, errors and samples into res and
// returns the per-kind and per-second sums.
func (r *phase) mergeShards(res *Result) ([numKinds]kindAgg, []secondAgg) {
	var kinds [numKinds]kindAgg
	for k := range kinds {
		if r.plan.multiKinds && r.plan.weights[k] > 0 {
			kinds[k].hist = newHist()
		}
	}
	secs := make([]secondAgg, r.nsecs)
	for _, s := range r.shards {
		s.mu.Lock()
		res.hist.Merge(s.hist)
		if s.service != nil {
			res.service.Merge(s.service)
		}
		for k := range kinds {
			kinds[k].ok += s.kinds[k].ok
			kinds[k].errs += s.kinds[k].errs
			if s.kinds[k].hist != nil {
				kinds[k].hist.Merge(s.kinds[k].hist)
			}
		}
		for kind, n := range s.errs {
			res.ErrorsByKind[kind] += n
		}
		for kind, msg := range s.samples {
			res.ErrorSamples[kind] = msg
		}
		for i, sa := range s.secs {
			secs[i].ok += sa.ok
			secs[i].errs += sa.errs
			secs[i].n += sa.n
			secs[i].sumUs += sa.sumUs
			secs[i].maxUs = max(secs[i].maxUs, sa.maxUs)
		}
		s.mu.Unlock()
	}
	return kinds, secs
}

// kindResults is one result per request kind the plan sends; a kind without
// its own histogram (a single-kind plan) reports the run's latency.
func (r *phase) kindResults(kinds [numKinds]kindAgg, all Latency, elapsed time.Duration) []KindResult {
	var out []KindResult
	for k, agg := range kinds {
		if r.plan.weights[k] == 0 {
			continue
		}
		kr := KindResult{Kind: kindNames[k], Requests: agg.ok + agg.errs, Errors: agg.errs}
		if elapsed > 0 {
			kr.RPS = round(float64(kr.Requests) / elapsed.Seconds())
		}
		if agg.hist != nil {
			kr.Latency = latencyOf(agg.hist)
		} else {
			kr.Latency = all
		}
		out = append(out, kr)
	}
	return out
}

// perSecond turns the per-second sums into the timeline; the last second
// may be partial (its width says how much).
func (r *phase) perSecond(secs []secondAgg) []Second {
	out := make([]Second, 0, len(secs))
	for i, sa := range secs {
		width := min(r.o.Duration.Seconds()-float64(i), 1)
		ls := Second{T: float64(i), Width: round(width), OK: sa.ok, Errors: sa.errs}
		if width > 0 {
			ls.RPS = round(float64(sa.ok+sa.errs) / width)
		}
		if sa.n > 0 {
			ls.MeanMs = round(float64(sa.sumUs) / float64(sa.n) / 1000)
			ls.MaxMs = round(float64(sa.maxUs) / 1000)
		}
		out = append(out, ls)
	}
	return out
}

// warnings explains results that need a second look.
func (r *phase) warnings(res *Result) []string {
	var w []string
	if res.Late > 0 && res.Requests > 0 {
		w = append(w, fmt.Sprintf("%d of %d requests (%.1f%%) were sent late%s: no worker was free at their intended start (the server was slow for the in-flight cap --concurrency %d, or this machine was short of CPU); their latency still counts from the intended start",
			res.Late, res.Requests, 100*float64(res.Late)/float64(res.Requests), r.byLane(func(l *lane) int64 { return l.late.Load() }), res.Concurrency))
	}
	if res.SlowWakes > 0 && res.Requests > 0 {
		w = append(w, fmt.Sprintf("%d requests (%.1f%%) left more than %v after their start time although a worker was waiting: the load generator was short of CPU (another busy process on this machine?)",
			res.SlowWakes, 100*float64(res.SlowWakes)/float64(res.Requests), slowWake))
	}
	if n := res.ErrorsByKind["unsent"]; n > 0 {
		w = append(w, fmt.Sprintf("%d scheduled requests were never sent%s: every worker was busy until the end", n, r.byLane(func(l *lane) int64 { return l.unsent(r.stoppedAt) })))
	}
	if res.Mode == "open" && res.RPS > 0 && res.RPS < 0.9*res.TargetRPS && res.Late == 0 {
		w = append(w, fmt.Sprintf("achieved %.0f req/s of the %.0f scheduled", res.RPS, res.TargetRPS))
	}
	if res.Requests > 0 && res.OK == 0 {
		w = append(w, "no request succeeded")
	}
	return w
}
