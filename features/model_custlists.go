package features

import (
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
)

// custLists maps customers to their distinct recent products on one basis.
// The lists are cut from a few large blocks, found through a 12-byte ref
// per customer (an array over all customers in a full build or when most
// are needed, a map otherwise): one slice and one map entry per customer
// made a partial refresh under writes at 10M events allocate 0.5 GB in
// 20 s, and the garbage set the server's resident size.
// Read-only once built, so workers share it.
type custLists struct {
	ref    []listRef
	sparse map[uint32]listRef
	blocks [][]uint32
}

// listRef places one customer's list: n products from off in blocks[block].
type listRef struct{ block, off, n uint32 }

// custRef is customer c's listRef.
type custRef struct {
	c uint32
	r listRef
}

// listBlock is the size of the blocks lists are cut from (1 MB).
const listBlock = 1 << 18

func (cl *custLists) get(c uint32) ([]uint32, bool) {
	var r listRef
	if cl.ref != nil {
		if int(c) >= len(cl.ref) {
			return nil, false
		}
		r = cl.ref[c]
	} else {
		r = cl.sparse[c]
	}
	if r.n == 0 {
		return nil, false
	}
	return cl.blocks[r.block][r.off : r.off+r.n : r.off+r.n], true
}

// buildCustLists computes the lists of the customers of todo (all customers
// when full), with p's workers taking slices of customers in turn. It takes
// x.mu for reading one slice at a time.
func buildCustLists(x *index, b Basis, todo []uint32, full bool, nprod int, o NeighbourOptions, p pool) *custLists {
	cl, need, count := newCustLists(x, b, todo, full)
	// A niced worker must not take the index lock even briefly: runnable
	// but unscheduled at nice 19 on a busy machine, it held the read lock
	// for over a second while the writer, and every request behind it,
	// waited (docs/performance.md, "Session 8: ingest at 10M"). Its
	// customers' history headers are copied here instead, at the caller's
	// priority.
	var pre [][]Interaction
	if p.nice {
		pre = historyHeaders(x, full, need, count)
	}
	var mu sync.Mutex // guards next, cl.blocks and cl.sparse
	const chunk = lockSpan
	var next int
	p.run(func() {
		f := &custListFill{cl: cl, mu: &mu, bd: newBuilder(nprod)}
		for {
			mu.Lock()
			i := next
			next += chunk
			mu.Unlock()
			if i >= count {
				break
			}
			f.fill(x, b, i, min(i+chunk, count), full, need, pre, o.MaxHistory)
		}
		f.merge()
	})
	return cl
}

// unionSpan bounds the customers (summed over the products' bitmaps) that
// newCustLists unites under one hold of the index's read lock.
const unionSpan = 1 << 15

// newCustLists makes the empty lists for the customers of todo (all when
// full): need lists those customers when not full, and count is how many
// customers there are to compute. An array holds the refs when most
// customers are needed, a map otherwise.
func newCustLists(x *index, b Basis, todo []uint32, full bool) (cl *custLists, need []uint32, count int) {
	cl = &custLists{}
	if !full {
		// The union is taken a bounded part at a time: under one hold,
		// the 97k stale products of a 10M-event store kept the writer (and
		// every request queued behind it) waiting for seconds, and 512 of
		// the most bought products still for tens of milliseconds
		// (docs/performance.md, "Session 8: ingest at 10M" and "tail
		// latency"). A part ends after lockSpan products or unionSpan
		// customers in its bitmaps, whichever comes first.
		acc := roaring.New()
		var parts []*roaring.Bitmap
		for lo := 0; lo < len(todo); {
			parts = parts[:0]
			var card uint64
			x.mu.RLock()
			hi := lo
			for ; hi < len(todo) && hi-lo < lockSpan && card < unionSpan; hi++ {
				if cs := customersOf(x, b, todo[hi]); cs != nil {
					parts = append(parts, cs)
					card += cs.GetCardinality()
				}
			}
			part := roaring.FastOr(parts...) // a new bitmap: safe after the unlock
			x.mu.RUnlock()
			acc.Or(part)
			lo = hi
		}
		need = acc.ToArray()
	}
	x.mu.RLock()
	ncust := len(x.hist) // read after the union: every id in need is below it
	x.mu.RUnlock()
	count = ncust
	if full || len(need) > ncust/8 {
		cl.ref = make([]listRef, ncust)
	} else {
		cl.sparse = make(map[uint32]listRef, len(need))
	}
	if !full {
		count = len(need)
	}
	return cl, need, count
}

// custListFill is one worker's part of buildCustLists: it copies each
// customer's list into its current block and notes where it went. Not
// safe for concurrent use: one per worker.
type custListFill struct {
	cl    *custLists
	mu    *sync.Mutex // guards cl.blocks and cl.sparse
	bd    *builder
	local []custRef // for cl.sparse, merged once at the end
	blkID uint32
	blk   []uint32
	used  int
	hs    [][]Interaction // fill's histories, reused
}

// fill computes the lists of customers lo to hi (need[lo:hi] when not
// full) from their history headers: pre[lo:hi] when the caller copied them
// (a niced pool's), otherwise copied here under x.mu for reading. A history
// only grows by append or is replaced whole (erasure, merge; see
// historyView), so the entries below a copied length do not change, and the
// lists are computed without the lock.
func (f *custListFill) fill(x *index, b Basis, lo, hi int, full bool, need []uint32, pre [][]Interaction, maxHistory int) {
	hs := f.hs[:0]
	if pre != nil {
		hs = pre[lo:hi] // copied by the caller (buildCustLists)
	} else {
		x.mu.RLock()
		hs = appendHeaders(hs, x, lo, hi, full, need)
		x.mu.RUnlock()
		f.hs = hs
	}
	for k, h := range hs {
		if len(h) == 0 {
			continue
		}
		c := uint32(lo + k)
		if !full {
			c = need[lo+k]
		}
		f.bd.recentDistinct(h, b, maxHistory)
		if len(f.bd.seen) == 0 {
			continue
		}
		f.place(c, f.bd.seen)
	}
}

// historyHeaders is the history headers of the first count customers (of
// need when not full), copied lockSpan customers per hold of x.mu.
func historyHeaders(x *index, full bool, need []uint32, count int) [][]Interaction {
	hs := make([][]Interaction, 0, count)
	for lo := 0; lo < count; lo += lockSpan {
		x.mu.RLock()
		hs = appendHeaders(hs, x, lo, min(lo+lockSpan, count), full, need)
		x.mu.RUnlock()
	}
	return hs
}

// place copies customer c's list into the worker's block, starting a new
// block when it does not fit, and records its ref.
func (f *custListFill) place(c uint32, list []uint32) {
	n := len(list)
	if f.blk == nil || f.used+n > len(f.blk) {
		f.blkID, f.blk = f.newBlock(n)
		f.used = 0
	}
	copy(f.blk[f.used:], list)
	r := listRef{block: f.blkID, off: uint32(f.used), n: uint32(n)}
	f.used += n
	if f.cl.ref != nil {
		if int(c) < len(f.cl.ref) {
			f.cl.ref[c] = r
		}
	} else {
		f.local = append(f.local, custRef{c, r})
	}
}

// newBlock adds a block of at least n products to the lists.
func (f *custListFill) newBlock(n int) (uint32, []uint32) {
	blk := make([]uint32, max(n, listBlock))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cl.blocks = append(f.cl.blocks, blk)
	return uint32(len(f.cl.blocks) - 1), blk
}

// merge adds the worker's refs to cl.sparse.
func (f *custListFill) merge() {
	if len(f.local) == 0 {
		return
	}
	f.mu.Lock()
	for _, e := range f.local {
		f.cl.sparse[e.c] = e.r
	}
	f.mu.Unlock()
}
