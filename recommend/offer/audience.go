package offer

import (
	"context"
	"fmt"
	"sort"

	"github.com/affinity-rec/affinity/recommend"
)

// Offer audiences (GET /v1/offers/{id}/audience): the customers to target
// with an offer, ranked like a product's audience (recommend/audience.go)
// over the offer's association targets (its products, then its category's
// best sellers: the targets of its prior), keeping only customers the
// offer could be shown to: eligible by its rule today, not at their
// max_per_customer cap. An offer that has ended or spent its budget has no
// audience; one that has not started yet has one (campaigns are planned
// ahead; eligibility is as of now). Nothing is reserved or logged: an
// audience is a list for a marketer, not an exposure.

// Audience statuses: where the offer stands in its window and budget.
const (
	AudienceActive      = "active"
	AudienceScheduled   = "scheduled"
	AudienceEnded       = "ended"
	AudienceBudgetSpent = "budget_spent"
)

// AudienceRequest asks who to target with an offer.
type AudienceRequest struct {
	OfferID string
	// Limit is the length (0: recommend.DefaultAudienceLimit).
	Limit int
	// Segment restricts to a segment's members ("": everyone).
	Segment string
	// ExcludeBuyers leaves out whoever bought one of the offer's products.
	ExcludeBuyers bool
	// Rules name merchandising rules applied to the offer's products and
	// the history products (recommend/audience_rules.go).
	Rules []string
}

// AudienceResult is an offer's ranked audience.
type AudienceResult struct {
	recommend.Audience
	RecommendationID string
	// Status is AudienceActive, AudienceScheduled, AudienceEnded or
	// AudienceBudgetSpent (the last two with no items).
	Status string
}

// Audience ranks the customers to target with offer r.OfferID.
func (s *Service) Audience(ctx context.Context, r AudienceRequest) (AudienceResult, error) {
	if err := s.checkOpen(); err != nil {
		return AudienceResult{}, err
	}
	set := s.currentSet()
	i := sort.Search(len(set.offers), func(i int) bool { return set.offers[i].id >= r.OfferID })
	if i == len(set.offers) || set.offers[i].id != r.OfferID {
		return AudienceResult{}, fmt.Errorf("%w %q", ErrUnknownOffer, r.OfferID)
	}
	o := set.offers[i]
	res := AudienceResult{RecommendationID: s.eng.NewRecommendationID(), Status: AudienceActive,
		Audience: recommend.Audience{Items: []recommend.AudienceMember{}}}
	now := s.src.Now().UnixNano()
	switch {
	case now >= o.end:
		res.Status = AudienceEnded
		return res, nil
	case o.rec.Budget > 0 && o.st.accepted.Load() >= uint64(o.rec.Budget):
		res.Status = AudienceBudgetSpent
		return res, nil
	case now < o.start:
		res.Status = AudienceScheduled
	}
	q := recommend.AudienceQuery{Targets: set.targets[i], Limit: r.Limit, Segment: r.Segment, Allow: s.audienceAllow(o), Rules: r.Rules}
	if r.ExcludeBuyers {
		q.Bought = o.products
	}
	aud, err := s.eng.Audience(q)
	if err != nil {
		return AudienceResult{}, err
	}
	res.Audience = aud
	return res, nil
}

// audienceAllow says whether the offer may still be shown to a customer:
// not capped, and eligible by its rule.
func (s *Service) audienceAllow(o *liveOffer) func(uint32, string) bool {
	return func(c uint32, id string) bool {
		if o.rec.MaxPerCustomer > 0 {
			sh := s.shard(id)
			sh.mu.Lock()
			n := sh.m[id].get(o.st)
			sh.mu.Unlock()
			if int64(n) >= o.rec.MaxPerCustomer {
				return false
			}
		}
		if o.rule != nil {
			ok, err := o.rule.Match(s.ruleEnv(c, true))
			if err != nil || !ok {
				return false
			}
		}
		return true
	}
}
