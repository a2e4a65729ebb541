package node_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/features"
)

type mergeReply struct {
	EventsMoved   int  `json:"events_moved"`
	Created       bool `json:"created"`
	AlreadyMerged bool `json:"already_merged"`
}

// merge posts a merge of from into to through m once it has applied
// after, and returns the reply and its sequence.
func (m *member) merge(to, from string, after uint64) (mergeReply, uint64) {
	m.t.Helper()
	code, seq, raw := m.sendAt("POST", "/v1/customers/"+to+"/merge", `{"from":"`+from+`"}`, after)
	var r mergeReply
	if code != 200 || seq == 0 || json.Unmarshal([]byte(raw), &r) != nil {
		m.t.Fatalf("merge %s into %s on %s: %d (seq %d) %s", from, to, m.base, code, seq, raw)
	}
	return r, seq
}

// TestMergeReplicated: a visitor's events taken by one node, merged into a
// customer through another: after the merge's sequence every node answers
// the same for the customer (the visitor's events included) and 404 for
// the visitor; a repeat through a third node is already_merged. Erasing
// the customer while one node is down purges both ids' messages from the
// stream, and once the node is back the customer and the visitor's
// history are gone everywhere, also on a node that was down since before
// the merge (it never receives the purged merge, and erases the visitor
// the erasure names).
func TestMergeReplicated(t *testing.T) {
	nc := natstest.StartT(t, 3)
	ms := make([]*member, 3)
	for i := range ms {
		ms[i] = startMember(t, t.TempDir(), nc.URLs())
		defer ms[i].stop()
	}
	late := startMember(t, t.TempDir(), nc.URLs())
	defer func() { late.stop() }()
	ms[0].post(events(0, 60))
	anon := []features.Event{
		{CustomerID: "anon-9", ProductID: "p1", Type: "view", EventID: "anon-1", Timestamp: testNow.Add(-2 * time.Hour)},
		{CustomerID: "anon-9", ProductID: "p2", Type: "purchase", EventID: "anon-2", Timestamp: testNow.Add(-time.Hour)},
	}
	a := ms[0].post(anon).Seq
	waitApplied(t, late, a)
	lateDir := late.dir
	late.stop()

	ms[2].writeAt("PUT", "/v1/customers/alice", `{"attributes":{"tier":"gold"}}`, a)
	al := ms[2].post([]features.Event{{CustomerID: "alice", ProductID: "p3", Type: "purchase", EventID: "alice-1", Timestamp: testNow.Add(-3 * time.Hour)}}).Seq
	r, seq := ms[1].merge("alice", "anon-9", max(a, al))
	if r.EventsMoved != 2 || r.Created || r.AlreadyMerged {
		t.Fatalf("merge: %+v", r)
	}
	sameEverywhere(t, ms, seq, "/v1/customers/alice/profile")
	evs := sameEverywhere(t, ms, seq, "/v1/customers/alice/events")
	for _, p := range []string{`"p1"`, `"p2"`, `"p3"`} {
		if !strings.Contains(evs, p) {
			t.Fatalf("alice's events after the merge lack %s: %s", p, evs)
		}
	}
	for _, m := range ms {
		for _, path := range []string{"/v1/customers/anon-9/profile", "/v1/customers/anon-9/events"} {
			if code, body := m.readAt(path, seq); code != 404 {
				t.Fatalf("%s: %s after the merge: %d %s", m.base, path, code, body)
			}
		}
	}
	if r, again := ms[2].merge("alice", "anon-9", seq); !r.AlreadyMerged || r.EventsMoved != 0 || again < seq {
		t.Fatalf("repeat through another node: %+v (seq %d after %d)", r, again, seq)
	}

	dir := ms[2].dir
	ms[2].stop()
	erased := ms[0].write("DELETE", "/v1/customers/alice", "", 204)
	last := ms[1].post(events(100, 20)).Seq
	for _, id := range []string{"alice", "anon-9"} {
		if n := streamMessages(t, ms[0], id); n != 0 {
			t.Fatalf("the stream holds %d messages of %s after the erasure", n, id)
		}
	}
	ms[2] = startMember(t, dir, nc.URLs())
	late = startMember(t, lateDir, nc.URLs())
	all := append(ms, late)
	for _, m := range all {
		waitApplied(t, m, max(erased, last))
		for _, path := range []string{"/v1/customers/alice/profile", "/v1/customers/alice/events", "/v1/customers/anon-9/profile", "/v1/customers/anon-9/events"} {
			if code, body := m.readAt(path, last); code != 404 {
				t.Fatalf("%s: %s after the erasure: %d %s", m.base, path, code, body)
			}
		}
	}
	want := ms[0].store.Stats().Events
	for _, m := range all[1:] {
		if got := m.store.Stats().Events; got != want {
			t.Fatalf("%s holds %d events, %s %d", m.base, got, ms[0].base, want)
		}
	}
	// The visitor's id was merged away: erasing it is 404, as on one node.
	ms[1].refused("DELETE", "/v1/customers/anon-9", "", 404, "")
}
