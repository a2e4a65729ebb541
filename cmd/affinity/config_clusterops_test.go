package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"
)

// cluster.snapshot_every takes messages (a number or a string of one), a
// duration, or "off"; cluster.advertise names the registry address.
func TestClusterSnapshotEvery(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	for raw, want := range map[string]string{`50000`: "msgs=50000", `"50000"`: "msgs=50000", `"30m"`: "every=30m0s", `"off"`: "off", ``: "default"} {
		cc := clusterConfig{SnapshotEvery: json.RawMessage(raw), Advertise: "10.0.0.1:8080"}
		c, err := cc.nodeConfig("0.0.0.0:8080", quiet)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		got := "default"
		switch o := c.Ops; {
		case o.NoSnapshots:
			got = "off"
		case o.SnapshotEvery > 0:
			got = "msgs=" + itoa(o.SnapshotEvery)
		case o.SnapshotInterval > 0:
			got = "every=" + o.SnapshotInterval.String()
		}
		if got != want || c.Ops.Addr != "10.0.0.1:8080" {
			t.Errorf("%s: %s (addr %s), want %s", raw, got, c.Ops.Addr, want)
		}
	}
	for _, bad := range []string{`"soon"`, `0`, `"-1m"`, `true`} {
		if _, err := (clusterConfig{SnapshotEvery: json.RawMessage(bad)}).nodeConfig("x", quiet); err == nil {
			t.Errorf("snapshot_every %s accepted", bad)
		}
	}
	if c, _ := (clusterConfig{}).nodeConfig("127.0.0.1:9", quiet); c.Ops.Addr != "127.0.0.1:9" {
		t.Errorf("advertise defaults to --addr, got %q", c.Ops.Addr)
	}
}

func itoa(n uint64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
