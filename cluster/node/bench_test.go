package node_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features"
)

// BenchmarkNodeApply is a node's apply throughput: each op opens a fresh
// store (real Badger in a temp dir) and follows a pre-filled stream from
// the start until it has applied all of it, through ApplyLog's Badger
// transactions and the in-memory index. Messages hold 1 or 20 events (one
// customer's events of one request); 200k events over 20k customers and
// 5k products. Single server (R=1): the stream's replication does not
// touch the apply side.
//
// sync=true keeps the store's default SyncWrites (an fsync per committed
// write), as a production node runs; the others turn it off.
func BenchmarkNodeApply(b *testing.B) {
	const total = 200_000
	for _, c := range []struct {
		per  int
		sync bool
	}{{1, false}, {20, false}, {1, true}, {20, true}} {
		per := c.per
		label := fmt.Sprintf("events_per_msg=%d", per)
		if c.sync {
			label += "/sync=true"
		}
		b.Run(label, func(b *testing.B) {
			nc := natstest.StartT(b, 1)
			name := fmt.Sprintf("BAPPLY%d", per)
			last := fillStream(b, nc.URL(0), name, total, per)
			b.ResetTimer()
			var cpu time.Duration
			for range b.N {
				b.StopTimer()
				o := features.DefaultOptions(b.TempDir())
				o.SyncWrites = c.sync
				o.RefreshInterval = time.Hour
				st, err := features.Open(o)
				if err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				cpu0 := cpuTime()
				n, err := node.Start(context.Background(), st, node.Config{URLs: nc.URL(0), Stream: cluster.StreamConfig{Name: name}, MinSeq: 5 * time.Minute})
				if err != nil {
					b.Fatal(err)
				}
				if err := n.WaitFor(context.Background(), last); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu += cpuTime() - cpu0
				if got := st.Stats().Events; got != total {
					b.Fatalf("applied %d events, want %d", got, total)
				}
				n.Close()
				st.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(total)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
			// Process CPU (the in-process NATS server's share included) per
			// event: steadier than wall clock on a shared machine.
			b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(total*b.N), "cpu_us/event")
		})
	}
}

func fillStream(b *testing.B, url, name string, total, per int) uint64 {
	_, js, err := cluster.Connect(url, "fill")
	if err != nil {
		b.Fatal(err)
	}
	s, err := cluster.Setup(context.Background(), js, cluster.StreamConfig{Name: name})
	if err != nil {
		b.Fatal(err)
	}
	p := cluster.NewPublisher(s)
	ts := testNow.Add(-time.Hour)
	var last uint64
	var batch []cluster.Msg
	for k := 0; k < total; k += per {
		c := fmt.Sprint("c", (k/per)%20000)
		evs := make([]features.Event, per)
		for j := range evs {
			evs[j] = features.Event{EventID: fmt.Sprint("e", k+j), CustomerID: c, ProductID: fmt.Sprint("p", (k+j)*7%5000), Type: "view", Timestamp: ts}
		}
		batch = append(batch, cluster.Msg{Subject: s.Subjects.Customer(c, "ev"), Data: features.EncodeLogEvents(evs)})
		if len(batch) == 1000 || k+per >= total {
			ack, err := p.Publish(context.Background(), batch)
			if err != nil {
				b.Fatal(err)
			}
			last, batch = ack.LastSeq, batch[:0]
		}
	}
	return last
}

// BenchmarkIngest100 is publish-to-ack of a cluster node's Ingest: 100
// events over 20 customers (20 messages) validated, encoded, published and
// acknowledged by JetStream, on the in-process 3-server cluster with the
// stream at R=1 and R=3. p50/p99 are per 100-event call.
func BenchmarkIngest100(b *testing.B) {
	nc := natstest.StartT(b, 3)
	for _, r := range []int{1, 3} {
		b.Run(fmt.Sprintf("R%d", r), func(b *testing.B) {
			o := features.DefaultOptions(b.TempDir())
			o.SyncWrites = false
			o.RefreshInterval = time.Hour
			o.Clock = func() time.Time { return testNow }
			st, err := features.Open(o)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			n, err := node.Start(context.Background(), st, node.Config{URLs: nc.URLs(),
				Stream: cluster.StreamConfig{Name: fmt.Sprintf("BING%d", r), Prefix: fmt.Sprintf("bing%d", r), Replicas: r}})
			if err != nil {
				b.Fatal(err)
			}
			defer n.Close()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				evs := make([]features.Event, 100)
				for j := range evs {
					evs[j] = features.Event{EventID: fmt.Sprint(i, "-", j), CustomerID: fmt.Sprint("c", j%20), ProductID: fmt.Sprint("p", (i+j)%500), Type: "view"}
				}
				t0 := time.Now()
				res, err := st.Ingest(context.Background(), evs, features.IngestOptions{})
				if err != nil || res.Accepted != 100 {
					b.Fatal(res, err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(q(0.5), "p50_ms")
			b.ReportMetric(q(0.99), "p99_ms")
		})
	}
}
