package recommend

import (
	"context"
	"fmt"
	"github.com/affinity-rec/affinity/features/similarity"

	"github.com/affinity-rec/affinity/features"
)

// relatedAlgos holds each similarity's algorithm name, so that a related
// request does not build the string.
var relatedAlgos = func() map[features.Similarity]string {
	m := make(map[features.Similarity]string, len(features.ValidSimilarities))
	for _, s := range features.ValidSimilarities {
		m[s] = "related-" + string(s)
	}
	return m
}()

func relatedAlgo(s features.Similarity) string {
	if a, ok := relatedAlgos[s]; ok {
		return a
	}
	return "related-" + string(s)
}

// Related returns products associated with r.ProductID (customers who
// bought/viewed it also bought/viewed), filtered; when it has no
// associations, its category's popular products; with r.CustomerID, what
// that customer bought is left out.
func (e *Engine) Related(ctx context.Context, r Request) (List, error) {
	p, ok := e.src.ProductID(r.ProductID)
	if !ok {
		return List{}, fmt.Errorf("%w %q", ErrUnknownProduct, r.ProductID)
	}
	if l, ok, err := e.variantList(ctx, r, "related"); ok {
		return l, err
	}
	m := e.src.Model()
	cat := e.src.Catalog()
	match := cat.Compile(r.Filter)
	k := e.limit(&r)
	sc := e.getScratch(len(m.Support[0]) + 1)
	defer e.putScratch(sc)
	e.excludeCustomer(sc, r.CustomerID, r.IncludeSeen)
	e.markOne(sc, p)
	items := e.neighboursInto(sc, m.NeighboursOf(r.Basis, p), match, k)
	if len(items) > 0 {
		return e.toList(sc, items, relatedAlgo(m.Options.Similarity)), nil
	}
	// No associations: the product's category's best sellers.
	if pr := cat.Product(p); pr != nil && pr.Category != "" {
		f := r.Filter
		if f.Category == "" {
			f.Category = pr.Category
			items = e.popularInto(sc, m.Popular[features.BasisAny], cat.Compile(f), k)
			if len(items) > 0 {
				return e.toList(sc, items, "category-popular"), nil
			}
		}
	}
	items = e.popularInto(sc, m.Popular[features.BasisAny], match, k)
	return e.toList(sc, items, "popular"), nil
}

// neighboursInto is the first k positive neighbours passing match and not
// excluded in sc, in sc.items' room.
func (e *Engine) neighboursInto(sc *scratch, ns []similarity.Neighbour, match *features.Matcher, k int) []similarity.Neighbour {
	items := sc.items[:0]
	for _, n := range ns {
		if n.Score <= 0 {
			// Lists are best first; EASE ends them with negative weights,
			// products that go with p less than chance: not related.
			break
		}
		if sc.excluded(n.Product) || !match.Allows(n.Product) {
			continue
		}
		items = append(items, similarity.Neighbour{Product: n.Product, Score: n.Score})
		if len(items) == k {
			break
		}
	}
	sc.items = items // its room, for the next request
	return items
}
