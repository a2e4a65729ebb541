package crm

import (
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/similarity"
)

// Product-to-customer associations (PTC): what a segment buys more than
// everyone else.

// SegmentProducts is what a segment's members buy. Immutable; safe for
// concurrent use.
type SegmentProducts struct {
	// Members is the segment's size; Buyers how many of them bought.
	Members, Buyers int
	// Lift is every product the segment buys more than all buyers do,
	// scored by smoothed lift, best first.
	Lift []similarity.Neighbour
	// Popular is every product the segment's members bought, by how many
	// members bought it, most first.
	Popular []similarity.Neighbour
	Built   time.Time
}

// ptcPrior is the pseudo-count that shrinks a segment's lift towards 1:
// lift = (c + k)/(E + k), with E the count expected if the segment bought
// like everyone. A product bought by one member where 0.1 were expected
// scores 1.18, not 10; one bought by 10 where 1.2 were expected scores 2.4.
const ptcPrior = 5.0

// ptcTTL is how long a computed SegmentProducts serves while the segment's
// membership keeps changing.
const ptcTTL = 10 * time.Second

// ptcCache memoises SegmentProducts per segment. Safe for concurrent use.
type ptcCache struct {
	mu      sync.Mutex
	entries map[string]ptcEntry
}

type ptcEntry struct {
	def     *segmentDef
	members *roaring.Bitmap
	at      time.Time
	sp      *SegmentProducts
	// model and seq are the store's model and index sequence it was
	// computed from (checked in cluster mode only: exactCache).
	model *features.Model
	seq   uint64
}

// tickStore is what a store in cluster mode adds (features.Store).
type tickStore interface {
	StreamTicks() bool
	IndexSeq() uint64
}

// exactCache says whether a cached aggregate may serve only the state it
// was computed from (cluster mode: nodes that applied the same sequence
// must answer alike, so "10 seconds stale" is not allowed), and that
// state's index sequence.
func (s *Service) exactCache() (bool, uint64) {
	if ts, ok := s.st.(tickStore); ok && ts.StreamTicks() {
		return true, ts.IndexSeq()
	}
	return false, 0
}

func (c *ptcCache) clear() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}

func (c *ptcCache) drop(name string) {
	c.mu.Lock()
	delete(c.entries, name)
	c.mu.Unlock()
}

// SegmentProducts returns what segment name buys (cached: recomputed when
// the segment is redefined, or when its membership changed and the last
// computation is older than 10 seconds). ErrNotFound for an unknown
// segment.
//
// Smoothed lift of product p for segment S, over customers who bought
// anything: with c the members who bought p, E = |S|·buyers(p)/N the count
// expected if the segment bought like everyone, lift = (c + 5)/(E + 5) (a
// Poisson-style shrinkage towards 1, so tiny counts do not dominate). Only
// lift > 1, bought more than everyone else, is kept.
func (s *Service) SegmentProducts(name string) (*SegmentProducts, error) {
	set := s.segs.Load()
	i, ok := set.find(name)
	if !ok {
		return nil, features.Unknown("segment", name)
	}
	g := set.list[i]
	pc := &s.ptc
	pc.mu.Lock()
	e, hit := pc.entries[name]
	pc.mu.Unlock()
	exact, seq := s.exactCache()
	m := s.st.Model()
	if hit && e.def == g.def && (exact && e.members == g.members && e.model == m && e.seq == seq ||
		!exact && (e.members == g.members || time.Since(e.at) < ptcTTL)) {
		return e.sp, nil
	}
	sp := s.computeSegmentProducts(g.members)
	if exact {
		if _, now := s.exactCache(); now != seq || s.st.Model() != m {
			return sp, nil // the state moved while counting: not cached
		}
	}
	pc.mu.Lock()
	if pc.entries == nil {
		pc.entries = map[string]ptcEntry{}
	}
	pc.entries[name] = ptcEntry{def: g.def, members: g.members, at: time.Now(), sp: sp, model: m, seq: seq}
	pc.mu.Unlock()
	return sp, nil
}

// computeSegmentProducts counts, per product, the members who bought it by
// walking the members' histories (a dense counter: far cheaper than one
// bitmap intersection per product).
func (s *Service) computeSegmentProducts(members *roaring.Bitmap) *SegmentProducts {
	m := s.st.Model()
	sup := m.Support[features.BasisBought]
	nAll := float64(m.Customers[features.BasisBought])
	sp := &SegmentProducts{Members: int(members.GetCardinality()), Built: time.Now()}
	np := s.st.NumProducts()
	counts := make([]uint32, np)
	mark := make([]uint32, np)
	var touched []uint32
	it := members.Iterator()
	for it.HasNext() {
		c := it.Next()
		stamp := c + 1
		bought := false
		for _, in := range s.st.HistoryView(c) {
			if in.Class != features.ClassBought || int(in.Product) >= np {
				continue
			}
			bought = true
			if mark[in.Product] != stamp {
				if counts[in.Product] == 0 {
					touched = append(touched, in.Product)
				}
				mark[in.Product] = stamp
				counts[in.Product]++
			}
		}
		if bought {
			sp.Buyers++
		}
	}
	nAll = max(nAll, float64(sp.Buyers))
	for _, p := range touched {
		n := counts[p]
		sp.Popular = append(sp.Popular, similarity.Neighbour{Product: p, Score: float32(n)})
		all := float64(n)
		if int(p) < len(sup) {
			all = max(all, float64(sup[p]))
		}
		if nAll == 0 {
			continue
		}
		expected := float64(sp.Buyers) * all / nAll
		if lift := (float64(n) + ptcPrior) / (expected + ptcPrior); lift > 1 {
			sp.Lift = append(sp.Lift, similarity.Neighbour{Product: p, Score: float32(lift)})
		}
	}
	similarity.TopK(sp.Popular).Sorted()
	similarity.TopK(sp.Lift).Sorted()
	return sp
}
