package crm

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Customer value: recency, frequency and monetary value (RFM) per customer,
// kept current by the store's OnEvents hook, with quintile scores, a value
// tier and historical / current value. See docs/customer-value.md.

// Value is one customer's value profile. RecencyDays is -1 for a customer
// who never bought (in rules it is +Inf instead, so `recency_days < 30`
// means "bought in the last 30 days"). Scores are 1..5 (0 for a customer
// who never bought). PotentialValue is left 0 here: it depends on
// recommendations, and recommend fills it. A Value is a plain copy: safe to
// share once filled.
type Value struct {
	RecencyDays     float64 `json:"recency_days"`
	Frequency       int     `json:"frequency"`
	Monetary        float64 `json:"monetary"`
	RScore          int     `json:"r_score"`
	FScore          int     `json:"f_score"`
	MScore          int     `json:"m_score"`
	Tier            string  `json:"tier"`
	HistoricalValue float64 `json:"historical_value"`
	CurrentValue    float64 `json:"current_value"`
	PotentialValue  float64 `json:"potential_value"`
	// ChurnRisk is the probability of no purchase in the next 90 days,
	// PAlive the probability that the customer still buys at all, and
	// ExpectedValue the expected revenue over the next 90 days, from the
	// BG/NBD and Gamma-Gamma models (btyd.go); nil (JSON null) while no
	// model is fitted and for a customer who never bought.
	ChurnRisk     *float64 `json:"churn_risk"`
	PAlive        *float64 `json:"p_alive"`
	ExpectedValue *float64 `json:"expected_value"`
}

// The value tiers, from the RFM scores (FM is the mean of F and M):
//
//	champions        R >= 4 and FM >= 4
//	loyal            R >= 3 and FM >= 3 (and not a champion)
//	promising        R >= 4 and FM < 3   (recent, not yet frequent or big)
//	needs_attention  R == 3 and FM < 3
//	at_risk          R <= 2 and FM >= 3  (were valuable, slipping away)
//	hibernating      R == 2 and FM < 3
//	lost             R == 1 and FM < 3
//	prospect         never bought
const (
	TierChampions      = "champions"
	TierLoyal          = "loyal"
	TierPromising      = "promising"
	TierNeedsAttention = "needs_attention"
	TierAtRisk         = "at_risk"
	TierHibernating    = "hibernating"
	TierLost           = "lost"
	TierProspect       = "prospect"
)

// Tiers lists every tier, best first.
var Tiers = []string{TierChampions, TierLoyal, TierPromising, TierNeedsAttention, TierAtRisk, TierHibernating, TierLost, TierProspect}

func tierOf(r, f, m int) string {
	if r == 0 {
		return TierProspect
	}
	fm := float64(f+m) / 2
	switch {
	case r >= 4 && fm >= 4:
		return TierChampions
	case r >= 3 && fm >= 3:
		return TierLoyal
	case r >= 4:
		return TierPromising
	case r == 3:
		return TierNeedsAttention
	case fm >= 3:
		return TierAtRisk
	case r == 2:
		return TierHibernating
	}
	return TierLost
}

const (
	day = 86400.0
	// currentValueTau is the time constant (seconds) of the decayed revenue
	// that estimates a customer's current spending rate: about 180 days,
	// so a purchase a year ago counts e^-2 ≈ 14% of one today.
	currentValueTau = 180 * day
	// currentValueHorizon is the period current_value looks ahead.
	currentValueHorizon = 90 * day
	// minTenure keeps a brand-new customer's single purchase from being
	// read as a rate of one purchase per day.
	minTenure = 90 * day
	// valueRefreshInterval is how often the quintile boundaries are
	// recomputed and every segment is re-evaluated (recency moves with the
	// clock even when no event arrives).
	valueRefreshInterval = time.Minute
)

// valueRec is the running RFM state of one customer.
type valueRec struct {
	// firstTS and lastTS are the first and last purchase, unix s; they
	// mean nothing until bought() (a purchase at unix 0 is a purchase).
	firstTS, lastTS int64
	// orders holds the distinct order hashes of purchases, sorted;
	// noOrder counts purchases without an order id (each is one order).
	orders   []uint32
	noOrder  int32
	events   int32
	monetary float64
	// decayed is Σ value·e^(-(decayRef-t)/τ) over purchases: the revenue
	// rate estimator behind current_value, updatable one event at a time.
	decayed  float64
	decayRef int64
	// days holds the distinct days (unix days) with a purchase, sorted,
	// and firstDayValue the revenue of the first of them: the BTYD
	// summary (btyd.go) merges a customer's orders per day.
	days          []int32
	firstDayValue float64
}

func (v *valueRec) frequency() int { return len(v.orders) + int(v.noOrder) }

// bought reports whether the customer made a purchase: every purchase
// counts in frequency, so no timestamp has to double as "never".
func (v *valueRec) bought() bool { return v.frequency() > 0 }

// addPurchase folds one purchase in; events may arrive out of time order.
func (v *valueRec) addPurchase(ts int64, value float64, order uint32) {
	first := !v.bought()
	if order == 0 {
		v.noOrder++
	} else if i, found := slices.BinarySearch(v.orders, order); !found {
		v.orders = slices.Insert(v.orders, i, order)
	}
	v.monetary += value
	v.addDay(ts, value, first)
	if first || ts > v.lastTS {
		v.lastTS = ts
	}
	if first || ts < v.firstTS {
		v.firstTS = ts
	}
	switch {
	case first:
		v.decayed, v.decayRef = value, ts
	case ts >= v.decayRef:
		v.decayed = v.decayed*math.Exp(-float64(ts-v.decayRef)/currentValueTau) + value
		v.decayRef = ts
	default:
		v.decayed += value * math.Exp(-float64(v.decayRef-ts)/currentValueTau)
	}
}

// currentValue is the expected revenue over the next 90 days at the
// customer's current rate: the exponentially decayed revenue divided by the
// decayed length of time the customer has been buying (at least 90 days),
// times 90 days. See docs/customer-value.md.
func (v *valueRec) currentValue(now int64) float64 {
	if !v.bought() {
		return 0
	}
	age := math.Max(0, float64(now-v.decayRef))
	d := v.decayed * math.Exp(-age/currentValueTau)
	tenure := math.Max(float64(now-v.firstTS), minTenure)
	window := currentValueTau * (1 - math.Exp(-tenure/currentValueTau))
	return math.Max(0, d/window*currentValueHorizon)
}

// rfmBounds are the quintile cut points of recency (last purchase time),
// frequency and monetary value among customers who bought. Immutable once
// published.
type rfmBounds struct {
	r, f, m [4]float64
	buyers  int
	at      time.Time
}

// score is 1 + how many cut points v exceeds: 1..5.
func score(v float64, cuts *[4]float64) int {
	s := 1
	for _, c := range cuts {
		if v > c {
			s++
		}
	}
	return s
}

// quintileCuts returns the values at the upper end of the first four
// quintiles of xs (sorted in place).
func quintileCuts(xs []float64) [4]float64 {
	var cuts [4]float64
	if len(xs) == 0 {
		return cuts
	}
	sort.Float64s(xs)
	for k := 1; k <= 4; k++ {
		i := (k*len(xs)+4)/5 - 1
		cuts[k-1] = xs[max(i, 0)]
	}
	return cuts
}

// CustomerValue returns customer c's value profile; false when c is not a
// known customer. PotentialValue is 0 (recommend computes it).
func (s *Service) CustomerValue(c uint32) (Value, bool) {
	if !s.knownCustomer(c) {
		return Value{}, false
	}
	var r valueRec
	s.mu.RLock()
	if int(c) < len(s.recs) {
		r = s.recs[c]
	}
	s.mu.RUnlock()
	return s.valueOf(&r, s.st.Now().Unix()), true
}

func (s *Service) valueOf(r *valueRec, now int64) Value {
	if !r.bought() {
		return Value{RecencyDays: -1, Tier: TierProspect}
	}
	v := Value{
		RecencyDays:     math.Max(0, float64(now-r.lastTS)/day),
		Frequency:       r.frequency(),
		Monetary:        roundMicro(r.monetary),
		HistoricalValue: roundMicro(r.monetary),
		CurrentValue:    roundMicro(r.currentValue(now)),
	}
	if b := s.bounds.Load(); b != nil && b.buyers > 0 {
		v.RScore = score(float64(r.lastTS), &b.r)
		v.FScore = score(float64(v.Frequency), &b.f)
		v.MScore = score(r.monetary, &b.m)
	} else {
		// No boundaries yet (the first purchases since start): the middle.
		v.RScore, v.FScore, v.MScore = 3, 3, 3
	}
	v.Tier = tierOf(v.RScore, v.FScore, v.MScore)
	sc := s.model.Load().scores(r, now)
	v.ChurnRisk, v.PAlive, v.ExpectedValue = sc.churnRisk, sc.pAlive, sc.expectedValue
	return v
}

// roundMicro rounds to a millionth so that sums of prices do not show
// floating-point noise (15.299999999999999).
func roundMicro(v float64) float64 {
	if math.Abs(v) > 1e9 {
		return v
	}
	return math.Round(v*1e6) / 1e6
}

// addProductPurchase counts one purchase of p; the caller holds mu.
func (c *Service) addProductPurchase(p uint32, value float64) {
	for int(p) >= len(c.prodRev) {
		c.prodRev = append(c.prodRev, 0)
		c.prodBuys = append(c.prodBuys, 0)
	}
	c.prodRev[p] += value
	c.prodBuys[p]++
}

// PurchaseValue returns the mean value of a purchase of product p (an
// order line: price × quantity), false when p was never bought with a
// value. Potential value uses it: a catalogue price is per unit, and
// customers buy several. Purchases of erased customers stay in this mean
// until the next restart rebuilds it from the log.
func (s *Service) PurchaseValue(p uint32) (float64, bool) {
	c := s
	c.mu.RLock()
	defer c.mu.RUnlock()
	if int(p) >= len(c.prodRev) || c.prodBuys[p] == 0 || c.prodRev[p] <= 0 {
		return 0, false
	}
	return c.prodRev[p] / float64(c.prodBuys[p]), true
}
