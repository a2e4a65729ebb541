package recommend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/similarity"
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
}

// DefaultOptions returns the defaults the evaluation supports (docs/evaluation.md).
// The 30-day half-life (SAR's) is the best measured on the Online Retail
// temporal split, where the future is predicted as in production; longer
// ones only win on MovieLens' random split, which cannot reward recency.
func DefaultOptions() Options {
	return Options{HalfLife: 30 * 24 * time.Hour, MaxLimit: 100, DefaultLimit: 10, HistoryCap: 500, Basis: features.BasisAny, CacheEntries: 100000, UseTuning: true}
}

// Validate reports whether o is usable.
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
	return nil
}

// Engine serves recommendations from a Source. Safe for concurrent use.
type Engine struct {
	src     Source
	opts    Options
	scratch sync.Pool
	idPre   string
	idSeq   atomic.Uint64
	cache   *personalCache
}

// New returns an Engine over src.
func New(src Source, o Options) (*Engine, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	e := &Engine{src: src, opts: o, idPre: hex.EncodeToString(b[:])}
	if o.CacheEntries > 0 {
		e.cache = newPersonalCache(o.CacheEntries)
	}
	return e, nil
}

// Source returns the engine's source.
func (e *Engine) Source() Source { return e.src }

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
}

// NewRecommendationID returns a unique id for one served list, for
// attribution of later clicks and purchases: a per-process random prefix and
// a counter, so it costs no syscall per request.
func (e *Engine) NewRecommendationID() string {
	n := e.idSeq.Add(1)
	return "r" + e.idPre + strconv.FormatUint(n, 36)
}

func (e *Engine) limit(r *Request) int {
	l := r.Limit
	if v, ok := r.Params["limit"]; ok {
		if f, ok := toFloat(v); ok && f >= 1 {
			l = int(f)
		}
	}
	if l <= 0 {
		l = e.opts.DefaultLimit
	}
	return min(l, e.opts.MaxLimit)
}

func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int:
		return float64(x), true
	case string:
		f, err := strconv.ParseFloat(x, 64)
		return f, err == nil
	}
	return 0, false
}

func paramString(p map[string]any, k string) string {
	if s, ok := p[k].(string); ok {
		return s
	}
	return ""
}

// scratch is a dense score accumulator reused across requests: a map would
// cost ~14x more (DESIGN section 4).
type scratch struct {
	score   []float32
	mark    []uint8 // 1: candidate, 2: excluded
	touched []uint32
	// dense is how many leading scores the last scatter may have written
	// outside touched (0: it kept to touched).
	dense int
	heap  similarity.TopK
	ids   []uint32
	items []similarity.Neighbour
}

func (e *Engine) getScratch(n int) *scratch {
	sc, _ := e.scratch.Get().(*scratch)
	if sc == nil {
		sc = &scratch{}
	}
	if len(sc.score) < n {
		sc.score = make([]float32, n+n/4)
		sc.mark = make([]uint8, n+n/4)
	}
	return sc
}

func (e *Engine) putScratch(sc *scratch) {
	for _, p := range sc.touched {
		sc.score[p] = 0
		sc.mark[p] = 0
	}
	sc.touched = sc.touched[:0]
	clear(sc.score[:sc.dense])
	sc.dense = 0
	sc.heap = sc.heap[:0]
	sc.ids = sc.ids[:0]
	e.scratch.Put(sc)
}

// scatter adds each history product's neighbour weights, times its
// affinity, into sc.score. It is most of a personal request's cost. When the
// lists touch most of the catalogue it adds blindly and sets sc.dense: every
// product of the first sc.dense may then be a candidate. Otherwise it keeps
// the candidates (mark 1) in sc.touched. Excluded products (mark 2) keep
// their mark and gather a score nobody reads.
// denseScatter: scatter adds blindly when the catalogue has at most this
// many products per neighbour entry to add (a variable so that tests can
// take each way).
var denseScatter = 2

func (e *Engine) scatter(sc *scratch, m *features.Model, aff []similarity.Neighbour) {
	basis := e.opts.Basis
	mk, sco := sc.mark, sc.score
	entries := 0
	for _, a := range aff {
		entries += len(m.NeighboursOf(basis, a.Product))
	}
	if n := len(m.Support[basis]); n <= denseScatter*entries && n <= len(sco) {
		// Reading every score in order afterwards is cheaper than keeping
		// track of what was touched (2x on Online Retail).
		sco = sco[:n]
		for _, a := range aff {
			for _, nb := range m.NeighboursOf(basis, a.Product) {
				if int(nb.Product) < len(sco) {
					sco[nb.Product] += a.Score * nb.Score
				}
			}
		}
		sc.dense = n
		return
	}
	// Which neighbours are new is a coin toss the branch predictor loses:
	// this loop is written without branches.
	for _, a := range aff {
		ns := m.NeighboursOf(basis, a.Product)
		t := slices.Grow(sc.touched, len(ns))
		buf := t[len(t) : len(t)+len(ns)]
		cnt := 0
		for _, n := range ns {
			p := n.Product
			if int(p) >= len(mk) {
				continue
			}
			b := mk[p]
			buf[cnt] = p
			if b == 0 {
				cnt++
			}
			mk[p] = b | (1 &^ (b >> 1))
			sco[p] += a.Score * n.Score
		}
		sc.touched = t[:len(t)+cnt]
	}
}

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
		return List{}, fmt.Errorf("%w: %q", ErrUnknownProduct, r.ProductID)
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
	items := sc.items[:0]
	for _, n := range m.NeighboursOf(r.Basis, p) {
		if n.Score <= 0 {
			// Lists are best first; EASE ends them with negative weights,
			// products that go with p less than chance: not related.
			break
		}
		if int(n.Product) < len(sc.mark) && sc.mark[n.Product] == 2 {
			continue
		}
		if !match.Allows(n.Product) {
			continue
		}
		items = append(items, similarity.Neighbour{Product: n.Product, Score: n.Score})
		if len(items) == k {
			break
		}
	}
	sc.items = items // its room, for the next request
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

// markOne excludes product p from the answer.
func (e *Engine) markOne(sc *scratch, p uint32) {
	if int(p) >= len(sc.mark) {
		return
	}
	if sc.mark[p] == 0 {
		sc.touched = append(sc.touched, p)
	}
	sc.mark[p] = 2
}

// markExcluded marks what a customer must not be shown again: everything
// bought, and with !includeSeen everything they interacted with.
// excludeCustomer marks what customer ext has (see markExcluded); nothing
// for an anonymous or unknown customer.
func (e *Engine) excludeCustomer(sc *scratch, ext string, includeSeen bool) {
	if c, ok := e.src.CustomerID(ext); ok && ext != "" {
		e.markExcluded(sc, e.src.HistoryView(c), includeSeen)
	}
}

func (e *Engine) markExcluded(sc *scratch, hist []features.Interaction, includeSeen bool) {
	for _, in := range hist {
		if includeSeen && in.Class != features.ClassBought {
			continue
		}
		e.markOne(sc, in.Product)
	}
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
		if int(n.Product) < len(sc.mark) && sc.mark[n.Product] == 2 {
			continue
		}
		if !match.Allows(n.Product) {
			continue
		}
		out = append(out, similarity.Neighbour{Product: n.Product, Score: n.Score})
		if len(out) == k {
			break
		}
	}
	return out
}

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
		if p < len(sc.mark) && sc.mark[p] == 2 {
			continue
		}
		out = append(out, similarity.Neighbour{Product: id})
	}
	return out
}

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
		if int(p) < len(sc.mark) && sc.mark[p] == 2 {
			continue
		}
		if !match.Allows(p) {
			continue
		}
		h.Push(similarity.Neighbour{Product: p, Score: float32(sup[p])}, k)
	}
	sc.heap = h
	return append([]similarity.Neighbour(nil), h.Sorted()...)
}

// Personal returns one-to-one recommendations: the customer's time-decayed
// affinity to what they interacted with, times the product associations
// (SAR's A·S), minus what they bought (and, unless IncludeSeen, saw);
// topped up with popular products; popular for an unknown customer.
func (e *Engine) Personal(ctx context.Context, r Request) (List, error) {
	if l, ok, err := e.variantList(ctx, r, "personal"); ok {
		return l, err
	}
	k := e.limit(&r)
	if paramString(r.Params, "algorithm") == "popular" {
		return e.Popular(ctx, Request{CustomerID: r.CustomerID, Limit: k, Filter: r.Filter, Window: r.Window})
	}
	m := e.src.Model()
	cat := e.src.Catalog()
	match := cat.Compile(r.Filter)
	sc := e.getScratch(len(m.Support[0]) + 1)
	defer e.putScratch(sc)
	c, known := e.src.CustomerID(r.CustomerID)
	var hist []features.Interaction
	if known {
		hist = e.src.HistoryView(c)
	}
	var ctxProd uint32
	hasCtx := false
	if r.ContextProduct != "" {
		p, ok := e.src.ProductID(r.ContextProduct)
		if !ok {
			return List{}, fmt.Errorf("%w: context_product %q", ErrUnknownProduct, r.ContextProduct)
		}
		ctxProd, hasCtx = p, true
	}
	if len(hist) == 0 && !hasCtx && !e.inSegments(c, known) {
		items := e.popularFast(sc, e.popularList(m, r.Window), m, match, k)
		return e.toList(sc, items, "popular"), nil
	}
	distinct := thinCount(hist)
	cacheable := e.cache != nil && len(r.Params) == 0 && r.Window == 0 && len(hist) >= cacheMinHistory && distinct > thinHistory
	key := personalKey{cust: c, limit: k, filter: r.Filter, ctx: r.ContextProduct, includeSeen: r.IncludeSeen}
	if cacheable {
		if l, ok := e.cache.get(key, m, cat, len(hist)); ok {
			return l, nil
		}
	}
	halfLife, repeat, popWeight := e.opts.HalfLife, features.RepeatLinear, float32(0)
	if t := m.Tuned; t != nil && e.opts.UseTuning {
		halfLife, repeat, popWeight = t.HalfLife(), t.Repeat, float32(t.PopWeight)
	}
	if v, ok := toFloat(r.Params["half_life_days"]); ok && v > 0 {
		halfLife = time.Duration(v * 24 * float64(time.Hour))
	}
	aff := e.affinity(hist, halfLife, repeat)
	if hasCtx {
		// The product being looked at now weighs as much as the strongest
		// history item: it is the freshest signal there is.
		mx := float32(1)
		for _, a := range aff {
			mx = max(mx, a.Score)
		}
		aff = append(aff, similarity.Neighbour{Product: ctxProd, Score: mx})
	}
	// "rebuy" (a request knob, e.g. an experiment variant's) keeps what the
	// customer has, scored rebuy x their affinity to it on top of the
	// associations: where customers reorder (wholesale, groceries) the
	// products they buy again are most of what they buy next
	// (docs/evaluation.md).
	rebuy := float32(0)
	if v, ok := toFloat(r.Params["rebuy"]); ok && v > 0 && !math.IsInf(v, 0) {
		rebuy = float32(v)
	}
	if rebuy == 0 {
		e.markExcluded(sc, hist, r.IncludeSeen)
	}
	if hasCtx {
		e.markOne(sc, ctxProd)
	}
	e.scatter(sc, m, aff)
	for _, a := range aff {
		if rebuy == 0 || int(a.Product) >= len(sc.mark) || sc.mark[a.Product] == 2 {
			continue
		}
		if sc.mark[a.Product] == 0 {
			sc.mark[a.Product] = 1
			sc.touched = append(sc.touched, a.Product)
		}
		sc.score[a.Product] += rebuy * a.Score
	}
	if popWeight > 0 {
		e.blendPopular(sc, m, popWeight)
	}
	// A product whose (EASE) weights sum to nothing positive is less likely
	// than an unknown one: the popular top-up does better.
	h := sc.heap[:0]
	if sc.dense > 0 {
		// In product order a tie with the k-th best loses (TopK's rule),
		// so v <= floor skips exactly what Push would refuse.
		floor := float32(0)
		for p, v := range sc.score[:sc.dense] {
			if v <= floor || sc.mark[p] == 2 || !match.Allows(uint32(p)) {
				continue
			}
			h.Push(similarity.Neighbour{Product: uint32(p), Score: v}, k)
			if len(h) == k {
				floor = h[0].Score
			}
		}
	} else {
		for _, p := range sc.touched {
			v := sc.score[p]
			if sc.mark[p] != 1 || v <= 0 || len(h) == k && v < h[0].Score || !match.Allows(p) {
				continue
			}
			h.Push(similarity.Neighbour{Product: p, Score: v}, k)
		}
	}
	sc.heap = h
	items := append([]similarity.Neighbour(nil), h.Sorted()...)
	items = e.blendSegments(sc, distinct, c, known, items, match, k) // thin histories: their segments' products (segment.go)
	algo := "personal"
	if len(items) < k {
		// Top up with popular products ranked below every personal one.
		for _, it := range items {
			e.markOne(sc, it.Product)
		}
		floor := float32(0)
		if len(items) > 0 {
			floor = items[len(items)-1].Score
		}
		fill := e.popularFast(sc, e.popularList(m, r.Window), m, match, k-len(items))
		top := float32(1)
		if len(fill) > 0 && fill[0].Score > 0 {
			top = fill[0].Score
		}
		for _, f := range fill {
			items = append(items, similarity.Neighbour{Product: f.Product, Score: floor * 0.5 * f.Score / top})
		}
		if len(items) > 0 && len(fill) == len(items) {
			algo = "popular"
		}
	}
	l := e.toList(sc, items, algo)
	if cacheable {
		e.cache.put(key, m, cat, len(hist), l)
	}
	return l, nil
}

// blendPopular mixes the tuned popularity prior into the scattered scores
// (features.BlendPopularity: the tuner scored the same formula).
func (e *Engine) blendPopular(sc *scratch, m *features.Model, pw float32) {
	sup := m.Support[e.opts.Basis]
	var supMax uint32
	if pop := m.Popular[e.opts.Basis]; len(pop) > 0 {
		supMax = uint32(pop[0].Score)
	}
	if sc.dense > 0 {
		features.BlendPopularity(sc.score[:sc.dense], sc.mark, 2, nil, true, sup, supMax, pw)
		return
	}
	features.BlendPopularity(sc.score, sc.mark, 2, sc.touched, false, sup, supMax, pw)
}

// affinity folds a history into one weight per product:
// Σ w_type · 0.5^(age/halfLife), mapped by the repeat rule, ages measured from the customer's latest
// event (a common factor per customer does not change their ranking, and it
// keeps old histories from underflowing). Only the HistoryCap most recent
// events count.
func (e *Engine) affinity(hist []features.Interaction, halfLife time.Duration, repeat features.Repeat) []similarity.Neighbour {
	if len(hist) > e.opts.HistoryCap {
		hist = hist[len(hist)-e.opts.HistoryCap:]
	}
	var ref int64
	for _, in := range hist {
		ref = max(ref, int64(in.TS))
	}
	tt := e.src.Types()
	hl := halfLife.Seconds()
	out := make([]similarity.Neighbour, 0, len(hist))
	ps := posPool.Get().(*positions)
	defer func() { ps.release(out) }()
	// Lines of one order share a timestamp: the decay is computed once per
	// timestamp, not once per line (Exp2 was a tenth of a personal request).
	lastTS, decay := int64(math.MinInt64), 1.0
	for _, in := range hist {
		w := tt.Weight(in.Type, in.Value)
		if w == 0 {
			continue
		}
		if hl > 0 {
			if ts := int64(in.TS); ts != lastTS {
				lastTS, decay = ts, math.Exp2(-float64(ref-ts)/hl)
			}
			w *= decay
		}
		if i := ps.get(in.Product); i >= 0 {
			out[i].Score += float32(w)
			continue
		}
		ps.set(in.Product, len(out))
		out = append(out, similarity.Neighbour{Product: in.Product, Score: float32(w)})
	}
	if repeat != features.RepeatLinear && repeat != "" {
		for i := range out {
			out[i].Score = features.ApplyRepeat(repeat, out[i].Score)
		}
	}
	return out
}

// positions maps products to their index in affinity's output: a dense
// array reused across requests, where a map per request cost an allocation
// and a hash per history event (a tenth of a personal request). Not safe
// for concurrent use; pooled.
type positions struct{ at []int32 } // index+1; 0: absent

var posPool = sync.Pool{New: func() any { return new(positions) }}

func (ps *positions) get(p uint32) int {
	if int(p) < len(ps.at) {
		return int(ps.at[p]) - 1
	}
	return -1
}

func (ps *positions) set(p uint32, i int) {
	if int(p) >= len(ps.at) {
		ps.at = append(ps.at, make([]int32, int(p)+1-len(ps.at)+len(ps.at)/4)...)
	}
	ps.at[p] = int32(i + 1)
}

// release clears the entries of out's products and returns ps to the pool.
func (ps *positions) release(out []similarity.Neighbour) {
	for _, o := range out {
		ps.at[o.Product] = 0
	}
	posPool.Put(ps)
}
