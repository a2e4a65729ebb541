package features

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// Interaction is one event in a customer's history, as kept in memory.
type Interaction struct {
	Product uint32
	// Order is a hash of the order id (0 when the event had none): enough to
	// count distinct orders without keeping the strings.
	Order uint32
	// TS is in unix seconds: 32 bits reach 2106 (events are validated to
	// 1990 through the server's clock plus max_future_skew, and never past
	// 2105). With it and without the quantity (the log keeps it; nothing
	// read it from memory) an interaction takes 24 bytes instead of 32: a
	// quarter of the history memory, 80 MB at 10M events.
	TS    uint32
	Type  uint8
	Class Class
	Value float64
}

// unixTS is t (unix seconds) as an Interaction keeps it, saturated at the
// ends of its range.
func unixTS(t int64) uint32 {
	return uint32(min(max(t, 0), math.MaxUint32))
}

// index is the mutable association state derived from the log: product ->
// customers per class, customer -> history. Guarded by mu; the single writer
// takes the write lock for short applies, readers (the neighbour builder,
// history copies) take the read lock and never hold it across a request.
type index struct {
	mu       sync.RWMutex
	prodCust [numClasses][]*roaring.Bitmap
	hist     [][]Interaction
	events   int
	lastTS   int64
	// newest keeps the newest event times; clockTS is the confirmed
	// latest time derived from them (clock.go), readable without mu.
	newest  newestTimes
	clockTS atomic.Int64
	// clockStale says an erasure removed kept times: newest must be
	// rebuilt from the histories.
	clockStale bool
	// gram is EASE's n² work buffer, reused across builds. Only the model
	// builder touches it, and builds are serialised by Store.refreshMu, so
	// mu does not guard it.
	gram []float64
	// appliedSeq is the log sequence the index includes.
	appliedSeq uint64
	// dirty holds products whose neighbour lists are stale; all means every
	// product is (after a bulk load).
	dirty *roaring.Bitmap
	// dirtyCust holds customers who formed a new pair: every product in
	// their history is stale too, expanded once per refresh rather than
	// once per event (which is quadratic in a long history).
	dirtyCust *roaring.Bitmap
	// newPairs counts the new pairs of each customer in dirtyCust (a
	// customer missing from it counts one): how many changes each of the
	// customer's other products has pending (stale_lag.go).
	newPairs map[uint32]uint32
	all      bool
	// lag holds the products stale only through co-customers' new pairs
	// that background refreshes have not recounted yet (stale_lag.go).
	lag staleLag
}

func newIndex() *index {
	return &index{dirty: roaring.New(), dirtyCust: roaring.New(), newPairs: map[uint32]uint32{},
		lag: staleLag{set: roaring.New()}}
}

func (x *index) ensureProduct(p uint32) {
	for c := range x.prodCust {
		for int(p) >= len(x.prodCust[c]) {
			x.prodCust[c] = append(x.prodCust[c], nil)
		}
	}
}

func (x *index) ensureCustomer(c uint32) {
	for int(c) >= len(x.hist) {
		x.hist = append(x.hist, nil)
	}
}

// customers is product p's bitmap of class c, made on first use; p's slot
// must exist (ensureProduct).
func (x *index) customers(c Class, p uint32) *roaring.Bitmap {
	bm := x.prodCust[c][p]
	if bm == nil {
		bm = roaring.New()
		x.prodCust[c][p] = bm
	}
	return bm
}

// applyLocked adds one event; the caller holds mu for writing. track says
// whether to record which neighbour lists went stale (off during bulk loads,
// which rebuild everything).
func (x *index) applyLocked(cust uint32, in Interaction, track bool) {
	x.ensureProduct(in.Product)
	x.ensureCustomer(cust)
	added := x.customers(in.Class, in.Product).CheckedAdd(cust)
	if added && track && !x.all && in.Class.positive() {
		// A new (customer, product) pair changes the co-occurrence of this
		// product with everything else the customer has.
		x.dirty.Add(in.Product)
		x.dirtyCust.Add(cust)
		x.newPairs[cust]++
	}
	x.hist[cust] = append(x.hist[cust], in)
	x.events++
	if int64(in.TS) > x.lastTS {
		x.lastTS = int64(in.TS)
	}
	x.newest.add(in.TS)
}

// eraseLocked removes every trace of cust; the caller holds mu for writing.
func (x *index) eraseLocked(cust uint32) int {
	if int(cust) >= len(x.hist) {
		return 0
	}
	h := x.hist[cust]
	x.clockStale = x.clockStale || x.newest.holdsAny(h)
	for _, in := range h {
		if bm := x.prodCust[in.Class][in.Product]; bm != nil {
			bm.Remove(cust)
		}
		if !x.all {
			x.dirty.Add(in.Product)
		}
	}
	x.events -= len(h)
	x.hist[cust] = nil
	return len(h)
}

// historyView returns cust's interactions without copying them. A history
// only ever grows by append (erasure replaces it with nil), so the entries
// below the length read under the lock never change: the caller may read
// them without the lock but must not write to them or append to the slice.
func (x *index) historyView(cust uint32) []Interaction {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if int(cust) < len(x.hist) {
		h := x.hist[cust]
		return h[:len(h):len(h)]
	}
	return nil
}

// appendHeaders appends the history headers of customers lo to hi
// (need[lo:hi] when not full) to hs; the caller holds x.mu for reading. A
// history only grows by append or is replaced whole (see historyView), so
// the entries below a copied header's length can be read without the lock:
// the way builds read histories without holding the writer up.
func appendHeaders(hs [][]Interaction, x *index, lo, hi int, full bool, need []uint32) [][]Interaction {
	for k := lo; k < hi; k++ {
		c := uint32(k)
		if !full {
			c = need[k]
		}
		var h []Interaction
		if int(c) < len(x.hist) {
			h = x.hist[c]
		}
		hs = append(hs, h[:len(h):len(h)])
	}
	return hs
}

// seqNow is the log sequence the index includes.
func (x *index) seqNow() uint64 {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.appliedSeq
}

// takeDirty returns the stale products (nil, true when all are), the log
// sequence they are stale up to, and resets: every product stale, exactly.
func (x *index) takeDirty() (*roaring.Bitmap, bool, uint64) {
	return x.takeStale(nil)
}

// takeStale is takeDirty with the products stale only through co-customers
// taken as pol says (all of them when pol is nil; stale_lag.go); the
// others stay pending in x.lag. It holds the writer's lock only to swap the
// marks out and copy the dirty customers' history headers (a history only
// grows by append or is replaced whole, see historyView): the expansion
// into their products, which is quadratic in a long history, runs without it.
func (x *index) takeStale(pol *lagPolicy) (*roaring.Bitmap, bool, uint64) {
	x.mu.Lock()
	seq := x.appliedSeq
	x.lag.mu.Lock()
	defer x.lag.mu.Unlock()
	if x.all {
		x.all = false
		x.dirty = roaring.New()
		x.dirtyCust = roaring.New()
		x.newPairs = map[uint32]uint32{}
		x.lag.reset()
		x.mu.Unlock()
		return nil, true, seq
	}
	custs, pairs, d := x.dirtyCust.ToArray(), x.newPairs, x.dirty
	hs := appendHeaders(make([][]Interaction, 0, len(custs)), x, 0, len(custs), false, custs)
	x.dirtyCust, x.newPairs, x.dirty = roaring.New(), map[uint32]uint32{}, roaring.New()
	x.mu.Unlock()
	now := time.Now().UnixNano()
	if pol != nil {
		now = pol.now.UnixNano()
	}
	for i, c := range custs {
		x.lag.add(hs[i], max(1, pairs[c]), now)
	}
	x.lag.take(d, pol)
	if d.IsEmpty() {
		return nil, false, seq
	}
	return d, false, seq
}

// staleProducts is every product whose list is stale (dirty or lagging),
// for a snapshot to record; the caller holds x.mu.
func (x *index) staleProducts() []uint32 {
	d := x.lag.lagging()
	d.Or(x.dirty)
	return d.ToArray()
}
