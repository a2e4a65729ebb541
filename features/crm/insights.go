package crm

import (
	"sort"
	"sync"
	"time"
)

// ValueSummary is the store-wide value picture (GET /v1/insights/value).
// The one ValueInsights returns is shared and immutable: safe for
// concurrent reads.
type ValueSummary struct {
	Customers int     `json:"customers"`
	Buyers    int     `json:"buyers"`
	Revenue   float64 `json:"revenue"`
	// TopShare is the share of revenue brought by the top 20% of buyers
	// (the 80/20 figure); TopCustomers is how many that is.
	TopShare     float64       `json:"top20_revenue_share"`
	TopCustomers int           `json:"top20_customers"`
	Tiers        []TierSummary `json:"tiers"`
	// Concentration[k] is the share of revenue brought by the top k×5% of
	// buyers (k = 0..20): the revenue concentration (Lorenz) curve the
	// console draws; Concentration[4] is TopShare.
	Concentration []float64 `json:"concentration"`
	AsOf          time.Time `json:"as_of"`
	// Model is the fitted churn and expected-value model (btyd.go); nil
	// (JSON null) until a fit succeeds.
	Model *ModelSummary `json:"model"`
}

// TierSummary is one tier's customers and revenue (plain data, read-only
// once published).
type TierSummary struct {
	Tier         string  `json:"tier"`
	Customers    int     `json:"customers"`
	Revenue      float64 `json:"revenue"`
	RevenueShare float64 `json:"revenue_share"`
	CurrentValue float64 `json:"current_value"`
	// MeanChurnRisk is the tier's mean churn_risk and ExpectedValue the
	// sum of its expected_value; nil while no model is fitted, and for a
	// tier without buyers.
	MeanChurnRisk *float64 `json:"mean_churn_risk"`
	ExpectedValue *float64 `json:"expected_value"`
}

// tierAcc adds up one tier while the summary walks the customers.
type tierAcc struct {
	TierSummary
	churn, ev float64
	scored    int
}

// insightsCache memoises the summary: it walks every customer, so one
// computation serves all requests for a few seconds. Safe for concurrent use.
type insightsCache struct {
	mu  sync.Mutex
	at  time.Time
	sum *ValueSummary
}

func (c *insightsCache) clear() {
	c.mu.Lock()
	c.sum = nil
	c.mu.Unlock()
}

const insightsTTL = 5 * time.Second

// ValueInsights summarises customer value by tier. The result is shared
// and must not be changed.
func (s *Service) ValueInsights() *ValueSummary {
	ic := &s.insights
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.sum != nil && time.Since(ic.at) < insightsTTL {
		return ic.sum
	}
	now := s.st.Now()
	sum := &ValueSummary{AsOf: now.UTC(), Model: s.model.Load().summary()}
	byTier, spend := s.walkTiers(sum, now.Unix())
	sort.Sort(sort.Reverse(sort.Float64Slice(spend)))
	sum.TopCustomers = (len(spend) + 4) / 5
	top := 0.0
	for _, m := range spend[:sum.TopCustomers] {
		top += m
	}
	if sum.Revenue > 0 {
		sum.TopShare = roundMicro(top / sum.Revenue)
	}
	sum.Concentration = concentration(spend, sum.Revenue)
	for _, name := range Tiers {
		t := byTier[name]
		if sum.Revenue > 0 {
			t.RevenueShare = roundMicro(t.Revenue / sum.Revenue)
		}
		t.Revenue = roundMicro(t.Revenue)
		t.CurrentValue = roundMicro(t.CurrentValue)
		if t.scored > 0 {
			churn, ev := roundMicro(t.churn/float64(t.scored)), roundMicro(t.ev)
			t.MeanChurnRisk, t.ExpectedValue = &churn, &ev
		}
		sum.Tiers = append(sum.Tiers, t.TierSummary)
	}
	sum.Revenue = roundMicro(sum.Revenue)
	ic.sum, ic.at = sum, time.Now()
	return sum
}

// walkTiers counts every known customer into sum and their tier, and
// returns the tiers and the buyers' spend.
func (s *Service) walkTiers(sum *ValueSummary, now int64) (map[string]*tierAcc, []float64) {
	byTier := map[string]*tierAcc{}
	for _, t := range Tiers {
		byTier[t] = &tierAcc{TierSummary: TierSummary{Tier: t}}
	}
	var spend []float64
	ncust := s.st.NumCustomers()
	s.mu.RLock()
	defer s.mu.RUnlock()
	for id := 0; id < ncust; id++ {
		if !s.knownCustomer(uint32(id)) {
			continue
		}
		var r valueRec
		if id < len(s.recs) {
			r = s.recs[id]
		}
		v := s.valueOf(&r, now)
		sum.Customers++
		t := byTier[v.Tier]
		t.Customers++
		if !r.bought() {
			continue
		}
		sum.Buyers++
		t.Revenue += r.monetary
		t.CurrentValue += v.CurrentValue
		if v.ChurnRisk != nil && v.ExpectedValue != nil {
			t.churn += *v.ChurnRisk
			t.ev += *v.ExpectedValue
			t.scored++
		}
		sum.Revenue += r.monetary
		spend = append(spend, r.monetary)
	}
	return byTier, spend
}

// concentration returns the revenue share of the top k×5% of buyers for
// k = 0..20, spend sorted largest first; the cut for k is rounded up as
// the 80/20 figure's is, so point 4 equals it.
func concentration(spend []float64, revenue float64) []float64 {
	out := make([]float64, 21)
	if revenue <= 0 {
		return out
	}
	acc, i := 0.0, 0
	for k := 1; k <= 20; k++ {
		cut := (len(spend)*k + 19) / 20
		for ; i < cut; i++ {
			acc += spend[i]
		}
		out[k] = roundMicro(acc / revenue)
	}
	out[20] = 1
	return out
}
