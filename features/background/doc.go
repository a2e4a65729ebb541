// Package background runs the server's periodic computations (model
// refreshes, customer-value fits) at the lowest CPU priority, so that
// requests get the CPU first when the machine is busy and the background
// work uses what they leave. It is a leaf package: features and its
// subpackages (crm) share one count of the extra Ps it hands out.
package background
