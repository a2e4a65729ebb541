package recommend

import (
	"errors"
	"fmt"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/merch"
)

// Merchandising rules on audiences (rules= on /v1/products/{id}/customers
// and /v1/offers/{id}/audience). A rule selects products, and an audience
// is made from products: the targets (the product, or an offer's products
// and category best sellers) and the history products whose association
// with them scores a customer. So a rule applies to those products:
//   - filter: a matching product is not used, neither as a target nor as
//     evidence (a product audience of a filtered product is empty: the rule
//     says not to promote it);
//   - boost and bury: a matching target's associations, and a matching
//     history product's part of a score, count 1 + weight times more (or
//     less), so an offer's audience leans to the products promoted;
//   - pin puts a product at a position of a product list; an audience has
//     no such list, so naming a pin rule is a 400 naming rules.
// docs/merchandising.md has examples.

// audienceRules are a request's rules resolved against the catalogue.
type audienceRules struct {
	filter *roaring.Bitmap // products not used
	moves  []audienceMove  // boosts and buries
}

type audienceMove struct {
	hits   *roaring.Bitmap
	factor float32
}

// resolveAudienceRules compiles the named rules; nil when there are none.
func (e *Engine) resolveAudienceRules(names []string) (*audienceRules, error) {
	if len(names) == 0 {
		return nil, nil
	}
	if e.rules == nil {
		return nil, &features.FieldError{Field: "rules", Msg: "cannot be used: this server has no merchandising rules"}
	}
	cat := e.src.Catalog()
	ar := &audienceRules{filter: roaring.New()}
	for _, name := range names {
		c, err := e.rules.Compiled(name)
		if errors.Is(err, features.ErrNotFound) {
			return nil, &features.FieldError{Field: "rules", Msg: fmt.Sprintf("names unknown rule %q", name)}
		}
		if err != nil {
			return nil, err
		}
		hits := c.Matches(cat, e.productCount(cat), func() []string { return e.allNames(cat) })
		switch c.Action {
		case merch.Filter:
			ar.filter.Or(hits)
		case merch.Boost:
			ar.moves = append(ar.moves, audienceMove{hits: hits, factor: float32(1 + c.Weight)})
		case merch.Bury:
			ar.moves = append(ar.moves, audienceMove{hits: hits, factor: float32(1 / (1 + c.Weight))})
		default:
			return nil, &features.FieldError{Field: "rules", Msg: fmt.Sprintf("names rule %q, which pins a product to a position in a list of products; an audience lists customers, so only filter, boost and bury rules apply", name)}
		}
	}
	return ar, nil
}

// skip says p is not to be used.
func (ar *audienceRules) skip(p uint32) bool { return ar != nil && ar.filter.Contains(p) }

// factor is how much more p counts (1: as much).
func (ar *audienceRules) factor(p uint32) float32 {
	f := float32(1)
	if ar == nil {
		return f
	}
	for _, m := range ar.moves {
		if m.hits.Contains(p) {
			f *= m.factor
		}
	}
	return f
}

// targets returns ts without the filtered products.
func (ar *audienceRules) targets(ts []uint32) []uint32 {
	if ar == nil || ar.filter.IsEmpty() {
		return ts
	}
	out := make([]uint32, 0, len(ts))
	for _, t := range ts {
		if !ar.skip(t) {
			out = append(out, t)
		}
	}
	return out
}
