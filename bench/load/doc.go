// Package load is `affinity bench`'s load generator: it drives a running
// Affinity server over HTTP and measures what the server's callers meet.
//
// It imports the client and nothing of the server's inside; nothing but
// cmd/affinity imports it, so the serving binary's hot paths never depend on
// measuring code. Like every package here it reads no flags and no
// environment: cmd/affinity turns those into Options.
//
// Run drives a server with one of the scenarios of the command line contract
// (related, personal, popular, nbo, mixed) and returns a Result: request and
// error counts, throughput, latency percentiles from HdrHistogram, a
// per-second series, and renderings of all that as a text table, JSON and a
// self-contained HTML page.
//
// Two load models are offered. Closed loop (the default) runs a fixed number
// of workers that each send a request as soon as the previous one returns: it
// finds the throughput ceiling but, like every closed-loop tool, lets a slow
// server slow the load down, so its latencies understate stalls. Open loop
// (Options.Rate > 0) sends at a constant arrival rate from a fixed schedule
// and measures each request's latency from its intended start, so a stall is
// charged to every request that should have been sent during it (the
// "coordinated omission" correction of wrk2 and HdrHistogram).
// In open loop the mixed scenario's reads and event POSTs are two
// independent lanes (lane.go), each on its own schedule at its share of the
// rate with its own Options.Concurrency workers, as a storefront's page
// renders and tracking beacons are: a stall in the server's commit of events
// then delays the events, not the reads falling due meanwhile.
//
// RunWithBaseline runs the same load first against a trivial handler
// (cmd/affinity serves api.NewBaselineApp on loopback for `affinity bench
// --baseline`) and then against the target, and reports the ratio of the
// throughputs: on a shared machine the ratio is what can be compared from
// run to run (docs/performance.md).
//
// Where things are: options.go (Options), run.go (Run and the merge into a
// Result), phase.go (the workers of one warmup or measured phase and how
// each request is recorded), lane.go (the lanes and their schedules),
// result.go (the Result types), scenarios.go, plan.go and ids.go (what to
// request), target.go (the HTTP client), table.go, html.go, charts.go and
// progress.go (the renderings), memory.go (the server's resident set) and
// baseline.go.
package load
