// Package recommend ranks products: related products (product-to-product),
// one-to-one recommendations for a customer, popular lists, with filters and
// cold-start fallbacks; segment products and potential value (segment.go,
// value.go); next-best-offer with Thompson sampling (offers.go, nbo.go); and
// experiments: assignment, exposure log, attribution and results
// (experiments.go, with the maths in recommend/abtest). It reads the feature store through the small Source
// interface and never touches HTTP or storage.
package recommend
