// Package eval is `affinity eval`'s offline evaluation of recommendation
// quality.
//
// Split divides an event set (item- or user-stratified as Microsoft
// Recommenders does, or temporal), BuildGroundTruth says what is relevant to
// whom, and Evaluate trains an Algorithm through the serving code itself (an
// in-memory features.Store, one model build, recommend.Engine.Personal for
// every test customer) and scores the lists with MetricsAccumulator: MAP,
// nDCG, precision and recall at K, and coverage. Algorithms lists what
// `affinity eval --algo` can name; docs/evaluation.md has the protocol and
// the figures.
//
// eval imports the core (features, recommend) and nothing but cmd/affinity
// imports it, so the serving binary never depends on measuring code. It
// reads no flags and no environment: cmd/affinity turns those into Options.
package eval
