package features

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
)

// Basis says which events define "customers of a product" for
// product-to-product associations.
type Basis uint8

const (
	BasisBought Basis = iota
	BasisViewed
	BasisAny
	NumBases
)

func (b Basis) String() string {
	switch b {
	case BasisBought:
		return "bought"
	case BasisViewed:
		return "viewed"
	case BasisAny:
		return "any"
	}
	return fmt.Sprintf("basis(%d)", b)
}

// ParseBasis reads "bought", "viewed" or "any".
func ParseBasis(s string) (Basis, error) {
	switch s {
	case "bought":
		return BasisBought, nil
	case "viewed":
		return BasisViewed, nil
	case "any":
		return BasisAny, nil
	}
	return 0, &FieldError{Field: "basis", Msg: fmt.Sprintf("must be bought, viewed or any, not %q", s)}
}

func (b Basis) has(c Class) bool {
	return b == BasisAny || (b == BasisBought && c == ClassBought) || (b == BasisViewed && c == ClassViewed)
}

// Neighbour is one scored association.
type Neighbour struct {
	Product uint32
	Score   float32
}

// Model is the derived, read-only association state: product neighbour
// lists and popularity per basis. A published Model is never changed, so it
// is safe for concurrent use without locks; a refresh publishes a new one.
type Model struct {
	// Neighbours[b][p] is product p's list, best first. With SimEASE the
	// list ends with negative weights (products that go with p less than
	// chance): a ranking sums them, a "related" list stops before them.
	Neighbours [NumBases][][]Neighbour
	// Popular[b] is every product with customers on basis b, most customers first.
	Popular [NumBases][]Neighbour
	// Support[b][p] is how many distinct customers product p has on basis b.
	Support [NumBases][]uint32
	// Customers[b] is how many distinct customers have any event on basis b.
	Customers [NumBases]int
	Options   NeighbourOptions
	// Tuned is what the self-tuner chose (tune.go), nil when it is off or
	// has not run; Options stay the configured ones.
	Tuned *Tuning
	// Seq is the log sequence whose changes the lists include.
	Seq   uint64
	Built time.Time
	// BuildDuration is how long the last (partial or full) build took.
	BuildDuration time.Duration
	// dense[b] says basis b's lists are EASE's (SimEASE under its cap).
	dense [NumBases]bool
	// anyAlias says the "any" lists are the "bought" lists (no views or
	// carts): one copy in memory and in the snapshot.
	anyAlias bool
}

// NeighboursOf returns p's neighbour list on basis b (nil when none).
func (m *Model) NeighboursOf(b Basis, p uint32) []Neighbour {
	if int(p) < len(m.Neighbours[b]) {
		return m.Neighbours[b][p]
	}
	return nil
}

// SupportOf returns how many customers product p has on basis b.
func (m *Model) SupportOf(b Basis, p uint32) uint32 {
	if int(p) < len(m.Support[b]) {
		return m.Support[b][p]
	}
	return 0
}

// builder computes neighbour lists by counting through customers' histories
// (a dense counter per product), which DESIGN measured ~40x faster than
// AND-cardinality over all pairs. Not safe for concurrent use: one per worker.
type builder struct {
	cnt     []float32
	mark    []uint32
	stamp   uint32
	touched []uint32
	seen    []uint32
	custs   []uint32  // the customers of the product being scored
	weights []float32 // listWeight's table
}

// listWeight is how much a customer with n distinct products counts in a
// co-occurrence, from a table filled on a builder's first call (a build's
// options do not change) rather than a math.Pow for every customer of every
// product scored.
func (bd *builder) listWeight(n int, o NeighbourOptions) float32 {
	if bd.weights == nil {
		bd.weights = make([]float32, 1024)
		for i := range bd.weights {
			bd.weights[i] = listWeightOf(i, o)
		}
	}
	if n < len(bd.weights) {
		return bd.weights[n]
	}
	return listWeightOf(n, o)
}

func listWeightOf(n int, o NeighbourOptions) float32 {
	switch {
	case o.Similarity == SimRP3 && o.UserExp != 0:
		return float32(math.Pow(float64(n), -o.UserExp))
	case o.Similarity == SimIDFCosine:
		return float32(1 / math.Log2(2+float64(n)))
	}
	return 1
}

func newBuilder(nprod int) *builder {
	return &builder{cnt: make([]float32, nprod), mark: make([]uint32, nprod)}
}

// customersOf returns product p's customers on basis b; the caller holds x.mu.
func customersOf(x *index, b Basis, p uint32) *roaring.Bitmap {
	if b != BasisAny {
		c := ClassBought
		if b == BasisViewed {
			c = ClassViewed
		}
		if int(p) < len(x.prodCust[c]) {
			return x.prodCust[c][p]
		}
		return nil
	}
	var parts []*roaring.Bitmap
	for c := range x.prodCust {
		if int(p) < len(x.prodCust[c]) && x.prodCust[c][p] != nil {
			parts = append(parts, x.prodCust[c][p])
		}
	}
	switch len(parts) {
	case 0:
		return nil
	case 1:
		return parts[0]
	}
	return roaring.FastOr(parts...)
}

// appendBitmap appends bm's members to out, in order, in blocks (no
// per-member call).
func appendBitmap(out []uint32, bm *roaring.Bitmap) []uint32 {
	it := bm.ManyIterator()
	var buf [256]uint32
	for {
		n := it.NextMany(buf[:])
		if n == 0 {
			return out
		}
		out = append(out, buf[:n]...)
	}
}

// recentDistinct appends to b.seen the most recent distinct products of h on
// basis bs, at most max of them.
func (bd *builder) recentDistinct(h []Interaction, bs Basis, max int) {
	bd.seen = bd.seen[:0]
	bd.stamp++
	if bd.stamp == 0 {
		clear(bd.mark)
		bd.stamp = 1
	}
	for k := len(h) - 1; k >= 0 && len(bd.seen) < max; k-- {
		in := h[k]
		if !bs.has(in.Class) || int(in.Product) >= len(bd.mark) {
			continue
		}
		if bd.mark[in.Product] == bd.stamp {
			continue
		}
		bd.mark[in.Product] = bd.stamp
		bd.seen = append(bd.seen, in.Product)
	}
}

// neighbours computes product p's list. It takes x.mu for reading only to
// copy p's customers out and to read the history of a customer missing from
// cl: counting a popular product's co-occurrences takes milliseconds, and a
// read lock held that long stalls the writer, and behind the writer every
// request (sync.RWMutex queues new readers behind a waiting writer).
// cl holds customers' distinct recent products, computed once per build
// (a customer appears in the customer sets of many products).
func (bd *builder) neighbours(x *index, b Basis, p uint32, sc *scoring, cl *custLists, o NeighbourOptions) []Neighbour {
	x.mu.RLock()
	cs := customersOf(x, b, p)
	bd.custs = bd.custs[:0]
	if cs != nil {
		bd.custs = appendBitmap(bd.custs, cs)
	}
	x.mu.RUnlock()
	if len(bd.custs) == 0 {
		return nil
	}
	bd.touched = bd.touched[:0]
	for _, c := range bd.custs {
		list, ok := cl.get(c)
		if !ok {
			// A customer who arrived after the lists were computed.
			x.mu.RLock()
			if int(c) >= len(x.hist) {
				x.mu.RUnlock()
				continue
			}
			bd.recentDistinct(x.hist[c], b, o.MaxHistory)
			x.mu.RUnlock()
			list = bd.seen
		}
		w := bd.listWeight(len(list), o)
		for _, j := range list {
			if j == p || int(j) >= len(bd.cnt) {
				continue
			}
			if bd.cnt[j] == 0 {
				bd.touched = append(bd.touched, j)
			}
			bd.cnt[j] += w
		}
	}
	out := make([]Neighbour, 0, min(o.K, len(bd.touched)))
	h := TopK(out)
	for _, j := range bd.touched {
		cij := float64(bd.cnt[j])
		bd.cnt[j] = 0
		if o.Similarity != SimIDFCosine && o.Similarity != SimRP3 && cij < float64(o.MinSupport) {
			continue
		}
		s := sc.score(cij, p, j)
		if s <= 0 || math.IsNaN(s) {
			continue
		}
		h.Push(Neighbour{Product: j, Score: float32(s)}, o.K)
	}
	return h.Sorted()
}

// scoring turns counts into similarities with per-product powers computed
// once per build (math.Pow per pair was a tenth of a build).
type scoring struct {
	o          NeighbourOptions
	sup        []uint32
	n          float64
	powA, powB []float64
}

func newScoring(o NeighbourOptions, sup []uint32, n int) *scoring {
	sc := &scoring{o: o, sup: sup, n: float64(n)}
	if o.Similarity == SimCosine || o.Similarity == SimIDFCosine {
		sc.powA = make([]float64, len(sup))
		sc.powB = make([]float64, len(sup))
		for p, v := range sup {
			sc.powA[p] = math.Pow(float64(v), o.Alpha)
			sc.powB[p] = math.Pow(float64(v), 1-o.Alpha)
		}
	}
	if o.Similarity == SimRP3 {
		sc.powA = make([]float64, len(sup))
		sc.powB = make([]float64, len(sup))
		for p, v := range sup {
			sc.powA[p] = float64(v)
			sc.powB[p] = math.Pow(float64(v), o.Beta)
		}
	}
	return sc
}

func (sc *scoring) score(cij float64, i, j uint32) float64 {
	if sc.powA != nil {
		return cij / (sc.powA[i] * sc.powB[j])
	}
	return similarity(sc.o, cij, float64(sc.sup[i]), float64(sc.sup[j]), sc.n)
}

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
// when full). It takes x.mu for reading in slices of customers.
func buildCustLists(x *index, b Basis, todo []uint32, full bool, nprod int, o NeighbourOptions, workers int) *custLists {
	cl := &custLists{}
	var need []uint32
	x.mu.RLock()
	ncust := len(x.hist)
	if !full {
		var parts []*roaring.Bitmap
		for _, p := range todo {
			if cs := customersOf(x, b, p); cs != nil {
				parts = append(parts, cs)
			}
		}
		need = roaring.FastOr(parts...).ToArray()
	}
	x.mu.RUnlock()
	count := ncust
	if full || len(need) > ncust/8 {
		cl.ref = make([]listRef, ncust)
	} else {
		cl.sparse = make(map[uint32]listRef, len(need))
	}
	if !full {
		count = len(need)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex // guards next, cl.blocks and cl.sparse
	newBlock := func(n int) (uint32, []uint32) {
		blk := make([]uint32, max(n, listBlock))
		mu.Lock()
		defer mu.Unlock()
		cl.blocks = append(cl.blocks, blk)
		return uint32(len(cl.blocks) - 1), blk
	}
	const chunk = lockSpan
	var next int
	for w := 0; w < workers; w++ {
		wg.Go(func() {
			bd := newBuilder(nprod)
			var local []custRef // for cl.sparse, merged once at the end
			var blkID uint32
			var blk []uint32
			used := 0
			for {
				mu.Lock()
				i := next
				next += chunk
				mu.Unlock()
				if i >= count {
					break
				}
				end := min(i+chunk, count)
				x.mu.RLock()
				for k := i; k < end; k++ {
					c := uint32(k)
					if !full {
						c = need[k]
					}
					if int(c) >= len(x.hist) || len(x.hist[c]) == 0 {
						continue
					}
					bd.recentDistinct(x.hist[c], b, o.MaxHistory)
					n := len(bd.seen)
					if n == 0 {
						continue
					}
					if blk == nil || used+n > len(blk) {
						blkID, blk = newBlock(n)
						used = 0
					}
					copy(blk[used:], bd.seen)
					r := listRef{block: blkID, off: uint32(used), n: uint32(n)}
					used += n
					if cl.ref != nil {
						if int(c) < len(cl.ref) {
							cl.ref[c] = r
						}
					} else {
						local = append(local, custRef{c, r})
					}
				}
				x.mu.RUnlock()
			}
			if len(local) > 0 {
				mu.Lock()
				for _, e := range local {
					cl.sparse[e.c] = e.r
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return cl
}

// similarity scores a pair from co-occurrence cij, the two supports and the
// number of customers n.
func similarity(o NeighbourOptions, cij, cii, cjj, n float64) float64 {
	switch o.Similarity {
	case SimCooccurrence:
		return cij
	case SimJaccard:
		return cij / (cii + cjj - cij)
	case SimLift:
		return cij * n / (cii * cjj)
	case SimCosine, SimIDFCosine:
		return cij / (math.Pow(cii, o.Alpha) * math.Pow(cjj, 1-o.Alpha))
	case SimRP3:
		return cij / (cii * math.Pow(cjj, o.Beta))
	case SimLLR:
		return llr(cij, cii-cij, cjj-cij, n-cii-cjj+cij)
	}
	return 0
}

// llr is Dunning's log-likelihood ratio for a 2x2 contingency table, as
// Mahout computes it; it is 0 when the pair co-occurs no more than chance.
func llr(k11, k12, k21, k22 float64) float64 {
	if k22 < 0 {
		k22 = 0
	}
	rowE := entropy2(k11+k12, k21+k22)
	colE := entropy2(k11+k21, k12+k22)
	matE := entropy4(k11, k12, k21, k22)
	if rowE+colE < matE {
		return 0
	}
	// Only positive association is a recommendation.
	if k11*(k11+k12+k21+k22) < (k11+k12)*(k11+k21) {
		return 0
	}
	return 2 * (rowE + colE - matE)
}

func xlogx(x float64) float64 {
	if x <= 0 {
		return 0
	}
	return x * math.Log(x)
}

func entropy2(a, b float64) float64 { return xlogx(a+b) - xlogx(a) - xlogx(b) }

func entropy4(a, b, c, d float64) float64 {
	return xlogx(a+b+c+d) - xlogx(a) - xlogx(b) - xlogx(c) - xlogx(d)
}

// TopK is a min-heap on Score bounded by k, keeping the k best of a stream
// (ties: the lower product id wins). Not safe for concurrent use.
type TopK []Neighbour

func less(a, b Neighbour) bool {
	if a.Score != b.Score {
		return a.Score < b.Score
	}
	return a.Product > b.Product
}

// Push offers n, keeping at most the k best seen.
func (h *TopK) Push(n Neighbour, k int) {
	s := *h
	if len(s) < k {
		s = append(s, n)
		i := len(s) - 1
		for i > 0 {
			p := (i - 1) / 2
			if !less(s[i], s[p]) {
				break
			}
			s[i], s[p] = s[p], s[i]
			i = p
		}
		*h = s
		return
	}
	if !less(s[0], n) {
		return
	}
	s[0] = n
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(s) && less(s[l], s[m]) {
			m = l
		}
		if r < len(s) && less(s[r], s[m]) {
			m = r
		}
		if m == i {
			break
		}
		s[i], s[m] = s[m], s[i]
		i = m
	}
}

// popularOf lists the products with a positive count, most first (ties:
// the lower product id).
func popularOf(counts []uint32) []Neighbour {
	k := 0
	for _, n := range counts {
		if n > 0 {
			k++
		}
	}
	pop := make([]Neighbour, 0, k) // cached lists keep no slack
	for p, n := range counts {
		if n > 0 {
			pop = append(pop, Neighbour{Product: uint32(p), Score: float32(n)})
		}
	}
	return TopK(pop).Sorted()
}

// Sorted orders the kept items best first, in place, and returns them.
func (h TopK) Sorted() []Neighbour {
	sort.Slice(h, func(i, j int) bool { return less(h[j], h[i]) })
	return h
}

// buildModel derives a new Model from x. With dirty nil every list is
// recomputed; otherwise only dirty products' lists, the rest shared with prev.
// keepDense keeps prev's dense (EASE) lists as they are instead of solving
// again (see Store.refresh).
// It takes x.mu for reading in short sections, so writers are not blocked
// for the whole build.
// workers is how many goroutines count lists at once (buildWorkers).
func buildModel(x *index, prev *Model, dirty *roaring.Bitmap, nprod int, o NeighbourOptions, keepDense bool, workers int) *Model {
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
				make([][]Neighbour, max(0, nprod-len(prev.Neighbours[b])))...)
			m.dense[b] = true
			continue
		}
		if o.Similarity == SimEASE {
			if lists, ok := easeLists(x, b, m.Support[b], nprod, o, workers); ok {
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
		lists := make([][]Neighbour, nprod)
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
			m.Neighbours[b] = lists
			continue
		}
		countLists(x, b, todo, full, lists, m.Support[b], m.Customers[b], nprod, o, workers)
		m.Neighbours[b] = lists
	}
	m.Built = time.Now()
	m.BuildDuration = time.Since(start)
	return m
}

// countLists fills lists[p] for every p in todo by counting co-occurrences
// through the customers' histories and scoring them with o.Similarity
// (every customer's list is computed when full), with workers goroutines.
func countLists(x *index, b Basis, todo []uint32, full bool, lists [][]Neighbour, support []uint32, customers, nprod int, o NeighbourOptions, workers int) {
	cl := buildCustLists(x, b, todo, full, nprod, o, workers)
	sc := newScoring(o, support, customers)
	var wg sync.WaitGroup
	var next int64
	var mu sync.Mutex
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bd := newBuilder(nprod)
			for {
				mu.Lock()
				i := next
				next += 64
				mu.Unlock()
				if int(i) >= len(todo) {
					return
				}
				end := min(int(i)+64, len(todo))
				for _, p := range todo[i:end] {
					if int(p) < nprod {
						lists[p] = bd.neighbours(x, b, p, sc, cl, o)
					}
				}
			}
		}()
	}
	wg.Wait()
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

// finishModel fills m's supports, customer counts and popularity from x and
// returns the product count it used. It counts from the customers'
// histories (countCustomers), which hold exactly the pairs the product
// bitmaps do: one pass over the events instead of OR-ing every product's
// bitmaps (3 s of a 17 s restart at 10M events).
func finishModel(x *index, m *Model, nprod int) int {
	x.mu.RLock()
	if n := len(x.prodCust[0]); n > nprod {
		nprod = n
	}
	x.mu.RUnlock()
	sup, customers := countCustomers(x, nprod, 0, [NumBases]bool{BasisBought: true, BasisViewed: true, BasisAny: true})
	for b := Basis(0); b < NumBases; b++ {
		m.Support[b] = sup[b]
		m.Customers[b] = customers[b]
		m.Popular[b] = popularOf(sup[b])
		if len(m.Neighbours[b]) < nprod {
			l := make([][]Neighbour, nprod)
			copy(l, m.Neighbours[b])
			m.Neighbours[b] = l
		}
	}
	return nprod
}

// countCustomers counts, for each basis in want, every product's distinct
// customers among the events at or after since (unix seconds), and the
// customers with any such event. It holds x.mu for reading one slice of
// customers at a time (see neighbours for why), so the counts of different
// slices may be a few events apart, as those of a partial refresh are.
func countCustomers(x *index, nprod int, since int64, want [NumBases]bool) (sup [NumBases][]uint32, customers [NumBases]int) {
	var seen [NumBases][]uint32
	for b := range sup {
		if want[b] {
			sup[b] = make([]uint32, nprod)
			// seen[b][p] is 1 + the last customer counted for p, so a
			// product the customer has several events for counts once.
			seen[b] = make([]uint32, nprod)
		}
	}
	x.mu.RLock()
	ncust := len(x.hist)
	x.mu.RUnlock()
	const slice = lockSpan
	for lo := 0; lo < ncust; lo += slice {
		x.mu.RLock()
		for c := lo; c < min(lo+slice, len(x.hist)); c++ {
			mark := uint32(c) + 1
			var has [NumBases]bool
			for _, in := range x.hist[c] {
				p := in.Product
				if int(p) >= nprod || int64(in.TS) < since {
					continue
				}
				for b := Basis(0); b < NumBases; b++ {
					if want[b] && b.has(in.Class) && seen[b][p] != mark {
						seen[b][p] = mark
						sup[b][p]++
						has[b] = true
					}
				}
			}
			for b, ok := range has {
				if ok {
					customers[b]++
				}
			}
		}
		x.mu.RUnlock()
	}
	return sup, customers
}
