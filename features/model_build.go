package features

import (
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/affinity-rec/affinity/features/similarity"
)

// buildModel derives a new Model from x. With dirty nil every list is
// recomputed; otherwise only dirty products' lists, the rest shared with prev.
// keepDense keeps prev's dense (EASE) lists as they are instead of solving
// again (see Store.refresh).
// It takes x.mu for reading in short sections, so writers are not blocked
// for the whole build.
// workers is how many goroutines count lists at once (buildWorkers).
func buildModel(x *index, prev *Model, dirty *roaring.Bitmap, nprod int, o NeighbourOptions, keepDense bool, workers int) *Model {
	return buildModelIn(x, prev, dirty, nprod, o, keepDense, pool{n: workers})
}

// buildModelIn is buildModel with its counting workers run by p (niced for
// a background refresh), the dense solve's matrix products too.
func buildModelIn(x *index, prev *Model, dirty *roaring.Bitmap, nprod int, o NeighbourOptions, keepDense bool, p pool) *Model {
	start := time.Now()
	m := &Model{Options: o}
	nprod = finishModel(x, m, nprod)

	onlyBought := boughtOnly(x)
	for b := Basis(0); b < NumBases; b++ {
		if b == BasisAny && onlyBought {
			// Without views or carts "any" is "bought": the same lists.
			m.Neighbours[b] = m.Neighbours[BasisBought]
			m.dense[b] = m.dense[BasisBought]
			m.anyAlias = true
			continue
		}
		o := o
		if o.Similarity == SimEASE && keepDense && prev != nil && prev.dense[b] {
			m.Neighbours[b] = append(prev.Neighbours[b][:len(prev.Neighbours[b]):len(prev.Neighbours[b])],
				make([][]similarity.Neighbour, max(0, nprod-len(prev.Neighbours[b])))...)
			m.dense[b] = true
			continue
		}
		if o.Similarity == SimEASE {
			if lists, ok := easeLists(x, b, m.Support[b], nprod, o, p); ok {
				m.Neighbours[b] = lists
				m.dense[b] = true
				continue
			}
			o.Similarity = o.Fallback
			if o.FallbackK > 0 {
				o.K = o.FallbackK
			}
			if prev != nil && prev.dense[b] {
				// The catalogue outgrew EASE: its lists are on another
				// scale, so every list is counted again, once.
				dirty = nil
			}
		}
		m.Neighbours[b] = countBasis(x, b, m, prev, dirty, nprod, o, p)
	}
	m.Built = time.Now()
	m.BuildDuration = time.Since(start)
	return m
}

// countBasis returns basis b's counted lists for m: every product's when
// dirty or prev is nil, otherwise prev's lists with the dirty products'
// counted again.
func countBasis(x *index, b Basis, m, prev *Model, dirty *roaring.Bitmap, nprod int, o NeighbourOptions, p pool) [][]similarity.Neighbour {
	lists := make([][]similarity.Neighbour, nprod)
	if prev != nil && dirty != nil {
		copy(lists, prev.Neighbours[b])
	}
	var todo []uint32
	if dirty == nil || prev == nil {
		todo = make([]uint32, 0, nprod)
		for p := 0; p < nprod; p++ {
			if m.Support[b][p] > 0 {
				todo = append(todo, uint32(p))
			}
		}
	} else {
		todo = dirty.ToArray()
	}
	full := dirty == nil || prev == nil
	if len(todo) == 0 {
		return lists
	}
	countListsIn(x, b, todo, full, lists, m.Support[b], m.Customers[b], nprod, o, p)
	return lists
}

// countLists fills lists[p] for every p in todo by counting co-occurrences
// through the customers' histories and scoring them with o.Similarity
// (every customer's list is computed when full), with workers goroutines.
func countLists(x *index, b Basis, todo []uint32, full bool, lists [][]similarity.Neighbour, support []uint32, customers, nprod int, o NeighbourOptions, workers int) {
	countListsIn(x, b, todo, full, lists, support, customers, nprod, o, pool{n: workers})
}

// countListsIn is countLists with its workers run by p. The products'
// customers are copied out of the index by one feeder goroutine at the
// caller's priority (custFeed), so that a niced worker never holds the
// index lock.
func countListsIn(x *index, b Basis, todo []uint32, full bool, lists [][]similarity.Neighbour, support []uint32, customers, nprod int, o NeighbourOptions, p pool) {
	cl := buildCustLists(x, b, todo, full, nprod, o, p)
	sc := newScoring(o, support, customers)
	feed := make(chan *custChunk, max(1, p.n))
	// Done chunks go back to the feeder, so a refresh under writes does
	// not make garbage of every stale product's customers (the server's
	// resident size follows its garbage).
	free := make(chan *custChunk, 2*max(1, p.n)+1)
	go custFeed(x, b, todo, nprod, feed, free)
	p.run(func() {
		bd := newBuilder(nprod)
		for ch := range feed {
			for i, q := range ch.prods {
				lists[q] = bd.neighbours(x, b, q, ch.custs[ch.offs[i]:ch.offs[i+1]], sc, cl, o)
			}
			select {
			case free <- ch:
			default:
			}
		}
	})
}

// custChunk is a few products with their customers (product i's are
// custs[offs[i]:offs[i+1]]), the unit of work of countListsIn's workers.
type custChunk struct {
	prods []uint32
	offs  []int
	custs []uint32
}

// Chunks are cut at chunkProducts products or chunkCustomers customers
// (256 KB): small enough to share the work out evenly and to bound what
// the feeder holds ahead of the workers, large enough that the channel
// costs nothing.
const (
	chunkProducts  = 64
	chunkCustomers = 1 << 16
)

// custFeed sends todo's products (those below nprod) in chunks with their
// customers, copied under x.mu for reading one product at a time (see
// builder.neighbours), and closes out. The workers take every chunk. It
// reuses the chunks the workers put back in free.
func custFeed(x *index, b Basis, todo []uint32, nprod int, out chan<- *custChunk, free <-chan *custChunk) {
	defer close(out)
	next := func() *custChunk {
		select {
		case ch := <-free:
			ch.prods, ch.offs, ch.custs = ch.prods[:0], ch.offs[:1], ch.custs[:0]
			return ch
		default:
			return &custChunk{offs: []int{0}}
		}
	}
	ch := next()
	for k, q := range todo {
		if int(q) < nprod {
			x.mu.RLock()
			if cs := customersOf(x, b, q); cs != nil {
				ch.custs = appendBitmap(ch.custs, cs)
			}
			x.mu.RUnlock()
			ch.prods = append(ch.prods, q)
			ch.offs = append(ch.offs, len(ch.custs))
		}
		if len(ch.prods) < chunkProducts && len(ch.custs) < chunkCustomers && k < len(todo)-1 {
			continue
		}
		if len(ch.prods) == 0 {
			continue
		}
		out <- ch
		ch = next()
	}
}

// boughtOnly reports whether the index has no viewed or carted event, so
// that the "any" basis is the "bought" basis.
func boughtOnly(x *index) bool {
	x.mu.RLock()
	defer x.mu.RUnlock()
	for _, c := range []Class{ClassViewed, ClassCarted} {
		for _, bm := range x.prodCust[c] {
			if bm != nil && !bm.IsEmpty() {
				return false
			}
		}
	}
	return true
}
