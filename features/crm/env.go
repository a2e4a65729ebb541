package crm

import "math"

// RuleEnv returns the variables a rule sees for customer c: recency_days,
// frequency, monetary, r_score, f_score, m_score, tier, historical_value,
// current_value, churn_risk, p_alive, expected_value, events, attributes (a
// map, never nil) and segments (sorted names). An unknown customer gets the
// values of one who never bought. churn_risk, p_alive and expected_value
// are NaN while no model is fitted and for a customer who never bought:
// no comparison with NaN holds, so `churn_risk > 0.5` and
// `churn_risk <= 0.5` are both false for them.
func (s *Service) RuleEnv(c uint32) map[string]any {
	env := make(map[string]any, len(ruleEnvTemplate))
	s.fillEnv(env, c, s.st.Now().Unix())
	env["segments"] = s.SegmentsOf(c)
	return env
}

// fillEnv sets every rule variable but segments in env.
func (s *Service) fillEnv(env map[string]any, c uint32, now int64) {
	var r valueRec
	s.mu.RLock()
	if int(c) < len(s.recs) {
		r = s.recs[c]
	}
	s.mu.RUnlock()
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
	env["churn_risk"] = orNaN(v.ChurnRisk)
	env["p_alive"] = orNaN(v.PAlive)
	env["expected_value"] = orNaN(v.ExpectedValue)
	env["events"] = int(r.events)
	attrs := s.st.CustomerAttributes(c)
	if attrs == nil {
		attrs = emptyAttrs
	}
	env["attributes"] = attrs
}

var emptyAttrs = map[string]any{}

func orNaN(p *float64) float64 {
	if p == nil {
		return math.NaN()
	}
	return *p
}

// CoBought returns how many customers bought both products a and b, and
// how many bought a (the store counts them): with PurchaseValue, what
// potential value needs.
func (s *Service) CoBought(a, b uint32) (both, ofA int) { return s.st.CoBought(a, b) }
