package offer

import (
	"context"
	"fmt"
	"math"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
)

// Request asks for the next best offers for one customer.
type Request struct {
	CustomerID string
	// Limit is how many offers (0: DefaultLimit).
	Limit int
	// Channel restricts to offers shown there ("": any).
	Channel string
	// Params are experiment variant knobs: "nbo_policy" ("thompson", the
	// default; "greedy": the posterior mean, no exploration; "prior": the
	// association prior only, no learning) and "limit".
	Params map[string]any
	// DryRun ranks without showing: nothing is reserved or logged.
	DryRun bool
}

// Choice is one chosen offer and why. A plain value, safe for
// concurrent use.
type Choice struct {
	OfferID string `json:"offer_id"`
	Name    string `json:"name"`
	// Score = Propensity x Value x Priority.
	Score float64 `json:"score"`
	// Propensity is the acceptance probability this request drew (Thompson
	// sampling) and ranked by; ExpectedPropensity is the posterior mean.
	Propensity         float64 `json:"propensity"`
	Value              float64 `json:"value"`
	Priority           float64 `json:"priority"`
	Reason             string  `json:"reason"`
	ExpectedPropensity float64 `json:"expected_propensity"`
	// Prior is the association prior's mean; Association the r behind it.
	Prior       float64 `json:"prior"`
	Association float64 `json:"association"`
	// Responses is how many answers the posterior learned from, in Basis:
	// "prior" (none), "offer" (all customers) or "segment:NAME".
	Responses uint64   `json:"responses"`
	Basis     string   `json:"basis"`
	Products  []string `json:"products"`
	Category  string   `json:"category"`
}

// Result is one answer: the offers and the recommendation id that
// responses and purchases quote.
type Result struct {
	Offers           []Choice
	RecommendationID string
	// Products are the products the chosen offers promote (their own, and
	// their categories' best sellers): an experiment attributes purchases
	// of these to the exposure.
	Products []string
}

type nboCand struct {
	o           *liveOffer
	idx         int
	r, prior    float64
	alpha, beta float64
	n, acc      uint64
	basis       string
	mean, theta float64
	score       float64
	taken       bool // reserve has considered it
}

const (
	nboThompson = "thompson"
	nboGreedy   = "greedy"
	nboPrior    = "prior"
)

// Choose returns the next best offers for r.CustomerID, showing them: each
// is reserved against its cap and budget and logged as an exposure before
// Choose returns. An empty list means nothing is eligible now. An unknown
// customer is fine: they get the prior of a customer with no history.
func (s *Service) Choose(ctx context.Context, r Request) (Result, error) {
	channel, limit, policy, err := s.parseRequest(r)
	if err != nil {
		return Result{}, err
	}
	res := Result{RecommendationID: s.eng.NewRecommendationID(), Offers: []Choice{}}
	set := s.currentSet()
	now := s.src.Now()
	cust, known := s.src.CustomerID(r.CustomerID)
	if !known && s.recs.Erased(r.CustomerID) {
		// An erased customer is not brought back by a read: they get the
		// offers of an unknown customer, neither reserved nor logged.
		r.DryRun = true
	}
	var segs []string
	if known {
		// A copy: exposures keep it after the store has moved on.
		segs = append([]string(nil), s.prof.SegmentsOf(cust)...)
	}
	cands := s.candidates(set, cust, known, channel, now.UnixNano())
	if len(cands) == 0 {
		return res, nil
	}
	s.priors(set, cands, cust, known)
	rng := s.drawSource(r.CustomerID, channel)
	for i := range cands {
		s.posterior(&cands[i], segs, policy, rng)
	}
	chosen, logs, err := s.reserve(ctx, cands, r.CustomerID, res.RecommendationID, segs, channel, now, limit, r.DryRun)
	if err != nil {
		return Result{}, err
	}
	if !r.DryRun && len(logs.shown) > 0 {
		if err := s.appendLogs(logs); err != nil {
			s.unreserve(ctx, chosen, r.CustomerID, res.RecommendationID)
			return Result{}, err
		}
	} else if len(logs.resp) > 0 {
		s.appendLogsQuiet(logs)
	}
	var ids []uint32
	for k, c := range chosen {
		res.Offers = append(res.Offers, s.choice(c, explored(cands, chosen, k)))
		ids = append(ids, set.targets[c.idx]...)
	}
	res.Products = s.src.ProductNames(ids, make([]string, 0, len(ids)))
	return res, nil
}

// parseRequest checks r and reads its channel, the number of offers asked
// for (the "limit" param wins over r.Limit) and the nbo_policy param.
func (s *Service) parseRequest(r Request) (channel string, limit int, policy string, err error) {
	if err := features.ValidateID("customer_id", r.CustomerID); err != nil {
		return "", 0, "", err
	}
	if r.Channel != "" {
		if channel, err = NormalizeChannel("channel", r.Channel); err != nil {
			return "", 0, "", err
		}
	}
	if err := s.checkOpen(); err != nil {
		return "", 0, "", err
	}
	limit = r.Limit
	if v, ok := recommend.ParamFloat(r.Params["limit"]); ok && v >= 1 {
		limit = int(v)
	}
	if limit <= 0 {
		limit = s.opts.DefaultLimit
	}
	limit = min(limit, s.opts.MaxLimit)
	policy, _ = r.Params["nbo_policy"].(string)
	switch policy {
	case "":
		policy = nboThompson
	case nboThompson, nboGreedy, nboPrior:
	default:
		return "", 0, "", fmt.Errorf("%w: nbo_policy %q (thompson, greedy, prior)", recommend.ErrBadRequest, policy)
	}
	return channel, limit, policy, nil
}

// candidates are the offers of set the customer may be shown now on
// channel: active, within budget, and eligible by their rule.
func (s *Service) candidates(set *offerSet, cust uint32, known bool, channel string, nowNS int64) []nboCand {
	cands := make([]nboCand, 0, len(set.offers))
	var env map[string]any
	for i, o := range set.offers {
		if !o.activeAt(nowNS) || !o.onChannel(channel) {
			continue
		}
		if b := o.rec.Budget; b > 0 && o.st.accepted.Load() >= uint64(b) {
			continue
		}
		if o.rule != nil {
			if env == nil {
				env = s.ruleEnv(cust, known)
			}
			if ok, err := o.rule.Match(env); err != nil || !ok {
				continue
			}
		}
		cands = append(cands, nboCand{o: o, idx: i})
	}
	return cands
}

// explored reports whether the draws put chosen[k] above an available
// offer expected to do better (one ranked below it: chosen after it, or
// not reached).
func explored(cands, chosen []nboCand, k int) bool {
	c := chosen[k]
	for i := range cands {
		x := &cands[i]
		if x.mean*x.o.rec.Value*x.o.rec.Priority > c.mean*c.o.rec.Value*c.o.rec.Priority &&
			(!x.taken || chosenIn(chosen[k+1:], x.o)) {
			return true
		}
	}
	return false
}

// ruleEnv is the profile eligibility rules see: the customer-value
// profile for a known customer, an empty profile for an unknown one (a
// rule asking for history is simply not met).
func (s *Service) ruleEnv(c uint32, known bool) map[string]any {
	if known {
		if env := s.prof.RuleEnv(c); env != nil {
			return env
		}
	}
	return offerColdEnv()
}

// offerColdEnv is the rule environment of a customer the store does not
// know: the values and types RuleEnv gives a customer without history (the
// rules are type-checked against them).
func offerColdEnv() map[string]any {
	return map[string]any{
		"recency_days": math.Inf(1), "frequency": 0, "monetary": 0.0,
		"r_score": 0, "f_score": 0, "m_score": 0, "tier": crm.TierProspect,
		"historical_value": 0.0, "current_value": 0.0, "events": 0,
		"churn_risk": math.NaN(), "p_alive": math.NaN(), "expected_value": math.NaN(),
		"attributes": map[string]any{}, "segments": []string{},
	}
}

// round6 rounds what a choice reports to 6 decimals; NaN and infinities
// read as 0.
func round6(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return math.Round(f*1e6) / 1e6
}
