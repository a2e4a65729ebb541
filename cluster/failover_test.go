package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
)

// Stopping the stream's leader (one of three servers) while batches are
// being published loses no acknowledged message and stores none twice:
// batches that failed are retried with the same ids, as a node would.
func TestServerStopDuringPublishLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("starts its own cluster and waits for a leader election")
	}
	c := natstest.StartT(t, 3)
	s := setup(t, connect(t, c.URLs()), StreamConfig{Name: "FAIL"})
	if s.Replicas != 3 {
		t.Fatalf("replicas %d", s.Replicas)
	}
	follower := setup(t, connect(t, c.URLs()), StreamConfig{Name: "FAIL"})
	var got collector
	f := follow(t, follower, 0, got.apply)
	p := NewPublisher(s)

	const batches, size = 60, 20
	acked := map[string]bool{}
	var last uint64
	stopped := -1
	stopDone := make(chan struct{})
	for i := range batches {
		if i == 10 {
			stopped = streamLeader(t, c, s.Name)
			go func() { // while the next batches are in flight
				defer close(stopDone)
				c.Stop(stopped)
			}()
		}
		if i == 45 {
			// A restart before the stop has finished found the old server
			// still shutting down on a loaded machine and waited 30 s in vain.
			<-stopDone
			if err := c.Restart(stopped); err != nil {
				t.Fatal(err)
			}
		}
		b := batch(s.Subjects, "f", i*size, size)
		ack := publishRetrying(t, p, b)
		last = max(last, ack.LastSeq)
		for _, m := range b {
			acked[m.ID] = true
		}
	}
	waitFor(t, f, last)
	seen := map[string]bool{}
	var prev uint64
	for _, r := range got.all() {
		if r.seq <= prev {
			t.Fatalf("sequence %d applied after %d", r.seq, prev)
		}
		prev = r.seq
		if seen[r.data] {
			t.Fatalf("%s applied twice (seq %d)", r.data, r.seq)
		}
		seen[r.data] = true
	}
	for id := range acked {
		if !seen[id] {
			t.Fatalf("acknowledged %s was never applied", id)
		}
	}
	if len(seen) != batches*size {
		t.Fatalf("applied %d distinct messages, want %d", len(seen), batches*size)
	}
}

// publishRetrying retries a batch until JetStream acknowledges all of it,
// within the test's bound.
func publishRetrying(t *testing.T, p *Publisher, b []Msg) Ack {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		ack, err := p.Publish(ctx, b)
		cancel()
		if err == nil {
			return ack
		}
		if time.Now().After(deadline) {
			t.Fatalf("batch %s..: still failing after %s: %v", b[0].ID, testTimeout, err)
		}
		t.Logf("retrying batch %s..: %v", b[0].ID, err)
		time.Sleep(100 * time.Millisecond)
	}
}

// streamLeader is the index of the server leading the stream's Raft group.
func streamLeader(t *testing.T, c *natstest.Cluster, stream string) int {
	t.Helper()
	for i := range c.Size() {
		if s := c.Server(i); s != nil && s.JetStreamIsStreamLeader("$G", stream) {
			return i
		}
	}
	t.Fatal("no stream leader")
	return -1
}
