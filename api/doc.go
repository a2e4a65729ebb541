// Package api is Affinity's HTTP interface (fiber): routes, thin handlers,
// authentication, limits, metrics and the one place where errors become
// HTTP statuses (application/problem+json). Handlers parse, make one call
// into recommend or features, and encode.
package api
