package recommend

import (
	"context"
	"github.com/affinity-rec/affinity/features/similarity"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// Popular returns the products with the most customers (in r.Window when
// set), filtered; with r.CustomerID, minus what they bought.
func (e *Engine) Popular(ctx context.Context, r Request) (List, error) {
	if l, ok, err := e.variantList(ctx, r, "popular"); ok {
		return l, err
	}
	m := e.src.Model()
	cat := e.src.Catalog()
	k := e.limit(&r)
	sc := e.getScratch(len(m.Support[0]) + 1)
	defer e.putScratch(sc)
	e.excludeCustomer(sc, r.CustomerID, true)
	pop := e.popularList(m, r.Window)
	items := e.popularFast(sc, pop, m, cat.Compile(r.Filter), k)
	algo := "popular"
	if r.Window > 0 {
		algo = "popular-window"
	}
	return e.toList(sc, items, algo), nil
}

// popularInto picks the k best products of pop passing match and not
// excluded in sc. A restrictive attribute filter is walked by its (small)
// candidate set instead of the whole popularity list.
func (e *Engine) popularInto(sc *scratch, pop []similarity.Neighbour, match *features.Matcher, k int) []similarity.Neighbour {
	if match.Empty() {
		return nil
	}
	if len(pop) == 0 {
		return e.catalogueInto(sc, e.src.Catalog(), match, k)
	}
	out := make([]similarity.Neighbour, 0, k)
	for _, n := range pop {
		if sc.excluded(n.Product) || !match.Allows(n.Product) {
			continue
		}
		out = append(out, similarity.Neighbour{Product: n.Product, Score: n.Score})
		if len(out) == k {
			break
		}
	}
	return out
}

// catalogueInto is the last fallback of a store that has products but no
// events yet (a catalogue loaded before traffic): the first k catalogue
// records passing match, in id order, with score 0. A list must not be empty
// while the catalogue has products.
func (e *Engine) catalogueInto(sc *scratch, cat *features.Catalog, match *features.Matcher, k int) []similarity.Neighbour {
	if match.Empty() {
		return nil
	}
	var out []similarity.Neighbour
	for p := 0; p < cat.Len() && len(out) < k; p++ {
		id := uint32(p)
		if cat.Product(id) == nil || !match.Allows(id) {
			continue
		}
		if sc.excluded(id) {
			continue
		}
		out = append(out, similarity.Neighbour{Product: id})
	}
	return out
}

// popularList is the popularity ranking over all time, or over window.
func (e *Engine) popularList(m *features.Model, window time.Duration) []similarity.Neighbour {
	if window > 0 {
		return e.src.PopularSince(e.src.Now().Add(-window), features.BasisAny)
	}
	return m.Popular[features.BasisAny]
}

// popularFast is popularInto, but when the filter's candidate set is much
// smaller than the popularity list it ranks the candidates directly.
func (e *Engine) popularFast(sc *scratch, pop []similarity.Neighbour, m *features.Model, match *features.Matcher, k int) []similarity.Neighbour {
	cands := match.Candidates()
	if cands == nil || cands.GetCardinality()*16 > uint64(len(pop)) {
		return e.popularInto(sc, pop, match, k)
	}
	sup := m.Support[features.BasisAny]
	h := sc.heap[:0]
	it := cands.Iterator()
	for it.HasNext() {
		p := it.Next()
		if int(p) >= len(sup) || sup[p] == 0 {
			continue
		}
		if sc.excluded(p) || !match.Allows(p) {
			continue
		}
		h.Push(similarity.Neighbour{Product: p, Score: float32(sup[p])}, k)
	}
	sc.heap = h
	return append([]similarity.Neighbour(nil), h.Sorted()...)
}
