// Package cluster is the substrate of cluster mode: one NATS JetStream stream
// that every node publishes its validated writes to and applies in order.
//
// It knows nothing about Affinity's records: messages are subjects and bytes.
// The parts are
//   - Setup: the stream (replicas 3, or the JetStream cluster's size when it is
//     smaller; no age limit; a Nats-Msg-Id dedup window) and its subjects;
//   - Publisher: a batch published asynchronously, returned once JetStream has
//     acknowledged every message, with the sequence of the last one;
//   - Follower: applies the stream in order from a sequence, stops loudly on
//     the first message it cannot apply, and reports lag and rate;
//   - Snapshots: an object store bucket of state snapshots named by sequence;
//   - Counters: exact limits across nodes by KV compare-and-set;
//   - Erase: a subject-filtered purge of one customer's messages.
//
// NATS is used rather than a home-made log because JetStream already gives a
// replicated (Raft), ordered, deduplicating log, a KV with compare-and-set and
// an object store, in one Go server that tests can embed (see natstest).
package cluster
