package node_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
)

// BenchmarkProductPut is a write other than events in cluster mode, end to
// end: PUT /v1/products/{id} over HTTP on one node, which validates,
// publishes the op, waits for JetStream's ack and then for its own apply
// (Badger commit with the stream sequence) before it answers. Single
// server (R=1). Reports the latency's p50 and p99.
func BenchmarkProductPut(b *testing.B) {
	nc := natstest.StartT(b, 1)
	m := startMember(b, b.TempDir(), nc.URLs())
	defer m.stop()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		m.write("PUT", fmt.Sprintf("/v1/products/b%d", i%500), fmt.Sprintf(`{"category":"c%d","price":%d}`, i%7, 1+i%90), 200)
		lat = append(lat, time.Since(t0))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99_ms")
}
