package recommend

import (
	"slices"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/similarity"
)

// Explain is why an item is in a list (explain=true): its score parts.
// They are the evidence, not a sum: a personal score also carries the
// tuned popularity prior, and a popular top-up is scaled below the
// personal items.
type Explain struct {
	// Base is the item's score before merchandising rules.
	Base float64 `json:"base"`
	// Because are the products that scored it, strongest first (at most
	// maxBecause): the customer's history items, the context products, or
	// the product a related list is about, each with what it added
	// (affinity x association; for related, the association).
	Because []Contribution `json:"because,omitempty"`
	// Segments are the customer's segments that buy this product more than
	// everyone else (its lift in them), which a thin history blends in.
	Segments []string `json:"segments,omitempty"`
	// Popularity is how many customers interacted with the product.
	Popularity uint32 `json:"popularity"`
	// Rules are the merchandising rules that moved it, in order applied.
	Rules []RuleEffect `json:"rules,omitempty"`
}

// Contribution is one product's part in an item's score.
type Contribution struct {
	ProductID string  `json:"product_id"`
	Score     float64 `json:"score"`
	// Context says the product was a context product, not history.
	Context bool `json:"context,omitempty"`
}

// RuleEffect is one merchandising rule applied to an item.
type RuleEffect struct {
	Rule   string `json:"rule"`
	Action string `json:"action"`
}

// maxBecause bounds an explanation's contributions; segmentLiftDepth how
// deep in a segment's lift list a product counts as one it buys.
const (
	maxBecause       = 3
	segmentLiftDepth = 100
)

// explainer holds what explaining one request's items needs, computed
// once: the sources of its scores (affinity per history or context
// product) and the customer's segments.
type explainer struct {
	e       *Engine
	m       *features.Model
	basis   features.Basis
	sources []similarity.Neighbour
	ctx     map[uint32]bool
	segs    []string
}

func (e *Engine) newExplainer(r Request) *explainer {
	x := &explainer{e: e, m: e.src.Model(), basis: e.opts.Basis, ctx: map[uint32]bool{}}
	if p, ok := e.src.ProductID(r.ProductID); ok && r.ProductID != "" {
		// A related list: the product it is about, at full weight.
		x.basis = r.Basis
		x.sources = []similarity.Neighbour{{Product: p, Score: 1}}
		return x
	}
	c, known := e.src.CustomerID(r.CustomerID)
	var hist []features.Interaction
	if known && r.CustomerID != "" {
		hist = e.src.HistoryView(c)
		if e.segs != nil {
			x.segs = e.segs.SegmentsOf(c)
		}
	}
	kn := e.personalKnobs(x.m, r.Params)
	x.sources = e.affinity(hist, kn.halfLife, kn.repeat)
	var ctx []uint32
	for _, id := range append([]string{r.ContextProduct}, r.Merch.ContextProducts...) {
		if p, ok := e.src.ProductID(id); ok && id != "" {
			ctx = append(ctx, p)
			x.ctx[p] = true
		}
	}
	x.sources = withContext(x.sources, ctx)
	return x
}

func (x *explainer) item(it merchItem) *Explain {
	ex := &Explain{Base: it.base, Rules: it.moved}
	if sup := x.m.Support[features.BasisAny]; int(it.p) < len(sup) {
		ex.Popularity = sup[it.p]
	}
	var parts []similarity.Neighbour
	for _, s := range x.sources {
		for _, n := range x.m.NeighboursOf(x.basis, s.Product) {
			if n.Product == it.p {
				parts = append(parts, similarity.Neighbour{Product: s.Product, Score: s.Score * n.Score})
				break
			}
		}
	}
	slices.SortFunc(parts, func(a, b similarity.Neighbour) int {
		if a.Score > b.Score {
			return -1
		}
		if a.Score < b.Score {
			return 1
		}
		return int(a.Product) - int(b.Product)
	})
	parts = parts[:min(len(parts), maxBecause)]
	ids := make([]uint32, len(parts))
	for i, p := range parts {
		ids[i] = p.Product
	}
	names := x.e.src.ProductNames(ids, nil)
	for i, p := range parts {
		ex.Because = append(ex.Because, Contribution{ProductID: names[i], Score: round6(float64(p.Score)), Context: x.ctx[p.Product]})
	}
	ex.Segments = x.segmentsOf(it.p)
	return ex
}

// segmentsOf are the customer's segments whose top lift products hold p.
func (x *explainer) segmentsOf(p uint32) []string {
	var out []string
	for _, name := range x.segs {
		sp, err := x.e.segs.SegmentProducts(name)
		if err != nil {
			continue
		}
		lift := sp.Lift[:min(len(sp.Lift), segmentLiftDepth)]
		if slices.ContainsFunc(lift, func(n similarity.Neighbour) bool { return n.Product == p }) {
			out = append(out, name)
		}
	}
	return out
}
