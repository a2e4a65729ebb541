package api

import (
	"math"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// GET /v1/stats/history: the last hour of the overview's figures, so that
// the console draws its charts from before the tab was opened.
//
// A ticker goroutine reads what the server keeps anyway (the Prometheus
// counters and histogram of metrics.go, the store's Stats) every
// historyInterval into a fixed ring: a request pays nothing for it. The
// goroutine runs while the server listens (fiber's OnListen and OnShutdown
// hooks), so servers that tests drive with app.Test start none.

const (
	historyInterval = 10 * time.Second
	historySamples  = 360 // an hour at historyInterval
)

// statsSample is one point of the history. The rates are over the
// interval before it; null on the first sample (no interval yet) and p99
// also when no request ended in the interval.
type statsSample struct {
	Time              time.Time `json:"time"`
	Events            int       `json:"events"`
	EventsPerMinute   *float64  `json:"events_per_minute"`
	RequestsPerSecond *float64  `json:"requests_per_second"`
	P99Seconds        *float64  `json:"p99_seconds"`
	Customers         int       `json:"customers"`
	Products          int       `json:"products"`
	// ModelAgeSeconds is how old the served lists were (null: none built).
	ModelAgeSeconds *float64 `json:"model_age_seconds"`
}

type statsHistoryReply struct {
	IntervalSeconds float64       `json:"interval_seconds"`
	Samples         []statsSample `json:"samples"`
}

// counterReading is what the previous sample read of the cumulative
// series, to turn them into rates.
type counterReading struct {
	at       time.Time
	ingested float64
	requests float64
	bounds   []float64 // the latency histogram's upper bounds (none before the first request)
	buckets  []float64 // cumulative latency counts per bound, then the total
}

// statsHistory is the ring of samples and its goroutine. Safe for
// concurrent use.
type statsHistory struct {
	srv      *Server
	interval time.Duration

	mu      sync.Mutex
	ring    []statsSample // oldest first once full: ring[next:], ring[:next]
	next    int
	prev    *counterReading
	stopped bool          // Shutdown ran: no start after it
	stop    chan struct{} // nil until started
	done    chan struct{} // closed when the goroutine has returned
}

func (s *Server) newStatsHistory() *statsHistory {
	h := &statsHistory{srv: s, interval: historyInterval, ring: make([]statsSample, 0, historySamples)}
	s.app.Hooks().OnListen(func(fiber.ListenData) error { h.start(); return nil })
	s.app.Hooks().OnShutdown(func() error { h.close(); return nil })
	return h
}

// start takes a first sample at once (the history is never empty while
// the server listens) and starts the ticker; a second Listen or a start
// after close does nothing.
func (h *statsHistory) start() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stop != nil || h.stopped {
		return
	}
	h.stop, h.done = make(chan struct{}), make(chan struct{})
	h.sampleLocked(time.Now())
	go h.run(h.stop, h.done)
}

func (h *statsHistory) run(stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(h.interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			h.mu.Lock()
			h.sampleLocked(now)
			h.mu.Unlock()
		}
	}
}

// close stops the goroutine and waits for it.
func (h *statsHistory) close() {
	h.mu.Lock()
	h.stopped = true
	stop, done := h.stop, h.done
	h.stop = nil
	h.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

// sampleLocked reads the series and appends a sample. The caller holds mu.
func (h *statsHistory) sampleLocked(now time.Time) {
	m := h.srv.metrics
	cur := &counterReading{at: now, ingested: counterValue(m.ingested), requests: sumCounters(m.requests)}
	cur.bounds, cur.buckets = sumBuckets(m.latency)
	smp := statsSample{Time: now.UTC().Truncate(time.Millisecond)}
	if st := h.srv.deps.Store; st != nil {
		s := st.Stats()
		smp.Events, smp.Customers, smp.Products = s.Events, s.Customers, s.Products
		if !s.ModelBuilt.IsZero() {
			age := now.Sub(s.ModelBuilt).Seconds()
			smp.ModelAgeSeconds = &age
		}
	}
	if p := h.prev; p != nil {
		if secs := now.Sub(p.at).Seconds(); secs > 0 {
			epm := math.Max(cur.ingested-p.ingested, 0) / secs * 60
			rps := math.Max(cur.requests-p.requests, 0) / secs
			smp.EventsPerMinute, smp.RequestsPerSecond = &epm, &rps
			delta := append([]float64(nil), cur.buckets...)
			if len(p.buckets) == len(delta) {
				for i := range delta {
					delta[i] -= p.buckets[i]
				}
			}
			smp.P99Seconds = histQuantile(cur.bounds, delta, 0.99)
		}
	}
	h.prev = cur
	if len(h.ring) < historySamples {
		h.ring = append(h.ring, smp)
		return
	}
	h.ring[h.next] = smp
	h.next = (h.next + 1) % historySamples
}

// samples returns the ring oldest first.
func (h *statsHistory) samples() []statsSample {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]statsSample, 0, len(h.ring))
	out = append(out, h.ring[h.next:]...)
	return append(out, h.ring[:h.next]...)
}

func (s *Server) statsHistory(c *fiber.Ctx) error {
	return c.JSON(statsHistoryReply{IntervalSeconds: s.history.interval.Seconds(), Samples: s.history.samples()})
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if c.Write(&m) != nil {
		return 0
	}
	return m.GetCounter().GetValue()
}

// collect hands every series of c to fn.
func collect(c prometheus.Collector, fn func(*dto.Metric)) {
	ch := make(chan prometheus.Metric, 64)
	go func() { c.Collect(ch); close(ch) }()
	for pm := range ch {
		var m dto.Metric
		if pm.Write(&m) == nil {
			fn(&m)
		}
	}
}

func sumCounters(c *prometheus.CounterVec) float64 {
	var sum float64
	collect(c, func(m *dto.Metric) { sum += m.GetCounter().GetValue() })
	return sum
}

// sumBuckets adds up every series' cumulative bucket counts: the bounds
// (the same for every series of the vector), and the counts per bound
// followed by the total (+Inf). No series yet: no bounds, one count.
func sumBuckets(hv *prometheus.HistogramVec) (bounds, cum []float64) {
	cum = []float64{0}
	collect(hv, func(m *dto.Metric) {
		hg := m.GetHistogram()
		if bounds == nil {
			for _, b := range hg.GetBucket() {
				bounds = append(bounds, b.GetUpperBound())
			}
			cum = make([]float64, len(bounds)+1)
		}
		for i, b := range hg.GetBucket() {
			if i < len(bounds) {
				cum[i] += float64(b.GetCumulativeCount())
			}
		}
		cum[len(bounds)] += float64(hg.GetSampleCount())
	})
	return bounds, cum
}

// histQuantile estimates quantile q from cumulative counts per upper bound
// (the last is +Inf), interpolating within a bucket as Prometheus'
// histogram_quantile does; nil when the counts are empty.
func histQuantile(bounds, cum []float64, q float64) *float64 {
	total := cum[len(cum)-1]
	if total <= 0 {
		return nil
	}
	rank := q * total
	lo, prev := 0.0, 0.0
	for i, b := range bounds {
		if cum[i] >= rank {
			v := lo + (b-lo)*(rank-prev)/math.Max(cum[i]-prev, 1e-12)
			return &v
		}
		lo, prev = b, cum[i]
	}
	if len(bounds) == 0 {
		return nil
	}
	v := bounds[len(bounds)-1] // above the last bound: its value, as Prometheus answers
	return &v
}
