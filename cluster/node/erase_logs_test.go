package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/affinity-rec/affinity/cluster/natstest"
	"github.com/affinity-rec/affinity/features"
	"github.com/nats-io/nats.go/jetstream"
)

// TestErasurePurgesServiceLogs: a customer is shown offers, answers them
// and is exposed to an experiment through different nodes; once they are
// erased, no message of the stream, on any subject, names them but the
// erasure record itself (their offer and exposure log entries travelled
// on their own subject, which the erasure purges), and every node still
// serves the same offer performance (the anonymised counts are kept) and
// the same experiment results.
func TestErasurePurgesServiceLogs(t *testing.T) {
	nc := natstest.StartT(t, 1)
	fs, ms := startFullMembers(t, nc.URLs(), 3)
	const gone = "gone-7f3a9c"
	custs := []string{"keep-0", gone, "keep-1", "keep-2"}
	for p := 0; p < 10; p++ {
		ms[p%3].write("PUT", fmt.Sprintf("/v1/products/p%d", p), fmt.Sprintf(`{"category":"c%d","price":%d}`, p%3, 5+p), 200)
	}
	var evs []features.Event
	for i, c := range custs {
		ms[i%3].write("PUT", "/v1/customers/"+c, `{"attributes":{"country":"France"}}`, 200)
		for p := 0; p < 4; p++ {
			evs = append(evs, features.Event{CustomerID: c, ProductID: fmt.Sprintf("p%d", (i+p)%10), Type: "view", Timestamp: testNow})
		}
	}
	ms[1].post(evs)
	ms[1].write("PUT", "/v1/offers/spring", `{"name":"Spring","products":["p1"],"value":20,"priority":2}`, 200)
	ms[2].write("PUT", "/v1/offers/fallback", `{"value":1}`, 200)
	ms[2].write("PUT", "/v1/experiments/home", `{"status":"running","variants":[{"name":"control","weight":1},{"name":"fixed","weight":1,"params":{"algorithm":"fixed","products":["p1","p2","p3"]}}]}`, 200)

	for i, c := range custs {
		shown, answer := fs[i%3], fs[(i+1)%3]
		shown.waitFor(maxApplied(ms))
		rec, offer := nextBestOffer(t, shown.member, c)
		answer.waitFor(shown.store.AppliedStreamSeq())
		body := fmt.Sprintf(`{"customer_id":%q,"response":%q,"recommendation_id":%q}`, c, []string{"accepted", "declined"}[i%2], rec)
		answer.write("POST", "/v1/offers/"+offer+"/responses", body, 200)
		if code, raw := shown.get("/v1/customers/"+c+"/recommendations?experiment=home&limit=3", 0); code != 200 {
			t.Fatalf("recommendations: %d %s", code, raw)
		}
		if err := shown.exps.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	last := flushAll(t, fs)
	offersBefore := sameEverywhere(t, ms, last, "/v1/offers")
	checkContains(t, offersBefore, `"accepted":2`, `"declined":2`)

	seq := ms[0].write("DELETE", "/v1/customers/"+gone, "", 204)
	for _, f := range fs {
		f.waitFor(seq)
	}
	last = flushAll(t, fs)

	names, erasures := messagesNaming(t, ms[0], gone)
	if len(names) != 0 || erasures != 1 {
		t.Fatalf("after the erasure the stream holds %d messages naming %s besides %d erasure records (want 0 and 1): %v", len(names), gone, erasures, names)
	}
	// The erased customer's open exposure is closed; what was shown and
	// answered stays counted.
	if before, after := offerCounts(t, offersBefore), offerCounts(t, sameEverywhere(t, ms, last, "/v1/offers")); before != after {
		t.Fatalf("offer performance changed with the erasure: before %s, after %s", before, after)
	}
	var res struct {
		Variants []struct{ Exposures int }
	}
	if err := json.Unmarshal([]byte(sameEverywhere(t, ms, last, "/v1/experiments/home/results")), &res); err != nil {
		t.Fatal(err)
	}
	exposures := 0
	for _, v := range res.Variants {
		exposures += v.Exposures
	}
	if exposures != len(custs)-1 {
		t.Fatalf("results count %d exposures after the erasure, want %d", exposures, len(custs)-1)
	}
}

// offerCounts is what GET /v1/offers says each offer was shown and
// answered.
func offerCounts(t *testing.T, raw string) string {
	t.Helper()
	var l struct {
		Offers []struct {
			OfferID     string `json:"offer_id"`
			Performance struct{ Shown, Accepted, Declined, Ignored int }
		}
	}
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(l.Offers)
}

// nextBestOffer asks m for the customer's next best offer and returns the
// recommendation id and the first offer.
func nextBestOffer(t *testing.T, m *member, cust string) (string, string) {
	t.Helper()
	code, raw := m.get("/v1/customers/"+cust+"/next-best-offer?limit=2", 0)
	var nbo struct {
		RecommendationID string `json:"recommendation_id"`
		Offers           []struct {
			OfferID string `json:"offer_id"`
		}
	}
	if code != 200 || json.Unmarshal(raw, &nbo) != nil || len(nbo.Offers) == 0 {
		t.Fatalf("next-best-offer for %s: %d %s", cust, code, raw)
	}
	return nbo.RecommendationID, nbo.Offers[0].OfferID
}

func maxApplied(ms []*member) uint64 {
	var last uint64
	for _, m := range ms {
		last = max(last, m.store.AppliedStreamSeq())
	}
	return last
}

// flushAll writes what the services buffer, waits until every node has
// applied all of it and returns that sequence.
func flushAll(t *testing.T, fs []*fullMember) uint64 {
	t.Helper()
	var last uint64
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

// messagesNaming reads every message of the stream, whatever its subject,
// and returns the subject and sequence of those whose data holds id, but
// for erasure records, which it counts.
func messagesNaming(t *testing.T, m *member, id string) ([]string, int) {
	t.Helper()
	st := m.node.Stream()
	ctx := context.Background()
	info, err := st.Stream.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	erasures := 0
	for q := info.State.FirstSeq; q <= info.State.LastSeq && q > 0; q++ {
		msg, err := st.Stream.GetMsg(ctx, q)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // purged
		}
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(msg.Data, []byte(id)) {
			continue
		}
		if msg.Subject == st.Subjects.Erasure() {
			erasures++
			continue
		}
		found = append(found, fmt.Sprintf("%d %s", q, msg.Subject))
	}
	return found, erasures
}

// TestAppendRetryStoredOnce: the services' log appends carry an
// idempotency id, so the same entries appended again (a flush retried
// after a failure the log had in fact stored) are stored once in the
// stream and in every node's log; the retry succeeds without sequences.
func TestAppendRetryStoredOnce(t *testing.T) {
	nc := natstest.StartT(t, 1)
	ms := []*member{startMember(t, t.TempDir(), nc.URLs()), startMember(t, t.TempDir(), nc.URLs())}
	for _, m := range ms {
		defer m.stop()
	}
	custs := []string{"a", "b", "a", ""}
	entries := [][]byte{[]byte("a1"), []byte("b1"), []byte("a2"), []byte("none")}
	first, err := ms[0].store.Records().AppendFor("retry-log", custs, entries)
	if err != nil || first[0] == 0 || first[2] != first[0]+1 {
		t.Fatalf("AppendFor = %v, %v; want a's two entries consecutive", first, err)
	}
	again, err := ms[1].store.Records().AppendFor("retry-log", custs, entries)
	if err != nil || !slices.Equal(again, make([]uint64, len(entries))) {
		t.Fatalf("the retry: %v, %v; want no sequences (stored before) and no error", again, err)
	}
	for _, c := range []string{"a", "b"} {
		if n := streamMessages(t, ms[0], c); n != 1 {
			t.Fatalf("the stream holds %d messages of %s, want 1", n, c)
		}
	}
	last := maxApplied(ms)
	for _, m := range ms {
		waitApplied(t, m, last)
		var got []string
		err := m.store.Records().Scan("retry-log", 0, func(_ uint64, v []byte) error {
			got = append(got, string(v))
			return nil
		})
		slices.Sort(got)
		if err != nil || !slices.Equal(got, []string{"a1", "a2", "b1", "none"}) {
			t.Fatalf("%s's log holds %v (%v)", m.base, got, err)
		}
	}
}

// TestErasureCopiesForLateNodes: a node down during the showings and the
// erasure and a node started empty afterwards replay the stream without
// the erased customer's purged offer entries; the anonymised copies the
// erasing nodes append let them count those showings and answers, so
// every node serves the same offer performance (shown, answers, open),
// and the stream still names the customer nowhere but in the erasure
// record.
func TestErasureCopiesForLateNodes(t *testing.T) {
	nc := natstest.StartT(t, 1)
	fs, ms := startFullMembers(t, nc.URLs(), 3)
	const gone = "gone-5d1e0b"
	custs := []string{"keep-0", gone, "keep-1", "keep-2"}
	for p := 0; p < 6; p++ {
		ms[p%3].write("PUT", fmt.Sprintf("/v1/products/p%d", p), fmt.Sprintf(`{"category":"c%d","price":%d}`, p%3, 5+p), 200)
	}
	var evs []features.Event
	for i, c := range custs {
		ms[i%3].write("PUT", "/v1/customers/"+c, `{"attributes":{"country":"France"}}`, 200)
		evs = append(evs, features.Event{CustomerID: c, ProductID: fmt.Sprintf("p%d", i), Type: "view", Timestamp: testNow})
	}
	ms[1].post(evs)
	ms[1].write("PUT", "/v1/offers/spring", `{"name":"Spring","products":["p1"],"value":20,"priority":2}`, 200)
	ms[2].write("PUT", "/v1/offers/fallback", `{"value":1}`, 200)
	// The third node goes down before any showing: it never applies the
	// erased customer's entries.
	fs[2].waitFor(maxApplied(ms))
	dir := fs[2].dir
	fs[2].stop()
	up := fs[:2]
	for i, c := range custs {
		shown, answer := up[i%2], up[(i+1)%2]
		shown.waitFor(maxApplied(ms[:2]))
		rec, offer := nextBestOffer(t, shown.member, c)
		if i == 3 {
			continue // left open
		}
		answer.waitFor(shown.store.AppliedStreamSeq())
		body := fmt.Sprintf(`{"customer_id":%q,"response":%q,"recommendation_id":%q}`, c, []string{"accepted", "declined"}[i%2], rec)
		answer.write("POST", "/v1/offers/"+offer+"/responses", body, 200)
	}
	// The erased customer shown a second time, left open.
	up[0].waitFor(maxApplied(ms[:2]))
	nextBestOffer(t, up[0].member, gone)
	flushAll(t, up)

	seq := ms[1].write("DELETE", "/v1/customers/"+gone, "", 204)
	flushAll(t, up)
	fs[2] = startFullMember(t, dir, nc.URLs())
	ms[2] = fs[2].member
	fresh := startFullMember(t, t.TempDir(), nc.URLs())
	defer fresh.stop()
	all := append(fs[:3:3], fresh)
	for _, f := range all {
		f.waitFor(seq)
	}
	last := flushAll(t, all)
	var allm []*member
	for _, f := range all {
		allm = append(allm, f.member)
	}
	for _, id := range []string{"spring", "fallback"} {
		sameEverywhere(t, allm, last, "/v1/offers/"+id)
	}
	want := sameEverywhere(t, allm, last, "/v1/offers")
	checkContains(t, want, `"shown":5,"accepted":2,"declined":1`)
	// A restart replays the copies by the same rule: the erasing node
	// (which holds the originals, anonymised) and the fresh one (which
	// counted the copies) serve what they served.
	for _, i := range []int{0, 3} {
		d := all[i].dir
		all[i].stop()
		all[i] = startFullMember(t, d, nc.URLs())
		allm[i] = all[i].member
		all[i].waitFor(last)
	}
	fs[0] = all[0]
	defer all[3].stop()
	if got := sameEverywhere(t, allm, flushAll(t, all), "/v1/offers"); got != want {
		t.Fatalf("after restarts the offers read\n%s\nnot\n%s", got, want)
	}
	names, erasures := messagesNaming(t, allm[1], gone)
	if len(names) != 0 || erasures != 1 {
		t.Fatalf("after the erasure the stream holds %d messages naming %s besides %d erasure records (want 0 and 1): %v", len(names), gone, erasures, names)
	}
}
