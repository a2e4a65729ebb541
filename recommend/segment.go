package recommend

import (
	"context"
	"fmt"
	"github.com/RoaringBitmap/roaring/v2"
	"slices"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/features/similarity"
)

// SegmentSource is what segment-aware ranking needs beyond Source.
// Implementations must be safe for concurrent use; *crm.Service is one.
// An Engine without one (Deps.Segments nil) simply has no segments.
type SegmentSource interface {
	// SegmentsOf returns the names of customer c's segments, sorted.
	SegmentsOf(c uint32) []string
	// SegmentProducts returns what a segment buys; an error wrapping
	// features.ErrNotFound for an unknown segment.
	SegmentProducts(name string) (*crm.SegmentProducts, error)
	// SegmentMembers returns a segment's members (shared: not to be
	// changed); an error wrapping features.ErrNotFound for an unknown one.
	SegmentMembers(name string) (*roaring.Bitmap, error)
}

var _ SegmentSource = (*crm.Service)(nil)

const (
	// thinHistory is the number of distinct products below which a
	// customer's history is thin: their segments' products are blended in.
	thinHistory = 5
	// maxBlendSegments caps how many of a customer's segments are blended.
	maxBlendSegments = 3
)

func (e *Engine) segmentSource() (SegmentSource, error) {
	if e.segs == nil {
		return nil, fmt.Errorf("%w: this store has no segments", ErrBadRequest)
	}
	return e.segs, nil
}

// SegmentProducts answers product-to-customer associations (PTC): the
// products segment buys more than everyone else, by smoothed lift,
// filtered; with r.CustomerID, minus what that customer bought.
func (e *Engine) SegmentProducts(ctx context.Context, r Request, segment string) (List, error) {
	return e.segmentList(r, segment, "segment-lift", func(sp *crm.SegmentProducts) []similarity.Neighbour { return sp.Lift })
}

// SegmentPopular answers popular?segment=: the products most of the
// segment's members bought, filtered; with r.CustomerID, minus what that
// customer bought.
func (e *Engine) SegmentPopular(ctx context.Context, r Request, segment string) (List, error) {
	if r.Window > 0 {
		return List{}, &features.FieldError{Field: "window", Msg: "cannot be combined with segment (segment popularity is over all time)"}
	}
	return e.segmentList(r, segment, "segment-popular", func(sp *crm.SegmentProducts) []similarity.Neighbour { return sp.Popular })
}

func (e *Engine) segmentList(r Request, segment, algo string, pick func(*crm.SegmentProducts) []similarity.Neighbour) (List, error) {
	ss, err := e.segmentSource()
	if err != nil {
		return List{}, err
	}
	sp, err := ss.SegmentProducts(segment)
	if err != nil {
		return List{}, err
	}
	m := e.src.Model()
	k := e.limit(&r)
	sc := e.getScratch(max(len(m.Support[0]), e.src.Catalog().Len()) + 1)
	defer e.putScratch(sc)
	e.excludeCustomer(sc, r.CustomerID, true)
	items := e.popularInto(sc, pick(sp), e.src.Catalog().Compile(r.Filter), k)
	return e.toList(sc, items, algo), nil
}

// inSegments reports whether known customer c belongs to a segment: a
// customer with attributes and no events yet gets their segments' products
// (blendSegments) before the popular ones.
func (e *Engine) inSegments(c uint32, known bool) bool {
	return known && e.segs != nil && len(e.segs.SegmentsOf(c)) > 0
}

// thinCount is the number of distinct products in hist up to thinHistory,
// and thinHistory+1 for any more: a history is thin, and blended with its
// segments' products, at thinHistory or fewer.
func thinCount(hist []features.Interaction) int {
	var distinct [thinHistory]uint32
	h := 0
	for _, in := range hist {
		if slices.Contains(distinct[:h], in.Product) {
			continue
		}
		if h == thinHistory {
			return thinHistory + 1
		}
		distinct[h] = in.Product
		h++
	}
	return h
}

// blendSegments mixes the products of a thin-history customer's segments
// into their personal candidates. The fewer distinct products the customer
// has (h, thinCount of the history), the more the segments weigh: with h
// of thinHistory products, a
// segment product scores (1 - h/thinHistory) × the best personal score ×
// its lift relative to the segment's best, added to any personal score it
// already has. Excluded products and filtered ones stay out.
func (e *Engine) blendSegments(sc *scratch, h int, c uint32, known bool, items []similarity.Neighbour, match *features.Matcher, k int) []similarity.Neighbour {
	if !known || e.segs == nil || h > thinHistory {
		return items
	}
	segs := e.segs.SegmentsOf(c)
	if len(segs) == 0 {
		return items
	}
	top := float32(1)
	if len(items) > 0 && items[0].Score > 0 {
		top = items[0].Score
	}
	weight := (1 - float32(h)/thinHistory) * top
	out := append(make([]similarity.Neighbour, 0, len(items)+k), items...)
	pos := make(map[uint32]int, len(items)+k)
	for i, it := range out {
		pos[it.Product] = i
	}
	for _, name := range segs[:min(len(segs), maxBlendSegments)] {
		sp, err := e.segs.SegmentProducts(name)
		if err != nil || len(sp.Lift) == 0 {
			continue // deleted meanwhile, or nothing distinctive
		}
		best := sp.Lift[0].Score
		taken := 0
		for _, n := range sp.Lift {
			if taken == k {
				break
			}
			p := n.Product
			if sc.excluded(p) || !match.Allows(p) {
				continue
			}
			taken++
			add := weight * n.Score / best
			if i, ok := pos[p]; ok {
				out[i].Score += add
				continue
			}
			s := add
			if int(p) < len(sc.mark) && sc.mark[p] != markExcluded && sc.score[p] > 0 {
				s += sc.score[p] // a personal candidate outside the top k
			}
			pos[p] = len(out)
			out = append(out, similarity.Neighbour{Product: p, Score: s})
		}
	}
	out = similarity.TopK(out).Sorted()
	if len(out) > k {
		out = out[:k]
	}
	return out
}
