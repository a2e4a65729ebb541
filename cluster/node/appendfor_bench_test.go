package node_test

import (
	"fmt"
	"testing"

	"github.com/affinity-rec/affinity/cluster/natstest"
)

// BenchmarkAppendFlush is one flush of 100 log entries (an offer or
// exposure flush under load) on one node, single server (R=1), through
// features.Records: "batched" is Append (one message on the definitions'
// subject, as before entries travelled per customer), "customers=N" is
// AppendFor with the entries spread over N customers (one message each,
// published at most 16 at a time, so the erasure's purge removes them).
// ns/op is one flush until this node has applied all of it.
func BenchmarkAppendFlush(b *testing.B) {
	nc := natstest.StartT(b, 1)
	m := startMember(b, b.TempDir(), nc.URLs())
	defer m.stop()
	recs := m.store.Records()
	entries := make([][]byte, 100)
	for i := range entries {
		entries[i] = fmt.Appendf(nil, "%0200d", i)
	}
	b.Run("batched", func(b *testing.B) {
		for b.Loop() {
			if _, err := recs.Append("bench-log", entries); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(1, "msgs/flush")
	})
	for _, n := range []int{1, 10, 100} {
		custs := make([]string, len(entries))
		for i := range custs {
			custs[i] = fmt.Sprintf("c%d", i%n)
		}
		b.Run(fmt.Sprintf("customers=%d", n), func(b *testing.B) {
			round := 0
			for b.Loop() {
				// Distinct entries each round: equal ones are stored once
				// (their messages' ids are their content's).
				round++
				for i := range entries {
					entries[i] = fmt.Appendf(entries[i][:0], "%010d%0190d", round, i)
				}
				if _, err := recs.AppendFor("bench-log", custs, entries); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "msgs/flush")
		})
	}
}
