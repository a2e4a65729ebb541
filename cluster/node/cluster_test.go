package node_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/features"
)

// TestThreeNodes: three Affinity nodes (real Badger, real HTTP on
// loopback) follow a three-server JetStream cluster. Writes spread over the
// nodes converge to the same answers on every node; a retry through
// another node is stored once; a restarted node resumes from its own
// sequence without applying anything twice; a message no node can decode
// stops every apply loudly.
func TestThreeNodes(t *testing.T) {
	nc := natstest.StartT(t, 3)
	ms := make([]*member, 3)
	for i := range ms {
		ms[i] = startMember(t, t.TempDir(), nc.URLs())
		defer ms[i].stop()
	}

	last := writeRoundRobin(t, ms)
	converge(t, ms, last)

	again := checkRetryStoredOnce(t, ms)
	converge(t, ms, again)

	// A node stopped while the others take writes resumes from its own
	// sequence when it comes back.
	dir := ms[2].dir
	ms[2].stop()
	for b := 0; b < 4; b++ {
		last = ms[b%2].post(events(1000+b*40, 40)).Seq
	}
	ms[2] = startMember(t, dir, nc.URLs())
	if from := ms[2].node.From(); from < again || from >= last {
		t.Fatalf("restarted node resumed from %d, want its own %d..%d", from, again, last-1)
	}
	converge(t, ms, last)

	checkRefusedBeforeStream(t, ms, nc.URLs(), last)
	checkUndecodableStopsAll(t, ms, nc.URLs())
}

// writeRoundRobin posts 15 batches of 40 events, round robin over the
// nodes, checks each is accepted at a later sequence, and returns the last.
func writeRoundRobin(t *testing.T, ms []*member) uint64 {
	t.Helper()
	// Writes in batches of 40, round robin over the nodes.
	var last uint64
	for b := 0; b < 15; b++ {
		r := ms[b%3].post(events(b*40, 40))
		if r.Accepted != 40 || r.Seq <= last {
			t.Fatalf("batch %d: %+v after seq %d", b, r, last)
		}
		last = r.Seq
	}
	return last
}

// checkRetryStoredOnce checks that the same event posted through two
// nodes is stored once, and returns its sequence.
func checkRetryStoredOnce(t *testing.T, ms []*member) uint64 {
	t.Helper()
	// The same event through another node: the stream's dedup window
	// stores it once; every node counts it once.
	retry := []features.Event{{EventID: "retry-1", CustomerID: "c1", ProductID: "p2", Type: "purchase", Timestamp: testNow}}
	first := ms[0].post(retry)
	again := ms[1].post(retry)
	if first.Duplicates != 0 || again.Duplicates != 1 || again.Seq != first.Seq {
		t.Fatalf("retry through another node: first %+v, again %+v", first, again)
	}
	return again.Seq
}

// checkRefusedBeforeStream checks that bad input is refused by the
// receiving node and takes no sequence: the next good write after last
// follows it with nothing but ticks between.
func checkRefusedBeforeStream(t *testing.T, ms []*member, urls string, last uint64) {
	t.Helper()
	// Bad input is refused by the receiving node and never reaches the
	// stream: the next good write takes the very next sequence.
	badBody := `[{"customer_id":"c1","type":"view"}]`
	resp, err := http.Post(ms[0].base+"/v1/events", "application/json", strings.NewReader(badBody))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("an event without product_id: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// (Stream ticks may come between: tick_test.go.)
	if r := ms[1].post(events(2000, 1)); r.Seq <= last || !onlyTicks(t, urls, last+1, r.Seq-1) {
		t.Fatalf("after a refused write the next seq is %d, after %d with more than ticks between", r.Seq, last)
	}
}

// checkUndecodableStopsAll publishes a message no node can decode and
// checks that every node stops at it, not ready, and names it in metrics.
func checkUndecodableStopsAll(t *testing.T, ms []*member, urls string) {
	t.Helper()
	// A message no node can decode (a newer format, or corrupt) stops every
	// node's apply at its sequence: not ready, the metric names it.
	conn, err := nats.Connect(urls)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sub := cluster.Subjects{Prefix: cluster.DefaultPrefix}.Customer("c1", "ev")
	reply, err := conn.Request(sub, []byte{99, 1, 2}, 5e9)
	if err != nil {
		t.Fatal(err)
	}
	bad := pubAckSeq(t, reply.Data)
	for _, m := range ms {
		if err := m.node.WaitFor(context.Background(), bad); err == nil {
			t.Fatalf("%s applied an undecodable message", m.base)
		}
		if st := m.node.Status(); st.StalledAt != bad {
			t.Fatalf("%s: stalled at %d, want %d (%v)", m.base, st.StalledAt, bad, st.Err)
		}
		code, body := m.get("/readyz", 0)
		if code != 503 || !strings.Contains(string(body), "stopped at stream sequence") {
			t.Fatalf("%s /readyz: %d %s", m.base, code, body)
		}
		_, metrics := m.get("/metrics", 0)
		if !strings.Contains(string(metrics), "affinity_cluster_stalled_seq ") {
			t.Fatalf("%s /metrics lacks affinity_cluster_stalled_seq", m.base)
		}
	}
}

// converge waits (through the API, X-Affinity-Min-Seq) until every node has
// applied seq, rebuilds each node's model at that position, and checks
// that every node answers the same lists and counts the same events.
func converge(t *testing.T, ms []*member, seq uint64) {
	t.Helper()
	for _, m := range ms {
		if code, body := m.get("/v1/popular?limit=5", seq); code != 200 {
			t.Fatalf("%s read at min seq %d: %d %s (follower %+v)", m.base, seq, code, body, m.node.Status())
		}
		m.store.Refresh()
	}
	paths := []string{"/v1/popular?limit=10"}
	for _, p := range []string{"p0", "p3", "p7", "p12"} {
		paths = append(paths, "/v1/products/"+p+"/related?limit=10")
	}
	for _, c := range []string{"c0", "c1", "c7", "c21"} {
		paths = append(paths, "/v1/customers/"+c+"/recommendations?limit=10")
	}
	want := ms[0].store.Stats().Events
	for _, m := range ms[1:] {
		if got := m.store.Stats().Events; got != want {
			t.Fatalf("%s holds %d events, %s %d", m.base, got, ms[0].base, want)
		}
	}
	for _, p := range paths {
		ref := ms[0].list(p)
		if len(ref) < 80 {
			t.Fatalf("GET %s: a list too short to compare: %s", p, ref)
		}
		t.Logf("%s: %.160s", p, ref)
		for _, m := range ms[1:] {
			if got := m.list(p); got != ref {
				t.Fatalf("GET %s differs:\n%s: %s\n%s: %s", p, ms[0].base, ref, m.base, got)
			}
		}
	}
}

// TestCutOffNodeIsNotReady: a node whose NATS server goes away turns
// not-ready once the stream has been silent past MaxSilence (its lag is
// unknown), and ready again by itself when the server is back, applying
// what is written after.
func TestCutOffNodeIsNotReady(t *testing.T) {
	nc := natstest.StartT(t, 1)
	m := startMemberWait(t, t.TempDir(), nc.URLs(), 300*time.Millisecond)
	defer m.stop()
	first := m.post(events(0, 5)).Seq
	waitReady(t, m, 200, "ready")
	nc.Stop(0)
	waitReady(t, m, 503, "has not answered")
	if err := nc.Restart(0); err != nil {
		t.Fatal(err)
	}
	waitReady(t, m, 200, "ready")
	var r postReply
	for deadline := time.Now().Add(time.Minute); ; {
		// The first publish after the restart may meet a stream that has
		// no leader yet: it is refused (503), and retried with its ids.
		code, raw := m.postRaw(events(5, 5))
		if code == 200 {
			r = decodePost(t, raw)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("writes after the restart: %d %s", code, raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r.Seq <= first {
		t.Fatalf("seq %d after the restart, %d before", r.Seq, first)
	}
	// The follower's consumer is recreated after the restart, in its own
	// time (the client library backs off while the server recovers): wait
	// for it, rather than for the read's short bound.
	for deadline := time.Now().Add(time.Minute); m.node.Status().Applied < r.Seq; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("seq %d not applied after the restart: %+v", r.Seq, m.node.Status())
		}
	}
	if code, body := m.get("/v1/popular", r.Seq); code != 200 {
		t.Fatalf("read at seq %d: %d %s", r.Seq, code, body)
	}
	if n := m.store.Stats().Events; n != 10 {
		t.Fatalf("%d events, want 10", n)
	}
	// A sequence this node has not got: 503 naming the lag, after the
	// bound; a header that is not a sequence: 400 naming it.
	code, body := m.get("/v1/popular", r.Seq+100)
	if code != 503 || !strings.Contains(string(body), "100 behind") {
		t.Fatalf("read at a future seq: %d %s", code, body)
	}
	req, _ := http.NewRequest("GET", m.base+"/v1/popular", nil)
	req.Header.Set("X-Affinity-Min-Seq", "soon")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(string(raw), `"field":"X-Affinity-Min-Seq"`) {
		t.Fatalf("a bad X-Affinity-Min-Seq: %d %s", resp.StatusCode, raw)
	}
}

// waitReady polls /readyz until it answers code with a body containing
// want, for at most a minute.
func waitReady(t *testing.T, m *member, code int, want string) {
	t.Helper()
	var got int
	var body []byte
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got, body = m.get("/readyz", 0)
		if got == code && strings.Contains(string(body), want) {
			return
		}
	}
	t.Fatalf("/readyz: %d %s; want %d with %q", got, body, code, want)
}
