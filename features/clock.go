package features

import (
	"slices"
	"time"
)

// The event-time clock: "now" for historical data (serve's
// "clock": "latest-event") is the newest event time that enough events
// confirm, not whatever the single newest event says. One event dated years
// after the rest (a client clock off, a typo, a test left behind) used to
// move "now" for the whole store: every recency jumped by those years and a
// popular window held only that event's product.
//
// Let T be the time of the k-th newest event, with k = 0.1% of the events,
// at least confirmMin and at most confirmMax (and at most the number of
// events). "Now" is the newest event time no later than T + confirmGap. On
// clean data that is the newest event, as before: the demo's 31st newest
// event is an hour before its newest. An outlier further than a day past
// the bulk counts only once k events confirm it, so data that really moves
// on moves "now" as soon as 0.1% of it is newer, and no single event can
// move it by more than a day.
const (
	confirmMin = 10
	confirmMax = 1000
	confirmGap = 24 * 60 * 60 // seconds
)

// confirmCount is k for a store of n events.
func confirmCount(n int) int {
	return min(max((n+999)/1000, confirmMin), confirmMax)
}

// newestTimes keeps the confirmMax newest event times, enough to answer
// the k-th newest for every k confirmCount gives. Adding is amortised O(1):
// times newer than the smallest kept one wait in pend and are merged in
// batches. Not safe for concurrent use (index.mu guards it).
type newestTimes struct {
	top  []uint32 // ascending, at most confirmMax
	pend []uint32
}

func (n *newestTimes) add(ts uint32) {
	if len(n.top) == confirmMax && ts <= n.top[0] {
		return
	}
	n.pend = append(n.pend, ts)
	if len(n.pend) >= confirmMax {
		n.merge()
	}
}

func (n *newestTimes) merge() {
	if len(n.pend) == 0 {
		return
	}
	n.top = append(n.top, n.pend...)
	n.pend = n.pend[:0]
	slices.Sort(n.top)
	if extra := len(n.top) - confirmMax; extra > 0 {
		n.top = append(n.top[:0], n.top[extra:]...)
	}
}

// confirmed returns the confirmed latest time for a store of events
// events, 0 when there are none.
func (n *newestTimes) confirmed(events int) uint32 {
	n.merge()
	if len(n.top) == 0 {
		return 0
	}
	k := min(confirmCount(events), len(n.top))
	limit := uint64(n.top[len(n.top)-k]) + confirmGap
	// The newest kept time within the gap: the index before the first one
	// past it (at least the k-th newest itself).
	i, _ := slices.BinarySearchFunc(n.top, limit, func(t uint32, l uint64) int {
		if uint64(t) > l {
			return 1
		}
		return -1
	})
	return n.top[i-1]
}

// holdsAny reports whether one of h's times may be among the kept ones
// (an erasure of h then needs a rebuild; most customers have none).
func (n *newestTimes) holdsAny(h []Interaction) bool {
	n.merge()
	for i := range h {
		if len(n.top) < confirmMax || h[i].TS >= n.top[0] {
			return true
		}
	}
	return false
}

// refreshClockLocked publishes the confirmed time after events were
// applied or erased, rebuilding the kept times first when an erasure took
// some of them. The caller holds mu for writing.
func (x *index) refreshClockLocked() {
	if x.clockStale {
		x.rebuildClockLocked()
		return
	}
	x.publishClockLocked()
}

// rebuildClockLocked recomputes the kept times from every history (after a
// snapshot load, which applies no events one by one, or an erasure of kept
// times) and publishes the confirmed time. The caller holds mu for writing.
func (x *index) rebuildClockLocked() {
	x.newest, x.clockStale = newestTimes{}, false
	for _, h := range x.hist {
		for i := range h {
			x.newest.add(h[i].TS)
		}
	}
	x.publishClockLocked()
}

// publishClockLocked makes the confirmed time visible to readers, which
// read it on every request and must not take a lock for it. The caller
// holds mu for writing.
func (x *index) publishClockLocked() {
	x.clockTS.Store(int64(x.newest.confirmed(x.events)))
}

// LatestEventTime is the newest event time confirmed by enough events (see
// confirmCount), no later than the wall clock (the stream's in cluster
// mode: WallTime) plus MaxFutureSkew; zero when
// there is no event. serve's "latest-event" clock reads it.
func (s *Store) LatestEventTime() time.Time {
	ts := s.idx.clockTS.Load()
	if ts == 0 {
		return time.Time{}
	}
	t := time.Unix(ts, 0).UTC()
	// Events are refused beyond this bound, but a log written before they
	// were may hold later ones.
	if limit := s.WallTime().Add(s.opts.MaxFutureSkew).UTC(); t.After(limit) {
		return limit
	}
	return t
}
