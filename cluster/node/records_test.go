package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/cluster/natstest"
)

// TestRecordWritesConverge: segments, offers, experiments and merchandising
// rules defined, changed and deleted through different nodes, offers shown
// and answered through different nodes, experiment exposures on every
// node: once every node has applied the last write, every node holds the
// same definitions, segment sizes, offer performance and experiment
// results. Bad definitions are refused by the receiving node.
func TestRecordWritesConverge(t *testing.T) {
	nc := natstest.StartT(t, 1)
	fs, ms := startFullMembers(t, nc.URLs(), 3)
	for p := 0; p < 25; p++ {
		ms[p%3].write("PUT", fmt.Sprintf("/v1/products/p%d", p), fmt.Sprintf(`{"category":"c%d","price":%d}`, p%4, 5+p), 200)
	}
	for c := 0; c < 12; c++ {
		ms[c%3].write("PUT", fmt.Sprintf("/v1/customers/c%d", c), fmt.Sprintf(`{"attributes":{"country":%q}}`, []string{"France", "Spain"}[c%2]), 200)
	}
	for b := 0; b < 6; b++ {
		ms[b%3].post(events(b*40, 40))
	}

	defineAcrossNodes(ms)

	// Bad definitions: refused by the receiving node, before the stream.
	ms[0].refused("PUT", "/v1/segments/bad", `{"rule":"frequency >>> 1"}`, 400, "rule")
	ms[1].refused("PUT", "/v1/offers/bad", `{"value":-1}`, 400, "value")
	ms[2].refused("PUT", "/v1/experiments/bad", `{"variants":[]}`, 400, "variants")
	ms[0].refused("DELETE", "/v1/offers/nothing", "", 404, "")

	// Offers shown by one node and answered through another; experiment
	// exposures on every node, and clicks that quote them.
	// POST /v1/events answers once the stream has the events, before any
	// node need have applied them: the final wait must be for the clicks'
	// own sequences, not for what the nodes have applied by then (the last
	// click could then be counted on one node and not yet on another).
	var last uint64
	for c := 0; c < 9; c++ {
		shown, answer := ms[c%3], ms[(c+1)%3]
		answerOfferElsewhere(t, c, shown, answer)
		last = max(last, clickExposure(t, c, fs[c%3], answer))
	}
	last = flushAndWaitApplied(t, fs, last)
	checkRecordsConverged(t, ms, last)
}

// defineAcrossNodes defines, changes and deletes segments, offers,
// experiments and merchandising rules through different nodes.
func defineAcrossNodes(ms []*member) {
	ms[0].write("PUT", "/v1/segments/fr", `{"rule":"attributes.country == \"France\""}`, 200)
	ms[1].write("PUT", "/v1/segments/buyers", `{"rule":"frequency >= 1"}`, 200)
	// A definition changed through another node: that node reads it at
	// the writer's sequence first (as a client sends X-Affinity-Min-Seq).
	ms[0].waitFor(ms[2].write("PUT", "/v1/segments/gone", `{"rule":"frequency >= 2"}`, 200))
	ms[0].write("DELETE", "/v1/segments/gone", "", 204)
	ms[2].write("PUT", "/v1/segments/fr", `{"rule":"attributes.country == \"France\" || frequency >= 3"}`, 200)

	ms[1].write("PUT", "/v1/offers/spring", `{"name":"Spring","products":["p1"],"value":20,"priority":2}`, 200)
	ms[2].write("PUT", "/v1/offers/fallback", `{"value":1}`, 200)
	ms[1].waitFor(ms[0].write("PUT", "/v1/offers/old", `{"value":3}`, 200))
	ms[1].write("DELETE", "/v1/offers/old", "", 204)
	ms[0].write("PUT", "/v1/offers/spring", `{"name":"Spring sale","products":["p1"],"value":20,"priority":2}`, 200)

	ms[2].write("PUT", "/v1/experiments/home", `{"status":"running","variants":[{"name":"control","weight":1},{"name":"fixed","weight":1,"params":{"algorithm":"fixed","products":["p1","p2","p3"]}}]}`, 200)
	ms[1].waitFor(ms[0].write("PUT", "/v1/experiments/tmp", `{"status":"running","variants":[{"name":"a","weight":1}]}`, 200))
	ms[1].write("DELETE", "/v1/experiments/tmp", "", 204)

	ms[0].write("PUT", "/v1/rules/p9-first", `{"when":"product_id == 'p9'","action":"pin","position":1}`, 200)
	ms[2].waitFor(ms[1].write("PUT", "/v1/rules/p3-first", `{"when":"product_id == 'p3'","action":"pin","position":1}`, 200))
	ms[2].write("DELETE", "/v1/rules/p3-first", "", 204)
}

// answerOfferElsewhere has customer c shown a next-best-offer on shown and
// answers it through answer.
func answerOfferElsewhere(t *testing.T, c int, shown, answer *member) {
	t.Helper()
	code, raw := shown.get(fmt.Sprintf("/v1/customers/c%d/next-best-offer?limit=2", c), 0)
	if code != 200 {
		t.Fatalf("next-best-offer: %d %s", code, raw)
	}
	var nbo struct {
		RecommendationID string `json:"recommendation_id"`
		Offers           []struct {
			OfferID string `json:"offer_id"`
		}
	}
	if err := json.Unmarshal(raw, &nbo); err != nil || len(nbo.Offers) == 0 {
		t.Fatalf("next-best-offer %s (%v)", raw, err)
	}
	// The answering node reads at the shown node's position: the
	// exposure is logged before the reply.
	resp := []string{"accepted", "declined"}[c%2]
	body := fmt.Sprintf(`{"customer_id":"c%d","response":%q,"recommendation_id":%q}`, c, resp, nbo.RecommendationID)
	answer.waitFor(shown.store.AppliedStreamSeq())
	answer.write("POST", "/v1/offers/"+nbo.Offers[0].OfferID+"/responses", body, 200)
}

// clickExposure has customer c exposed to the "home" experiment on f and
// posts a click quoting it through answer; it returns the click's
// sequence.
func clickExposure(t *testing.T, c int, f *fullMember, answer *member) uint64 {
	t.Helper()
	code, raw := f.get(fmt.Sprintf("/v1/customers/c%d/recommendations?experiment=home&limit=3", c), 0)
	if code != 200 {
		t.Fatalf("recommendations: %d %s", code, raw)
	}
	var l struct {
		RecommendationID string `json:"recommendation_id"`
		Items            []struct {
			ProductID string `json:"product_id"`
		}
	}
	if err := json.Unmarshal(raw, &l); err != nil || len(l.Items) == 0 {
		t.Fatalf("recommendations %s (%v)", raw, err)
	}
	f.exps.Flush(context.Background())
	ev := fmt.Sprintf(`[{"customer_id":"c%d","product_id":%q,"type":"view","recommendation_id":%q}]`, c, l.Items[0].ProductID, l.RecommendationID)
	answer.waitFor(f.store.AppliedStreamSeq())
	return answer.write("POST", "/v1/events", ev, 200)
}

// flushAndWaitApplied flushes every node's experiment and offer logs,
// waits until every node has applied all of it and last, flushes the
// experiments again, and returns the sequence waited for.
func flushAndWaitApplied(t *testing.T, fs []*fullMember, last uint64) uint64 {
	t.Helper()
	for _, f := range fs {
		if err := f.exps.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		f.offers.Flush()
		last = max(last, f.store.AppliedStreamSeq())
	}
	for _, f := range fs {
		f.waitFor(last)
		if err := f.exps.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	return last
}

// checkRecordsConverged checks that at last every node answers the same
// definitions, segment sizes, offer performance and experiment results.
func checkRecordsConverged(t *testing.T, ms []*member, last uint64) {
	t.Helper()
	for _, p := range []string{"/v1/segments", "/v1/offers", "/v1/experiments", "/v1/experiments/home/results", "/v1/rules", "/v1/products/p1", "/v1/customers/c3/profile"} {
		got := sameEverywhere(t, ms, last, p)
		t.Logf("%s: %.1500s", p, got)
	}
	checkContains(t, sameEverywhere(t, ms, last, "/v1/segments"), `"name":"fr"`, `"name":"buyers"`, `"rule":"attributes.country == \"France\" || frequency \u003e= 3"`)
	checkLacks(t, sameEverywhere(t, ms, last, "/v1/segments"), `"name":"gone"`)
	checkContains(t, sameEverywhere(t, ms, last, "/v1/offers"), `"name":"Spring sale"`, `"offer_id":"fallback"`, `"accepted":`)
	checkLacks(t, sameEverywhere(t, ms, last, "/v1/offers"), `"offer_id":"old"`)
	checkLacks(t, sameEverywhere(t, ms, last, "/v1/experiments"), `"id":"tmp"`)
	checkLacks(t, sameEverywhere(t, ms, last, "/v1/rules"), `p3-first`)
	// Every exposure and every click that quoted it counted, on every node.
	var res struct {
		Variants []struct{ Exposures, Clicks int }
	}
	if err := json.Unmarshal([]byte(sameEverywhere(t, ms, last, "/v1/experiments/home/results")), &res); err != nil {
		t.Fatal(err)
	}
	exposures, clicks := 0, 0
	for _, v := range res.Variants {
		exposures += v.Exposures
		clicks += v.Clicks
	}
	if exposures != 9 || clicks != 9 {
		t.Fatalf("results count %d exposures and %d clicks, want 9 and 9", exposures, clicks)
	}
}

// waitFor waits (bounded) until m has applied seq.
func (m *member) waitFor(seq uint64) { waitApplied(m.t.(*testing.T), m, seq) }

func checkContains(t *testing.T, s string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !contains(s, w) {
			t.Fatalf("lacks %s: %s", w, s)
		}
	}
}

func checkLacks(t *testing.T, s string, bad ...string) {
	t.Helper()
	for _, b := range bad {
		if contains(s, b) {
			t.Fatalf("has %s: %s", b, s)
		}
	}
}
func contains(s, sub string) bool { return strings.Contains(s, sub) }
