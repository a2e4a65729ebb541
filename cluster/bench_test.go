//go:build unix

package cluster

import (
	"context"
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
)

// BenchmarkPublishBatch100 is publish-to-ack for a batch of 100 small
// messages (~60 bytes, like a compact event), one batch per op, on the
// in-process 3-server cluster: R=1 and R=3. p50/p99 are per batch.
func BenchmarkPublishBatch100(b *testing.B) {
	for _, r := range []int{1, 3} {
		b.Run(fmt.Sprintf("R%d", r), func(b *testing.B) {
			c := cluster3(b)
			name := fmt.Sprintf("BPUB%d_%d", r, time.Now().UnixNano())
			s := setup(b, connect(b, c.URL(0)), StreamConfig{Name: name, Replicas: r})
			p := NewPublisher(s)
			data := []byte(`{"customer_id":"c123456","product_id":"p98765","type":"view"}`)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := range b.N {
				batch := make([]Msg, 100)
				for j := range batch {
					batch[j] = Msg{Subject: s.Subjects.Customer(fmt.Sprint("c", j), "ev"), Data: data, ID: fmt.Sprint(i, "-", j)}
				}
				t0 := time.Now()
				if _, err := p.Publish(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
			}
			b.StopTimer()
			reportCPU(b, cpu0, 100*b.N)
			reportLatency(b, lat)
		})
	}
}

func reportLatency(b *testing.B, lat []time.Duration) {
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.5), "p50_ms")
	b.ReportMetric(q(0.99), "p99_ms")
	b.ReportMetric(100*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkFollowerApply is how fast a follower applies the stream with a
// no-op apply: each op replays a pre-filled stream of 100k messages from
// the start, on a single server (R=1) and on the 3-server cluster (R=3),
// one message per Apply call or in batches (ApplyBatch, up to 512).
func BenchmarkFollowerApply(b *testing.B) {
	const n = 100_000
	for _, r := range []int{1, 3} {
		for _, batched := range []bool{false, true} {
			b.Run(fmt.Sprintf("R%d/batch=%v", r, batched), func(b *testing.B) {
				var url string
				if r == 1 {
					url = natstest.StartT(b, 1).URL(0)
				} else {
					url = cluster3(b).URL(1)
				}
				s := setup(b, connect(b, url), StreamConfig{Name: fmt.Sprintf("BFOL%d_%d", r, time.Now().UnixNano()), Replicas: r})
				fill(b, s, n)
				cfg := FollowerConfig{Apply: func(uint64, string, []byte) error { return nil }}
				if batched {
					cfg = FollowerConfig{ApplyBatch: func([]Message) error { return nil }}
				}
				b.ResetTimer()
				cpu0 := cpuTime()
				for range b.N {
					replay(b, s, cfg, n)
				}
				reportCPU(b, cpu0, n*b.N)
				b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
			})
		}
	}
}

func replay(b *testing.B, s *Stream, cfg FollowerConfig, n uint64) {
	f := NewFollower(s, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer func() { cancel(); <-f.Done() }()
	go f.Run(ctx)
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := f.WaitFor(wctx, n); err != nil {
		b.Fatal(err)
	}
}

func fill(b *testing.B, s *Stream, n int) {
	p := NewPublisher(s)
	data := []byte(`{"customer_id":"c123456","product_id":"p98765","type":"view"}`)
	for i := 0; i < n; i += 1000 {
		batch := make([]Msg, 1000)
		for j := range batch {
			batch[j] = Msg{Subject: s.Subjects.Customer(fmt.Sprint("c", (i+j)%5000), "ev"), Data: data}
		}
		if _, err := p.Publish(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

// cpuTime is the process's user+system CPU time. The servers run in this
// process too, so CPU per message covers both sides; on a machine shared
// with other jobs it is a steadier figure than wall-clock throughput.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, since time.Duration, msgs int) {
	b.ReportMetric(float64((cpuTime()-since).Nanoseconds())/1000/float64(msgs), "cpu_us/msg")
}
