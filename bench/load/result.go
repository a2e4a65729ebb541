package load

import (
	"math"
	"sort"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Latency is a latency distribution in milliseconds. Its JSON names are
// those of the `bench --json` contract.
type Latency struct {
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
}

// KindResult is one request kind of a run (the mixed scenario has
// several).
type KindResult struct {
	Kind     string  `json:"kind"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	RPS      float64 `json:"rps"`
	Latency
}

// Second is one slot of the throughput series. Requests are counted in
// the slot where they finished; the requests still in flight at the end of
// the run are counted in the last slot.
type Second struct {
	// T is the slot's start, in seconds since the measured phase began.
	T float64 `json:"t"`
	// Width is the slot's length in seconds: 1, except the last slot of a
	// run whose duration is not a whole number of seconds.
	Width  float64 `json:"width"`
	OK     int64   `json:"ok"`
	Errors int64   `json:"errors"`
	RPS    float64 `json:"rps"`
	// MeanMs and MaxMs are the latency of the requests that finished in the
	// slot.
	MeanMs float64 `json:"mean_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// IDsInfo says where a run's ids came from.
type IDsInfo struct {
	Source    string `json:"source"` // "server", "file" or "none"
	Products  int    `json:"products"`
	Customers int    `json:"customers"`
	// Synthetic is set when the customers are made up because none were
	// known: the server answers them as unknown customers.
	Synthetic bool `json:"synthetic_customers,omitempty"`
}

// Result is the outcome of Run. Its JSON form is the `bench --json`
// output. It is not safe for concurrent mutation; once Run has returned
// it, concurrent reads (writing the table, JSON and HTML) are safe.
//
// Every request the run scheduled is in Requests, either OK or in Errors:
// Requests = OK + Errors. Latency is recorded for every request the server
// answered, whatever the status, and for timeouts (the caller did wait that
// long); requests that failed at once (refused or reset connections) and
// unsent ones have no latency.
type Result struct {
	Scenario string `json:"scenario"`
	URL      string `json:"url"`
	Mode     string `json:"mode"` // "closed" or "open"
	// Concurrency is the number of workers; in an open-loop run that
	// sends reads and events, of each of the two lanes.
	Concurrency int     `json:"concurrency"`
	TargetRPS   float64 `json:"target_rps,omitempty"`
	// DurationS is the configured duration; ElapsedS the measured phase
	// including the wait for the requests in flight at its end.
	DurationS float64 `json:"duration_s"`
	ElapsedS  float64 `json:"elapsed_s"`
	Requests  int64   `json:"requests"`
	OK        int64   `json:"ok"`
	Errors    int64   `json:"errors"`
	// ErrorsByKind counts errors by kind: "http_NNN" for a non-2xx status,
	// "timeout", "conn_refused", "conn_reset", "conn_closed",
	// "dial_timeout", "transport" for other transport failures, and in open
	// loop "unsent" for scheduled requests that no worker was free to send
	// before the run ended.
	ErrorsByKind map[string]int64 `json:"errors_by_kind"`
	// ErrorSamples holds one error message per transport error kind.
	ErrorSamples map[string]string `json:"error_samples,omitempty"`
	// Late counts open-loop requests sent more than 1 ms after their
	// intended start because no worker was free: the in-flight cap was
	// reached (or the generator was starved of CPU). Their latency still
	// counts from the intended start.
	Late int64 `json:"late"`
	// SlowWakes counts open-loop requests whose idle worker woke more than
	// 5 ms after the intended start: the generator was short of CPU and
	// sent below the scheduled rate.
	SlowWakes int64 `json:"slow_wakes,omitempty"`
	// RPS is the requests sent and finished (any outcome) per second of
	// ElapsedS.
	RPS float64 `json:"rps"`
	// The embedded latency is what callers met: in closed loop measured from
	// each request's send; in open loop from its intended start, so that
	// time queued behind busy workers counts (see the worker's comment).
	Latency
	// Service is open loop only: latency from the actual send, which is
	// what a closed-loop tool would report. Its gap to the main figures
	// shows how much queueing the schedule exposed.
	Service     *Latency     `json:"service,omitempty"`
	Kinds       []KindResult `json:"kinds"`
	PerSecond   []Second     `json:"per_second"`
	IDs         IDsInfo      `json:"ids"`
	Warnings    []string     `json:"warnings,omitempty"`
	Interrupted bool         `json:"interrupted,omitempty"`
	StartedAt   time.Time    `json:"started_at"`
	// ServerMemory is the target's resident set during the measured phase
	// (absent when its /metrics does not say).
	ServerMemory *ServerMemory `json:"server_memory,omitempty"`

	hist    *hdrhistogram.Histogram // response time, µs
	service *hdrhistogram.Histogram // open loop: service time, µs
}

// Histogram bounds, in microseconds: 1 µs resolution (loopback answers take
// tens of µs) up to an hour, with 3 significant digits. Longer values are
// clamped; nothing in a bench run waits that long.
const (
	histMin     = 1
	histMax     = int64(time.Hour / time.Microsecond)
	histSigFigs = 3
)

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, histMax, histSigFigs)
}

// latencyOf reads the contract's percentiles off a microsecond histogram.
// max is the histogram's highest equivalent value, within its 0.1% precision.
func latencyOf(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	ms := func(us int64) float64 { return round(float64(us) / 1000) }
	return Latency{
		P50Ms:  ms(h.ValueAtQuantile(50)),
		P90Ms:  ms(h.ValueAtQuantile(90)),
		P99Ms:  ms(h.ValueAtQuantile(99)),
		P999Ms: ms(h.ValueAtQuantile(99.9)),
		MaxMs:  ms(h.Max()),
		MeanMs: round(h.Mean() / 1000),
	}
}

// round keeps three decimals: microseconds when the unit is ms, and no
// float noise in the JSON.
func round(v float64) float64 {
	return math.Round(v*1000) / 1000
}

// sortedKinds returns the keys of an error count map, most frequent
// first.
func sortedKinds(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if m[keys[i]] != m[keys[j]] {
			return m[keys[i]] > m[keys[j]]
		}
		return keys[i] < keys[j]
	})
	return keys
}
