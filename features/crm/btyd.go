package crm

import (
	"errors"
	"math"
	"slices"
	"time"

	"github.com/affinity-rec/affinity/features/background"
	"github.com/affinity-rec/affinity/features/clv"
)

// Churn risk and expected value from the buy-till-you-die models of
// features/clv (BG/NBD for purchases, Gamma-Gamma for spend), fitted on
// every buyer's history at value refresh, in days, with a customer's
// orders merged per day as in the BTYD literature. See
// docs/customer-value.md for why churn_risk is P(no purchase in 90 days)
// and not 1 − P(alive): on Online Retail the latter ranks customers who
// did not come back with an AUC of 0.33, the former 0.73.

// btydHorizon is the period churn_risk and expected_value look ahead, in
// days (the same as current_value's).
const btydHorizon = 90.0

// btydRefit is how long a fit serves when no purchase came since: the
// customers' ages grow with the clock, so it is redone now and then.
const btydRefit = time.Hour

// addDay folds a purchase's day into the per-day summary; first says it is
// the customer's first purchase. Purchases may arrive out of time order.
func (v *valueRec) addDay(ts int64, value float64, first bool) {
	d := unixDay(ts)
	i, found := slices.BinarySearch(v.days, d)
	switch {
	case first || i == 0 && !found:
		v.firstDayValue = value // a new first day: the old one is a repeat now
	case i == 0:
		v.firstDayValue += value
	}
	if !found {
		v.days = slices.Insert(v.days, i, d)
	}
}

func unixDay(ts int64) int32 {
	d := ts / int64(day)
	if ts < 0 && ts%int64(day) != 0 {
		d--
	}
	return int32(d)
}

// summary is the customer's BTYD summary at now (unix s), in days: repeat
// purchase days x, first to last purchase day t_x, first purchase day to
// now T (at least t_x: a pinned clock may be before the last purchase),
// and the mean revenue of the repeat days. ok is false for a customer who
// never bought.
func (v *valueRec) summary(now int64) (clv.Summary, bool) {
	if !v.bought() || len(v.days) == 0 {
		return clv.Summary{}, false
	}
	x := len(v.days) - 1
	tx := float64(v.days[x] - v.days[0])
	T := math.Max(float64(now)/day-float64(v.days[0]), tx)
	s := clv.Summary{Frequency: x, Recency: tx, Age: T}
	if x > 0 {
		s.MeanValue = math.Max(0, (v.monetary-v.firstDayValue)/float64(x))
	}
	return s, true
}

// valueModel is a fitted pair of models, published immutably.
type valueModel struct {
	bg clv.BGNBD
	gg clv.GammaGamma
	// fittedAt is when the fit ran (wall clock); asOf the store clock it
	// was fitted at; purchases the purchase count it had seen.
	fittedAt, asOf time.Time
	purchases      uint64
}

// btydScores are one customer's model figures: nil while no model is
// fitted, and for a customer who never bought.
type btydScores struct {
	churnRisk, pAlive, expectedValue *float64
}

func (m *valueModel) scores(r *valueRec, now int64) btydScores {
	if m == nil {
		return btydScores{}
	}
	s, ok := r.summary(now)
	if !ok {
		return btydScores{}
	}
	churn := roundMicro(m.bg.PNoPurchase(s, btydHorizon))
	alive := roundMicro(m.bg.PAlive(s))
	ev := roundMicro(clv.ExpectedRevenue(m.bg, m.gg, s, btydHorizon))
	return btydScores{&churn, &alive, &ev}
}

// fitModel fits both models on every buyer's summary unless the published
// fit is current (no purchase since, and younger than btydRefit). A fit
// that fails (too few buyers, data that cannot identify the model) keeps
// the last good one and is logged.
func (s *Service) fitModel() {
	now := s.st.Now()
	nowU := now.Unix()
	s.mu.RLock()
	purchases := s.purchases
	cur := s.model.Load()
	if cur != nil && cur.purchases == purchases && s.fitAge(cur, now) < btydRefit {
		s.mu.RUnlock()
		return
	}
	sums := make([]clv.Summary, 0, s.buyers)
	for i := range s.recs {
		if sm, ok := s.recs[i].summary(nowU); ok {
			sums = append(sums, sm)
		}
	}
	s.mu.RUnlock()
	bg, gg, err := s.fit(sums)
	if errors.Is(err, clv.ErrStopped) {
		return
	}
	if err == nil {
		s.model.Store(&valueModel{bg: bg, gg: gg, fittedAt: time.Now(), asOf: now.UTC(), purchases: purchases})
		s.insights.clear()
		return
	}
	if cur == nil || cur.purchases != purchases {
		s.log.Info("customer value model not fitted; the last good fit stays", "buyers", len(sums), "err", err)
	}
}

// fitBGNBD is a variable so that a test can see which thread the fit
// runs on.
var fitBGNBD = clv.FitBGNBDUntil

// fit fits BG/NBD and then Gamma-Gamma at background priority
// (background.Do): under a steady flow of purchases it runs every minute,
// and at normal priority its second of CPU on the 1M-event store took a
// core from the requests and queued them for seconds at 10k req/s of
// mixed load (docs/performance.md, "Session 10"). It holds no lock the
// requests wait for. Close stops a running fit (it took minutes at 10M
// events, and shutdown waited for it): ErrStopped, and nothing is
// published.
func (s *Service) fit(sums []clv.Summary) (bg clv.BGNBD, gg clv.GammaGamma, err error) {
	background.Do(func() {
		if bg, err = fitBGNBD(sums, s.stop); err == nil {
			gg, err = clv.FitGammaGammaUntil(sums, s.stop)
		}
	})
	return bg, gg, err
}

// ModelSummary is the fitted value model as /v1/insights/value shows it:
// parameters in days. Plain data.
type ModelSummary struct {
	BGNBD      BGNBDParams      `json:"bgnbd"`
	GammaGamma GammaGammaParams `json:"gamma_gamma"`
	// Customers is how many buyers the fit used.
	Customers   int       `json:"customers"`
	HorizonDays float64   `json:"horizon_days"`
	FittedAt    time.Time `json:"fitted_at"`
	AsOf        time.Time `json:"as_of"`
}

// BGNBDParams are BG/NBD's r, α (days), a and b; NoDropout says the fit
// found no dropout (a at 0 or b unbounded: P(alive) near 1 for everyone).
type BGNBDParams struct {
	R             float64 `json:"r"`
	AlphaDays     float64 `json:"alpha_days"`
	A             float64 `json:"a"`
	B             float64 `json:"b"`
	NoDropout     bool    `json:"no_dropout"`
	LogLikelihood float64 `json:"log_likelihood"`
}

// GammaGammaParams are Gamma-Gamma's p, q and γ.
type GammaGammaParams struct {
	P             float64 `json:"p"`
	Q             float64 `json:"q"`
	Gamma         float64 `json:"gamma"`
	LogLikelihood float64 `json:"log_likelihood"`
}

func (m *valueModel) summary() *ModelSummary {
	if m == nil {
		return nil
	}
	return &ModelSummary{
		BGNBD: BGNBDParams{R: m.bg.R, AlphaDays: m.bg.Alpha, A: m.bg.A, B: m.bg.B, NoDropout: m.bg.NoDropout,
			LogLikelihood: m.bg.LogLikelihood},
		GammaGamma:  GammaGammaParams{P: m.gg.P, Q: m.gg.Q, Gamma: m.gg.Gamma, LogLikelihood: m.gg.LogLikelihood},
		Customers:   m.bg.Customers,
		HorizonDays: btydHorizon,
		FittedAt:    m.fittedAt.UTC(),
		AsOf:        m.asOf,
	}
}
