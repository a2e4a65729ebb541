package node_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// TestSameNextBestOfferOnEveryNode: three nodes as serve runs them (wall
// clocks, stream ticks, shared offer limits), the same offers on each,
// writes spread over them. Once every node stands at the same sequence
// past a tick after the last write, a previewed next-best-offer is
// byte-identical on every node for every customer asked (offers, their
// order, drawn propensities and scores), on any channel and for a
// customer the nodes do not know (issue 16, "Tests": convergence of
// next-best-offer). The Thompson draws are seeded by the request and the
// last tick (recommend/offer/seed.go): each node drawing from its own
// counter fails this at once.
func TestSameNextBestOfferOnEveryNode(t *testing.T) {
	nc := natstest.StartT(t, 3)
	plain, last := startTickedWrites(t, nc.URLs())

	// One node defines the offers; the others get the same records, as
	// limits_test.go does until definitions go through the stream.
	ms := make([]*offerMember, 3)
	ms[0] = withOffers(t, plain[0], nil, last)
	defer ms[0].stop()
	records := putOfferRecords(t, ms[0], map[string]offer.Offer{
		"o-p0":    {Products: []string{"p0"}, Value: 10, Priority: 1},
		"o-p3":    {Products: []string{"p3"}, Value: 10, Priority: 1},
		"o-p7":    {Products: []string{"p7"}, Value: 12, Priority: 1},
		"o-p12":   {Products: []string{"p12"}, Value: 8, Priority: 1, Channels: []string{"web"}},
		"capped":  {Products: []string{"p5"}, Value: 10, Priority: 1, MaxPerCustomer: 1},
		"budget":  {Products: []string{"p9"}, Value: 10, Priority: 1, Budget: 50},
		"voucher": {Value: 5, Priority: 1, Channels: []string{"email"}},
	})
	for i := 1; i < 3; i++ {
		ms[i] = withOffers(t, plain[i], records, last)
		defer ms[i].stop()
	}
	// More writes after the offers, so that the nodes' last tick is one
	// they all applied with the offers in place.
	last = ms[1].post(freshEvents(400, 30)).Seq

	var paths []string
	for _, c := range []string{"c0", "c1", "c7", "c13", "c21", "c33", "nobody"} {
		paths = append(paths, "/v1/customers/"+c+"/next-best-offer?preview=true&limit=4")
	}
	paths = append(paths, "/v1/customers/c1/next-best-offer?preview=true&limit=4&channel=web",
		"/v1/customers/c1/next-best-offer?preview=true&limit=2&channel=email",
		"/v1/customers/c7/next-best-offer?preview=true")
	members := []*member{ms[0].member, ms[1].member, ms[2].member}
	sameAnswers(t, members, last, paths)

	checkThompsonDraws(t, ms[0], paths[:6])

	// With caps, "the same answer" is at the same replicated state, and a
	// showing's unit in the shared counters is part of it: once c7 was
	// shown the capped offer (one per customer) on one node, every node
	// answers c7 without it, and all alike.
	showPath := "/v1/customers/c7/next-best-offer?limit=4"
	if l := ms[0].list(showPath); !strings.Contains(l, `"offer_id":"capped"`) {
		t.Fatalf("GET %s on the first node: no capped offer to spend: %s", showPath, l)
	}
	sameShowings(t, members, showPath, func(l string) {
		if strings.Contains(l, `"offer_id":"capped"`) || !strings.Contains(l, `"offer_id"`) {
			t.Fatalf("after its one showing, GET %s: %s", showPath, l)
		}
	})
}

// startTickedWrites starts three ticking members on urls and posts writes
// spread over them and over several ticks; it returns the members and the
// last sequence written.
func startTickedWrites(t *testing.T, urls string) ([]*member, uint64) {
	t.Helper()
	plain := make([]*member, 3)
	for i := range plain {
		plain[i] = startTickMember(t, t.TempDir(), urls, features.SimEASE)
	}
	var last uint64
	for b := 0; b < 6; b++ {
		last = plain[b%3].post(freshEvents(b*30, 30)).Seq
		time.Sleep(150 * time.Millisecond) // over several ticks
	}
	return plain, last
}

// checkThompsonDraws checks that m's previewed next-best-offer for each of
// paths is a draw (not the posterior mean) and differs between them.
func checkThompsonDraws(t *testing.T, m *offerMember, paths []string) {
	t.Helper()
	// The answers are Thompson draws, not posterior means: the drawn
	// propensity differs from the expected one, and customers differ.
	seen := map[string]string{}
	for _, p := range paths {
		var r struct {
			Offers []struct {
				OfferID            string  `json:"offer_id"`
				Propensity         float64 `json:"propensity"`
				ExpectedPropensity float64 `json:"expected_propensity"`
			} `json:"offers"`
		}
		l := m.list(p)
		if err := json.Unmarshal([]byte(l), &r); err != nil || len(r.Offers) == 0 {
			t.Fatalf("GET %s: %v %s", p, err, l)
		}
		if o := r.Offers[0]; o.Propensity == o.ExpectedPropensity {
			t.Errorf("GET %s: the first offer's propensity is its posterior mean %v: no draw", p, o.Propensity)
		}
		if q, dup := seen[l]; dup {
			t.Errorf("GET %s and GET %s answer the same: %s", p, q, l)
		}
		seen[l] = p
	}
}

// sameShowings calls path (showings: not a preview) on every node while
// they stand at one tick, and checks that all answer alike and that check
// accepts the answer. The draws and the model are the tick's; the
// showings made meanwhile (each a message of the stream once offer logs
// go through it) are of offers without a cap, and do not change the
// posteriors (answers do), so the applied sequence may move on between
// the calls. A tick in between only makes it call again: every call
// shows offers that have no limit or a budget far from spent.
func sameShowings(t *testing.T, ms []*member, path string, check func(string)) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		tick, ok := sameTick(ms)
		if !ok {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		got := make([]string, len(ms))
		for i, m := range ms {
			got[i] = m.list(path)
		}
		if again, ok := sameTick(ms); !ok || again != tick {
			continue
		}
		for i := range ms[1:] {
			if got[i+1] != got[0] {
				t.Fatalf("at the tick of stream sequence %d: GET %s differs:\n%s: %s\n%s: %s", tick, path, ms[0].base, got[0], ms[i+1].base, got[i+1])
			}
		}
		check(got[0])
		return
	}
	t.Fatalf("the nodes did not stand at one tick for GET %s in 60 s", path)
}

// sameTick is the stream sequence of the last tick every node applied,
// when it is the same on every node.
func sameTick(ms []*member) (uint64, bool) {
	var seq uint64
	for i, m := range ms {
		tick, _ := m.store.LastTick()
		if i > 0 && tick != seq {
			return 0, false
		}
		seq = tick
	}
	return seq, true
}

// withOffers replaces m's server by one that also serves offers, as serve
// wires it (shared limits from the node's counters bucket), with the
// offer records in defs stored first, once m has applied the stream up
// to seq.
func withOffers(t *testing.T, m *member, defs map[string][]byte, seq uint64) *offerMember {
	t.Helper()
	if err := m.node.WaitFor(context.Background(), seq); err != nil {
		t.Fatal(err)
	}
	m.srv.App().ShutdownWithTimeout(5 * time.Second)
	for id, v := range defs {
		if err := m.store.Records().Put("offer", id, v); err != nil {
			t.Fatal(err)
		}
	}
	lim, err := m.node.OfferLimits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	oo := offer.DefaultOptions()
	oo.Limits = lim
	eng, err := recommend.New(recommend.StoreDeps(m.store, m.crm), recommend.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	offers, err := offer.New(m.store.Records(), m.store, m.crm, eng, oo)
	if err != nil {
		t.Fatal(err)
	}
	m.serveAPI(nil, api.Deps{Store: m.store, Engine: eng, CRM: m.crm, Offers: offers})
	return &offerMember{member: m, offers: offers, limits: lim}
}
