package node_test

import (
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
)

// TestCloseWhileCutOff: a node whose only NATS server is gone still closes
// (its follower, heartbeat and connection stop within their own bounds),
// and its store reopens with what it had applied. The time it takes is
// logged, not asserted (the bound is closeWait per step, in registry_close.go).
func TestCloseWhileCutOff(t *testing.T) {
	nc := natstest.StartT(t, 1)
	dir := t.TempDir()
	m := startMemberCfg(t, dir, nc.URLs(), nil)
	last := m.post(events(0, 10)).Seq
	waitApplied(t, m, last)
	nc.Stop(0)
	waitReady(t, m, 503, "has not answered")
	t0 := time.Now()
	m.stop()
	t.Logf("close while cut off took %s", time.Since(t0))
	if err := nc.Restart(0); err != nil {
		t.Fatal(err)
	}
	m = startMemberCfg(t, dir, nc.URLs(), nil)
	defer m.stop()
	if m.node.From() != last {
		t.Fatalf("reopened at %d, want %d", m.node.From(), last)
	}
}
