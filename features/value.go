package features

import (
	"math"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Customer value: recency, frequency and monetary value (RFM) per customer,
// kept current by the store's OnEvents hook, with quintile scores, a value
// tier and historical / current value. See docs/customer-value.md.

// Value is one customer's value profile. RecencyDays is -1 for a customer
// who never bought (in rules it is +Inf instead, so `recency_days < 30`
// means "bought in the last 30 days"). Scores are 1..5 (0 for a customer
// who never bought). PotentialValue is left 0 by the store: it depends on
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

// crm is the customer-value and segment state of a Store. recs is guarded
// by mu (written only in the writer goroutine, read under short read
// locks); bounds and segs are published immutably for lock-free readers.
type crm struct {
	mu   sync.RWMutex
	recs []valueRec
	// buyers counts customers with a purchase (under mu).
	buyers int
	// prodRev and prodBuys are each product's purchase revenue and count
	// (under mu): the value of a typical purchase of it.
	prodRev  []float64
	prodBuys []uint32

	bounds atomic.Pointer[rfmBounds]
	segs   atomic.Pointer[segmentSet]

	// segMu serialises changes to segs: the writer (definitions,
	// erasures) and the applier (membership) both publish.
	segMu  sync.Mutex
	passMu sync.Mutex // one full pass at a time
	apply  segApplier // segapply.go
	// afterEval lets a test write between a full pass and its
	// reconciliation (fullEval); nil outside tests. A field, not a
	// package variable, so that tests of other stores run in parallel.
	afterEval atomic.Pointer[func()]

	kick chan struct{}

	ptc      ptcCache
	insights insightsCache
}

// purchaseCodes marks the event type codes that are purchases: class
// bought, and not a type whose value is a weight (a rating is not revenue).
func purchaseCodes(tt *TypeTable) *[256]bool {
	var p [256]bool
	for c := range tt.conf {
		p[c] = tt.known[c] && tt.conf[c].Class == ClassBought && !tt.conf[c].UseValue
	}
	return &p
}

// loadCRM builds customer values from the replayed history, loads and
// evaluates the stored segments, registers the hooks that keep both current
// and starts the background refresher. Called once from load.
func (s *Store) loadCRM() error {
	c := &s.crm
	c.kick = make(chan struct{}, 1)
	tt := s.types.Load()
	isPurchase := purchaseCodes(tt)
	s.idx.mu.RLock()
	c.mu.Lock()
	c.recs = make([]valueRec, len(s.idx.hist))
	for id, h := range s.idx.hist {
		r := &c.recs[id]
		for i := range h {
			in := &h[i]
			r.events++
			if isPurchase[in.Type] {
				r.addPurchase(int64(in.TS), in.Value, in.Order)
				c.addProductPurchase(in.Product, in.Value)
			}
		}
		if r.bought() {
			c.buyers++
		}
	}
	c.mu.Unlock()
	s.idx.mu.RUnlock()
	s.recomputeBounds()
	if err := s.loadSegments(); err != nil {
		return err
	}
	c.apply.init()
	s.AddHooks(Hooks{OnEvents: s.crmOnEvents, OnCustomer: s.crmOnCustomer, OnErase: s.crmOnErase})
	s.wg.Add(2)
	go s.crmLoop()
	go s.segApplyLoop()
	return nil
}

func (s *Store) crmLoop() {
	defer s.wg.Done()
	t := time.NewTicker(valueRefreshInterval)
	defer t.Stop()
	// A first pass soon after Open: a clock that reads the store itself
	// (serve's latest-event clock) only works once Open has returned, so
	// the evaluation done while loading may have used the wall clock.
	first := time.After(time.Second)
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-first:
		case <-s.crm.kick:
		}
		if err := s.RefreshCustomerValue(); err != nil {
			select {
			case <-s.stop:
				return
			default:
			}
			s.log.Error("customer value refresh failed", "err", err)
		}
	}
}

// RefreshCustomerValue recomputes the RFM quintile boundaries and
// re-evaluates every segment for every customer (scores and recency change
// without events). The store does it in the background every minute; tests
// and imports call it to see the result at once (it returns once the
// segment applier has caught up).
func (s *Store) RefreshCustomerValue() error {
	s.recomputeBounds()
	if err := s.reevaluateAll(); err != nil {
		return err
	}
	return s.FlushSegments()
}

func (s *Store) recomputeBounds() {
	c := &s.crm
	c.mu.RLock()
	rs := make([]float64, 0, c.buyers)
	fs := make([]float64, 0, c.buyers)
	ms := make([]float64, 0, c.buyers)
	for i := range c.recs {
		r := &c.recs[i]
		if !r.bought() {
			continue
		}
		rs = append(rs, float64(r.lastTS))
		fs = append(fs, float64(r.frequency()))
		ms = append(ms, r.monetary)
	}
	c.mu.RUnlock()
	b := &rfmBounds{r: quintileCuts(rs), f: quintileCuts(fs), m: quintileCuts(ms), buyers: len(rs), at: time.Now()}
	c.bounds.Store(b)
}

// addProductPurchase counts one purchase of p; the caller holds mu.
func (c *crm) addProductPurchase(p uint32, value float64) {
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
func (s *Store) PurchaseValue(p uint32) (float64, bool) {
	c := &s.crm
	c.mu.RLock()
	defer c.mu.RUnlock()
	if int(p) >= len(c.prodRev) || c.prodBuys[p] == 0 || c.prodRev[p] <= 0 {
		return 0, false
	}
	return c.prodRev[p] / float64(c.prodBuys[p]), true
}

// crmOnEvents folds committed events into the customers' values and
// queues the customers they touched for the segment applier. It runs in
// the writer goroutine, so it evaluates no rule.
func (s *Store) crmOnEvents(evs []AppliedEvent) {
	c := &s.crm
	tt := s.types.Load()
	isPurchase := purchaseCodes(tt)
	touched := make([]uint32, 0, 64)
	c.mu.Lock()
	for i := range evs {
		e := &evs[i]
		for int(e.Customer) >= len(c.recs) {
			c.recs = append(c.recs, valueRec{})
		}
		r := &c.recs[e.Customer]
		if len(touched) == 0 || touched[len(touched)-1] != e.Customer {
			touched = append(touched, e.Customer)
		}
		r.events++
		code, ok := tt.Code(e.Event.Type)
		if !ok || !isPurchase[code] {
			continue
		}
		if !r.bought() {
			c.buyers++
		}
		r.addPurchase(e.Event.Timestamp.Unix(), e.Event.Value, orderHash(e.Event.OrderID))
		c.addProductPurchase(e.Product, e.Event.Value)
	}
	buyers := c.buyers
	c.mu.Unlock()
	slices.Sort(touched)
	touched = slices.Compact(touched)
	s.enqueueMembership(touched...)
	// Quintiles are recomputed in the background, not per event; a store
	// that grew a lot since (a first import) asks for it now.
	if b := c.bounds.Load(); b == nil || buyers > 2*b.buyers+10 {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

func (s *Store) crmOnCustomer(cust uint32) { s.enqueueMembership(cust) }

func (s *Store) crmOnErase(cust uint32, _ string) {
	c := &s.crm
	c.mu.Lock()
	if int(cust) < len(c.recs) {
		if c.recs[cust].bought() {
			c.buyers--
		}
		c.recs[cust] = valueRec{}
	}
	c.mu.Unlock()
	s.removeMember(cust)
	// Cached aggregates counted them: drop them so nothing derived from the
	// erased history is served.
	c.ptc.clear()
	c.insights.clear()
}

// knownCustomer reports whether c is a live customer id.
func (s *Store) knownCustomer(c uint32) bool {
	return int(c) < s.cust.len() && s.cust.name(c) != ""
}

// CustomerValue returns customer c's value profile; false when c is not a
// known customer. PotentialValue is 0 (recommend computes it).
func (s *Store) CustomerValue(c uint32) (Value, bool) {
	if !s.knownCustomer(c) {
		return Value{}, false
	}
	var r valueRec
	s.crm.mu.RLock()
	if int(c) < len(s.crm.recs) {
		r = s.crm.recs[c]
	}
	s.crm.mu.RUnlock()
	return s.valueOf(&r, s.Now().Unix()), true
}

func (s *Store) valueOf(r *valueRec, now int64) Value {
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
	if b := s.crm.bounds.Load(); b != nil && b.buyers > 0 {
		v.RScore = score(float64(r.lastTS), &b.r)
		v.FScore = score(float64(v.Frequency), &b.f)
		v.MScore = score(r.monetary, &b.m)
	} else {
		// No boundaries yet (the first purchases since start): the middle.
		v.RScore, v.FScore, v.MScore = 3, 3, 3
	}
	v.Tier = tierOf(v.RScore, v.FScore, v.MScore)
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

// RuleEnv returns the variables a rule sees for customer c: recency_days,
// frequency, monetary, r_score, f_score, m_score, tier, historical_value,
// current_value, events, attributes (a map, never nil) and segments (sorted
// names). An unknown customer gets the values of one who never bought.
func (s *Store) RuleEnv(c uint32) map[string]any {
	env := make(map[string]any, len(ruleEnvTemplate))
	s.fillEnv(env, c, s.Now().Unix())
	env["segments"] = s.SegmentsOf(c)
	return env
}

// fillEnv sets every rule variable but segments in env.
func (s *Store) fillEnv(env map[string]any, c uint32, now int64) {
	var r valueRec
	s.crm.mu.RLock()
	if int(c) < len(s.crm.recs) {
		r = s.crm.recs[c]
	}
	s.crm.mu.RUnlock()
	v := s.valueOf(&r, now)
	rec := v.RecencyDays
	if !r.bought() {
		rec = math.Inf(1)
	}
	env["recency_days"] = rec
	env["frequency"] = v.Frequency
	env["monetary"] = v.Monetary
	env["r_score"] = v.RScore
	env["f_score"] = v.FScore
	env["m_score"] = v.MScore
	env["tier"] = v.Tier
	env["historical_value"] = v.HistoricalValue
	env["current_value"] = v.CurrentValue
	env["events"] = int(r.events)
	attrs := s.CustomerAttributes(c)
	if attrs == nil {
		attrs = emptyAttrs
	}
	env["attributes"] = attrs
}

var emptyAttrs = map[string]any{}

// CoBought returns how many customers bought both products a and b, and
// how many bought a: the conditional purchase rate P(b | a) behind
// potential value. Bitmap intersections are the cheap way to count one
// specific pair.
func (s *Store) CoBought(a, b uint32) (both, ofA int) {
	x := s.idx
	x.mu.RLock()
	defer x.mu.RUnlock()
	bm := x.prodCust[ClassBought]
	if int(a) >= len(bm) || bm[a] == nil {
		return 0, 0
	}
	ofA = int(bm[a].GetCardinality())
	if int(b) >= len(bm) || bm[b] == nil {
		return 0, ofA
	}
	return int(bm[a].AndCardinality(bm[b])), ofA
}

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
}

// TierSummary is one tier's customers and revenue (plain data, read-only
// once published).
type TierSummary struct {
	Tier         string  `json:"tier"`
	Customers    int     `json:"customers"`
	Revenue      float64 `json:"revenue"`
	RevenueShare float64 `json:"revenue_share"`
	CurrentValue float64 `json:"current_value"`
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
func (s *Store) ValueInsights() *ValueSummary {
	ic := &s.crm.insights
	ic.mu.Lock()
	defer ic.mu.Unlock()
	if ic.sum != nil && time.Since(ic.at) < insightsTTL {
		return ic.sum
	}
	now := s.Now()
	nowU := now.Unix()
	byTier := map[string]*TierSummary{}
	for _, t := range Tiers {
		byTier[t] = &TierSummary{Tier: t}
	}
	sum := &ValueSummary{AsOf: now.UTC()}
	var spend []float64
	ncust := s.cust.len()
	c := &s.crm
	c.mu.RLock()
	for id := 0; id < ncust; id++ {
		if !s.knownCustomer(uint32(id)) {
			continue
		}
		var r valueRec
		if id < len(c.recs) {
			r = c.recs[id]
		}
		v := s.valueOf(&r, nowU)
		sum.Customers++
		t := byTier[v.Tier]
		t.Customers++
		if !r.bought() {
			continue
		}
		sum.Buyers++
		t.Revenue += r.monetary
		t.CurrentValue += v.CurrentValue
		sum.Revenue += r.monetary
		spend = append(spend, r.monetary)
	}
	c.mu.RUnlock()
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
		sum.Tiers = append(sum.Tiers, *t)
	}
	sum.Revenue = roundMicro(sum.Revenue)
	ic.sum, ic.at = sum, time.Now()
	return sum
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
