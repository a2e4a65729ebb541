// Package recommend ranks products: related products (product-to-product),
// one-to-one recommendations for a customer, popular lists, with filters and
// cold-start fallbacks; segment products and potential value (segment.go,
// value.go); what an experiment variant's params change
// (experiments_variant.go); and the association prior of next-best-offer
// (offers_prior.go). Next-best-offer itself is recommend/offer, experiments
// recommend/experiment (the maths in recommend/experiment/abtest); they use
// this package, never the other way. It reads the feature store through
// the small Source interface and never touches HTTP or storage.
package recommend
