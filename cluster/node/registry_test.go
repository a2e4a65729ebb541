package node_test

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/cluster/node"
)

type nodesReply struct {
	Mode   string
	Stream struct {
		Name     string
		Replicas int
		HeadSeq  uint64 `json:"head_seq"`
	}
	Nodes []struct {
		Name        string
		Addr        string
		AppliedSeq  uint64  `json:"applied_seq"`
		LagMessages uint64  `json:"lag_messages"`
		LagSeconds  float64 `json:"lag_seconds"`
		Ready       bool
		UpdatedAt   string `json:"updated_at"`
	}
}

func (m *member) nodes() nodesReply {
	m.t.Helper()
	code, raw := m.get("/v1/cluster/nodes", 0)
	if code != 200 {
		m.t.Fatalf("GET /v1/cluster/nodes: %d %s", code, raw)
	}
	var r nodesReply
	if err := json.Unmarshal(raw, &r); err != nil {
		m.t.Fatal(err)
	}
	return r
}

// TestNodesRegistry: every node heartbeats into the registry, so any node's
// GET /v1/cluster/nodes lists them all with their HTTP address and applied
// sequence; a node closed cleanly leaves at once, one that stops
// heartbeating (cut off, killed) drops out after the entry's TTL.
func TestNodesRegistry(t *testing.T) {
	nc := natstest.StartT(t, 1)
	fast := func(c *node.Config) { c.Ops.Heartbeat, c.Ops.NodeTTL = 200*time.Millisecond, 2*time.Second }
	ms := []*member{startMemberCfg(t, t.TempDir(), nc.URLs(), fast), startMemberCfg(t, t.TempDir(), nc.URLs(), fast), startMemberCfg(t, t.TempDir(), nc.URLs(), fast)}
	for _, m := range ms {
		defer m.stop()
	}
	last := ms[0].post(events(0, 10)).Seq
	for _, m := range ms {
		waitApplied(t, m, last)
	}
	want := func(n int, applied uint64) nodesReply {
		t.Helper()
		var r nodesReply
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			r = ms[0].nodes()
			ok := len(r.Nodes) == n
			for _, in := range r.Nodes {
				ok = ok && in.AppliedSeq >= applied && in.Ready // a stream tick may follow the writes
			}
			if ok {
				return r
			}
		}
		t.Fatalf("want %d ready nodes at %d: %+v", n, applied, r)
		return r
	}
	r := want(3, last)
	if r.Mode != "cluster" || r.Stream.Name != "AFFINITY" || r.Stream.Replicas != 1 || r.Stream.HeadSeq < last {
		t.Fatalf("%+v", r)
	}
	var addrs []string
	for _, in := range r.Nodes {
		addrs = append(addrs, "http://"+in.Addr)
		if _, err := time.Parse(time.RFC3339, in.UpdatedAt); err != nil {
			t.Fatalf("updated_at %q: %v", in.UpdatedAt, err)
		}
	}
	for _, m := range ms {
		if !slices.Contains(addrs, m.base) {
			t.Fatalf("%s not among %v", m.base, addrs)
		}
	}

	ms[2].stop() // clean: its entry is removed
	want(2, last)
	// A node that stops heartbeating without removing its entry (its
	// process killed, or cut off from NATS) drops out after the TTL: stop
	// its loops the way a kill would, leaving the entry behind.
	ms[1].node.StopHeartbeat()
	want(1, last)
}
