package features

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/affinity-rec/affinity/features/similarity"
)

// TuneDefaults are the settings the tuner starts from and reports its
// gain against: the engine's configured half-life and the linear repeat
// rule (the untuned default).
type TuneDefaults struct {
	HalfLifeDays float64
	// HistoryCap is the engine's: how many recent events a list is
	// scored from.
	HistoryCap int
}

// tuneLambdaSteps bounds the EASE solves of one tuning (each a cubic solve
// of at most tuneMaxProducts products).
const tuneLambdaSteps = 6

// tuneMinZ is how many standard errors of the paired per-customer
// difference the best settings must gain over the default's on the slice
// to replace them: on a small slice the best of twenty settings wins by
// noise alone, and noise is no reason to leave a default.
const tuneMinZ = 2.0

// search is one tuning's state: the best settings so far with their lists
// and per-customer scores, and the default's.
type search struct {
	sc        *valScorer
	o         NeighbourOptions
	d         TuneDefaults
	best      Tuning
	bestLists [][]similarity.Neighbour
	bestPer   []float64
	def       Tuning
	defPer    []float64
	tried     int
	workers   int // goroutines for counting and scoring (buildWorkers)
}

// offer scores t (with lists) and keeps it when it beats the best.
func (s *search) offer(lists [][]similarity.Neighbour, t Tuning) float64 {
	s.tried++
	per := s.sc.perCustomer(lists, t)
	t.NDCG = mean(per)
	if s.isDefault(t) {
		s.def, s.defPer = t, per
	}
	if s.bestPer == nil || t.NDCG > s.best.NDCG {
		s.best, s.bestLists, s.bestPer = t, lists, per
	}
	return t.NDCG
}

// isDefault says whether t is the configured (untuned) setting.
func (s *search) isDefault(t Tuning) bool {
	sim := s.o.Similarity
	if sim == SimEASE && t.Similarity != SimEASE {
		sim = s.o.Fallback
	}
	return t.Similarity == sim && (sim != SimEASE || t.Lambda == s.o.Lambda && t.MinSupport == s.o.DenseMinSupport) &&
		t.K == s.o.K && t.HalfLifeDays == s.d.HalfLifeDays && t.Repeat == RepeatLinear && t.PopWeight == 0
}

// tune searches a small grid of settings on a validation slice of x (see
// Tuning) and returns the best, or nil when x has too few customers with
// enough history to tell settings apart. o is the store's configuration:
// with SimEASE and a catalogue under the dense limit it searches lambda,
// otherwise the counting similarity; then the half-life and the repeat
// rule, then half the neighbours, for the lists found best. The default
// is kept unless the best beats it by tuneMinZ standard errors.
func tune(x *index, b Basis, nprod int, tt *TypeTable, o NeighbourOptions, mode string, d TuneDefaults, workers int) *Tuning {
	start := time.Now()
	vx, vs := holdout(x, b, mode)
	if len(vs.hist) < 20 {
		return nil
	}
	var want [NumBases]bool
	want[b] = true
	sups, customers := countCustomers(vx, nprod, 0, want)
	fullSups, _ := countCustomers(x, nprod, 0, want)
	sup, fullSup := sups[b], fullSups[b]
	s := &search{sc: &valScorer{vs: vs, tt: tt, b: b, cap: d.HistoryCap, nprod: nprod, sup: sup, supMax: slices.Max(append([]uint32{1}, sup...)), workers: workers}, o: o, d: d, workers: workers}
	base := Tuning{K: o.K, HalfLifeDays: d.HalfLifeDays, Repeat: RepeatLinear, Holdout: mode, Users: len(vs.hist)}
	if o.Similarity == SimEASE && denseCount(fullSup, o.DenseMinSupport) <= o.DenseMaxProducts {
		base.MinSupport = o.DenseMinSupport
		s.tuneLambda(vx, b, sup, nprod, base)
	} else {
		for _, sim := range tuneFallbacks {
			oc := o
			oc.Similarity = sim
			lists := make([][]similarity.Neighbour, nprod)
			countLists(vx, b, productsWith(sup), true, lists, sup, customers[b], nprod, oc, workers)
			t := base
			t.Similarity = sim
			s.offer(lists, t)
		}
	}
	if s.bestPer == nil {
		return nil
	}
	// The half-life and the repeat rule at the configured K, then half
	// as many neighbours (cheaper to serve) with the best of those.
	at, atLists := s.best, s.bestLists
	lists := truncLists(atLists, o.K)
	for _, hl := range tuneHalfLives {
		for _, rep := range tuneRepeats {
			t := at
			t.K, t.HalfLifeDays, t.Repeat = o.K, hl, rep
			s.offer(lists, t)
		}
	}
	if k := o.K / 2; k >= 10 {
		t := s.best
		t.K = k
		s.offer(truncLists(atLists, k), t)
	}
	// A popularity prior, for data too sparse for the associations alone.
	at = s.best
	lists = truncLists(atLists, at.K)
	for _, pw := range tunePopWeights {
		t := at
		t.PopWeight = pw
		s.offer(lists, t)
	}
	best := s.best
	if s.defPer != nil && !significant(s.bestPer, s.defPer) {
		best = s.def
		best.KeptDefault = true
	}
	best.DefaultNDCG = s.def.NDCG
	best.Tried = s.tried
	best.Seconds = time.Since(start).Seconds()
	best.At = time.Now()
	return &best
}

// significant says whether a beats b by tuneMinZ standard errors of their
// paired per-customer differences.
func significant(a, b []float64) bool {
	n := float64(len(a))
	var sum, sq float64
	for i := range a {
		d := a[i] - b[i]
		sum += d
		sq += d * d
	}
	m := sum / n
	v := (sq/n - m*m) / max(n-1, 1)
	return m > 0 && m >= tuneMinZ*math.Sqrt(max(v, 0))
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range xs {
		t += x
	}
	return t / float64(len(xs))
}

// tuneLambda line-searches EASE's lambda on a log2 grid from the
// configured one, at the default half-life and repeat rule: 1x, 0.5x and
// 2x, then further in the direction that gained while it gains, at most
// tuneLambdaSteps solves; then, on a small catalogue, every product in the
// solve.
func (s *search) tuneLambda(vx *index, b Basis, sup []uint32, nprod int, base Tuning) {
	o := s.o
	capped := capSupport(sup, tuneMaxProducts)
	tried := map[float64]float64{}
	try := func(l float64) {
		if _, ok := tried[l]; ok || len(tried) >= tuneLambdaSteps {
			return
		}
		oc := o
		oc.Lambda = l
		lists, ok := easeLists(vx, b, capped, nprod, oc, pool{n: s.workers})
		if !ok {
			tried[l] = -1
			return
		}
		t := base
		t.Similarity, t.Lambda = SimEASE, l
		tried[l] = s.offer(lists, t)
	}
	try(o.Lambda)
	try(o.Lambda / 2)
	try(o.Lambda * 2)
	for step := 0; step < tuneLambdaSteps; step++ {
		l := s.best.Lambda
		if tried[l/2] < tried[l] && tried[l*2] < tried[l] {
			break // a peak
		}
		next := l * 2
		if tried[l/2] >= tried[l*2] {
			next = l / 2
		}
		if _, ok := tried[next]; ok {
			break
		}
		try(next)
		if s.best.Lambda != next {
			break
		}
	}
	// A small catalogue can afford every product in the solve: on sparse
	// data most products have fewer customers than DenseMinSupport, and
	// without a list of their own they add nothing to a history.
	if o.DenseMinSupport > 1 && len(productsWith(sup)) <= tuneMaxProducts {
		oc := o
		oc.Lambda, oc.DenseMinSupport = s.best.Lambda, 1
		if lists, ok := easeLists(vx, b, capped, nprod, oc, pool{n: s.workers}); ok {
			t := s.best
			t.MinSupport = 1
			s.offer(lists, t)
		}
	}
}

// denseCount is how many products EASE would solve for.
func denseCount(sup []uint32, minSupport int) int {
	n := 0
	for _, v := range sup {
		if v > 0 && int(v) >= minSupport {
			n++
		}
	}
	return n
}

func productsWith(sup []uint32) []uint32 {
	var out []uint32
	for p, v := range sup {
		if v > 0 {
			out = append(out, uint32(p))
		}
	}
	return out
}

// truncLists keeps each list's k weights largest in magnitude, sorted by
// weight, as a build with K = k would (easeRow; a counted list is all
// positive, so it is its prefix).
func truncLists(lists [][]similarity.Neighbour, k int) [][]similarity.Neighbour {
	out := make([][]similarity.Neighbour, len(lists))
	for p, l := range lists {
		if len(l) <= k {
			out[p] = l
			continue
		}
		c := slices.Clone(l)
		slices.SortFunc(c, func(a, b similarity.Neighbour) int {
			x, y := math.Abs(float64(a.Score)), math.Abs(float64(b.Score))
			switch {
			case x > y:
				return -1
			case x < y:
				return 1
			}
			return int(a.Product) - int(b.Product)
		})
		out[p] = similarity.TopK(c[:k]).Sorted()
	}
	return out
}

// valScorer scores lists on a validation slice the way the engine ranks a
// personal list: affinity Σ weight · 0.5^(age/half-life) over the
// customer's HistoryCap latest events, the repeat rule, A·B, the
// customer's own products left out, positive scores only, top 10.
type valScorer struct {
	// sup is the validation copy's customers per product (popularity),
	// supMax its largest.
	sup    []uint32
	supMax uint32
	vs     *valSlice
	tt     *TypeTable
	b      Basis
	cap    int
	nprod  int
	// workers is how many goroutines score customers (buildWorkers).
	workers int
}

const tuneCutoff = 10

// perCustomer is every slice customer's nDCG@10.
func (s *valScorer) perCustomer(lists [][]similarity.Neighbour, t Tuning) []float64 {
	workers := max(1, s.workers)
	per := make([]float64, len(s.vs.hist))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			score := make([]float32, s.nprod)
			mark := make([]bool, s.nprod)
			var touched []uint32
			var aff []similarity.Neighbour
			pos := make([]int32, s.nprod)
			for u := w; u < len(s.vs.hist); u += workers {
				aff = s.affinity(s.vs.hist[u], t.HalfLifeDays, t.Repeat, aff[:0], pos)
				h := s.rank(lists, aff, s.vs.hist[u], score, mark, touched[:0], float32(t.PopWeight))
				per[u] = ndcgAt(h.Sorted(), s.vs.held[u])
			}
		})
	}
	wg.Wait()
	return per
}

// rank scores one customer as the engine's scatter does and returns the
// top 10, leaving score zeroed: it adds blindly and scans the whole
// catalogue when the lists touch most of it, else keeps the touched
// products.
func (s *valScorer) rank(lists [][]similarity.Neighbour, aff []similarity.Neighbour, hist []Interaction, score []float32, mark []bool, touched []uint32, pw float32) similarity.TopK {
	entries := 0
	for _, a := range aff {
		if int(a.Product) < len(lists) {
			entries += len(lists[a.Product])
		}
	}
	dense := s.nprod <= 2*entries
	for _, a := range aff {
		if int(a.Product) >= len(lists) {
			continue
		}
		for _, nb := range lists[a.Product] {
			if int(nb.Product) >= len(score) {
				continue
			}
			if !dense && score[nb.Product] == 0 {
				touched = append(touched, nb.Product)
			}
			score[nb.Product] += a.Score * nb.Score
		}
	}
	for _, in := range hist {
		if int(in.Product) < len(mark) {
			mark[in.Product] = true
		}
	}
	cands := touched
	if dense {
		cands = nil
	}
	BlendPopularity(score, mark, true, cands, dense, s.sup, s.supMax, pw)
	h := make(similarity.TopK, 0, tuneCutoff)
	push := func(p uint32) {
		if v := score[p]; v > 0 && !mark[p] && (len(h) < tuneCutoff || v > h[0].Score) {
			h.Push(similarity.Neighbour{Product: p, Score: v}, tuneCutoff)
		}
		score[p] = 0
	}
	if dense {
		for p := range score {
			push(uint32(p))
		}
	} else {
		for _, p := range touched {
			push(p)
		}
	}
	for _, in := range hist {
		if int(in.Product) < len(mark) {
			mark[in.Product] = false
		}
	}
	return h
}

// affinity appends to aff h's per-product affinity as the engine computes
// it (recommend.Engine.affinity, products in order of first appearance),
// then the repeat rule. pos is a zeroed scratch of nprod entries, left
// zeroed.
func (s *valScorer) affinity(h []Interaction, hlDays float64, rep Repeat, aff []similarity.Neighbour, pos []int32) []similarity.Neighbour {
	if len(h) > s.cap {
		h = h[len(h)-s.cap:]
	}
	var ref int64
	for _, in := range h {
		ref = max(ref, int64(in.TS))
	}
	hl := hlDays * 86400
	for _, in := range h {
		w := s.tt.Weight(in.Type, in.Value)
		if w == 0 {
			continue
		}
		if hl > 0 {
			w *= math.Exp2(-float64(ref-int64(in.TS)) / hl)
		}
		if int(in.Product) >= len(pos) {
			continue
		}
		if i := pos[in.Product]; i > 0 {
			aff[i-1].Score += float32(w)
			continue
		}
		aff = append(aff, similarity.Neighbour{Product: in.Product, Score: float32(w)})
		pos[in.Product] = int32(len(aff))
	}
	for i := range aff {
		pos[aff[i].Product] = 0
		aff[i].Score = ApplyRepeat(rep, aff[i].Score)
	}
	return aff
}

// ndcgAt is nDCG@10 with binary gain of a ranked list against relevant.
func ndcgAt(list []similarity.Neighbour, relevant []uint32) float64 {
	var dcg, idcg float64
	for i, n := range list {
		if slices.Contains(relevant, n.Product) {
			dcg += 1 / math.Log2(float64(i)+2)
		}
	}
	for i := range min(len(relevant), tuneCutoff) {
		idcg += 1 / math.Log2(float64(i)+2)
	}
	if idcg == 0 {
		return 0
	}
	return dcg / idcg
}
