// Package bench holds Affinity's two ways of measuring itself: a load
// generator for a running server (`affinity bench`) and the offline
// evaluation of recommendation quality (`affinity eval`).
//
// bench imports the core (features, recommend) and nothing imports bench
// except cmd/affinity, so the serving binary's hot paths never depend on
// measuring code. Like every package here it reads no flags and no
// environment: cmd/affinity turns those into options.
//
// # Load generation
//
// RunLoad drives a server over HTTP with one of the scenarios of the command
// line contract (related, personal, popular, nbo, mixed) and returns a
// LoadResult: request and error counts, throughput, latency percentiles from
// HdrHistogram, a per-second series, and renderings of all that as a text
// table, JSON and a self-contained HTML page.
//
// Two load models are offered. Closed loop (the default) runs a fixed number
// of workers that each send a request as soon as the previous one returns: it
// finds the throughput ceiling but, like every closed-loop tool, lets a slow
// server slow the load down, so its latencies understate stalls. Open loop
// (LoadOptions.Rate > 0) sends at a constant arrival rate from a fixed
// schedule and measures each request's latency from its intended start, so a
// stall is charged to every request that should have been sent during it
// (the "coordinated omission" correction of wrk2 and HdrHistogram).
//
// # Offline evaluation
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
// # Baseline
//
// RunLoadWithBaseline runs the same load first against a trivial handler
// (cmd/affinity serves api.NewBaselineApp on loopback for `affinity bench
// --baseline`) and then against the target, and reports the ratio of the
// throughputs: on a shared machine the ratio is what can be compared from
// run to run (docs/performance.md).
//
// # Synthetic data
//
// WriteSynth and WriteSynthFile make a seeded, Zipf-skewed event set of any
// size (sessions, categories, views, carts and purchases with order ids) as
// CSV or NDJSON for `affinity import`; SynthPreset names the sizes used in
// docs/performance.md (`affinity bench --generate FILE --size full`).
package bench
