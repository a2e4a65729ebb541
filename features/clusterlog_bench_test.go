package features

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// BenchmarkApplyLogTail is a node keeping up with live traffic: each
// stream message (one event) arrives on its own and is applied by its own
// ApplyLog call, with the store's default SyncWrites (on), as a production
// node runs. ns/op is per message.
func BenchmarkApplyLogTail(b *testing.B) {
	s := openTestStore(b, "", func(o *Options) { o.SyncWrites = true })
	defer s.Close()
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		ev := Event{EventID: fmt.Sprint("e", i), CustomerID: fmt.Sprint("c", i%20000), ProductID: fmt.Sprint("p", i*7%5000), Type: "view", Timestamp: ts}
		entry := LogEntry{Seq: uint64(i + 1), Data: EncodeLogEvents([]Event{ev})}
		b.StartTimer()
		if err := s.ApplyLog(context.Background(), []LogEntry{entry}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
