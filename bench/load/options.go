package load

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"time"
)

// Options configures Run. Build it from DefaultOptions and check
// it with Validate. It is a plain value: copies are independent except for
// IDs, which Run only reads, so one Options may serve concurrent runs.
type Options struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8080; a path
	// prefix (a server behind a proxy) is kept in front of /v1.
	URL string
	// Scenario is one of Scenarios().
	Scenario string
	// Duration is how long the measured phase sends requests. Requests in
	// flight when it ends are waited for (up to Timeout) and counted.
	Duration time.Duration
	// Warmup, if positive, runs the same load first, unmeasured, so that
	// connections are open and the server's caches are warm.
	Warmup time.Duration
	// Concurrency is the number of workers: in closed loop the number of
	// requests always in flight, in open loop the cap on them (of each lane
	// when reads and events run as two, see lane.go).
	Concurrency int
	// Rate, if positive, switches to open loop: requests per second at fixed
	// intended start times, latency measured from those times.
	Rate float64
	// Timeout bounds each request.
	Timeout time.Duration
	// IDs, if set, are the ids to request; otherwise they are asked from the
	// server (GET /v1/popular?limit=100 and GET /v1/customers?limit=1000).
	IDs *IDs
	// Experiment and Variant, if set, are sent as the experiment= and
	// variant= query flags of every read, to load one arm of an A/B test.
	Experiment string
	Variant    string
	// APIKey, if set, is sent as Authorization: Bearer KEY.
	APIKey string
	// Seed makes the choice of requests and ids reproducible.
	Seed uint64
	// EventIDPool, if positive, gives each posted event an event_id drawn
	// from that many (bench-0 ...): once all have been posted, the rest are
	// duplicates the server acknowledges without storing, so a long mixed
	// run measures a steady state at a constant data size.
	EventIDPool int
}

// DefaultOptions returns the defaults of `affinity bench`: 10 s, 32
// workers, closed loop, the related scenario. The default scenario only
// reads: mixed also writes events and must be chosen on purpose.
func DefaultOptions() Options {
	return Options{
		Scenario:    ScenarioRelated,
		Duration:    10 * time.Second,
		Concurrency: 32,
		Timeout:     5 * time.Second,
		Seed:        42,
	}
}

// maxConcurrency keeps a typo from opening a hundred thousand sockets.
const maxConcurrency = 10000

// Validate reports the first option that cannot work.
func (o Options) Validate() error {
	if o.URL == "" {
		return errors.New("cannot run load: --url is required (e.g. http://127.0.0.1:8080)")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return fmt.Errorf("cannot run load: bad --url: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("cannot run load: --url %q must be http:// or https:// with a host", o.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("cannot run load: --url %q must not have a query or fragment", o.URL)
	}
	if _, ok := scenarioWeights(o.Scenario); !ok {
		return fmt.Errorf("cannot run load: unknown scenario %q, want one of %v", o.Scenario, Scenarios())
	}
	if o.Duration <= 0 {
		return fmt.Errorf("cannot run load: duration must be positive, got %v", o.Duration)
	}
	if o.EventIDPool < 0 {
		return fmt.Errorf("cannot run load: --event-id-pool must not be negative, got %d", o.EventIDPool)
	}
	if o.Warmup < 0 {
		return fmt.Errorf("cannot run load: warmup must not be negative, got %v", o.Warmup)
	}
	if o.Concurrency < 1 || o.Concurrency > maxConcurrency {
		return fmt.Errorf("cannot run load: concurrency must be 1 to %d, got %d", maxConcurrency, o.Concurrency)
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return fmt.Errorf("cannot run load: rate must be a positive number of requests per second, got %v", o.Rate)
	}
	if o.Rate > 0 && o.Duration.Seconds()*o.Rate < 1 {
		return fmt.Errorf("cannot run load: %v at %v req/s schedules no request", o.Duration, o.Rate)
	}
	if o.Timeout <= 0 {
		return fmt.Errorf("cannot run load: timeout must be positive, got %v", o.Timeout)
	}
	return nil
}
