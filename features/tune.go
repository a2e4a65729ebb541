package features

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// Tuning is what the self-tuner chose for a store, and the evidence: the
// model is fitted again on the store's own history with a slice of it held
// out, a small bounded grid of settings is scored on that slice (nDCG@10 of
// the personal list, as the engine ranks it), and the best is kept. The test
// split of an evaluation is never seen: the slice is cut from the events
// the store holds.
type Tuning struct {
	// Similarity is the model the choice is for: "ease" (dense), or the
	// counting similarity used above the dense limit.
	Similarity Similarity `json:"similarity"`
	// Lambda is EASE's regularisation (0 for a counting similarity).
	Lambda float64 `json:"lambda,omitempty"`
	// K is the neighbours kept per product.
	K int `json:"neighbours"`
	// MinSupport is EASE's DenseMinSupport: products with fewer customers
	// are left out of the solve.
	MinSupport int `json:"dense_min_support,omitempty"`
	// HalfLifeDays is the time decay of a customer's affinity (0: none).
	HalfLifeDays float64 `json:"half_life_days"`
	// Repeat is how repeated interactions with one product add up.
	Repeat Repeat `json:"repeat"`
	// PopWeight blends popularity into personal scores (BlendPopularity):
	// 0 is the associations alone.
	PopWeight float64 `json:"popularity_weight"`
	// NDCG is the chosen settings' nDCG@10 on the held-out slice, and
	// DefaultNDCG the untuned default's on the same slice.
	NDCG        float64 `json:"validation_ndcg"`
	DefaultNDCG float64 `json:"default_validation_ndcg"`
	// KeptDefault says the best settings did not beat the default by
	// enough to tell from noise, so these are the default's.
	KeptDefault bool `json:"kept_default,omitempty"`
	// Holdout is how the slice was cut (random or temporal), Users how many
	// customers it scores, Tried how many settings were scored.
	Holdout string  `json:"holdout"`
	Users   int     `json:"validation_users"`
	Tried   int     `json:"tried"`
	Seconds float64 `json:"seconds"`
	At      time.Time
}

// HalfLife is the tuned half-life as a duration (0: no decay).
func (t *Tuning) HalfLife() time.Duration {
	return time.Duration(t.HalfLifeDays * 24 * float64(time.Hour))
}

// Repeat names how a customer's repeated interactions with one product
// (every play of a song, every reorder) add up to their affinity to it.
type Repeat string

const (
	// RepeatLinear sums them: ten purchases count ten times one.
	RepeatLinear Repeat = "linear"
	// RepeatSqrt takes the square root of the sum.
	RepeatSqrt Repeat = "sqrt"
	// RepeatLog takes log2(1 + sum): play counts and other heavy-tailed
	// values stop one product from drowning the rest of a history.
	RepeatLog Repeat = "log"
)

// ApplyRepeat maps a summed affinity s as r says; the engine and the tuner
// share it so that the tuner scores what is served.
func ApplyRepeat(r Repeat, s float32) float32 {
	if s < 0 {
		// A net negative affinity (dislikes, returns: negative.go) is
		// damped like a positive one, keeping its sign.
		return -ApplyRepeat(r, -s)
	}
	switch r {
	case RepeatSqrt:
		return float32(math.Sqrt(float64(s)))
	case RepeatLog:
		return float32(math.Log2(1 + float64(s)))
	}
	return s
}

// Holdout modes: which of a validation customer's products are held out.
const (
	// HoldoutRandom holds out a random fifth of their products: the shape
	// of a random or stratified split.
	HoldoutRandom = "random"
	// HoldoutTemporal holds out the fifth they came to last: predicting
	// what comes next, as a server does.
	HoldoutTemporal = "temporal"
)

// Bounds of the tuning work, so that it costs a small multiple of a build.
const (
	// tuneMaxUsers is how many customers the slice scores.
	tuneMaxUsers = 1500
	// tuneMaxProducts caps the products of a validation EASE solve (the
	// most customers first): the solve is cubic, and a held-out product
	// outside them is missed by every setting alike.
	tuneMaxProducts = 2000
	// tuneMaxEvents caps the events copied into the validation index
	// (customers are sampled above it).
	tuneMaxEvents = 2_000_000
	// tuneShare is the share of a validation customer's products held out.
	tuneShare = 0.2
	// tuneMinProducts is the fewest products a customer needs to be in
	// the slice (one held out, two to rank from).
	tuneMinProducts = 3
	tuneSeed        = 42
)

// tuneHalfLives are the half-lives tried, in days (0: no decay).
var tuneHalfLives = []float64{0, 7, 30, 120, 365}

// tuneRepeats are the repeat rules tried.
var tuneRepeats = []Repeat{RepeatLinear, RepeatSqrt, RepeatLog}

// tunePopWeights are the popularity blends tried (0 is in the grid
// already).
var tunePopWeights = []float64{0.1, 0.3, 1, 3}

// tuneFallbacks are the counting similarities tried above the dense limit.
var tuneFallbacks = []Similarity{SimRP3, SimCosine, SimJaccard}

// valSlice is a validation slice: customers with a part of their history
// held out.
type valSlice struct {
	hist [][]Interaction // what each validation customer keeps
	held [][]uint32      // the products held out from each
}

// holdout copies x without the held-out part of a sample of customers:
// the validation index to fit on, and the slice to score. It holds x.mu
// for reading only to copy one slice of customers' history headers at a time.
func holdout(x *index, b Basis, mode string) (*index, *valSlice) {
	x.mu.RLock()
	ncust, nev := len(x.hist), x.events
	x.mu.RUnlock()
	rng := rand.New(rand.NewPCG(tuneSeed, uint64(ncust)))
	keepCust := 1.0 // share of customers copied into the validation index
	if nev > tuneMaxEvents {
		keepCust = float64(tuneMaxEvents) / float64(nev)
	}
	// Every eligible customer is a candidate; a reservoir keeps at most
	// tuneMaxUsers of them.
	pickUser := func(seen int) int {
		if seen < tuneMaxUsers {
			return seen
		}
		if j := rng.IntN(seen + 1); j < tuneMaxUsers {
			return j
		}
		return -1
	}
	vx := newIndex()
	vs := &valSlice{}
	var who []uint32 // vs index -> customer, to rebuild histories below
	eligible := 0
	// The lock is held only to copy a slice's history headers (a history
	// only grows by append or is replaced whole, see historyView): copying
	// 4096 customers' events under it held the writer, and the requests
	// queued behind it, for as long as that took.
	const slice = 4096
	hs := make([][]Interaction, 0, slice)
	for lo := 0; lo < ncust; lo += slice {
		hs = hs[:0]
		x.mu.RLock()
		hs = appendHeaders(hs, x, lo, min(lo+slice, len(x.hist)), true, nil)
		x.mu.RUnlock()
		for i, h := range hs {
			c := lo + i
			if len(h) == 0 || (keepCust < 1 && rng.Float64() >= keepCust) {
				continue
			}
			for _, in := range h {
				vx.applyLocked(uint32(c), in, false)
			}
			if distinctOn(h, b) < tuneMinProducts {
				continue
			}
			if i := pickUser(eligible); i >= 0 {
				if i == len(who) {
					who = append(who, uint32(c))
				} else {
					who[i] = uint32(c)
				}
			}
			eligible++
		}
	}
	slices.Sort(who)
	for _, c := range who {
		h := vx.hist[c]
		held := heldOut(h, b, mode, rng)
		keep := make([]Interaction, 0, len(h))
		for _, in := range h {
			if !slices.Contains(held, in.Product) {
				keep = append(keep, in)
			}
		}
		vx.replaceHistory(c, keep)
		vs.hist = append(vs.hist, keep)
		vs.held = append(vs.held, held)
	}
	return vx, vs
}

// distinctOn counts h's distinct products on basis b.
func distinctOn(h []Interaction, b Basis) int {
	seen := make(map[uint32]struct{}, len(h))
	for _, in := range h {
		if b.has(in.Class) {
			seen[in.Product] = struct{}{}
		}
	}
	return len(seen)
}

// heldOut picks a fifth (at least one) of h's distinct products on basis
// b: at random, or the ones first seen last.
func heldOut(h []Interaction, b Basis, mode string, rng *rand.Rand) []uint32 {
	var prods []uint32 // distinct, in order of first appearance
	first := map[uint32]uint32{}
	for _, in := range h {
		if !b.has(in.Class) {
			continue
		}
		if ts, ok := first[in.Product]; !ok {
			first[in.Product] = in.TS
			prods = append(prods, in.Product)
		} else if in.TS < ts {
			first[in.Product] = in.TS
		}
	}
	n := max(1, int(math.Round(tuneShare*float64(len(prods)))))
	if mode == HoldoutTemporal {
		// Histories are in arrival order; ties of a timestamp (one
		// order's lines) stay in that order.
		slices.SortStableFunc(prods, func(a, c uint32) int { return int(first[a]) - int(first[c]) })
		return slices.Clone(prods[len(prods)-n:])
	}
	rng.Shuffle(len(prods), func(i, j int) { prods[i], prods[j] = prods[j], prods[i] })
	return slices.Clone(prods[:n])
}

// replaceHistory sets customer c's history to h, keeping the product
// bitmaps in step; only the tuner's private index calls it.
func (x *index) replaceHistory(c uint32, h []Interaction) {
	for _, in := range x.hist[c] {
		if bm := x.prodCust[in.Class][in.Product]; bm != nil {
			bm.Remove(c)
		}
	}
	x.events -= len(x.hist[c])
	x.hist[c] = nil
	for _, in := range h {
		x.applyLocked(c, in, false)
	}
}

// capSupport returns sup with only the max products with most customers
// left (ties: the lower id), so that a validation solve stays small.
func capSupport(sup []uint32, max int) []uint32 {
	out := slices.Clone(sup)
	nz := 0
	for _, v := range sup {
		if v > 0 {
			nz++
		}
	}
	if nz <= max {
		return out
	}
	ranked := popularOf(sup)
	for _, n := range ranked[max:] {
		out[n.Product] = 0
	}
	return out
}

// BlendPopularity mixes a popularity prior into a customer's personal
// scores: each candidate's score becomes score/max + pw x support/supMax,
// max being the largest candidate score (1 when none is positive), so that
// pw means the same on every store whatever the scale of the weights. The
// candidates are every product whose mark is not excl (dense), or those of
// cands. On sparse data
// the associations of two or three products say little, and what most
// customers take is the better guess. The engine and the tuner share it.
func BlendPopularity[M bool | uint8](score []float32, mark []M, excl M, cands []uint32, dense bool, sup []uint32, supMax uint32, pw float32) {
	if pw <= 0 || supMax == 0 {
		return
	}
	mx := float32(0)
	each := func(f func(p int)) {
		if dense {
			for p := range score {
				if p < len(mark) && mark[p] != excl {
					f(p)
				}
			}
			return
		}
		for _, p := range cands {
			if int(p) < len(score) && (int(p) >= len(mark) || mark[p] != excl) {
				f(int(p))
			}
		}
	}
	each(func(p int) { mx = max(mx, score[p]) })
	if mx <= 0 {
		mx = 1
	}
	k := pw / float32(supMax)
	each(func(p int) {
		s := float32(0)
		if p < len(sup) {
			s = float32(sup[p])
		}
		score[p] = score[p]/mx + k*s
	})
}
