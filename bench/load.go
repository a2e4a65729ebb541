package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// LoadOptions configures RunLoad. Build it from DefaultLoadOptions and check
// it with Validate. It is a plain value: copies are independent except for
// IDs, which RunLoad only reads, so one LoadOptions may serve concurrent runs.
type LoadOptions struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:8080; a path
	// prefix (a server behind a proxy) is kept in front of /v1.
	URL string
	// Scenario is one of LoadScenarios().
	Scenario string
	// Duration is how long the measured phase sends requests. Requests in
	// flight when it ends are waited for (up to Timeout) and counted.
	Duration time.Duration
	// Warmup, if positive, runs the same load first, unmeasured, so that
	// connections are open and the server's caches are warm.
	Warmup time.Duration
	// Concurrency is the number of workers: in closed loop the number of
	// requests always in flight, in open loop the cap on them.
	Concurrency int
	// Rate, if positive, switches to open loop: requests per second at fixed
	// intended start times, latency measured from those times.
	Rate float64
	// Timeout bounds each request.
	Timeout time.Duration
	// IDs, if set, are the ids to request; otherwise they are asked from the
	// server (GET /v1/popular?limit=100 and GET /v1/customers?limit=1000).
	IDs *LoadIDs
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

// DefaultLoadOptions returns the defaults of `affinity bench`: 10 s, 32
// workers, closed loop, the related scenario. The default scenario only
// reads: mixed also writes events and must be chosen on purpose.
func DefaultLoadOptions() LoadOptions {
	return LoadOptions{
		Scenario:    ScenarioRelated,
		Duration:    10 * time.Second,
		Concurrency: 32,
		Timeout:     5 * time.Second,
		Seed:        42,
	}
}

// loadMaxConcurrency keeps a typo from opening a hundred thousand sockets.
const loadMaxConcurrency = 10000

// Validate reports the first option that cannot work.
func (o LoadOptions) Validate() error {
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
	if _, ok := loadScenarioWeights(o.Scenario); !ok {
		return fmt.Errorf("cannot run load: unknown scenario %q, want one of %v", o.Scenario, LoadScenarios())
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
	if o.Concurrency < 1 || o.Concurrency > loadMaxConcurrency {
		return fmt.Errorf("cannot run load: concurrency must be 1 to %d, got %d", loadMaxConcurrency, o.Concurrency)
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

// LoadLatency is a latency distribution in milliseconds. Its JSON names are
// those of the `bench --json` contract.
type LoadLatency struct {
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
}

// LoadKindResult is one request kind of a run (the mixed scenario has
// several).
type LoadKindResult struct {
	Kind     string  `json:"kind"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	RPS      float64 `json:"rps"`
	LoadLatency
}

// LoadSecond is one slot of the throughput series. Requests are counted in
// the slot where they finished; the requests still in flight at the end of
// the run are counted in the last slot.
type LoadSecond struct {
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

// LoadIDsInfo says where a run's ids came from.
type LoadIDsInfo struct {
	Source    string `json:"source"` // "server", "file" or "none"
	Products  int    `json:"products"`
	Customers int    `json:"customers"`
	// Synthetic is set when the customers are made up because none were
	// known: the server answers them as unknown customers.
	Synthetic bool `json:"synthetic_customers,omitempty"`
}

// LoadResult is the outcome of RunLoad. Its JSON form is the `bench --json`
// output. It is not safe for concurrent mutation; once RunLoad has returned
// it, concurrent reads (writing the table, JSON and HTML) are safe.
//
// Every request the run scheduled is in Requests, either OK or in Errors:
// Requests = OK + Errors. Latency is recorded for every request the server
// answered, whatever the status, and for timeouts (the caller did wait that
// long); requests that failed at once (refused or reset connections) and
// unsent ones have no latency.
type LoadResult struct {
	Scenario    string  `json:"scenario"`
	URL         string  `json:"url"`
	Mode        string  `json:"mode"` // "closed" or "open"
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
	LoadLatency
	// Service is open loop only: latency from the actual send, which is
	// what a closed-loop tool would report. Its gap to the main figures
	// shows how much queueing the schedule exposed.
	Service     *LoadLatency     `json:"service,omitempty"`
	Kinds       []LoadKindResult `json:"kinds"`
	PerSecond   []LoadSecond     `json:"per_second"`
	IDs         LoadIDsInfo      `json:"ids"`
	Warnings    []string         `json:"warnings,omitempty"`
	Interrupted bool             `json:"interrupted,omitempty"`
	StartedAt   time.Time        `json:"started_at"`
	// ServerMemory is the target's resident set during the measured phase
	// (absent when its /metrics does not say).
	ServerMemory *LoadServerMemory `json:"server_memory,omitempty"`

	hist    *hdrhistogram.Histogram // response time, µs
	service *hdrhistogram.Histogram // open loop: service time, µs
}

// Histogram bounds, in microseconds: 1 µs resolution (loopback answers take
// tens of µs) up to an hour, with 3 significant digits. Longer values are
// clamped; nothing in a bench run waits that long.
const (
	loadHistMin   = 1
	loadHistMax   = int64(time.Hour / time.Microsecond)
	loadHistSigFi = 3
)

func newLoadHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(loadHistMin, loadHistMax, loadHistSigFi)
}

// loadLateAfter is how far behind its intended start a request may be when a
// worker picks it up before it counts as late: only waiting for a free
// worker makes a request late, timer wake-up jitter does not.
const loadLateAfter = time.Millisecond

// loadSlowWake is how late a waiting worker may wake before the generator
// itself is suspected of being short of CPU. Go's timers overshoot by up to
// about 1 ms when the process is idle; far more means starved threads.
const loadSlowWake = 5 * time.Millisecond

// loadErrorKind names the kind of a transport error.
func loadErrorKind(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, fasthttp.ErrDialTimeout):
		return "dial_timeout"
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "conn_refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "conn_reset"
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "conn_closed"
	case errors.Is(err, fasthttp.ErrNoFreeConns):
		return "no_free_conns"
	}
	return "transport"
}

// loadStatusKinds caches the error kind of the common statuses so that a
// server answering errors at full speed does not make the generator allocate.
var loadStatusKinds = func() map[int]string {
	m := map[int]string{}
	for _, sc := range []int{400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 502, 503, 504} {
		m[sc] = "http_" + strconv.Itoa(sc)
	}
	return m
}()

func loadStatusKind(sc int) string {
	if k, ok := loadStatusKinds[sc]; ok {
		return k
	}
	return "http_" + strconv.Itoa(sc)
}

// loadShard is one part of a run's recording. Workers are spread over a few
// shards so that recording is not one contended lock; the progress reporter
// and the final merge read them under the same lock. Safe for concurrent use.
type loadShard struct {
	mu      sync.Mutex
	hist    *hdrhistogram.Histogram
	service *hdrhistogram.Histogram // nil in closed loop
	kinds   [loadNumKinds]loadKindAgg
	errs    map[string]int64
	samples map[string]string
	secs    []loadSecondAgg
	_       [64]byte // keep neighbouring shards' locks off one cache line
}

type loadKindAgg struct {
	ok, errs int64
	hist     *hdrhistogram.Histogram // nil unless the scenario mixes kinds
}

type loadSecondAgg struct {
	ok, errs, n, sumUs, maxUs int64
}

// loadRun is one phase (warmup or measured) of a run. The counters are
// atomics so the progress line can read them while workers write.
type loadRun struct {
	o        LoadOptions
	plan     *loadPlan
	target   *loadTarget
	shards   []*loadShard
	start    time.Time
	deadline time.Time
	nsecs    int

	stoppedAt time.Duration // when the phase stopped sending: its length, or earlier if cancelled
	next      atomic.Int64  // open loop: the next schedule slot to claim
	slots     int64         // open loop: slots with an intended start before the deadline
	interval  float64       // open loop: nanoseconds between intended starts
	sent      atomic.Int64
	finished  atomic.Int64
	failed    atomic.Int64
	late      atomic.Int64
	slowWakes atomic.Int64
}

func newLoadRun(o LoadOptions, plan *loadPlan, target *loadTarget, d time.Duration) *loadRun {
	r := &loadRun{o: o, plan: plan, target: target}
	r.nsecs = int((d + time.Second - 1) / time.Second)
	n := min(o.Concurrency, max(2, 2*runtime.GOMAXPROCS(0)))
	r.shards = make([]*loadShard, n)
	for i := range r.shards {
		s := &loadShard{
			hist:    newLoadHist(),
			errs:    map[string]int64{},
			samples: map[string]string{},
			secs:    make([]loadSecondAgg, r.nsecs),
		}
		if o.Rate > 0 {
			s.service = newLoadHist()
		}
		if plan.multiKinds {
			for k, w := range plan.weights {
				if w > 0 {
					s.kinds[k].hist = newLoadHist()
				}
			}
		}
		r.shards[i] = s
	}
	if o.Rate > 0 {
		r.interval = 1e9 / o.Rate
		r.slots = r.slotsBefore(d)
	}
	return r
}

// offset is the intended start of schedule slot i relative to the start.
func (r *loadRun) offset(i int64) time.Duration {
	return time.Duration(float64(i) * r.interval)
}

// record adds one finished request. start is when its latency starts (see
// worker), sent when it was handed to the client.
func (r *loadRun) record(s *loadShard, k loadKind, start, sent, done time.Time, status int, err error) {
	respUs := min(done.Sub(start).Microseconds(), loadHistMax)
	svcUs := min(done.Sub(sent).Microseconds(), loadHistMax)
	errKind := ""
	timed := true
	if err != nil {
		errKind = loadErrorKind(err)
		timed = errKind == "timeout"
	} else if status < 200 || status > 299 {
		errKind = loadStatusKind(status)
	}
	sec := min(max(int(done.Sub(r.start)/time.Second), 0), r.nsecs-1)

	s.mu.Lock()
	if timed {
		_ = s.hist.RecordValue(respUs) // clamped into range above
		if s.service != nil {
			_ = s.service.RecordValue(svcUs)
		}
		if h := s.kinds[k].hist; h != nil {
			_ = h.RecordValue(respUs)
		}
		sa := &s.secs[sec]
		sa.n++
		sa.sumUs += respUs
		sa.maxUs = max(sa.maxUs, respUs)
	}
	if errKind == "" {
		s.kinds[k].ok++
		s.secs[sec].ok++
	} else {
		s.kinds[k].errs++
		s.secs[sec].errs++
		s.errs[errKind]++
		if err != nil {
			if _, ok := s.samples[errKind]; !ok {
				s.samples[errKind] = err.Error()
			}
		}
	}
	s.mu.Unlock()

	r.finished.Add(1)
	if errKind != "" {
		r.failed.Add(1)
	}
}

// sleepUntil waits for t on the worker's timer, or returns false when the
// phase is cancelled.
func loadSleepUntil(ctx context.Context, timer *time.Timer, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer.Reset(d)
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		timer.Stop()
		return false
	}
}

// worker sends requests until the phase ends.
//
// Open loop and coordinated omission: a closed-loop client that waits for a
// slow answer before sending its next request politely stops sending while
// the server stalls, so the stall shows up in one sample per worker and the
// percentiles look fine. Here every request has an intended start time on a
// fixed schedule (slot i starts at i/rate). Workers claim slots in order;
// when all of them are stuck behind a stall, the slots falling due meanwhile
// wait, and once a worker is free it sends them at once, each charged with
// the time since its intended start: the stall is counted for every request
// that should have been sent during it. The number of in-flight requests is
// thereby capped at the number of workers; a slot picked up more than
// loadLateAfter past its intended start is counted as late, and slots nobody
// picked up before the end are counted as "unsent" errors, so nothing the
// schedule asked for disappears silently.
//
// One exception keeps the generator's own jitter out of the figures: a
// worker that was idle and sleeping until the intended start is woken by a
// Go timer, which overshoots by up to ~1 ms on an idle Linux process (the
// runtime's poller sleeps in whole milliseconds). That delay is not the
// server's doing and nothing queued behind it, so such a request's latency
// starts at its actual send. Wake-ups later than loadSlowWake are counted:
// they mean the generator was starved of CPU, and the run says so.
func (r *loadRun) worker(ctx context.Context, w int) {
	pk := r.plan.newPicker(w)
	s := r.shards[w%len(r.shards)]
	getReq := r.target.newRequest(fasthttp.MethodGet)
	postReq := r.target.newRequest(fasthttp.MethodPost)
	resp := fasthttp.AcquireResponse()
	defer func() {
		fasthttp.ReleaseRequest(getReq)
		fasthttp.ReleaseRequest(postReq)
		fasthttp.ReleaseResponse(resp)
	}()
	open := r.o.Rate > 0
	var timer *time.Timer
	if open {
		timer = time.NewTimer(time.Hour)
		timer.Stop()
	}
	for {
		if ctx.Err() != nil {
			return
		}
		var intended time.Time
		waited := false
		if open {
			i := r.next.Add(1) - 1
			if i >= r.slots {
				return
			}
			intended = r.start.Add(r.offset(i))
			now := time.Now()
			if !now.Before(r.deadline) {
				return
			}
			switch lag := now.Sub(intended); {
			case lag > loadLateAfter:
				r.late.Add(1)
			case lag < 0:
				if !loadSleepUntil(ctx, timer, intended) {
					return
				}
				waited = true
			}
		} else if !time.Now().Before(r.deadline) {
			return
		}

		k, uri, body := pk.next()
		req := getReq
		if body != nil {
			req = postReq
			req.SetBodyRaw(body)
		}
		req.SetRequestURI(uri)
		r.sent.Add(1)
		sent := time.Now()
		start := intended
		if !open || waited {
			start = sent
		}
		if waited && sent.Sub(intended) > loadSlowWake {
			r.slowWakes.Add(1)
		}
		err := r.target.hc.DoTimeout(req, resp, r.o.Timeout)
		done := time.Now()
		r.record(s, k, start, sent, done, resp.StatusCode(), err)
	}
}

// run runs one phase: workers until the deadline, then the wait for the
// requests in flight, with its progress reported to w (if not nil).
func (r *loadRun) run(ctx context.Context, d time.Duration, w io.Writer, label string) time.Duration {
	r.start = time.Now()
	r.deadline = r.start.Add(d)
	stopProgress := startLoadProgress(w, r, label, d)
	defer stopProgress()
	r.stoppedAt = d
	var cancelledAt time.Duration
	cancelSeen := make(chan struct{})
	stopWatch := context.AfterFunc(ctx, func() {
		cancelledAt = time.Since(r.start)
		close(cancelSeen)
	})
	ctx, cancel := context.WithDeadline(ctx, r.deadline)
	defer cancel()
	var wg sync.WaitGroup
	for w := range r.o.Concurrency {
		wg.Go(func() { r.worker(ctx, w) })
	}
	wg.Wait()
	if !stopWatch() {
		// The caller cancelled: what was scheduled after that is not
		// "unsent", the run just ended there.
		<-cancelSeen
		r.stoppedAt = min(d, cancelledAt)
	}
	return time.Since(r.start)
}

// due is the number of open-loop slots whose intended start fell before the
// phase stopped.
func (r *loadRun) due() int64 {
	return r.slotsBefore(r.stoppedAt)
}

// slotsBefore counts the open-loop slots whose intended start is before d.
func (r *loadRun) slotsBefore(d time.Duration) int64 {
	n := int64(math.Ceil(float64(d) / r.interval))
	for n > 0 && r.offset(n-1) >= d {
		n--
	}
	for r.offset(n) < d {
		n++
	}
	return n
}

// RunLoad runs a load test against o.URL and returns its result. It first
// learns the ids to request (o.IDs or the server), then runs the warmup, if
// any, and the measured phase. progress, if not nil, gets a live status line
// when it is a terminal and a plain line every few seconds otherwise.
//
// When ctx is cancelled the run stops early and the result so far is
// returned with Interrupted set, so that an interrupted bench still reports.
func RunLoad(ctx context.Context, o LoadOptions, progress io.Writer) (*LoadResult, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	target, err := newLoadTarget(o)
	if err != nil {
		return nil, err
	}
	defer target.hc.CloseIdleConnections()

	weights, _ := loadScenarioWeights(o.Scenario)
	needProducts := weights[loadKindRelated] > 0 || weights[loadKindEvents] > 0
	needCustomers := weights[loadKindPersonal] > 0 || weights[loadKindNBO] > 0 || weights[loadKindEvents] > 0
	var ids LoadIDs
	var warnings []string
	source := "none"
	switch {
	case o.IDs != nil:
		ids, source = *o.IDs, "file"
	case needProducts || needCustomers:
		ids, warnings, err = loadDiscoverIDs(ctx, target, needProducts, needCustomers)
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
	plan, err := newLoadPlan(o.Scenario, target.base, query.Encode(), ids, o.Seed)
	if err != nil {
		return nil, fmt.Errorf("cannot run load: %w", err)
	}
	warnings = append(warnings, plan.warnings...)
	plan.eventIDPool = o.EventIDPool

	if o.Warmup > 0 {
		newLoadRun(o, plan, target, o.Warmup).run(ctx, o.Warmup, progress, "warmup")
	}
	r := newLoadRun(o, plan, target, o.Duration)
	var elapsed time.Duration
	var mem *LoadServerMemory
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
	res.IDs = LoadIDsInfo{Source: source, Products: plan.products, Customers: plan.customers, Synthetic: plan.synthetic}
	return res, nil
}

// merged returns the shards' response-time histogram merged, for the
// progress line.
func (r *loadRun) mergedHist() *hdrhistogram.Histogram {
	h := newLoadHist()
	for _, s := range r.shards {
		s.mu.Lock()
		h.Merge(s.hist)
		s.mu.Unlock()
	}
	return h
}

// result merges the shards into a LoadResult.
func (r *loadRun) result(elapsed time.Duration) *LoadResult {
	o := r.o
	res := &LoadResult{
		Scenario:     o.Scenario,
		URL:          o.URL,
		Mode:         "closed",
		Concurrency:  o.Concurrency,
		DurationS:    o.Duration.Seconds(),
		ElapsedS:     loadRound(elapsed.Seconds()),
		ErrorsByKind: map[string]int64{},
		ErrorSamples: map[string]string{},
		Late:         r.late.Load(),
		SlowWakes:    r.slowWakes.Load(),
		StartedAt:    r.start,
		hist:         newLoadHist(),
	}
	if o.Rate > 0 {
		res.Mode = "open"
		res.TargetRPS = o.Rate
		res.service = newLoadHist()
	}
	kinds, secs := r.mergeShards(res)
	finished := r.finished.Load()
	res.Requests = finished
	res.Errors = r.failed.Load()
	if o.Rate > 0 && elapsed > 0 {
		if unsent := r.due() - r.sent.Load(); unsent > 0 {
			res.ErrorsByKind["unsent"] = unsent
			res.Requests += unsent
			res.Errors += unsent
		}
	}
	res.OK = res.Requests - res.Errors
	if elapsed > 0 {
		res.RPS = loadRound(float64(finished) / elapsed.Seconds())
	}
	res.LoadLatency = loadLatencyOf(res.hist)
	if res.service != nil {
		l := loadLatencyOf(res.service)
		res.Service = &l
	}
	res.Kinds = r.kindResults(kinds, res.LoadLatency, elapsed)
	res.PerSecond = r.perSecond(secs)
	if len(res.ErrorSamples) == 0 {
		res.ErrorSamples = nil
	}
	res.Warnings = r.warnings(res)
	return res
}

// mergeShards adds every shard's histograms, errors and samples into res and
// returns the per-kind and per-second sums.
func (r *loadRun) mergeShards(res *LoadResult) ([loadNumKinds]loadKindAgg, []loadSecondAgg) {
	var kinds [loadNumKinds]loadKindAgg
	for k := range kinds {
		if r.plan.multiKinds && r.plan.weights[k] > 0 {
			kinds[k].hist = newLoadHist()
		}
	}
	secs := make([]loadSecondAgg, r.nsecs)
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
func (r *loadRun) kindResults(kinds [loadNumKinds]loadKindAgg, all LoadLatency, elapsed time.Duration) []LoadKindResult {
	var out []LoadKindResult
	for k, agg := range kinds {
		if r.plan.weights[k] == 0 {
			continue
		}
		kr := LoadKindResult{Kind: loadKindNames[k], Requests: agg.ok + agg.errs, Errors: agg.errs}
		if elapsed > 0 {
			kr.RPS = loadRound(float64(kr.Requests) / elapsed.Seconds())
		}
		if agg.hist != nil {
			kr.LoadLatency = loadLatencyOf(agg.hist)
		} else {
			kr.LoadLatency = all
		}
		out = append(out, kr)
	}
	return out
}

// perSecond turns the per-second sums into the timeline; the last second
// may be partial (its width says how much).
func (r *loadRun) perSecond(secs []loadSecondAgg) []LoadSecond {
	out := make([]LoadSecond, 0, len(secs))
	for i, sa := range secs {
		width := min(r.o.Duration.Seconds()-float64(i), 1)
		ls := LoadSecond{T: float64(i), Width: loadRound(width), OK: sa.ok, Errors: sa.errs}
		if width > 0 {
			ls.RPS = loadRound(float64(sa.ok+sa.errs) / width)
		}
		if sa.n > 0 {
			ls.MeanMs = loadRound(float64(sa.sumUs) / float64(sa.n) / 1000)
			ls.MaxMs = loadRound(float64(sa.maxUs) / 1000)
		}
		out = append(out, ls)
	}
	return out
}

// warnings explains results that need a second look.
func (r *loadRun) warnings(res *LoadResult) []string {
	var w []string
	if res.Late > 0 && res.Requests > 0 {
		w = append(w, fmt.Sprintf("%d of %d requests (%.1f%%) were sent late: no worker was free at their intended start (the server was slow for the in-flight cap --concurrency %d, or this machine was short of CPU); their latency still counts from the intended start",
			res.Late, res.Requests, 100*float64(res.Late)/float64(res.Requests), res.Concurrency))
	}
	if res.SlowWakes > 0 && res.Requests > 0 {
		w = append(w, fmt.Sprintf("%d requests (%.1f%%) left more than %v after their start time although a worker was waiting: the load generator was short of CPU (another busy process on this machine?)",
			res.SlowWakes, 100*float64(res.SlowWakes)/float64(res.Requests), loadSlowWake))
	}
	if n := res.ErrorsByKind["unsent"]; n > 0 {
		w = append(w, fmt.Sprintf("%d scheduled requests were never sent: every worker was busy until the end", n))
	}
	if res.Mode == "open" && res.RPS > 0 && res.RPS < 0.9*res.TargetRPS && res.Late == 0 {
		w = append(w, fmt.Sprintf("achieved %.0f req/s of the %.0f scheduled", res.RPS, res.TargetRPS))
	}
	if res.Requests > 0 && res.OK == 0 {
		w = append(w, "no request succeeded")
	}
	return w
}

// loadLatencyOf reads the contract's percentiles off a microsecond histogram.
// max is the histogram's highest equivalent value, within its 0.1% precision.
func loadLatencyOf(h *hdrhistogram.Histogram) LoadLatency {
	if h.TotalCount() == 0 {
		return LoadLatency{}
	}
	ms := func(us int64) float64 { return loadRound(float64(us) / 1000) }
	return LoadLatency{
		P50Ms:  ms(h.ValueAtQuantile(50)),
		P90Ms:  ms(h.ValueAtQuantile(90)),
		P99Ms:  ms(h.ValueAtQuantile(99)),
		P999Ms: ms(h.ValueAtQuantile(99.9)),
		MaxMs:  ms(h.Max()),
		MeanMs: loadRound(h.Mean() / 1000),
	}
}

// loadRound keeps three decimals: microseconds when the unit is ms, and no
// float noise in the JSON.
func loadRound(v float64) float64 {
	return math.Round(v*1000) / 1000
}

// loadSortedKinds returns the keys of an error count map, most frequent
// first.
func loadSortedKinds(m map[string]int64) []string {
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
