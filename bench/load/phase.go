package load

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"
)

// lateAfter is how far behind its intended start a request may be when a
// worker picks it up before it counts as late: only waiting for a free
// worker makes a request late, timer wake-up jitter does not.
const lateAfter = time.Millisecond

// slowWake is how late a waiting worker may wake before the generator
// itself is suspected of being short of CPU. Go's timers overshoot by up to
// about 1 ms when the process is idle; far more means starved threads.
const slowWake = 5 * time.Millisecond

// errorKind names the kind of a transport error.
func errorKind(err error) string {
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

// statusKinds caches the error kind of the common statuses so that a
// server answering errors at full speed does not make the generator allocate.
var statusKinds = func() map[int]string {
	m := map[int]string{}
	for _, sc := range []int{400, 401, 403, 404, 405, 409, 413, 422, 429, 500, 502, 503, 504} {
		m[sc] = "http_" + strconv.Itoa(sc)
	}
	return m
}()

func statusKind(sc int) string {
	if k, ok := statusKinds[sc]; ok {
		return k
	}
	return "http_" + strconv.Itoa(sc)
}

// shard is one part of a run's recording. Workers are spread over a few
// shards so that recording is not one contended lock; the progress reporter
// and the final merge read them under the same lock. Safe for concurrent use.
type shard struct {
	mu      sync.Mutex
	hist    *hdrhistogram.Histogram
	service *hdrhistogram.Histogram // nil in closed loop
	kinds   [numKinds]kindAgg
	errs    map[string]int64
	samples map[string]string
	secs    []secondAgg
	_       [64]byte // keep neighbouring shards' locks off one cache line
}

type kindAgg struct {
	ok, errs int64
	hist     *hdrhistogram.Histogram // nil unless the scenario mixes kinds
}

type secondAgg struct {
	ok, errs, n, sumUs, maxUs int64
}

// phase is one part of a run, the warmup or the measured phase. The
// counters are atomics so the progress line can read them while workers
// write.
type phase struct {
	o        Options
	plan     *plan
	target   *target
	shards   []*shard
	start    time.Time
	deadline time.Time
	nsecs    int

	lanes []*lane // see lane.go

	stoppedAt time.Duration // when the phase stopped sending: its length, or earlier if cancelled
	finished  atomic.Int64
	failed    atomic.Int64
	slowWakes atomic.Int64
}

func newPhase(o Options, plan *plan, target *target, d time.Duration) *phase {
	r := &phase{o: o, plan: plan, target: target}
	r.nsecs = int((d + time.Second - 1) / time.Second)
	n := min(o.Concurrency, max(2, 2*runtime.GOMAXPROCS(0)))
	r.shards = make([]*shard, n)
	for i := range r.shards {
		s := &shard{
			hist:    newHist(),
			errs:    map[string]int64{},
			samples: map[string]string{},
			secs:    make([]secondAgg, r.nsecs),
		}
		if o.Rate > 0 {
			s.service = newHist()
		}
		if plan.multiKinds {
			for k, w := range plan.weights {
				if w > 0 {
					s.kinds[k].hist = newHist()
				}
			}
		}
		r.shards[i] = s
	}
	r.lanes = newLanes(o, plan, d)
	return r
}

// record adds one finished request. start is when its latency starts (see
// worker), sent when it was handed to the client.
func (r *phase) record(s *shard, k requestKind, start, sent, done time.Time, status int, err error) {
	respUs := min(done.Sub(start).Microseconds(), histMax)
	svcUs := min(done.Sub(sent).Microseconds(), histMax)
	errKind := ""
	timed := true
	if err != nil {
		errKind = errorKind(err)
		timed = errKind == "timeout"
	} else if status < 200 || status > 299 {
		errKind = statusKind(status)
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
func sleepUntil(ctx context.Context, timer *time.Timer, t time.Time) bool {
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
// lateAfter past its intended start is counted as late, and slots nobody
// picked up before the end are counted as "unsent" errors, so nothing the
// schedule asked for disappears silently. Each lane (lane.go) has its own
// schedule and workers, so a stall of one lane's requests delays only the
// slots of that lane.
//
// One exception keeps the generator's own jitter out of the figures: a
// worker that was idle and sleeping until the intended start is woken by a
// Go timer, which overshoots by up to ~1 ms on an idle Linux process (the
// runtime's poller sleeps in whole milliseconds). That delay is not the
// server's doing and nothing queued behind it, so such a request's latency
// starts at its actual send. Wake-ups later than slowWake are counted:
// they mean the generator was starved of CPU, and the run says so.
func (r *phase) worker(ctx context.Context, l *lane, w int) {
	pk := r.plan.newBlendPicker(&l.blend, w)
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
			var ok bool
			if intended, waited, ok = l.claim(ctx, r, timer); !ok {
				return
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
		l.sent.Add(1)
		sent := time.Now()
		start := intended
		if !open || waited {
			start = sent
		}
		if waited && sent.Sub(intended) > slowWake {
			r.slowWakes.Add(1)
		}
		err := r.target.hc.DoTimeout(req, resp, r.o.Timeout)
		done := time.Now()
		r.record(s, k, start, sent, done, resp.StatusCode(), err)
	}
}

// run runs one phase: workers until the deadline, then the wait for the
// requests in flight, with its progress reported to w (if not nil).
func (r *phase) run(ctx context.Context, d time.Duration, w io.Writer, label string) time.Duration {
	r.start = time.Now()
	r.deadline = r.start.Add(d)
	stopProgress := startProgress(w, r, label, d)
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
	for _, l := range r.lanes {
		for i := range l.workers {
			wg.Go(func() { r.worker(ctx, l, l.first+i) })
		}
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

// mergedHist returns the shards' response-time histogram merged, for the
// progress line.
func (r *phase) mergedHist() *hdrhistogram.Histogram {
	h := newHist()
	for _, s := range r.shards {
		s.mu.Lock()
		h.Merge(s.hist)
		s.mu.Unlock()
	}
	return h
}
