package node_test

import (
	"github.com/nats-io/nats.go/jetstream"

	"context"
	"fmt"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/features"
)

// TestNATSServerLossDuringIngest: three NATS servers, an R=3 stream, two
// nodes taking writes in turn. The stream's leader is stopped in the middle
// of the ingest and started again after it; writes continue (a write that
// met the election is answered 503 and retried by the client with the same
// event ids). At the end the stream holds each request's message once and
// both nodes hold every acknowledged event once.
func TestNATSServerLossDuringIngest(t *testing.T) {
	nc := natstest.StartT(t, 3)
	ms := []*member{startMemberCfg(t, t.TempDir(), nc.URLs(), nil), startMemberCfg(t, t.TempDir(), nc.URLs(), nil)}
	for _, m := range ms {
		defer m.stop()
	}
	if r := ms[0].node.Stream().Replicas; r != 3 {
		t.Fatalf("stream replicas %d, want 3", r)
	}
	const requests, per = 40, 5
	var last uint64
	stopped := -1
	stopDone := make(chan struct{})
	for i := range requests {
		if i == requests/3 {
			stopped = streamLeader(t, nc, ms[0].node.Stream().Name)
			go func() { // while the next writes are in flight
				nc.Stop(stopped)
				close(stopDone)
			}()
		}
		if i == 2*requests/3 {
			<-stopDone // its ports are free once it has shut down
			if err := nc.Restart(stopped); err != nil {
				t.Fatal(err)
			}
		}
		last = max(last, postRetry(t, ms[i%2], oneCustomer(i, per)))
	}
	for _, m := range ms {
		waitApplied(t, m, last)
	}
	// Customer subjects only: the stream's ticks (tick.go) come between.
	st := ms[1].node.Stream()
	info, err := st.Stream.Info(context.Background(), jetstream.WithSubjectFilter(st.Subjects.Prefix+".c.>"))
	if err != nil {
		t.Fatal(err)
	}
	var msgs uint64
	for _, n := range info.State.Subjects {
		msgs += n
	}
	if msgs != requests {
		t.Fatalf("the stream holds %d customer messages for %d requests (one customer each)", msgs, requests)
	}
	for _, m := range ms {
		if n := m.store.Stats().Events; n != requests*per {
			t.Fatalf("%s holds %d events, want %d", m.base, n, requests*per)
		}
	}
	converge(t, ms, last)
}

// oneCustomer is request i's events: per events of one customer, each with
// an id (so a retry is recognised).
func oneCustomer(i, per int) []features.Event {
	evs := events(i*per, per)
	for j := range evs {
		evs[j].CustomerID = fmt.Sprintf("c%d", i%40)
		evs[j].EventID = fmt.Sprintf("req-%d-%d", i, j)
	}
	return evs
}

// postRetry posts until the write is acknowledged (a minute at most), as a
// client does after a 503 of a NATS election, and returns its sequence.
func postRetry(t *testing.T, m *member, evs []features.Event) uint64 {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		code, raw := m.postRaw(evs)
		if code == 200 {
			return decodePost(t, raw).Seq
		}
		if code != 503 && code != 504 {
			t.Fatalf("write: %d %s", code, raw)
		}
		if time.Now().After(deadline) {
			t.Fatalf("write not acknowledged within a minute: %d %s", code, raw)
		}
	}
}

// streamLeader is the index of the server leading stream name.
func streamLeader(t *testing.T, nc *natstest.Cluster, name string) int {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		for i := range nc.Size() {
			if s := nc.Server(i); s != nil && s.JetStreamIsStreamLeader("$G", name) {
				return i
			}
		}
	}
	t.Fatal("no stream leader")
	return -1
}
