package recommend

import (
	"context"
	"github.com/affinity-rec/affinity/features/similarity"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// Personal returns one-to-one recommendations: the customer's time-decayed
// affinity to what they interacted with, times the product associations
// (SAR's A·S), minus what they bought (and, unless IncludeSeen, saw);
// topped up with popular products; popular for an unknown customer.
//
// The steps: a variant's own list (variant.go), the customer and context
// (personalQuery), cold start, the cache (cache.go), then rankPersonal.
func (e *Engine) Personal(ctx context.Context, r Request) (List, error) {
	if l, ok, err := e.variantList(ctx, r, "personal"); ok {
		return l, err
	}
	k := e.limit(&r)
	q, err := e.personalQuery(r, k)
	if err != nil {
		return List{}, err
	}
	sc := e.getScratch(len(q.m.Support[0]) + 1)
	defer e.putScratch(sc)
	if e.coldStart(q) {
		items := e.popularFast(sc, e.popularList(q.m, r.Window), q.m, q.match, k)
		return e.toList(sc, items, "popular"), nil
	}
	if l, ok := e.cachedPersonal(q); ok {
		return l, nil
	}
	l := e.rankPersonal(sc, q)
	e.cachePersonal(q, l)
	return l, nil
}

// personalQuery is one personal request resolved against one model and
// catalogue snapshot.
type personalQuery struct {
	r        Request
	k        int
	m        *features.Model
	cat      *features.Catalog
	match    *features.Matcher
	cust     uint32
	known    bool
	hist     []features.Interaction
	distinct int // thinCount(hist)
	// ctx are the known ones of context_product and context_products
	// (products the store has not seen are left out).
	ctx []uint32
}

func (e *Engine) personalQuery(r Request, k int) (personalQuery, error) {
	q := personalQuery{r: r, k: k, m: e.src.Model(), cat: e.src.Catalog()}
	q.match = q.cat.Compile(r.Filter)
	q.cust, q.known = e.src.CustomerID(r.CustomerID)
	if q.known {
		q.hist = e.src.HistoryView(q.cust)
	}
	// An unknown context product is left out, as in context_products: a
	// product page for a product with no events yet (or not yet synced)
	// still gets the customer's list rather than a 404.
	if p, ok := e.src.ProductID(r.ContextProduct); ok && r.ContextProduct != "" {
		q.ctx = append(q.ctx, p)
	}
	for _, id := range r.Merch.ContextProducts {
		if p, ok := e.src.ProductID(id); ok {
			q.ctx = append(q.ctx, p)
		}
	}
	q.distinct = thinCount(q.hist)
	return q, nil
}

// coldStart reports whether there is nothing personal to rank from: no
// history, no context product, no segment. The answer is the popular list.
func (e *Engine) coldStart(q personalQuery) bool {
	return len(q.hist) == 0 && len(q.ctx) == 0 && !e.inSegments(q.cust, q.known)
}

// personalKnobs are the scoring knobs of one request: the model's tuning
// or the engine's options, overridden by a variant's params.
type personalKnobs struct {
	halfLife  time.Duration
	repeat    features.Repeat
	popWeight float32
	// rebuy (a request knob, e.g. an experiment variant's) keeps what the
	// customer has, scored rebuy x their affinity to it on top of the
	// associations: where customers reorder (wholesale, groceries) the
	// products they buy again are most of what they buy next
	// (docs/evaluation.md).
	rebuy float32
}

func (e *Engine) personalKnobs(m *features.Model, params map[string]any) personalKnobs {
	kn := personalKnobs{halfLife: e.opts.HalfLife, repeat: features.RepeatLinear}
	if t := m.Tuned; t != nil && e.opts.UseTuning {
		kn.halfLife, kn.repeat, kn.popWeight = t.HalfLife(), t.Repeat, float32(t.PopWeight)
	}
	if v, ok := ParamFloat(params["half_life_days"]); ok && v > 0 {
		kn.halfLife = time.Duration(v * 24 * float64(time.Hour))
	}
	if v, ok := ParamFloat(params["rebuy"]); ok && v > 0 && !math.IsInf(v, 0) {
		kn.rebuy = float32(v)
	}
	return kn
}

// rankPersonal scores a customer with history (or a context product, or
// segments): affinity, exclusions, scatter, rebuy, popularity prior, top k,
// segment blend, popular top-up.
func (e *Engine) rankPersonal(sc *scratch, q personalQuery) List {
	kn := e.personalKnobs(q.m, q.r.Params)
	aff := e.affinityInto(sc.aff[:0], q.hist, kn.halfLife, kn.repeat)
	defer func() { sc.aff = aff[:0] }() // the scratch keeps the array, not the request's products
	if len(q.ctx) > 0 {
		aff = withContext(aff, q.ctx)
	}
	if kn.rebuy == 0 {
		e.markCustomerExcluded(sc, q.cust, q.hist, q.r.IncludeSeen)
	} else {
		e.markDisliked(sc, q.hist)
	}
	for _, p := range q.ctx {
		e.markOne(sc, p)
	}
	e.scatter(sc, q.m, aff)
	if kn.rebuy > 0 {
		addRebuy(sc, aff, kn.rebuy)
	}
	var blend popBlend
	if kn.popWeight > 0 {
		blend = e.lazyBlend(sc, q.m, kn.popWeight, q.distinct)
	}
	items := topCandidates(sc, q.match, q.k, blend)
	items = e.blendSegments(sc, q.distinct, q.cust, q.known, items, q.match, q.k) // thin histories: their segments' products (segment.go)
	items, algo := e.topUp(sc, q, items)
	return e.toList(sc, items, algo)
}

// withContext adds the products being looked at now (a product page, a
// cart), each as heavy as the strongest history item: they are the
// freshest signal there is.
func withContext(aff []similarity.Neighbour, ctx []uint32) []similarity.Neighbour {
	mx := float32(1)
	for _, a := range aff {
		mx = max(mx, a.Score)
	}
	for _, p := range ctx {
		aff = append(aff, similarity.Neighbour{Product: p, Score: mx})
	}
	return aff
}

// addRebuy makes what the customer has a candidate, scored rebuy x their
// affinity to it on top of what scatter gave it; excluded products stay out.
func addRebuy(sc *scratch, aff []similarity.Neighbour, rebuy float32) {
	for _, a := range aff {
		if int(a.Product) >= len(sc.mark) || sc.mark[a.Product] == markExcluded {
			continue
		}
		if sc.mark[a.Product] == markNone {
			sc.mark[a.Product] = markCandidate
			sc.touched = append(sc.touched, a.Product)
		}
		sc.score[a.Product] += rebuy * a.Score
	}
}

// topCandidates is the k best scored candidates passing match, best first,
// with blend's popularity prior (lazyBlend) when it is on.
// A product whose (EASE) weights sum to nothing positive is less likely
// than an unknown one: the popular top-up does better, so it is left out.
func topCandidates(sc *scratch, match *features.Matcher, k int, blend popBlend) []similarity.Neighbour {
	h := sc.heap[:0]
	if sc.dense > 0 {
		// In product order a tie with the k-th best loses (TopK's rule),
		// so v <= floor skips exactly what Push would refuse.
		floor := float32(0)
		for p, v := range sc.score[:sc.dense] {
			if v <= floor || sc.mark[p] == markExcluded || !match.Allows(uint32(p)) {
				continue
			}
			h.Push(similarity.Neighbour{Product: uint32(p), Score: v}, k)
			if len(h) == k {
				floor = h[0].Score
			}
		}
	} else {
		for _, p := range sc.touched {
			if sc.mark[p] != markCandidate {
				continue
			}
			v := sc.score[p]
			if blend.on {
				v = blend.apply(p, v)
			}
			if v <= 0 || len(h) == k && v < h[0].Score || !match.Allows(p) {
				continue
			}
			h.Push(similarity.Neighbour{Product: p, Score: v}, k)
		}
	}
	sc.heap = h
	return append([]similarity.Neighbour(nil), h.Sorted()...)
}

// topUp fills a short list with popular products ranked below every
// personal one; the algorithm is "popular" when nothing personal is left.
func (e *Engine) topUp(sc *scratch, q personalQuery, items []similarity.Neighbour) ([]similarity.Neighbour, string) {
	if len(items) >= q.k {
		return items, "personal"
	}
	for _, it := range items {
		e.markOne(sc, it.Product)
	}
	floor := float32(0)
	if len(items) > 0 {
		floor = items[len(items)-1].Score
	}
	fill := e.popularFast(sc, e.popularList(q.m, q.r.Window), q.m, q.match, q.k-len(items))
	top := float32(1)
	if len(fill) > 0 && fill[0].Score > 0 {
		top = fill[0].Score
	}
	for _, f := range fill {
		items = append(items, similarity.Neighbour{Product: f.Product, Score: floor * 0.5 * f.Score / top})
	}
	if len(items) > 0 && len(fill) == len(items) {
		return items, "popular"
	}
	return items, "personal"
}

// scatter adds each history product's neighbour weights, times its
// affinity, into sc.score. It is most of a personal request's cost; over
// Options.ScatterBudget pairs only the best of each list are added
// (scatterRows). When the lists touch most of the catalogue (at most
// e.denseScatter products per neighbour entry to add) it adds blindly and
// sets sc.dense: every product of the first sc.dense may then be a
// candidate. Otherwise it keeps the candidates (markCandidate) in
// sc.touched. Excluded products keep their mark and gather a score nobody
// reads.
func (e *Engine) scatter(sc *scratch, m *features.Model, aff []similarity.Neighbour) {
	rows, entries := e.scatterRows(sc, m, aff)
	if n := len(m.Support[e.opts.Basis]); n <= e.denseScatter*entries && n <= len(sc.score) {
		// Reading every score in order afterwards is cheaper than keeping
		// track of what was touched (2x on Online Retail).
		sco := sc.score[:n]
		for _, r := range rows {
			for _, nb := range r.ns {
				if int(nb.Product) < len(sco) {
					sco[nb.Product] += r.w * nb.Score
				}
			}
		}
		sc.dense = n
		return
	}
	scatterTouched(sc, rows)
}

// scatterTouched is scatter keeping track of the candidates. Which
// neighbours are new is a coin toss the branch predictor loses: this loop
// is written without branches.
func scatterTouched(sc *scratch, rows []scatterRow) {
	mk, sco := sc.mark, sc.score
	for _, r := range rows {
		ns := r.ns
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
			if b == markNone {
				cnt++
			}
			// markNone and markCandidate become markCandidate,
			// markExcluded stays: b>>1 is 1 only for markExcluded.
			mk[p] = b | (markCandidate &^ (b >> 1))
			sco[p] += r.w * n.Score
		}
		sc.touched = t[:len(t)+cnt]
	}
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
		features.BlendPopularity(sc.score[:sc.dense], sc.mark, markExcluded, nil, true, sup, supMax, pw)
		return
	}
	features.BlendPopularity(sc.score, sc.mark, markExcluded, sc.touched, false, sup, supMax, pw)
}

// affinity folds a history into one weight per product:
// Σ w_type · 0.5^(age/halfLife), mapped by the repeat rule, ages measured from the customer's latest
// event (a common factor per customer does not change their ranking, and it
// keeps old histories from underflowing). Only the HistoryCap most recent
// events count.
func (e *Engine) affinity(hist []features.Interaction, halfLife time.Duration, repeat features.Repeat) []similarity.Neighbour {
	return e.affinityInto(make([]similarity.Neighbour, 0, min(len(hist), e.opts.HistoryCap)), hist, halfLife, repeat)
}

// affinityInto is affinity appending to out (empty): a personal request
// reuses its scratch's array instead of allocating one per request.
func (e *Engine) affinityInto(out []similarity.Neighbour, hist []features.Interaction, halfLife time.Duration, repeat features.Repeat) []similarity.Neighbour {
	if len(hist) > e.opts.HistoryCap {
		hist = hist[len(hist)-e.opts.HistoryCap:]
	}
	var ref int64
	for _, in := range hist {
		ref = max(ref, int64(in.TS))
	}
	tt := e.src.Types()
	hl := halfLife.Seconds()
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
