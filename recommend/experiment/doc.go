// Package experiment is the experiments service: A/B tests driven by
// request flags (DESIGN 3.2), with its flusher, log codec and results;
// the assignment hash and the statistics are in its abtest sub-package.
//
// The request path touches two things only: Enrol reads an immutable map of
// compiled experiments (an atomic pointer, no lock) and hashes the unit with
// abtest.Assign; Expose puts one record on a buffered channel. Everything
// else happens in one background goroutine, the flusher, which owns the
// attribution index and is the only writer of the per-variant counters:
//
//   - every FlushInterval (or as soon as BatchSize exposures wait) it takes
//     the queued exposures, adds them to the index and appends them to the
//     store's "exposure" log in one batch;
//   - the store's OnEvents hook queues events that carry a recommendation_id;
//     the flusher attributes them to their exposure and appends what counted
//     to the "outcome" log;
//   - the OnErase hook and DELETE /v1/experiments queue erasures, done in
//     order with everything else.
//
// Hooks run in the store's writer goroutine, and the flusher waits on that
// goroutine when it appends to a log, so a hook must never wait on the
// flusher: hooks append to an unbounded slice under a mutex instead of a
// bounded channel (the store's own ingest rate bounds it). On start the
// index and the counters are rebuilt from the two logs.
package experiment
