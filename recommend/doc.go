// Package recommend ranks products: related products (product-to-product,
// related.go), one-to-one recommendations for a customer (personal.go),
// popular lists (popular.go), segment products and popularity
// (segment.go), potential value (value.go), with filters and cold-start
// fallbacks. engine.go holds the Engine, its Options and its Deps (the
// Source it reads the feature store through, and the optional segment and
// value capabilities); variant.go how an experiment variant's params change
// a list, params.go the checks of those params; cache.go the personal-list
// cache; scratch.go the dense score accumulator every list reuses;
// offers_prior.go the association prior next-best-offer asks for.
//
// Service (service.go) is the list use case the API calls: enrol in an
// experiment, rank, assign the recommendation id, log the exposure; it
// reaches the experiment service only through the Experimenter interface.
// The experiment service is recommend/experiment (its maths in
// recommend/experiment/abtest), next-best-offer is recommend/offer; they use
// this package, never the other way. The package never touches HTTP or
// storage.
package recommend
