// Package offer holds offers as marketers define them and the
// next-best-offer service that chooses among them and learns from the
// answers.
//
// Next-best-offer: pick, for one customer now, the offers with the best
// score = propensity x value x priority among those that are active, on the
// channel, eligible, within budget and not capped; learn the propensity from
// the answers.
//
// Propensity. Each offer's acceptance probability for a customer is a Beta
// distribution. Its prior comes from the association model: r in [0, 1] is
// how strongly the customer's time-decayed history associates with the
// offer's products (the best of its targets' SAR scores, relative to the best
// score among the customer's own history items), and the prior mean is
//
//	m0 = PriorBase + (PriorMax - PriorBase) * r
//
// held as PriorStrength pseudo-answers: a0 = PriorStrength*m0,
// b0 = PriorStrength*(1-m0). Answers then add to it:
//
//	Beta(a0 + accepted, b0 + declined + ignored)
//
// counted over the offer's answers, or over the answers in one of the
// customer's segments once that segment has MinSegmentResponses of them (the
// customer's segment with the most answers). With few answers the customer's
// own associations decide; with many, what customers actually did decides.
// Each request draws one propensity per offer from its Beta (Thompson
// sampling), so an offer that does better takes over as evidence grows while
// a worse one keeps a small, shrinking chance of being shown.
//
// Caps and budgets are exact. A customer's shown counts and an offer's budget
// are reserved under locks (the customer's shard, then the offer: always in
// that order) before anything is logged: a customer is never shown an offer
// more than MaxPerCustomer times, and an offer never has more open exposures
// than its budget has acceptances left, so acceptances (which must answer an
// open exposure) never exceed the budget. An open exposure expires, counted
// as ignored, after ResponseWindow or when MaxOpen newer ones push it out.
//
// Durability. Every exposure, answer and expiry is appended to the store's
// logs (offer_shown, offer_response) before the call returns, group-committed
// across concurrent calls; the learning state is rebuilt from the logs on
// start.
package offer
