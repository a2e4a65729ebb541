package recommend

import (
	"context"
	"fmt"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/similarity"
)

// Audiences, product-to-customer (PTC): the customers whose history
// associates most with a product, GET /v1/products/{id}/customers, and
// with an offer's products (recommend/offer/audience.go). The score is the
// personal lists' SAR form transposed: for customer c and product p,
//
//	score(c, p) = Σ over c's history items h of affinity(c, h) x S(h, p)
//
// with the same event weights, half-life and repeat rule as c's personal
// list, except that ages are measured from one time for everyone (the
// store's latest event time) rather than from c's latest event: customers
// are compared with each other here, and one who stopped buying a year ago
// must weigh less than one who bought last week. (Any common time gives
// the same order; the latest event keeps the scores readable on
// historical data, whose events are years before the wall clock.)
//
// S(h, p) is p's weight in h's neighbour list, exactly what a personal
// list adds for h. Where h's list was cut before p, h adds nothing, as in
// the personal list; letting p's own list weight for h stand in instead
// measured lower recall on Online Retail (docs/evaluation.md).
//
// Candidates are the customers of p's neighbours (the positive head of its
// related list, up to maxAudienceNeighbours), found through the feature
// store's product -> customer bitmaps, minus p's buyers when asked, within
// a segment when asked. A customer outside them scores 0 by construction.
//
// Bounded work: at most maxAudienceNeighbours neighbours per target and
// maxAudienceTargets targets; when more than max(minAudienceCandidates,
// 20 x limit) customers remain, a pre-score without time decay (Σ S(h, p)
// over the neighbours h a customer has, added up from the bitmaps) keeps
// that many best for the exact score, so one request reads at most that
// many histories (each cut to HistoryCap events).
//
// Order: score descending, then customer id ascending, so equal scores
// come back in the same order every time.

// AudienceSource is what audiences need beyond Source. *features.Store
// provides it; implementations must be safe for concurrent use.
type AudienceSource interface {
	// ProductCustomers returns product p's customers on basis b, a bitmap
	// the caller may change.
	ProductCustomers(b features.Basis, p uint32) *roaring.Bitmap
	// CustomerName is customer c's external id.
	CustomerName(c uint32) string
	// LatestEventTime is the newest event time (zero: no events).
	LatestEventTime() time.Time
}

var _ AudienceSource = (*features.Store)(nil)

// Bounds of one audience request (see above).
const (
	// MaxAudienceLimit caps an audience's length: a campaign that wants
	// everyone asks for the segment export, not a ranking.
	MaxAudienceLimit = 1000
	// DefaultAudienceLimit is the length when a request does not say.
	DefaultAudienceLimit = 50
	// maxAudienceNeighbours: 50 and 100 measured alike, 25 and 200 lower
	// (docs/evaluation.md).
	maxAudienceNeighbours = 100
	maxAudienceTargets    = 32
	// minAudienceCandidates is the exact-score cap for lists up to 100;
	// longer ones get 20 per place. At 2,000 the recall measured the same
	// as at 20,000 on Online Retail.
	minAudienceCandidates = 2000
	// audienceReasonProducts is how many history products a reply names.
	audienceReasonProducts = 3
)

// AudienceRequest asks for a product's audience.
type AudienceRequest struct {
	ProductID string
	// Limit is the length (0: DefaultAudienceLimit).
	Limit int
	// Segment restricts the audience to a segment's members ("": everyone).
	Segment string
	// ExcludeBuyers leaves out whoever bought the product already.
	ExcludeBuyers bool
	// Rules name merchandising rules to apply (audience_rules.go).
	Rules []string
}

// AudienceQuery is an audience over internal ids: the offer service's.
type AudienceQuery struct {
	// Targets are the products the audience is for; a customer's weight
	// for history item h is h's best weight towards any of them.
	Targets []uint32
	// Bought: whoever bought one of these is left out.
	Bought  []uint32
	Limit   int
	Segment string
	// Allow, when set, must accept a customer (internal and external id)
	// for them to be listed; it is asked only for customers that would
	// enter the list, best first, so an expensive check stays cheap.
	Allow func(c uint32, id string) bool
	// Rules name merchandising rules to apply to the targets and the
	// history products (audience_rules.go).
	Rules []string
}

// AudienceMember is one customer of an audience and why.
type AudienceMember struct {
	CustomerID string  `json:"customer_id"`
	Score      float64 `json:"score"`
	// Reason says in words what Because lists: the customer's history
	// products that contribute most, with their part of the score.
	Reason  string `json:"reason"`
	Because []Item `json:"because"`
}

// Audience is a ranked audience.
type Audience struct {
	Items []AudienceMember
	// Candidates is how many customers were scored exactly; Capped says
	// the pre-score cut them (see above).
	Candidates int
	Capped     bool
}

// ProductAudience answers GET /v1/products/{id}/customers.
func (e *Engine) ProductAudience(ctx context.Context, r AudienceRequest) (Audience, error) {
	p, ok := e.src.ProductID(r.ProductID)
	if !ok {
		return Audience{}, fmt.Errorf("%w %q", ErrUnknownProduct, r.ProductID)
	}
	q := AudienceQuery{Targets: []uint32{p}, Limit: r.Limit, Segment: r.Segment, Rules: r.Rules}
	if r.ExcludeBuyers {
		q.Bought = q.Targets
	}
	return e.Audience(q)
}

// Audience ranks the customers of q's targets' neighbours (see above).
func (e *Engine) Audience(q AudienceQuery) (Audience, error) {
	if e.aud == nil {
		return Audience{}, fmt.Errorf("%w: this store has no audiences", ErrBadRequest)
	}
	k := q.Limit
	if k <= 0 {
		k = DefaultAudienceLimit
	}
	k = min(k, MaxAudienceLimit)
	var members *roaring.Bitmap
	if q.Segment != "" {
		var err error
		if e.segs == nil {
			return Audience{}, fmt.Errorf("%w: this store has no segments", ErrBadRequest)
		}
		if members, err = e.segs.SegmentMembers(q.Segment); err != nil {
			return Audience{}, err
		}
	}
	rules, err := e.resolveAudienceRules(q.Rules)
	if err != nil {
		return Audience{}, err
	}
	m := e.src.Model()
	sc := e.getScratch(len(m.Support[0]) + 1)
	defer e.putScratch(sc)
	hs := e.audienceWeights(sc, m, rules.targets(q.Targets), rules)
	out := Audience{Items: []AudienceMember{}}
	if len(hs) == 0 {
		return out, nil
	}
	cands, parts := e.audienceCandidates(hs, q.Bought, members)
	list, capped := capCandidates(sc, cands, parts, hs, max(minAudienceCandidates, 20*k))
	out.Candidates, out.Capped = len(list), capped
	as := e.newAudienceScorer(sc, m)
	as.targets = q.Targets
	top := e.selectAudience(as, list, k, q.Allow)
	out.Items = e.audienceItems(as, top)
	return out, nil
}

// audienceWeights puts in sc.score[h] the weight of every history item h
// that counts towards targets (marked markCandidate, listed in
// sc.touched, which it returns), as rules (nil: none) move it.
func (e *Engine) audienceWeights(sc *scratch, m *features.Model, targets []uint32, rules *audienceRules) []uint32 {
	basis := e.opts.Basis
	for _, t := range targets[:min(len(targets), maxAudienceTargets)] {
		ns := m.NeighboursOf(basis, t)
		ft := rules.factor(t)
		for _, nb := range ns[:min(len(ns), maxAudienceNeighbours)] {
			if nb.Score <= 0 {
				break // EASE's tail: products that go with t less than chance
			}
			h := nb.Product
			if int(h) >= len(sc.score) || rules.skip(h) {
				continue
			}
			w, ok := weightIn(m.NeighboursOf(basis, h), t)
			if !ok || w <= 0 {
				continue
			}
			w *= ft * rules.factor(h)
			if sc.mark[h] == markNone {
				sc.mark[h] = markCandidate
				sc.touched = append(sc.touched, h)
			}
			sc.score[h] = max(sc.score[h], w)
		}
	}
	return sc.touched
}

// weightIn is t's weight in the neighbour list ns.
func weightIn(ns []similarity.Neighbour, t uint32) (float32, bool) {
	for _, n := range ns {
		if n.Product == t {
			return n.Score, true
		}
	}
	return 0, false
}

// audienceCandidates are the customers of hs, minus the buyers of bought,
// within members when not nil; parts[i] are hs[i]'s customers.
func (e *Engine) audienceCandidates(hs, bought []uint32, members *roaring.Bitmap) (*roaring.Bitmap, []*roaring.Bitmap) {
	basis := e.opts.Basis
	parts := make([]*roaring.Bitmap, len(hs))
	for i, h := range hs {
		parts[i] = e.aud.ProductCustomers(basis, h)
	}
	cands := roaring.FastOr(parts...)
	for _, b := range bought {
		cands.AndNot(e.aud.ProductCustomers(features.BasisBought, b))
	}
	if members != nil {
		cands.And(members)
	}
	return cands, parts
}

// capCandidates returns the candidates to score exactly: all of them, or
// the limit best by the undecayed pre-score Σ w(h) over the neighbours h
// they have (true: capped).
func capCandidates(sc *scratch, cands *roaring.Bitmap, parts []*roaring.Bitmap, hs []uint32, limit int) ([]uint32, bool) {
	if cands.GetCardinality() <= uint64(limit) {
		return cands.ToArray(), false
	}
	pre := make([]float32, cands.Maximum()+1)
	for i, h := range hs {
		w := sc.score[h]
		it := parts[i].Iterator()
		for it.HasNext() {
			if c := it.Next(); int(c) < len(pre) {
				pre[c] += w
			}
		}
	}
	var top similarity.TopK
	it := cands.Iterator()
	for it.HasNext() {
		c := it.Next()
		top.Push(similarity.Neighbour{Product: c, Score: pre[c]}, limit)
	}
	out := make([]uint32, len(top))
	for i, n := range top {
		out[i] = n.Product
	}
	return out, true
}
