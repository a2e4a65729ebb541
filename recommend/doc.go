// Package recommend ranks products: related products (product-to-product),
// one-to-one recommendations for a customer, popular lists, with filters and
// cold-start fallbacks. It reads the feature store through the small Source
// interface and never touches HTTP or storage.
package recommend
