package node_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features"
)

// BenchmarkTickFreshness is how long a write takes to show in the lists of
// every node in cluster mode (issue 16 point 4: lists change only at stream
// ticks): three nodes on a three-server JetStream cluster, the default tick
// interval (node.DefaultTick) and otherwise default settings; an op posts
// 60 purchases of a new product by distinct customers through one node
// and polls /v1/popular?limit=100 on all three until each lists that
// product. ns/op is the time from the write's acknowledgement to the last
// node showing it (the wait for the next tick, up to an interval, plus the
// tick's apply and build); worst-s the longest. Writes are spread over the
// tick interval. On a loaded machine: noisy.
//
//	go test -run X -bench TickFreshness -benchtime 10x ./cluster/node/
func BenchmarkTickFreshness(b *testing.B) {
	nc := natstest.StartT(b, 3)
	ms := make([]*member, 3)
	for i := range ms {
		ms[i] = startTickMemberDefault(b, b.TempDir(), nc.URLs())
		defer ms[i].stop()
	}
	// Some history, so that a build has something to count.
	for k := 0; k < 10; k++ {
		ms[k%3].post(freshEvents(k*100, 100))
	}
	var worst time.Duration
	b.ResetTimer()
	for i := range b.N {
		// Writes land at spread points of the tick interval (right after
		// a tick every time would measure the worst case only).
		b.StopTimer()
		time.Sleep(time.Duration(i%10) * node.DefaultTick / 10)
		b.StartTimer()
		prod := fmt.Sprintf("fresh%d", i)
		evs := make([]features.Event, 60)
		for j := range evs {
			evs[j] = features.Event{CustomerID: fmt.Sprintf("f%d-%d", i, j), ProductID: prod, Type: "purchase"}
		}
		ms[i%3].post(evs)
		start := time.Now()
		for _, m := range ms {
			for !strings.Contains(m.list("/v1/popular?limit=100"), `"`+prod+`"`) {
				if time.Since(start) > time.Minute {
					b.Fatalf("%s not popular on %s after a minute", prod, m.base)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(worst.Seconds(), "worst-s")
}

// startTickMemberDefault is startTickMember with serve's defaults: EASE,
// a dense interval of two minutes, the default tick interval.
func startTickMemberDefault(b *testing.B, dir, urls string) *member {
	return startTickMemberWith(b, dir, urls, func(o *features.Options) {}, 0)
}
