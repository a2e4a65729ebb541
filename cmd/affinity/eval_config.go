package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/affinity-rec/affinity/bench/eval"
	"github.com/affinity-rec/affinity/features"
)

// applyToAlgorithm makes algo what a server with this config would run:
// the config's event types (custom ones included) replace the defaults for
// every algorithm, so the baselines read the same events; its model options
// (similarity, neighbours, half-life) only change the served default,
// "affinity" and its variants, since a baseline is a fixed reference.
func (fc fileConfig) applyToAlgorithm(algo eval.Algorithm) (eval.Algorithm, error) {
	so, err := fc.storeOptions("", quietLogger())
	if err != nil {
		return algo, err
	}
	so.InMemory = true
	if err := so.Validate(); err != nil {
		return algo, fmt.Errorf("config: %w", err)
	}
	if len(fc.EventTypes) > 0 {
		algo.EventTypes = so.EventTypes
	}
	if !strings.HasPrefix(algo.Name, "affinity") {
		return algo, nil
	}
	fc.applyNeighbours(&algo.Neighbours)
	if err := algo.Neighbours.Validate(); err != nil {
		return algo, fmt.Errorf("config: %w", err)
	}
	algo.Engine = fc.applyEngine(algo.Engine)
	return algo, nil
}

// checkTypes refuses a data set with event types the store would reject,
// naming them and the option that configures them: otherwise every such
// line is rejected at ingest and the evaluation has nothing to say.
func checkTypes(train, test []features.Event, types map[string]features.EventType, config string) error {
	if types == nil {
		types = features.DefaultEventTypes()
	}
	unknown := map[string]int{}
	for _, evs := range [][]features.Event{train, test} {
		for i := range evs {
			if _, ok := types[evs[i].Type]; !ok {
				unknown[evs[i].Type]++
			}
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	return fmt.Errorf("%s", unknownTypesHint(unknown, types, config))
}

// unknownTypesHint says which event types are not configured, how many
// events each had, and how to configure them (the "event_types" option of
// the --config file), with an example for the first.
func unknownTypesHint(unknown map[string]int, types map[string]features.EventType, config string) string {
	names := make([]string, 0, len(unknown))
	for n := range unknown {
		names = append(names, n)
	}
	sort.Strings(names)
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%q (%d events)", n, unknown[n]))
	}
	known := make([]string, 0, len(types))
	for n := range types {
		known = append(known, n)
	}
	sort.Strings(known)
	where := "a --config FILE"
	if config != "" {
		where = "--config " + config
	}
	return fmt.Sprintf("event type %s not configured (configured: %s): give each a weight and a class under \"event_types\" in %s, "+
		"e.g. {\"event_types\": {%q: {\"weight\": 1, \"class\": \"bought\", \"use_value\": true}}} "+
		"(class: viewed, carted or bought; use_value multiplies the weight by the event's value, as for play counts or ratings)",
		strings.Join(parts, ", "), strings.Join(known, ", "), where, names[0])
}

// holdoutFor is the self-tuner's validation slice for a split: cut the
// way the test was cut, since that is the question the figures answer. A
// random or stratified split cannot reward recency, so a temporal slice
// would tune the model for a question the test does not ask; the temporal
// split (and a given one, whose shape is unknown) keep the serving
// default, temporal. It reads the split's method only, never the test.
func holdoutFor(split string) string {
	switch split {
	case eval.SplitItemStratified, eval.SplitUserStratified:
		return features.HoldoutRandom
	}
	return features.HoldoutTemporal
}

// lookupWithConfig is the algorithm called name as fc configures it.
func lookupWithConfig(fc fileConfig, name string) (eval.Algorithm, error) {
	a, err := eval.LookupAlgorithm(name)
	if err != nil {
		return a, err
	}
	return fc.applyToAlgorithm(a)
}

// tuningLine says in one line what the self-tuner chose and on what.
func tuningLine(t *features.Tuning) string {
	model := string(t.Similarity)
	if t.Similarity == features.SimEASE {
		model = fmt.Sprintf("ease lambda %g", t.Lambda)
		if t.MinSupport > 0 {
			model += fmt.Sprintf(" (products with >= %d customers)", t.MinSupport)
		}
	}
	hl := "no decay"
	if t.HalfLifeDays > 0 {
		hl = fmt.Sprintf("half-life %g days", t.HalfLifeDays)
	}
	kept := ""
	if t.KeptDefault {
		kept = " (the best did not beat the default beyond noise: default kept)"
	}
	return fmt.Sprintf("%s, %d neighbours, %s, repeats %s; validation nDCG@10 %.4f, default %.4f%s; %s slice of the train events, %d customers, %d settings in %s",
		model, t.K, hl, t.Repeat, t.NDCG, t.DefaultNDCG, kept, t.Holdout, t.Users, t.Tried, time.Duration(t.Seconds*float64(time.Second)).Round(10*time.Millisecond))
}
