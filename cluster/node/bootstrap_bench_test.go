package node_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features"
)

// BenchmarkBootstrap compares the two ways an empty node gets to the
// stream's head: replaying the whole stream, or restoring the newest
// bootstrap snapshot and following the tail. The stream holds 300k events
// (20k customers, 5k products) in messages of 1 or 20 events; a first node
// applies it and writes the snapshot (its time is reported as
// snapshot_write_s), then each op times a fresh empty node: restore + open
// + follow to the head (bootstrap_s), and replay from the start (replay_s).
// Single server, R=1.
//
//	go test -run '^$' -bench BenchmarkBootstrap -benchtime 1x -timeout 30m ./cluster/node/
func BenchmarkBootstrap(b *testing.B) {
	const total = 300_000
	for _, per := range []int{1, 20} {
		b.Run(fmt.Sprintf("events_per_msg=%d", per), func(b *testing.B) {
			nc := natstest.StartT(b, 1)
			name := fmt.Sprintf("BBOOT%d", per)
			last := fillStream(b, nc.URL(0), name, total, per)
			cfg := node.Config{URLs: nc.URL(0), Name: "bench", Stream: cluster.StreamConfig{Name: name}, MinSeq: 30 * time.Minute,
				Ops: node.OpsConfig{NoSnapshots: true}}
			first, n := openFollow(b, b.TempDir(), cfg, last)
			t0 := time.Now()
			if seq, err := n.WriteSnapshot(context.Background(), nil); err != nil || seq != last {
				b.Fatal(seq, err)
			}
			write := time.Since(t0)
			n.Close()
			first.Close()
			var boot, replay time.Duration
			var bytes int64
			b.ResetTimer()
			for range b.N {
				dir := b.TempDir()
				t0 := time.Now()
				bs, err := node.Bootstrap(context.Background(), dir, cfg)
				if err != nil || !bs.Restored {
					b.Fatal(bs, err)
				}
				st, n := openFollow(b, dir, cfg, last)
				boot += time.Since(t0)
				bytes += bs.Bytes
				checkEvents(b, st, total)
				n.Close()
				st.Close()

				t0 = time.Now()
				st, n = openFollow(b, b.TempDir(), cfg, last)
				replay += time.Since(t0)
				checkEvents(b, st, total)
				n.Close()
				st.Close()
			}
			b.ReportMetric(write.Seconds(), "snapshot_write_s")
			b.ReportMetric(boot.Seconds()/float64(b.N), "bootstrap_s")
			b.ReportMetric(replay.Seconds()/float64(b.N), "replay_s")
			b.ReportMetric(float64(bytes)/float64(b.N)/(1<<20), "snapshot_MB")
		})
	}
}

// openFollow opens the store in dir and starts a node on it, returning once
// the node has applied last.
func openFollow(b *testing.B, dir string, cfg node.Config, last uint64) (*features.Store, *node.Node) {
	o := features.DefaultOptions(dir)
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	st, err := features.Open(o)
	if err != nil {
		b.Fatal(err)
	}
	n, err := node.Start(context.Background(), st, cfg)
	if err != nil {
		b.Fatal(err)
	}
	if err := n.WaitFor(context.Background(), last); err != nil {
		b.Fatal(err)
	}
	return st, n
}

func checkEvents(b *testing.B, st *features.Store, want int) {
	if got := st.Stats().Events; got != want {
		b.Fatalf("%d events, want %d", got, want)
	}
}
