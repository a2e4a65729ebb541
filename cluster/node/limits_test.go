package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/cluster/node"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// offerMember is a member that serves next-best-offer with the cluster's
// shared caps and budgets (node.OfferLimits), as serve wires it.
type offerMember struct {
	*member
	offers *offer.Service
	limits *node.OfferLimits
}

// startOfferMember starts a member whose offer service opens on the
// definitions in defs (kind "offer" records, copied as they are: the same
// incarnation on every node, as definitions applied from the stream will
// have), once it has applied the stream up to seq (the offers' products).
func startOfferMember(t *testing.T, dir, urls string, defs map[string][]byte, seq uint64) *offerMember {
	t.Helper()
	// The members' stores run no tuner, so the engine's UseTuning makes no
	// difference: withOffers wires the same services serve does.
	return withOffers(t, startMember(t, dir, urls), defs, seq)
}

func (m *offerMember) stop() {
	if m.store == nil {
		return
	}
	m.srv.App().ShutdownWithTimeout(5 * time.Second)
	if err := m.offers.Close(); err != nil {
		m.t.Error(err)
	}
	m.limits.Close()
	m.member.stop()
}

type nboReply struct {
	Offers []struct {
		OfferID string `json:"offer_id"`
	} `json:"offers"`
	RecommendationID string `json:"recommendation_id"`
}

func (m *offerMember) nbo(t *testing.T, cust string) nboReply {
	resp, err := http.Get(m.base + "/v1/customers/" + cust + "/next-best-offer?limit=4")
	if err != nil {
		t.Error(err)
		return nboReply{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var r nboReply
	if resp.StatusCode != 200 || json.Unmarshal(raw, &r) != nil {
		t.Errorf("next-best-offer for %s: %d %s", cust, resp.StatusCode, raw)
	}
	return r
}

// TestOfferLimitsAcrossNodes: many concurrent next-best-offer calls for the
// same customers, spread over three nodes, show a capped offer exactly
// max_per_customer times to each customer and a budgeted one exactly
// budget times in all (demand exceeds both); an offer without limits is
// in every answer. A budget taken in leased blocks is likewise exact. A
// declined showing gives its budget unit back to every
// node: exactly one more showing follows.
func TestOfferLimitsAcrossNodes(t *testing.T) {
	nc := natstest.StartT(t, 3)
	const capN, budget, bulkBudget, custs, callsPer = 2, 7, 40, 5, 12

	last := postOfferCatalogue(t, nc.URLs(), custs)

	// One node defines the offers; the others get the same records.
	first := startOfferMember(t, t.TempDir(), nc.URLs(), nil, last)
	records := putOfferRecords(t, first, map[string]offer.Offer{
		"capped":   {Products: []string{"q0"}, MaxPerCustomer: capN, Priority: 100, Value: 1},
		"budgeted": {Products: []string{"q1"}, Budget: budget, Priority: 10, Value: 1},
		"free":     {Products: []string{"q2"}, Priority: 1, Value: 1},
		"bulk":     {Products: []string{"q2"}, Budget: bulkBudget, Priority: 0.5, Value: 1},
	})
	ms := []*offerMember{first, startOfferMember(t, t.TempDir(), nc.URLs(), records, last), startOfferMember(t, t.TempDir(), nc.URLs(), records, last)}
	for _, m := range ms {
		defer m.stop()
	}

	served := showConcurrently(t, ms, custs, callsPer)
	if t.Failed() {
		t.FailNow()
	}
	perCust := map[string]int{}
	for _, s := range served["capped"] {
		perCust[s.cust]++
	}
	for c := 0; c < custs; c++ {
		if n := perCust[fmt.Sprintf("u%d", c)]; n != capN {
			t.Errorf("customer u%d was shown the capped offer %d times, want exactly %d", c, n, capN)
		}
	}
	if n := len(served["budgeted"]); n != budget {
		t.Errorf("the budgeted offer was shown %d times, want exactly its budget %d", n, budget)
	}
	if n := len(served["free"]); n != custs*callsPer {
		t.Errorf("the offer without limits was shown %d times, want every call's %d", n, custs*callsPer)
	}
	checkLeasedBudget(t, ms, len(served["bulk"]), bulkBudget, custs)

	// Showings travel through the stream: once every node has applied
	// them, each node counts every node's showings, exactly what the
	// clients saw.
	waitSameSeq(t, ms)
	for i, m := range ms {
		v, err := m.offers.Get("budgeted")
		if err != nil {
			t.Fatal(err)
		}
		if v.Performance.Shown != budget {
			t.Errorf("node %d counts %d showings of the budgeted offer, want %d", i, v.Performance.Shown, budget)
		}
	}

	if len(served["budgeted"]) == 0 {
		t.FailNow() // the count check above said why; nothing to decline
	}
	checkDeclineFreesOne(t, ms, served["budgeted"][0], custs)
	checkOffersFailClosed(t, nc, ms[0])
}

// postOfferCatalogue posts, through a member stopped afterwards, each of
// custs customers' purchases of the offers' products, and returns the
// last sequence.
func postOfferCatalogue(t *testing.T, urls string, custs int) uint64 {
	t.Helper()
	// The catalogue reaches every node through the stream.
	boot := startMember(t, t.TempDir(), urls)
	var evs []features.Event
	for c := 0; c < custs; c++ {
		for p := 0; p < 3; p++ {
			evs = append(evs, features.Event{EventID: fmt.Sprintf("b-%d-%d", c, p), CustomerID: fmt.Sprintf("u%d", c),
				ProductID: fmt.Sprintf("q%d", p), Type: "purchase", Timestamp: testNow.Add(-time.Hour)})
		}
	}
	last := boot.post(evs).Seq
	boot.stop()
	return last
}

// putOfferRecords defines defs through m's offer service and returns the
// "offer" records it stored, copied, for the other nodes.
func putOfferRecords(t *testing.T, m *offerMember, defs map[string]offer.Offer) map[string][]byte {
	t.Helper()
	for id, o := range defs {
		if _, err := m.offers.Put(id, o); err != nil {
			t.Fatal(id, err)
		}
	}
	records := map[string][]byte{}
	if err := m.store.Records().List("offer", func(id string, v []byte) error {
		records[id] = append([]byte(nil), v...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return records
}

// offerShowing is one offer in a next-best-offer answer: the node that
// answered, the customer and the answer's recommendation id.
type offerShowing struct {
	node      int
	cust, rec string
}

// showConcurrently makes the concurrent next-best-offer calls and returns
// the showings by offer.
func showConcurrently(t *testing.T, ms []*offerMember, custs, callsPer int) map[string][]offerShowing {
	t.Helper()
	// Every customer asks callsPer times, each call on the next node, all
	// at once.
	var mu sync.Mutex
	served := map[string][]offerShowing{} // by offer
	var wg sync.WaitGroup
	for c := 0; c < custs; c++ {
		for k := 0; k < callsPer; k++ {
			wg.Add(1)
			go func(cust string, node int) {
				defer wg.Done()
				r := ms[node].nbo(t, cust)
				mu.Lock()
				defer mu.Unlock()
				for _, o := range r.Offers {
					served[o.OfferID] = append(served[o.OfferID], offerShowing{node, cust, r.RecommendationID})
				}
			}(fmt.Sprintf("u%d", c), (c+k)%3)
		}
	}
	wg.Wait()
	return served
}

// checkLeasedBudget checks, from bulk showings so far, that the leased
// "bulk" budget is reached and never passed.
func checkLeasedBudget(t *testing.T, ms []*offerMember, bulk, bulkBudget, custs int) {
	t.Helper()
	// A budget large enough to be leased in blocks is never passed, and is
	// reached while demand lasts (units a node holds are shown there, or go
	// back to the shared key when idle).
	deadline := time.Now().Add(60 * time.Second)
	for k := 0; bulk < bulkBudget && time.Now().Before(deadline); k++ {
		for _, o := range ms[k%3].nbo(t, fmt.Sprintf("u%d", k%custs)).Offers {
			if o.OfferID == "bulk" {
				bulk++
			}
		}
	}
	if bulk != bulkBudget {
		t.Errorf("the leased budget gave %d showings, want exactly %d", bulk, bulkBudget)
	}
	for k := 0; k < 6; k++ {
		for _, o := range ms[k%3].nbo(t, "u0").Offers {
			if o.OfferID == "bulk" {
				t.Fatalf("the leased budget of %d was passed", bulkBudget)
			}
		}
	}
}

// checkDeclineFreesOne declines showing d and checks that exactly one more
// showing of the budgeted offer follows.
func checkDeclineFreesOne(t *testing.T, ms []*offerMember, d offerShowing, custs int) {
	t.Helper()
	// A decline, on the node that showed it, frees one unit for everyone.
	body := fmt.Sprintf(`{"customer_id":%q,"response":"declined","recommendation_id":%q}`, d.cust, d.rec)
	resp, err := http.Post(ms[d.node].base+"/v1/offers/budgeted/responses", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("declining: %d", resp.StatusCode)
	}
	more := 0
	for k := 0; k < 6; k++ {
		r := ms[(d.node+1+k)%3].nbo(t, fmt.Sprintf("u%d", k%custs))
		for _, o := range r.Offers {
			if o.OfferID == "budgeted" {
				more++
			}
		}
	}
	if more != 1 {
		t.Errorf("after one decline the budgeted offer was shown %d more times, want 1", more)
	}
}

// checkOffersFailClosed stops every NATS server of nc and checks that m's
// next-best-offer then shows nothing and says why.
func checkOffersFailClosed(t *testing.T, nc *natstest.Cluster, m *offerMember) {
	t.Helper()
	// Fail closed: with the counters out of reach (every NATS server
	// stopped) a call that needs them shows nothing and says why.
	nc.Shutdown()
	resp, err := http.Get(m.base + "/v1/customers/u-new/next-best-offer?limit=4")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Content-Type") != "application/problem+json" || !strings.Contains(string(raw), "no offer is shown") {
		t.Errorf("next-best-offer with the counters unreachable: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), raw)
	}
}

// waitSameSeq waits until every member has applied the stream's last
// message (and its services have reloaded what it changed).
func waitSameSeq(t *testing.T, ms []*offerMember) {
	t.Helper()
	info, err := ms[0].node.Stream().Stream.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		waitApplied(t, m.member, info.State.LastSeq)
	}
}
