package experiment

import (
	"context"
	"fmt"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/experiment/abtest"
)

// Enrol assigns unit to a variant of experiment and returns the variant's
// name and params (shared: the caller must not change them). A non-empty
// forced variant wins; an unknown one is a *features.FieldError on
// "variant". An experiment that is not running serves the control (or the
// forced variant), and so does a request without a unit. An unknown
// experiment gives an error wrapping features.ErrNotFound. Enrol does not
// allocate.
func (x *Service) Enrol(_ context.Context, experiment, forced, unit string) (string, map[string]any, error) {
	c := x.lookup(experiment)
	if c == nil {
		return "", nil, unknownExperiment(experiment)
	}
	i := c.control
	switch {
	case forced != "":
		var ok bool
		if i, ok = c.byName[forced]; !ok {
			return "", nil, &features.FieldError{Field: "variant",
				Msg: fmt.Sprintf("%q is not a variant of experiment %q", forced, experiment)}
		}
	case c.running && unit != "":
		if j := abtest.Assign(c.def.Salt, unit, c.ab); j >= 0 {
			i = j
		}
	}
	v := &c.def.Variants[i]
	return v.Name, v.Params, nil
}

// Expose queues the record that recommendationID (items, in order) was
// served to unit under variant; forced says the request named the variant
// (QA, previews), so the sample-ratio check leaves the unit out. Only
// running experiments with a unit are
// logged: a draft preview, or an anonymous request that got the control
// without being randomised, would bias the counts. It blocks only when the
// queue is full, for at most EnqueueTimeout, then drops the exposure.
func (x *Service) Expose(experiment, variant, recommendationID, unit string, forced bool, items []string) {
	c := x.lookup(experiment)
	if c == nil || !c.running || unit == "" || recommendationID == "" {
		return
	}
	if x.recs.Erased(unit) {
		// An erased customer is not brought back by a read.
		return
	}
	if _, ok := c.byName[variant]; !ok {
		return
	}
	op := exposureOp{exp: experiment, variant: variant, recID: recommendationID, unit: unit, items: items, ts: time.Now().Unix(), forced: forced, c: c}
	x.closeMu.RLock()
	defer x.closeMu.RUnlock()
	if x.closed {
		x.stats.dropped.Add(1)
		return
	}
	select {
	case x.queue <- op:
	default:
		x.signal()
		t := time.NewTimer(x.opts.EnqueueTimeout)
		select {
		case x.queue <- op:
			t.Stop()
		case <-t.C:
			if x.stats.dropped.Add(1)&1023 == 1 {
				x.log.Error("exposure queue full: dropping exposures", "dropped", x.stats.dropped.Load())
			}
			return
		}
	}
	if len(x.queue) >= x.opts.BatchSize {
		x.signal()
	}
}

func (x *Service) signal() {
	select {
	case x.wake <- struct{}{}:
	default:
	}
}
