package api

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
)

// metrics are the Prometheus series (client_golang: the reference client).
// Each Server has its own registry so tests can build many servers.
type metrics struct {
	series   series
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	ingested prometheus.Counter
	rejected *prometheus.CounterVec
}

func newMetrics(st *features.Store, cs *crm.Service) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "affinity_http_requests_total", Help: "HTTP requests by route, method and status.",
	}, []string{"route", "method", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "affinity_http_request_duration_seconds",
		Help:    "HTTP request latency by route and method.",
		Buckets: []float64{.0001, .00025, .0005, .001, .002, .005, .01, .025, .05, .1, .25, 1, 5},
	}, []string{"route", "method"})
	m.ingested = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "affinity_events_ingested_total", Help: "Events accepted over HTTP.",
	})
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "affinity_events_rejected_total", Help: "Events rejected over HTTP, by field at fault.",
	}, []string{"reason"})
	m.reg.MustRegister(m.requests, m.latency, m.ingested, m.rejected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "affinity_json_nonfinite_replies_total",
			Help: "Replies that held a NaN or infinity, sent with null in its place (should stay 0).",
		}, func() float64 { return float64(nonFiniteReplies.Load()) }))
	if cs != nil {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "affinity_segment_backlog_customers",
			Help: "Customers whose segment membership waits for the background applier."},
			func() float64 { return float64(cs.SegmentBacklog()) }))
	}
	if st != nil {
		gauge := func(name, help string, f func(features.Stats) float64) {
			m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
				func() float64 { return f(st.Stats()) }))
		}
		gauge("affinity_store_events", "Events in the in-memory index.", func(s features.Stats) float64 { return float64(s.Events) })
		gauge("affinity_store_customers", "Live customers (erased and merged-away ids excluded).", func(s features.Stats) float64 { return float64(s.Customers) })
		gauge("affinity_store_products", "Product ids assigned.", func(s features.Stats) float64 { return float64(s.Products) })
		gauge("affinity_store_lsm_bytes", "Badger LSM size.", func(s features.Stats) float64 { return float64(s.LSMBytes) })
		gauge("affinity_store_vlog_bytes", "Badger value log size.", func(s features.Stats) float64 { return float64(s.VLogBytes) })
		gauge("affinity_log_sequence", "Last event log sequence.", func(s features.Stats) float64 { return float64(s.LastSeq) })
		gauge("affinity_snapshot_age_seconds", "Seconds since the last snapshot (-1: none).", func(s features.Stats) float64 {
			if s.SnapshotAt.IsZero() {
				return -1
			}
			return time.Since(s.SnapshotAt).Seconds()
		})
		gauge("affinity_snapshot_duration_seconds", "How long the last snapshot took.", func(s features.Stats) float64 { return s.SnapshotTook.Seconds() })
		gauge("affinity_snapshot_lag_events", "Log records not yet in a snapshot.", func(s features.Stats) float64 { return float64(s.LastSeq - s.SnapshotSeq) })
		gauge("affinity_model_age_seconds", "Seconds since neighbour lists were last refreshed (refresh lag).", func(s features.Stats) float64 {
			return time.Since(s.ModelBuilt).Seconds()
		})
		gauge("affinity_model_sequence", "Log sequence the served lists include (refresh lag: affinity_log_sequence minus this).", func(s features.Stats) float64 { return float64(s.ModelSeq) })
		gauge("affinity_model_build_seconds", "How long the last neighbour refresh took.", func(s features.Stats) float64 { return s.ModelBuildDur.Seconds() })
		m.reg.MustRegister(newTuningCollector(st))
	}
	return m
}

func (m *metrics) handler() fiber.Handler {
	return adaptor.HTTPHandler(promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{}))
}

func (m *metrics) eventsAccepted(n int) { m.ingested.Add(float64(n)) }

// rejectedEvent counts one rejected event by the field at fault. The label
// is one of a fixed set: an unknown key is the sender's text, and a label
// per key would let a client grow the series without bound.
func (m *metrics) rejectedEvent(field string) {
	switch field {
	case "":
		field = "malformed"
	case "event_id", "customer_id", "product_id", "type", "value", "quantity", "timestamp",
		"order_id", "recommendation_id", "body":
	default:
		field = "other"
	}
	m.rejected.WithLabelValues(field).Inc()
}

var reqSeq atomic.Uint64

// routeKey names one series of the request metrics.
type routeKey struct {
	route, method string
	status        int
}

// series caches the Prometheus children of each (route, method, status):
// WithLabelValues hashes the label values and takes a lock on every call.
// Safe for concurrent use.
type series struct {
	counters  sync.Map // routeKey -> prometheus.Counter
	observers sync.Map // routeKey (status 0) -> prometheus.Observer
}

func (m *metrics) count(k routeKey, seconds float64) {
	c, ok := m.series.counters.Load(k)
	if !ok {
		c, _ = m.series.counters.LoadOrStore(k, m.requests.WithLabelValues(k.route, k.method, strconv.Itoa(k.status)))
	}
	c.(prometheus.Counter).Inc()
	k.status = 0
	o, ok := m.series.observers.Load(k)
	if !ok {
		o, _ = m.series.observers.LoadOrStore(k, m.latency.WithLabelValues(k.route, k.method))
	}
	o.(prometheus.Observer).Observe(seconds)
}

// methodName returns a constant string for an HTTP method. fiber's
// c.Method() may point into the request buffer, which fasthttp reuses for
// the next request on the connection: a label value Prometheus keeps must
// not change under it (it did: /metrics failed with "collected before with
// the same name and label values").
func methodName(m string) string {
	switch m {
	case fiber.MethodGet:
		return fiber.MethodGet
	case fiber.MethodPost:
		return fiber.MethodPost
	case fiber.MethodPut:
		return fiber.MethodPut
	case fiber.MethodDelete:
		return fiber.MethodDelete
	case fiber.MethodHead:
		return fiber.MethodHead
	case fiber.MethodPatch:
		return fiber.MethodPatch
	case fiber.MethodOptions:
		return fiber.MethodOptions
	}
	return "OTHER"
}

// observe assigns a request id, times the request and counts it by route.
func (s *Server) observe(c *fiber.Ctx) error {
	start := time.Now()
	rid := c.Get("X-Request-ID")
	if rid == "" || len(rid) > 128 {
		rid = strconv.FormatUint(reqSeq.Add(1), 36)
	} else {
		rid = strings.Clone(rid) // kept in Locals beyond fiber's buffer
	}
	c.Locals(localRequestID, rid)
	c.Set("X-Request-ID", rid)
	err := c.Next()
	if err != nil {
		if herr := s.app.Config().ErrorHandler(c, err); herr != nil {
			_ = c.SendStatus(fiber.StatusInternalServerError)
		}
	}
	route := "unmatched"
	if r := c.Route(); r != nil && r.Path != "/" {
		route = r.Path // the route table's string, not the request's
	}
	s.metrics.count(routeKey{route, methodName(c.Method()), c.Response().StatusCode()}, time.Since(start).Seconds())
	return nil
}
