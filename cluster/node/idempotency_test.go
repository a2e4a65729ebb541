package node_test

import (
	"context"
	"testing"

	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/features"
)

// TestRetryStoredOnceEverywhere (issue 16 point 9): the same events (same
// event_id) sent through two nodes are stored once on every node, by both
// guards: within the stream's dedup window the retry is not even stored
// again (the Nats-Msg-Id), and a retry that does reach the stream as a new
// message (after the window: published here with no message id) is
// dropped by every node's apply, alike, since all apply the same order.
func TestRetryStoredOnceEverywhere(t *testing.T) {
	nc := natstest.StartT(t, 3)
	ms := make([]*member, 3)
	for i := range ms {
		ms[i] = startMember(t, t.TempDir(), nc.URLs())
		defer ms[i].stop()
	}
	evs := []features.Event{
		{EventID: "once-1", CustomerID: "c1", ProductID: "p1", Type: "purchase", Timestamp: testNow},
		{EventID: "once-2", CustomerID: "c1", ProductID: "p2", Type: "view", Timestamp: testNow},
		{EventID: "once-3", CustomerID: "c2", ProductID: "p1", Type: "cart", Timestamp: testNow},
	}
	first := ms[0].post(evs)
	again := ms[1].post(evs)
	if first.Accepted != 3 || again.Duplicates != 3 || again.Seq != first.Seq {
		t.Fatalf("retry within the window: first %+v, again %+v", first, again)
	}

	// Past the window: the same events as new stream messages.
	_, js, err := cluster.Connect(nc.URL(2), "late-retry")
	if err != nil {
		t.Fatal(err)
	}
	st, err := cluster.Setup(context.Background(), js, cluster.StreamConfig{})
	if err != nil {
		t.Fatal(err)
	}
	ack, err := cluster.NewPublisher(st).Publish(context.Background(), []cluster.Msg{
		{Subject: st.Subjects.Customer("c1", "ev"), Data: features.EncodeLogEvents(evs[:2])},
		{Subject: st.Subjects.Customer("c2", "ev"), Data: features.EncodeLogEvents(evs[2:])},
	})
	if err != nil {
		t.Fatal(err)
	}
	if ack.LastSeq != first.Seq+2 {
		t.Fatalf("the late retry took seq %d, want %d (two new messages)", ack.LastSeq, first.Seq+2)
	}
	// A fresh event after it: once a node has applied it, it has applied
	// the retry too.
	last := ms[2].post([]features.Event{{EventID: "after", CustomerID: "c3", ProductID: "p3", Type: "view", Timestamp: testNow}}).Seq
	for _, m := range ms {
		if err := m.node.WaitFor(context.Background(), last); err != nil {
			t.Fatal(err)
		}
		if got := m.store.Stats().Events; got != 4 {
			t.Errorf("%s holds %d events, want 4 (3 once, and the one after)", m.base, got)
		}
	}
}
