package node_test

import (
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/features"
)

// TestProductAndCustomerWrites: product PUT/PATCH/DELETE and customer
// PUT/PATCH through different nodes go through the stream: each reply
// carries its sequence, the writer reads its own write at once, two
// PATCHes of one product through two nodes both land, and every node ends
// with the same records. Bad input is refused by the receiving node and
// never reaches the stream.
func TestProductAndCustomerWrites(t *testing.T) {
	nc := natstest.StartT(t, 1)
	ms := make([]*member, 3)
	for i := range ms {
		ms[i] = startMember(t, t.TempDir(), nc.URLs())
		defer ms[i].stop()
	}
	// A write that depends on another node's write sends its sequence
	// (X-Affinity-Min-Seq): the receiving node validates once it has it.
	p1 := ms[0].write("PUT", "/v1/products/p1", `{"category":"shoes","brand":"a","price":10,"tags":["x"]}`, 200)
	ms[1].write("PUT", "/v1/products/p2", `{"category":"hats","price":5}`, 200)
	ms[2].write("PUT", "/v1/products/p3", `{"category":"hats","price":7}`, 200)
	// The writer's own reply and read reflect the write at once.
	seq := ms[1].writeAt("PATCH", "/v1/products/p1", `{"price":12}`, p1)
	if code, body := ms[1].readAt("/v1/products/p1", 0); code != 200 || !strings.Contains(body, `"price":12`) {
		t.Fatalf("the writer's read of its patch: %d %s", code, body)
	}
	// Two patches of different fields through two nodes: both land.
	ms[2].writeAt("PATCH", "/v1/products/p1", `{"brand":"b"}`, p1)
	seq = ms[0].writeAt("PATCH", "/v1/products/p1", `{"attributes":{"colour":"red"}}`, p1)
	got := sameEverywhere(t, ms, seq, "/v1/products/p1")
	for _, want := range []string{`"price":12`, `"brand":"b"`, `"colour":"red"`, `"category":"shoes"`} {
		if !strings.Contains(got, want) {
			t.Fatalf("p1 after three patches lacks %s: %s", want, got)
		}
	}
	seq = ms[2].write("DELETE", "/v1/products/p3", "", 204)
	// A deleted product is gone on every node, as on a single node.
	for _, m := range ms {
		if code, body := m.readAt("/v1/products/p3", seq); code != 404 {
			t.Fatalf("deleted p3 on %s: %d %s", m.base, code, body)
		}
	}

	put := ms[0].write("PUT", "/v1/customers/c1", `{"attributes":{"tier":"gold","age":40}}`, 200)
	ms[1].writeAt("PATCH", "/v1/customers/c1", `{"attributes":{"age":41}}`, put)
	seq = ms[2].writeAt("PATCH", "/v1/customers/c1", `{"attributes":{"city":"Oslo","tier":null}}`, put)
	for _, m := range ms {
		waitApplied(t, m, seq)
		attrs := m.store.CustomerAttributes(mustCustomer(t, m, "c1"))
		if attrs["age"] != float64(41) || attrs["city"] != "Oslo" || attrs["tier"] != nil {
			t.Fatalf("%s: c1's attributes %v", m.base, attrs)
		}
	}

	// Refused by the receiving node, with the same 4xx as a single node:
	// nothing reaches the stream (the next write takes the next sequence).
	ms[0].refused("PUT", "/v1/products/p9", `{"price":-1}`, 400, "price")
	ms[1].refused("PATCH", "/v1/products/p1", `{"price":-3}`, 400, "price")
	ms[2].refused("PATCH", "/v1/products/nobody", `{"price":3}`, 404, "")
	ms[0].refused("PATCH", "/v1/customers/nobody", `{"attributes":{"a":1}}`, 404, "")
	ms[1].waitFor(seq)
	ms[1].refused("DELETE", "/v1/products/p3", "", 404, "")
	ms[2].refused("DELETE", "/v1/customers/nobody", "", 404, "")
	if next := ms[1].write("PUT", "/v1/products/p4", `{"category":"x"}`, 200); next != seq+1 {
		t.Fatalf("after refused writes the next seq is %d, want %d", next, seq+1)
	}
}

func mustCustomer(t *testing.T, m *member, ext string) uint32 {
	t.Helper()
	id, ok := m.store.CustomerID(ext)
	if !ok {
		t.Fatalf("%s does not know customer %s", m.base, ext)
	}
	return id
}

// TestErasureWhileNodeDown: a customer erased while one node is down is
// gone on every node once it catches up (their events were purged from
// the stream, and the erasure, kept on its own subject, erases what the
// node had applied before it went down); a node started empty afterwards
// never receives them; the stream holds none of their messages.
func TestErasureWhileNodeDown(t *testing.T) {
	nc := natstest.StartT(t, 3)
	ms := make([]*member, 3)
	for i := range ms {
		ms[i] = startMember(t, t.TempDir(), nc.URLs())
		defer ms[i].stop()
	}
	var last uint64
	for b := 0; b < 6; b++ {
		last = ms[b%3].post(events(b*40, 40)).Seq
	}
	ms[1].write("PUT", "/v1/customers/c7", `{"attributes":{"tier":"gold"}}`, 200)
	last = ms[2].post(events(240, 10)).Seq
	for _, m := range ms {
		if code, body := m.readAt("/v1/customers/c7/profile", last); code != 200 {
			t.Fatalf("%s: c7 before the erasure: %d %s", m.base, code, body)
		}
	}

	dir := ms[2].dir
	ms[2].stop()
	seq := ms[0].write("DELETE", "/v1/customers/c7", "", 204)
	// Writes of others after the erasure.
	last = ms[1].post(events(300, 20)).Seq
	if n := streamMessages(t, ms[0], "c7"); n != 0 {
		t.Fatalf("the stream holds %d messages of c7 after the erasure", n)
	}
	ms[2] = startMember(t, dir, nc.URLs())
	fresh := startMember(t, t.TempDir(), nc.URLs())
	defer fresh.stop()
	all := append(ms, fresh)
	for _, m := range all {
		waitApplied(t, m, max(seq, last))
		if code, body := m.readAt("/v1/customers/c7/profile", last); code != 404 {
			t.Fatalf("%s: c7 after the erasure: %d %s", m.base, code, body)
		}
		if code, body := m.readAt("/v1/customers/c7/events", last); code != 404 {
			t.Fatalf("%s: c7's events after the erasure: %d %s", m.base, code, body)
		}
	}
	want := ms[0].store.Stats().Events
	for _, m := range all[1:] {
		if got := m.store.Stats().Events; got != want {
			t.Fatalf("%s holds %d events, %s %d", m.base, got, ms[0].base, want)
		}
	}
	// Erasing again (a retry) is harmless; an unknown customer is 404.
	ms[1].refused("DELETE", "/v1/customers/never-seen", "", 404, "")
}

// TestUnknownOpStopsApply: an op message this version cannot read (a
// newer kind) stops the node's apply at its sequence, loudly (not ready,
// the stalled sequence), and nothing after it is applied.
func TestUnknownOpStopsApply(t *testing.T) {
	nc := natstest.StartT(t, 1)
	m := startMember(t, t.TempDir(), nc.URLs())
	defer m.stop()
	seq := m.write("PUT", "/v1/products/p1", `{"category":"x"}`, 200)
	conn, err := nats.Connect(nc.URLs())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sub := cluster.Subjects{Prefix: cluster.DefaultPrefix}.Definition("op")
	if _, err := conn.Request(sub, features.EncodeOp(features.Op{Kind: 200}), 5*time.Second); err != nil {
		t.Fatal(err)
	}
	bad := seq + 1
	for deadline := time.Now().Add(time.Minute); m.node.Status().StalledAt != bad; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not stalled at %d: %+v", bad, m.node.Status())
		}
	}
	if st := m.node.Status(); st.Err == nil || !strings.Contains(st.Err.Error(), "op kind 200") {
		t.Fatalf("stall error %v", st.Err)
	}
	waitReady(t, m, 503, "stopped at stream sequence")
	if got := m.store.AppliedStreamSeq(); got != seq {
		t.Fatalf("applied %d past the bad op", got)
	}
}

// TestLargeAppendSplits: a record append larger than one log message
// allows is split into several messages; every node holds the same
// entries under the same sequences.
func TestLargeAppendSplits(t *testing.T) {
	nc := natstest.StartT(t, 1)
	ms := []*member{startMember(t, t.TempDir(), nc.URLs()), startMember(t, t.TempDir(), nc.URLs())}
	for _, m := range ms {
		defer m.stop()
	}
	entries := make([][]byte, 5)
	for i := range entries {
		entries[i] = []byte(strings.Repeat(string(rune('a'+i)), features.MaxAppendBytes/2))
	}
	first, err := ms[0].store.Records().Append("big", entries)
	if err != nil || first != 1 {
		t.Fatalf("append: first %d, %v", first, err)
	}
	seq := ms[0].store.AppliedStreamSeq()
	if seq < 3 {
		t.Fatalf("5 entries of half the bound went as %d messages", seq)
	}
	waitApplied(t, ms[1], seq)
	for _, m := range ms {
		var got []byte
		_ = m.store.Records().Scan("big", 0, func(q uint64, v []byte) error {
			got = append(got, byte(q), v[0])
			return nil
		})
		if string(got) != "\x01a\x02b\x03c\x04d\x05e" {
			t.Fatalf("%s holds %q", m.base, got)
		}
	}
}
