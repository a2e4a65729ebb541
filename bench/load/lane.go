package load

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"
)

// blend is the share of each request kind in one stream of requests: the
// whole scenario's, or one lane's part of it. It is immutable after
// construction.
type blend struct {
	cum   [numKinds]int // cumulative weights of the kinds kept, out of total
	total int
}

// newBlend keeps the kinds of weights that keep accepts, in their
// proportions to each other.
func newBlend(weights [numKinds]int, keep func(requestKind) bool) blend {
	var b blend
	for k, w := range weights {
		if keep(requestKind(k)) {
			b.total += w
		}
		b.cum[k] = b.total
	}
	return b
}

// draw picks the kind of the next request.
func (b *blend) draw(rng *rand.Rand) requestKind {
	r := rng.IntN(b.total)
	for k, c := range b.cum {
		if r < c {
			return requestKind(k)
		}
	}
	return kindPopular // unreachable: r < total = the last cum
}

func anyKind(requestKind) bool   { return true }
func isRead(k requestKind) bool  { return k != kindEvents }
func isEvent(k requestKind) bool { return k == kindEvents }

// splitsLanes says whether an open-loop run of a blend sends its reads
// and its event POSTs in two independent lanes. A storefront's tracking
// beacons share neither connections nor an in-flight cap with its page
// renders: with one pool of workers, a stall in the server's durable
// commit of events would leave every worker holding an event POST, and the
// reads falling due meanwhile would be charged that stall as read latency
// although the server's read handlers were not waiting at all. Closed loop
// keeps one pool: it measures the throughput ceiling of the blend, and has
// no schedule a stall could be charged to.
func splitsLanes(weights [numKinds]int, rate float64) bool {
	return rate > 0 && weights[kindEvents] > 0 && weights[kindEvents] < 100
}

// maxInFlight is the most requests a run with o can have in flight:
// Concurrency per lane.
func maxInFlight(o Options) int {
	if weights, _ := scenarioWeights(o.Scenario); splitsLanes(weights, o.Rate) {
		return 2 * o.Concurrency
	}
	return o.Concurrency
}

// lane is one independent stream of requests within a phase: its own
// blend, its own workers (Options.Concurrency of them, its in-flight cap)
// and, in open loop, its own constant-rate schedule with its own slots,
// late and unsent counts. A run has one lane, except an open-loop run of a
// blend with both reads and events (splitsLanes), which has a reads lane at
// the reads' share of the rate and an events lane at the events' share.
type lane struct {
	name    string // "reads" or "events"; "" for a run's only lane
	blend   blend
	workers int
	first   int // number of the lane's first worker: seeds its pickers

	interval float64 // open loop: nanoseconds between intended starts
	slots    int64   // open loop: slots with an intended start before the deadline
	next     atomic.Int64
	sent     atomic.Int64
	late     atomic.Int64
}

// newLanes returns the lanes of a phase of length d.
func newLanes(o Options, p *plan, d time.Duration) []*lane {
	if !splitsLanes(p.weights, o.Rate) {
		return []*lane{newLane("", newBlend(p.weights, anyKind), o, 0, d)}
	}
	return []*lane{
		newLane("reads", newBlend(p.weights, isRead), o, 0, d),
		newLane("events", newBlend(p.weights, isEvent), o, o.Concurrency, d),
	}
}

func newLane(name string, b blend, o Options, first int, d time.Duration) *lane {
	l := &lane{name: name, blend: b, workers: o.Concurrency, first: first}
	if o.Rate > 0 {
		// The lane's share of the rate: the lanes' rates add up to o.Rate.
		l.interval = 1e9 / (o.Rate * float64(b.total) / 100)
		l.slots = l.slotsBefore(d)
	}
	return l
}

// offset is the intended start of schedule slot i relative to the start.
func (l *lane) offset(i int64) time.Duration {
	return time.Duration(float64(i) * l.interval)
}

// slotsBefore counts the open-loop slots whose intended start is before d.
func (l *lane) slotsBefore(d time.Duration) int64 {
	n := int64(math.Ceil(float64(d) / l.interval))
	for n > 0 && l.offset(n-1) >= d {
		n--
	}
	for l.offset(n) < d {
		n++
	}
	return n
}

// unsent is the number of open-loop slots whose intended start fell before
// stoppedAt and that no worker sent.
func (l *lane) unsent(stoppedAt time.Duration) int64 {
	return max(l.slotsBefore(stoppedAt)-l.sent.Load(), 0)
}

// claim takes the lane's next schedule slot for an open-loop worker and,
// if it is not yet due, sleeps until its intended start (see
// phase.worker). ok is false when the worker should stop: the schedule is
// used up, the deadline has passed or the phase was cancelled.
func (l *lane) claim(ctx context.Context, r *phase, timer *time.Timer) (intended time.Time, waited, ok bool) {
	i := l.next.Add(1) - 1
	if i >= l.slots {
		return intended, false, false
	}
	intended = r.start.Add(l.offset(i))
	now := time.Now()
	if !now.Before(r.deadline) {
		return intended, false, false
	}
	switch lag := now.Sub(intended); {
	case lag > lateAfter:
		l.late.Add(1)
	case lag < 0:
		if !sleepUntil(ctx, timer, intended) {
			return intended, false, false
		}
		waited = true
	}
	return intended, waited, true
}

// lateCount is the late requests of all lanes.
func (r *phase) lateCount() int64 {
	var n int64
	for _, l := range r.lanes {
		n += l.late.Load()
	}
	return n
}

// unsentCount is the unsent requests of all lanes.
func (r *phase) unsentCount() int64 {
	var n int64
	for _, l := range r.lanes {
		n += l.unsent(r.stoppedAt)
	}
	return n
}

// byLane breaks a count down by lane for a warning, " (reads 0, events
// 12)", or is empty when the run has one lane.
func (r *phase) byLane(count func(*lane) int64) string {
	if len(r.lanes) < 2 {
		return ""
	}
	parts := make([]string, len(r.lanes))
	for i, l := range r.lanes {
		parts[i] = fmt.Sprintf("%s %d", l.name, count(l))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}
