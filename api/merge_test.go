package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
)

// mergeEvents: c0..c7 buy p0..p3 together (p0 with p1, p2 with p3), alice
// bought p0, the anonymous visitor looked at p1 and bought p2.
func mergeEvents() []features.Event {
	at := time.Date(2011, 11, 1, 0, 0, 0, 0, time.UTC)
	var evs []features.Event
	for c := range 8 {
		for _, p := range []int{c % 2 * 2, c%2*2 + 1} {
			evs = append(evs, features.Event{CustomerID: fmt.Sprint("c", c), ProductID: fmt.Sprint("p", p), Type: "purchase", Value: 10, Timestamp: at})
		}
	}
	return append(evs,
		features.Event{CustomerID: "alice", ProductID: "p0", Type: "purchase", Value: 10, OrderID: "a1", Timestamp: at},
		features.Event{CustomerID: "anon-42", ProductID: "p1", Type: "view", Timestamp: at.Add(time.Hour)},
		features.Event{CustomerID: "anon-42", ProductID: "p2", Type: "purchase", Value: 4, OrderID: "x1", Timestamp: at.Add(2 * time.Hour)},
	)
}

func (ts *testServer) postEvents(evs []features.Event) {
	ts.t.Helper()
	body, _ := json.Marshal(evs)
	send(ts.t, ts.srv, "POST", "/v1/events", string(body)).want(ts.t, 200)
}

// The merge over HTTP: the customer's list and profile show the visitor's
// history at once (their products are seen, their purchase counts), the
// visitor's id is gone and a read of it does not bring it back, a repeat
// is a 200 that does nothing, bad requests are 4xx naming from, and the
// merged history is the same after a restart.
func TestMergeOverHTTP(t *testing.T) {
	dir := t.TempDir()
	ts := newTestServer(t, dir, Options{})
	ts.postEvents(mergeEvents())
	send(t, ts.srv, "PUT", "/v1/customers/anon-42", `{"attributes":{"lang":"fr","country":"FR"}}`).want(t, 200)
	send(t, ts.srv, "PUT", "/v1/customers/alice", `{"attributes":{"country":"DE"}}`).want(t, 200)
	ts.store.Refresh()
	if got := itemIDs(ts.get("/v1/customers/alice/recommendations?limit=5")); !slices.Contains(got, "p1") {
		t.Fatalf("setup: alice's list %v lacks p1", got)
	}

	var rep mergeReply
	send(t, ts.srv, "POST", "/v1/customers/alice/merge", `{"from":"anon-42"}`).want(t, 200).decode(t, &rep)
	if rep != (mergeReply{CustomerID: "alice", From: "anon-42", EventsMoved: 2}) {
		t.Fatalf("reply %+v", rep)
	}
	// At once, before any model build.
	list := itemIDs(ts.get("/v1/customers/alice/recommendations?limit=5"))
	if slices.Contains(list, "p1") || slices.Contains(list, "p2") {
		t.Fatalf("alice's list %v still offers what the visitor saw and bought", list)
	}
	var prof struct {
		Events     int
		Attributes map[string]any
		Value      struct{ Frequency int }
	}
	send(t, ts.srv, "GET", "/v1/customers/alice/profile", "").want(t, 200).decode(t, &prof)
	if prof.Events != 3 || prof.Value.Frequency != 2 || prof.Attributes["lang"] != "fr" || prof.Attributes["country"] != "DE" {
		t.Fatalf("alice's profile %+v", prof)
	}
	send(t, ts.srv, "GET", "/v1/customers/anon-42/profile", "").want(t, 404)
	send(t, ts.srv, "GET", "/v1/customers/anon-42/recommendations", "")
	if _, ok := ts.store.CustomerID("anon-42"); ok {
		t.Fatal("a read brought the merged visitor back")
	}

	send(t, ts.srv, "POST", "/v1/customers/alice/merge", `{"from":"anon-42"}`).want(t, 200).decode(t, &rep)
	if !rep.AlreadyMerged || rep.EventsMoved != 0 {
		t.Fatalf("repeat %+v", rep)
	}
	checkMergeRefusals(t, ts)
	if _, ok := ts.store.CustomerID("bob"); ok {
		t.Fatal("a refused merge created its target")
	}
	// A target that does not exist yet is created.
	ts.postEvents([]features.Event{{CustomerID: "anon-43", ProductID: "p3", Type: "view"}})
	send(t, ts.srv, "POST", "/v1/customers/newcomer/merge", `{"from":"anon-43"}`).want(t, 200).decode(t, &rep)
	if !rep.Created || rep.EventsMoved != 1 {
		t.Fatalf("into a new customer: %+v", rep)
	}

	checkMergeSurvivesRestart(t, ts, dir)
}

// checkMergeRefusals checks that bad merge requests are 4xx naming the field.
func checkMergeRefusals(t *testing.T, ts *testServer) {
	t.Helper()
	for _, c := range []struct {
		path, body string
		status     int
		field      string
	}{
		{"/v1/customers/alice/merge", `{}`, 400, "from"},
		{"/v1/customers/alice/merge", `{"from":"alice"}`, 400, "from"},
		{"/v1/customers/alice/merge", `{"from":""}`, 400, "from"},
		{"/v1/customers/alice/merge", `{"from":"nobody"}`, 404, "from"},
		{"/v1/customers/bob/merge", `{"from":"anon-42"}`, 409, "from"},
		{"/v1/customers/alice/merge", `{"form":"anon-42"}`, 400, "form"},
	} {
		var p struct{ Field, Detail string }
		send(t, ts.srv, "POST", c.path, c.body).want(t, c.status).decode(t, &p)
		if p.Field != c.field {
			t.Errorf("%s %s: problem %+v, want field %s", c.path, c.body, p, c.field)
		}
	}
}

// checkMergeSurvivesRestart checks alice's merged history is the same
// after a restart, and the merge stays done.
func checkMergeSurvivesRestart(t *testing.T, ts *testServer, dir string) {
	t.Helper()
	var before historyPage
	send(t, ts.srv, "GET", "/v1/customers/alice/events", "").want(t, 200).decode(t, &before)
	if err := ts.store.Close(); err != nil {
		t.Fatal(err)
	}
	ts2 := newTestServer(t, dir, Options{})
	var after historyPage
	send(t, ts2.srv, "GET", "/v1/customers/alice/events", "").want(t, 200).decode(t, &after)
	if before.Total != 3 || fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("alice's events after a restart %+v, before %+v", after, before)
	}
	send(t, ts2.srv, "POST", "/v1/customers/alice/merge", `{"from":"anon-42"}`).want(t, 200)
	send(t, ts2.srv, "GET", "/v1/customers/anon-42/profile", "").want(t, 404)
}

// Erasing the customer after a merge leaves nothing of either; merging an
// erased id is a 404 that creates nothing.
func TestMergeThenEraseOverHTTP(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	ts.postEvents(mergeEvents())
	send(t, ts.srv, "POST", "/v1/customers/alice/merge", `{"from":"anon-42"}`).want(t, 200)
	send(t, ts.srv, "DELETE", "/v1/customers/alice", "").want(t, 204)
	send(t, ts.srv, "POST", "/v1/customers/zed/merge", `{"from":"alice"}`).want(t, 404)
	for _, id := range []string{"alice", "anon-42", "zed"} {
		send(t, ts.srv, "GET", "/v1/customers/"+id+"/profile", "").want(t, 404)
	}
	if n := ts.store.Stats().Events; n != 16 {
		t.Fatalf("%d events left, want the 16 of c0..c7", n)
	}
}

// A cluster node (a real NATS server and node) merges through the stream:
// the reply says what its own apply did and carries the merge's sequence;
// a repeat is already_merged. (Several nodes: cluster/node/merge_test.go.)
func TestMergeInClusterMode(t *testing.T) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	nats, err := natstest.Start(1, natstest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nats.Shutdown)
	o := testStoreOptions(t.TempDir())
	o.Logger = quiet
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	nd, err := node.Start(context.Background(), st, node.Config{URLs: nats.URLs(), Name: "merge-test", Poll: 100 * time.Millisecond, Log: quiet})
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cs := crmOf(t, st)
	eng, err := recommend.New(recommend.StoreDeps(st, cs), recommend.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	ao := DefaultOptions()
	ao.Logger = quiet
	ao.Cluster = nd
	srv, err := New(Deps{Store: st, Engine: eng, CRM: cs}, ao)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nd.Close() })
	body, _ := json.Marshal(mergeEvents())
	after := send(t, srv, "POST", "/v1/events", string(body)).want(t, 200).hdr.Get(HeaderSeq)
	merge := func() (mergeReply, uint64) {
		r := send(t, srv, "POST", "/v1/customers/alice/merge", `{"from":"anon-42"}`, "X-Affinity-Min-Seq", after).want(t, 200)
		var m mergeReply
		r.decode(t, &m)
		seq, _ := strconv.ParseUint(r.hdr.Get(HeaderSeq), 10, 64)
		return m, seq
	}
	m, seq := merge()
	if m.EventsMoved != 2 || m.Created || m.AlreadyMerged || seq == 0 {
		t.Fatalf("merge: %+v, seq %d", m, seq)
	}
	if _, ok := st.CustomerID("anon-42"); ok {
		t.Fatal("anon-42 still resolves")
	}
	if m, again := merge(); !m.AlreadyMerged || m.EventsMoved != 0 || again < seq {
		t.Fatalf("repeat: %+v, seq %d after %d", m, again, seq)
	}
}

// The visitor's offer exposures leave with them, not onto the customer:
// the customer is not capped by what the visitor was shown, and the
// offers' erasure journal is empty once the service has done its part.
func TestMergeDropsTheVisitorsOfferState(t *testing.T) {
	s := newOfferServer(t)
	s.do(t, "PUT", "/v1/offers/once", `{"products":["p1"],"max_per_customer":1}`).want(t, 200)
	var nbo nboJSON
	s.do(t, "GET", "/v1/customers/c1/next-best-offer", "").want(t, 200).decode(t, &nbo)
	if len(nbo.Offers) != 1 {
		t.Fatalf("setup: c1's offers %+v", nbo)
	}
	s.do(t, "GET", "/v1/customers/c1/next-best-offer", "").want(t, 200).decode(t, &nbo)
	if len(nbo.Offers) != 0 {
		t.Fatalf("setup: c1 is not capped: %+v", nbo)
	}
	s.do(t, "POST", "/v1/customers/newguy/merge", `{"from":"c1"}`).want(t, 200)
	s.offers.Flush()
	if p, err := s.store.Records().Pending("offers"); err != nil || len(p) != 0 {
		t.Fatalf("offers erasure journal: %v %v", p, err)
	}
	s.do(t, "GET", "/v1/customers/newguy/next-best-offer", "").want(t, 200).decode(t, &nbo)
	if len(nbo.Offers) != 1 {
		t.Fatalf("newguy is capped by the visitor's exposure: %+v", nbo)
	}
	if _, ok := s.store.CustomerID("c1"); ok {
		t.Fatal("c1 still resolves")
	}
}
