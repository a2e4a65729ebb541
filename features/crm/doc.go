// Package crm is customer value, segments and the rules they are written
// in, beside the feature store and following it: the Service builds each
// customer's value (RFM, quintile scores, tier, historical and current
// value) from the store's histories, then keeps it current through the
// store's hooks (events, attribute changes, erasures), the way the offer
// service follows it. The store knows nothing of values or segments.
//
// By concern: service.go (the Service, New and Close, the minute refresh);
// hooks.go (what a commit changes); value.go (RFM, tiers, current value);
// insights.go (GET /v1/insights/value); env.go (a customer's rule
// variables); rules.go and rulecost.go (compiling a rule and its cost
// bounds: the same for segments and offers' eligibility); segments.go
// (definitions, full evaluations), segapply.go (the background applier
// that keeps membership current off the ingest path) and ptc.go (what a
// segment buys more than everyone).
//
// Segment definitions are records of kind "segment" in the store's Records,
// the key they had when they lived in the store; values are derived state,
// rebuilt from the histories at every start.
package crm
