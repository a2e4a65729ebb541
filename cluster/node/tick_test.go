package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/cluster"
	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
)

// TestSameAnswersWithoutHelp: three nodes with their own wall clocks, their
// default refresh and tuning settings, and nothing triggered by hand. Writes
// spread over the nodes (a fifth of the events without a timestamp: the
// receiving node fills in its clock); the nodes' ticks rebuild by
// themselves. Once every node has applied the same sequence, past a tick
// after the last write, every node answers byte-identical popular (also
// windowed), related, personal and segment-products lists (issue 16
// point 4). Twice: with
// the default (EASE, solved at some ticks, kept at others) and with a
// counted similarity whose scores depend on every product's support and
// the number of customers (lift: a node whose own refreshes had recounted
// only what each of its refreshes found touched would keep stale scores).
func TestSameAnswersWithoutHelp(t *testing.T) {
	for _, sim := range []features.Similarity{features.SimEASE, features.SimLift} {
		t.Run(string(sim), func(t *testing.T) { testSameAnswers(t, sim) })
	}
}

func testSameAnswers(t *testing.T, sim features.Similarity) {
	nc := natstest.StartT(t, 3)
	ms := make([]*member, 3)
	for i := range ms {
		ms[i] = startTickMember(t, t.TempDir(), nc.URLs(), sim)
		defer ms[i].stop()
		// Segment definitions are still local to a node (docs/cluster.md):
		// every node gets them.
		if code, body := ms[i].put("/v1/segments/busy", `{"rule":"events >= 12"}`); code != 200 {
			t.Fatalf("PUT segment: %d %s", code, body)
		}
	}
	var last uint64
	for b := 0; b < 12; b++ {
		last = ms[b%3].post(freshEvents(b*30, 30)).Seq
		// Writes come in over several ticks, so that the nodes build
		// between them (and solve, DenseInterval being a second).
		time.Sleep(150 * time.Millisecond)
	}
	// Three customers buy three more products each: the segment of the
	// busy ones buys those more than everyone.
	var extra []features.Event
	for _, c := range []string{"c1", "c2", "c3"} {
		for _, p := range []string{"p20", "p21", "p22"} {
			extra = append(extra, features.Event{CustomerID: c, ProductID: p, Type: "purchase"})
		}
	}
	last = ms[1].post(extra).Seq
	paths := []string{"/v1/popular?limit=10", "/v1/popular?limit=10&window=30m"}
	for _, p := range []string{"p0", "p3", "p7", "p12"} {
		paths = append(paths, "/v1/products/"+p+"/related?limit=10")
	}
	for _, c := range []string{"c0", "c1", "c7", "c21", "nobody"} {
		paths = append(paths, "/v1/customers/"+c+"/recommendations?limit=10")
	}
	paths = append(paths, "/v1/segments/busy/products?limit=10",
		"/v1/segments/busy/products?limit=10&customer_id=c5")
	sameAnswers(t, ms, last, paths)
}

// sameAnswers waits until every node has applied the same sequence, with a
// tick after last among it and the dense lists solved since, and checks that every node gives the same
// answer to every path at that sequence. A node that applies another tick
// meanwhile (two nodes may each send one when their clocks straddle an
// interval's end) only makes it look again.
func sameAnswers(t *testing.T, ms []*member, last uint64, paths []string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		seq, ok := sameTickedSeq(ms, last)
		if !ok {
			if time.Now().After(deadline) {
				for _, m := range ms {
					tick, _ := m.store.LastTick()
					t.Logf("%s: applied %d, last tick %d", m.base, m.node.Status().Applied, tick)
				}
				t.Fatalf("the nodes did not reach one sequence with a tick after %d in 60 s", last)
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		// Segment membership follows the events in the background
		// (features/crm, segapply.go): wait for it, as a read of a
		// segment right after a write would.
		for _, m := range ms {
			if err := m.crm.FlushSegments(); err != nil {
				t.Fatal(err)
			}
		}
		diff := ""
		for _, p := range paths {
			ref := ms[0].list(p)
			for _, m := range ms[1:] {
				if got := m.list(p); got != ref && diff == "" {
					diff = fmt.Sprintf("GET %s differs:\n%s: %s\n%s: %s", p, ms[0].base, ref, m.base, got)
				}
			}
		}
		if again, ok := sameTickedSeq(ms, last); !ok || again != seq {
			continue // a tick came while reading: compare again
		}
		if diff != "" {
			t.Fatalf("at stream sequence %d: %s", seq, diff)
		}
		for _, p := range paths {
			if l := ms[0].list(p); strings.Contains(l, `"items":[]`) {
				t.Fatalf("GET %s: an empty list proves nothing: %s", p, l)
			}
		}
		for _, p := range paths {
			t.Logf("%s: %.160s", p, ms[0].list(p))
		}
		return
	}
}

// sameTickedSeq is the sequence every node has applied when they all
// stand at the same one, past a tick after last, with the dense lists
// solved.
func sameTickedSeq(ms []*member, last uint64) (uint64, bool) {
	var seq uint64
	for i, m := range ms {
		tick, _ := m.store.LastTick()
		a := m.node.Status().Applied
		if tick <= last || m.store.SolveOwed() || i > 0 && a != seq {
			return 0, false
		}
		seq = a
	}
	return seq, true
}

// startTickMember starts a member the way serve does: the wall clock, the
// default refresh, dense and tuning settings but a dense interval of a
// second (so that the test sees solves at several ticks), and ticks every
// 200 ms; sim is the similarity.
func startTickMember(t testing.TB, dir, urls string, sim features.Similarity) *member {
	t.Helper()
	return startTickMemberWith(t, dir, urls, func(o *features.Options) {
		o.DenseInterval = time.Second
		o.Neighbours.Similarity = sim
	}, 200*time.Millisecond)
}

// startTickMemberWith starts a member with serve's settings changed by
// mod, ticking every tick (node.DefaultTick when 0).
func startTickMemberWith(t testing.TB, dir, urls string, mod func(*features.Options), tick time.Duration) *member {
	t.Helper()
	m := &member{t: t, dir: dir, urls: urls}
	st := openStore(t, dir, mod)
	var err error
	m.store = st
	m.node, err = node.Start(context.Background(), st, node.Config{URLs: urls, Name: "test-" + dir,
		Poll: 100 * time.Millisecond, MinSeq: 20 * time.Second, MaxSilence: time.Second, Tick: tick})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	m.crm, err = crm.New(st, st.Records(), nil)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := recommend.New(recommend.StoreDeps(st, m.crm), recommend.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	m.serveAPI(nil, api.Deps{Store: st, Engine: eng, CRM: m.crm})
	return m
}

// onlyTicks reports whether every message of the default stream from
// sequence from to to (none when to < from) is a stream tick.
func onlyTicks(t *testing.T, urls string, from, to uint64) bool {
	t.Helper()
	conn, err := nats.Connect(urls)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	js, err := jetstream.New(conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := js.Stream(ctx, cluster.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	for seq := from; seq <= to; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		if m.Subject != cluster.DefaultPrefix+".tick" {
			t.Logf("message %d is on %s", seq, m.Subject)
			return false
		}
	}
	return true
}

// pubAckSeq is the stream sequence of JetStream's publish acknowledgement.
func pubAckSeq(t *testing.T, ack []byte) uint64 {
	t.Helper()
	var a struct {
		Seq   uint64 `json:"seq"`
		Error any    `json:"error"`
	}
	if err := json.Unmarshal(ack, &a); err != nil || a.Seq == 0 || a.Error != nil {
		t.Fatalf("publish ack %s: %v", ack, err)
	}
	return a.Seq
}

// put sends body to path with PUT and returns the status and the body.
func (m *member) put(path, body string) (int, []byte) {
	m.t.Helper()
	req, _ := http.NewRequest("PUT", m.base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		m.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

// freshEvents is events dated in the last hours of the wall clock (so that
// a window of 30 minutes holds some of them), a fifth without a timestamp.
func freshEvents(from, n int) []features.Event {
	evs := events(from, n)
	now := time.Now().UTC()
	for i := range evs {
		if !evs[i].Timestamp.IsZero() {
			evs[i].Timestamp = now.Add(-time.Duration(from+i) * 17 * time.Second)
		}
	}
	return evs
}
