package recommend

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"github.com/affinity-rec/affinity/features/similarity"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend/merch"
)

// Options configure an Engine.
type Options struct {
	// HalfLife is the time decay of a customer's affinity: an event this old
	// counts half as much as one now (SAR's T).
	HalfLife time.Duration
	// MaxLimit caps any list's length.
	MaxLimit int
	// DefaultLimit is the length when a request does not say.
	DefaultLimit int
	// HistoryCap is how many of a customer's most recent events are scored.
	HistoryCap int
	// Basis is the association basis of personal recommendations.
	Basis features.Basis
	// CacheEntries bounds the personal-list cache (0: no cache); see cache.go.
	CacheEntries int
	// UseTuning takes the half-life and the repeat rule from the model's
	// self-tuning (features.Model.Tuned) when it has one, instead of
	// HalfLife and plain sums. A configured half-life turns it off.
	UseTuning bool
	// ScatterBudget bounds the neighbour pairs a personal list adds up
	// (0: no bound, every history product's whole list). A customer whose
	// lists hold more gets a prefix of each, long in proportion to their
	// affinity to the product (budget.go): their request costs a bounded
	// time, and the measured quality did not move (docs/evaluation.md).
	ScatterBudget int
}

// DefaultOptions returns the defaults the evaluation supports (docs/evaluation.md).
// The 30-day half-life (SAR's) is the best measured on the Online Retail
// temporal split, where the future is predicted as in production; longer
// ones only win on MovieLens' random split, which cannot reward recency.
func DefaultOptions() Options {
	return Options{HalfLife: 30 * 24 * time.Hour, MaxLimit: 100, DefaultLimit: 10, HistoryCap: 500, Basis: features.BasisAny, CacheEntries: 100000, UseTuning: true, ScatterBudget: defaultScatterBudget}
}

// Validate reports whether o is usable. It only reads o: there are no
// defaults to fill in (DefaultOptions is the starting point).
func (o Options) Validate() error {
	if o.HalfLife < 0 {
		return fmt.Errorf("%w: negative half-life", ErrBadRequest)
	}
	if o.MaxLimit < 1 || o.DefaultLimit < 1 || o.DefaultLimit > o.MaxLimit {
		return fmt.Errorf("%w: limits must satisfy 1 <= default <= max", ErrBadRequest)
	}
	if o.HistoryCap < 1 {
		return fmt.Errorf("%w: HistoryCap must be >= 1", ErrBadRequest)
	}
	if o.ScatterBudget < 0 {
		return fmt.Errorf("%w: ScatterBudget must be >= 0", ErrBadRequest)
	}
	return nil
}

// Deps are what an Engine ranks from. Source is required; the others are
// capabilities a source may lack, asked for here rather than discovered by
// type assertion: nil means not available (no segments: segment lists are
// a 400 and personal lists blend nothing; no values: potential value uses
// catalogue prices and popularity alone).
type Deps struct {
	Source   Source
	Segments SegmentSource
	Values   ValueSource
	// Audience (nil: audiences are a 400) is what audience.go reads.
	Audience AudienceSource
	// Rules are the merchandising rules a request may name (merch.go);
	// nil: none.
	Rules *merch.Rules
}

// StoreDeps are the Deps of a feature store and the customer-value service
// that follows it (segments, purchase values); c nil: neither capability.
func StoreDeps(st *features.Store, c *crm.Service) Deps {
	d := Deps{Source: st, Audience: st, Rules: merch.New(st.Records(), st)}
	if c != nil {
		d.Segments, d.Values = c, c
	}
	return d
}

// defaultDenseScatter: scatter adds blindly when the catalogue has at most
// this many products per neighbour entry to add (see scatter).
const defaultDenseScatter = 2

// Engine serves recommendations from a Source. Safe for concurrent use.
type Engine struct {
	src     Source
	segs    SegmentSource  // nil: no segments
	values  ValueSource    // nil: no purchase values
	aud     AudienceSource // nil: no audiences
	rules   *merch.Rules   // nil: no merchandising rules
	opts    Options
	scratch sync.Pool
	idPre   string
	idSeq   atomic.Uint64
	cache   *personalCache
	excl    *exclusionCache
	// denseScatter is scatter's switch-over ratio, a field so that a test
	// can take each way on its own engine (defaultDenseScatter otherwise).
	denseScatter int
}

// New returns an Engine over d.
func New(d Deps, o Options) (*Engine, error) {
	if d.Source == nil {
		return nil, fmt.Errorf("%w: an engine needs a Source", ErrBadRequest)
	}
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	e := &Engine{src: d.Source, segs: d.Segments, values: d.Values, aud: d.Audience, rules: d.Rules, opts: o, idPre: hex.EncodeToString(b[:]), denseScatter: defaultDenseScatter}
	if o.CacheEntries > 0 {
		e.cache = newPersonalCache(o.CacheEntries)
	}
	e.excl = newExclusionCache(exclCacheEntries)
	return e, nil
}

// Source returns the engine's source.
func (e *Engine) Source() Source { return e.src }

// Rules returns the engine's merchandising rules (nil: none).
func (e *Engine) Rules() *merch.Rules { return e.rules }

// Options returns the engine's options.
func (e *Engine) Options() Options { return e.opts }

// Request asks for one list. Zero values mean defaults.
type Request struct {
	CustomerID     string
	ProductID      string
	Limit          int
	Filter         features.Filter
	Basis          features.Basis
	ContextProduct string
	// IncludeSeen keeps products the customer viewed or carted (bought ones
	// are always removed).
	IncludeSeen bool
	// Window restricts popularity to events this recent (0: all time).
	Window time.Duration
	// Params override ranking knobs, e.g. from an experiment variant:
	// "algorithm" (personal, popular), "half_life_days", "limit", "rebuy"
	// (personal keeps what the customer has, weighted by this).
	Params map[string]any
	// Merch are the merchandising controls of the request (merch.go).
	Merch Merch
	// depth, when set, is how many candidates to rank instead of the
	// limit: merchandising re-ranks and trims them (merch.go).
	depth int
}

// Item is one recommended product.
type Item struct {
	ProductID string  `json:"product_id"`
	Score     float64 `json:"score"`
}

// List is a ranked answer.
type List struct {
	Items     []Item
	Algorithm string
	// Explains are the items' explanations, in order, when the request
	// asked (explain.go); nil otherwise. A slice beside Items, not a field
	// of Item, so that the lists nobody asks to explain do not carry it.
	Explains []*Explain
}

// NewRecommendationID returns a unique id for one served list, for
// attribution of later clicks and purchases: a per-process random prefix and
// a counter, so it costs no syscall per request.
func (e *Engine) NewRecommendationID() string {
	n := e.idSeq.Add(1)
	return "r" + e.idPre + strconv.FormatUint(n, 36)
}

// limit is the list length r asks for (a variant's "limit" first), within
// the engine's bounds.
func (e *Engine) limit(r *Request) int {
	if r.depth > 0 {
		return r.depth
	}
	l := r.Limit
	if v, ok := r.Params["limit"]; ok {
		if f, ok := ParamFloat(v); ok && f >= 1 {
			l = int(f)
		}
	}
	if l <= 0 {
		l = e.opts.DefaultLimit
	}
	return min(l, e.opts.MaxLimit)
}

// scored is a candidate and its score; similarity.TopK keeps the best k.

// toList names the items' products and rounds their scores.
func (e *Engine) toList(sc *scratch, items []similarity.Neighbour, algo string) List {
	sc.ids = sc.ids[:0]
	for _, it := range items {
		sc.ids = append(sc.ids, it.Product)
	}
	names := e.src.ProductNames(sc.ids, make([]string, 0, len(items)))
	out := List{Items: make([]Item, len(items)), Algorithm: algo}
	for i, it := range items {
		out.Items[i] = Item{ProductID: names[i], Score: round6(float64(it.Score))}
	}
	return out
}

func round6(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*1e6) / 1e6
}
