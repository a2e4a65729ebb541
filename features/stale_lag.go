package features

import (
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// Bounded staleness for co-customer products. A new (customer c, product p)
// pair makes p's own list stale: that is kept exact (index.dirty). For
// every other product q in c's history the pair is one co-occurrence (and,
// with RP3's user weight, a slightly smaller weight for c) out of q's
// support: recounting q for it is a full count of q's customers' lists,
// and under steady writes by customers with long histories these
// co-customer marks were most of every background refresh (docs/
// performance.md, "Session 8: background refresh"). So a background
// refresh recounts such a q only once its pending changes reach
// lagEps of its support (at least one), or its oldest pending change is
// lagMaxAge old. A forced refresh (Refresh: tests, import, erasure) and a
// cluster tick take every mark, so they stay exact.
const (
	// lagEps is the share of q's support its pending co-customer
	// changes may reach before q is recounted (see the measurement in
	// docs/performance.md).
	lagEps = 0.5
	// lagMaxAge bounds how long a change waits: DESIGN promises that
	// touched lists refresh within seconds. It counts from the refresh
	// that first saw the change (the next one after the event), and the
	// list is recounted by the first refresh after that.
	lagMaxAge = 5 * time.Second
)

// staleLag holds the products whose lists are stale only through
// co-customers' new pairs, with how many such changes are pending and
// since when. It has its own mutex (not index.mu) so that deciding what
// to recount does not hold the writer's lock; the order is index.mu, then
// staleLag.mu. It takes 16 bytes per product (up to the highest id that
// has been pending): 16 MB at a million products.
type staleLag struct {
	mu    sync.Mutex
	set   *roaring.Bitmap
	n     []uint32 // pending changes per product
	since []int64  // unix nanoseconds of the oldest pending change
	mark  []uint32 // add's per-customer dedup stamps
	stamp uint32
}

// lagPolicy says which lagging products a background refresh takes; a nil
// policy takes them all (exact).
type lagPolicy struct {
	now     time.Time
	support func(q uint32) uint32
	eps     float64       // lagEps but in tests and benchmarks
	maxAge  time.Duration // lagMaxAge but in tests and benchmarks
}

// backgroundLag is the policy of a background refresh at now after a
// build that served m.
func backgroundLag(now time.Time, m *Model) *lagPolicy {
	return &lagPolicy{now: now, support: modelSupport(m), eps: lagEps, maxAge: lagMaxAge}
}

func (l *staleLag) grow(p uint32) {
	for int(p) >= len(l.n) {
		n := max(64, 2*len(l.n), int(p)+1)
		l.n = append(l.n, make([]uint32, n-len(l.n))...)
		l.since = append(l.since, make([]int64, n-len(l.since))...)
		l.mark = append(l.mark, make([]uint32, n-len(l.mark))...)
	}
}

// add records w changes for each distinct product of h at now; the
// caller holds l.mu.
func (l *staleLag) add(h []Interaction, w uint32, now int64) {
	l.stamp++
	if l.stamp == 0 {
		clear(l.mark)
		l.stamp = 1
	}
	for _, in := range h {
		if !in.Class.positive() {
			continue
		}
		q := in.Product
		l.grow(q)
		if l.mark[q] == l.stamp {
			continue
		}
		l.mark[q] = l.stamp
		if l.n[q] == 0 {
			l.since[q] = now
			l.set.Add(q)
		}
		l.n[q] += w
	}
}

// take moves into dirty the lagging products that pol says are due (all
// of them when pol is nil, or when they are in dirty already); the caller
// holds l.mu.
func (l *staleLag) take(dirty *roaring.Bitmap, pol *lagPolicy) {
	if pol == nil {
		dirty.Or(l.set)
		l.reset()
		return
	}
	now := pol.now.UnixNano()
	var due []uint32
	it := l.set.Iterator()
	for it.HasNext() {
		q := it.Next()
		if dirty.Contains(q) || now-l.since[q] >= int64(pol.maxAge) ||
			float64(l.n[q]) >= max(1, pol.eps*float64(pol.support(q))) {
			due = append(due, q)
			l.n[q] = 0
		}
	}
	taken := roaring.BitmapOf(due...)
	dirty.Or(taken)
	l.set.AndNot(taken)
}

// reset forgets every lagging product; the caller holds l.mu.
func (l *staleLag) reset() {
	l.set = roaring.New()
	clear(l.n)
}

// lagging returns the lagging products, for a snapshot to record as stale.
func (l *staleLag) lagging() *roaring.Bitmap {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.set.Clone()
}

// modelSupport is q's smallest nonzero support over m's bases: a
// change is a larger share of the smallest.
func modelSupport(m *Model) func(q uint32) uint32 {
	return func(q uint32) uint32 {
		var s uint32
		for b := range m.Support {
			if int(q) < len(m.Support[b]) {
				if v := m.Support[b][q]; v > 0 && (s == 0 || v < s) {
					s = v
				}
			}
		}
		return s
	}
}
