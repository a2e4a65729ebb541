package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestClusterConfig: the "cluster" keys reach the node's settings, bad
// durations are clear errors, and --demo is refused in cluster mode.
func TestClusterConfig(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	path := filepath.Join(t.TempDir(), "config.json")
	body := `{"cluster":{"nats":"nats://a:4222,nats://b:4222","stream":"SHOP","replicas":3,"subject_prefix":"shop","max_lag":500,"min_seq_wait":"250ms","max_silence":"2s","tick_interval":"500ms"}}`
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	fc, err := readConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := fc.Cluster.nodeConfig("127.0.0.1:8080", quiet)
	if err != nil {
		t.Fatal(err)
	}
	if c.URLs != "nats://a:4222,nats://b:4222" || c.Stream.Name != "SHOP" || c.Stream.Prefix != "shop" || c.Stream.Replicas != 3 ||
		c.MaxLag != 500 || c.MinSeq != 250*time.Millisecond || c.MaxSilence != 2*time.Second || c.Tick != 500*time.Millisecond || c.Name != "affinity-127.0.0.1:8080" {
		t.Fatalf("node config %+v", c)
	}
	for _, bad := range []clusterConfig{{MinSeqWait: "1"}, {MaxSilence: "-1s"}, {TickInterval: "1ms"}} {
		if _, err := bad.nodeConfig("x", quiet); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
	err = runServe(context.Background(), []string{"--nats", "nats://127.0.0.1:1", "--demo", "x.csv", "--data", t.TempDir()}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "cluster mode") {
		t.Fatalf("--demo with --nats: %v", err)
	}
}
