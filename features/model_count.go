package features

import (
	"math"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/affinity-rec/affinity/features/similarity"
)

// builder computes neighbour lists by counting through customers' histories
// (a dense counter per product), which DESIGN measured ~40x faster than
// AND-cardinality over all pairs. Not safe for concurrent use: one per worker.
type builder struct {
	cnt     []float32
	mark    []uint32
	stamp   uint32
	touched []uint32
	seen    []uint32
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
		return similarity.RP3UserWeight(n, o.UserExp)
	case o.Similarity == SimIDFCosine:
		return similarity.IDFWeight(n)
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
		if !Class(c).positive() {
			continue // dislikes and returns are not associations
		}
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

// neighbours computes product p's list from its customers custs (copied
// out of the index under x.mu by the build's feeder, custFeed: counting a
// popular product's co-occurrences takes milliseconds, and a read lock held
// that long stalls the writer, and behind the writer every request, since
// sync.RWMutex queues new readers behind a waiting writer; a niced worker
// holding it could wait long for the CPU besides). It reads the history of
// a customer missing from cl without the lock (historyView).
// cl holds customers' distinct recent products, computed once per build
// (a customer appears in the customer sets of many products).
func (bd *builder) neighbours(x *index, b Basis, p uint32, custs []uint32, sc *scoring, cl *custLists, o NeighbourOptions) []similarity.Neighbour {
	if len(custs) == 0 {
		return nil
	}
	bd.touched = bd.touched[:0]
	for _, c := range custs {
		list, ok := cl.get(c)
		if !ok {
			// A customer who arrived after the lists were computed.
			// Its history is read outside the lock (see fill).
			h := x.historyView(c)
			if len(h) == 0 {
				continue
			}
			bd.recentDistinct(h, b, o.MaxHistory)
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
	out := make([]similarity.Neighbour, 0, min(o.K, len(bd.touched)))
	h := similarity.TopK(out)
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
		h.Push(similarity.Neighbour{Product: j, Score: float32(s)}, o.K)
	}
	return h.Sorted()
}

// scoring turns counts into similarities, with cosine's and RP3's
// per-product powers computed once per build (similarity.Norms).
type scoring struct {
	o     NeighbourOptions
	sup   []uint32
	n     float64
	norms similarity.Norms
}

func newScoring(o NeighbourOptions, sup []uint32, n int) *scoring {
	sc := &scoring{o: o, sup: sup, n: float64(n)}
	switch o.Similarity {
	case SimCosine, SimIDFCosine:
		sc.norms = similarity.CosineNorms(sup, o.Alpha)
	case SimRP3:
		sc.norms = similarity.RP3Norms(sup, o.Beta)
	}
	return sc
}

func (sc *scoring) score(cij float64, i, j uint32) float64 {
	if sc.norms.A != nil {
		return sc.norms.Score(cij, i, j)
	}
	return pairScore(sc.o, cij, float64(sc.sup[i]), float64(sc.sup[j]), sc.n)
}

// pairScore scores a pair with o.Similarity from co-occurrence cij, the two
// supports and the number of customers n.
func pairScore(o NeighbourOptions, cij, cii, cjj, n float64) float64 {
	switch o.Similarity {
	case SimCooccurrence:
		return cij
	case SimJaccard:
		return similarity.Jaccard(cij, cii, cjj)
	case SimLift:
		return similarity.Lift(cij, cii, cjj, n)
	case SimCosine, SimIDFCosine:
		return similarity.Cosine(cij, cii, cjj, o.Alpha)
	case SimRP3:
		return similarity.RP3(cij, cii, cjj, o.Beta)
	case SimLLR:
		return similarity.LLR(cij, cii, cjj, n)
	}
	return 0
}
