package api

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/affinity-rec/affinity/features"
)

// tuningCollector exports what the model's self-tuner chose
// (features.Model.Tuned), read at scrape time: an info series whose labels
// name the choices, and the numbers as gauges. Nothing is exported while
// the tuner is off or has not run.
type tuningCollector struct {
	st                                     *features.Store
	info, lambda, k, halfLife, ndcg, dndcg *prometheus.Desc
}

func newTuningCollector(st *features.Store) *tuningCollector {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc("affinity_model_tuned_"+name, help, labels, nil)
	}
	return &tuningCollector{st: st,
		info:     d("info", "The self-tuned model settings (1, labelled by the choices).", "similarity", "repeat", "holdout"),
		lambda:   d("lambda", "Tuned EASE lambda (0 for a counting similarity)."),
		k:        d("neighbours", "Tuned neighbours per product."),
		halfLife: d("half_life_days", "Tuned half-life of a customer's affinity in days (0: no decay)."),
		ndcg:     d("validation_ndcg", "nDCG@10 of the tuned settings on the held-out slice of the store's history."),
		dndcg:    d("default_validation_ndcg", "nDCG@10 of the untuned default on the same slice."),
	}
}

func (c *tuningCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.info, c.lambda, c.k, c.halfLife, c.ndcg, c.dndcg} {
		ch <- d
	}
}

func (c *tuningCollector) Collect(ch chan<- prometheus.Metric) {
	m := c.st.Model()
	if m == nil || m.Tuned == nil {
		return
	}
	t := m.Tuned
	g := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	g(c.info, 1, string(t.Similarity), string(t.Repeat), t.Holdout)
	g(c.lambda, t.Lambda)
	g(c.k, float64(t.K))
	g(c.halfLife, t.HalfLifeDays)
	g(c.ndcg, t.NDCG)
	g(c.dndcg, t.DefaultNDCG)
}
