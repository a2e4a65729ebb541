// Package recommend ranks products: related products (product-to-product,
// related.go), one-to-one recommendations for a customer (personal.go),
// popular lists (popular.go), segment products and popularity
// (segment.go), potential value (value.go), with filters and cold-start
// fallbacks. engine.go holds the Engine, its Options and its Deps (the
// Source it reads the feature store through, and the optional segment and
// value capabilities); variant.go how an experiment variant's params change
// a list; cache.go the personal-list cache; scratch.go the dense score
// accumulator every list reuses. Service (service.go) is the list use case
// the API calls: enrol in an experiment, rank, assign the recommendation
// id, log the exposure; it reaches the experiment service only through the
// Experimenter interface. The package never touches HTTP or storage.
//
// The experiment and next-best-offer services (experiments*.go, nbo*.go,
// offers*.go, abtest/) still live here until they move to packages of their
// own (issue 15).
package recommend
