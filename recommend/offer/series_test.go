package offer

import (
	"fmt"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
)

// sumSeries adds up a series' points.
func sumSeries(s Series) (p Performance) {
	for _, x := range s.Points {
		p.Shown += x.Shown
		p.Accepted += x.Accepted
		p.Declined += x.Declined
		p.Ignored += x.Ignored
	}
	return p
}

// TestSeriesAfterErasure answers exposures across two days, erases a
// customer (whose log entries become anonymous and whose open exposure is
// dropped) and checks the daily points still add up to Get's totals, also
// after a restart, and that a window leaves the earlier acceptances in the
// budget used.
func TestSeriesAfterErasure(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	e.ingest(features.Event{CustomerID: "gone", ProductID: "p1", Type: "purchase"},
		features.Event{CustomerID: "stays", ProductID: "p1", Type: "purchase"})
	e.put("a", Offer{Value: 1, Priority: 1, Budget: 10})
	day := func(d int) { e.now.Store(offerTestEpoch.Add(time.Duration(d) * 24 * time.Hour).Unix()) }
	for d, resp := range []string{"accepted", "declined"} {
		day(d)
		for _, c := range []string{"gone", "stays"} {
			r := e.choose(c, 1, "")
			if err := e.respond("a", c, r.RecommendationID, resp); err != nil {
				t.Fatal(err)
			}
		}
		e.choose("gone", 1, "") // left open
	}
	if err := e.store.EraseCustomer("gone"); err != nil {
		t.Fatal(err)
	}
	e.svc.Flush()
	check := func() {
		t.Helper()
		v, err := e.svc.Get("a")
		if err != nil {
			t.Fatal(err)
		}
		s, err := e.svc.Series("a", SeriesQuery{Bucket: "day"})
		if err != nil {
			t.Fatal(err)
		}
		got, want := sumSeries(s), v.Performance
		if len(s.Points) != 2 || got.Shown != want.Shown || got.Accepted != want.Accepted || got.Declined != want.Declined || got.Ignored != want.Ignored {
			t.Fatalf("points %+v add up to %+v; Get says %+v", s.Points, got, want)
		}
		if s.Points[0].Accepted != 2 || s.Points[1].Declined != 2 || s.Points[1].BudgetUsed != 2 || *s.BudgetLeft != 8 {
			t.Fatalf("daily points %+v, budget left %v", s.Points, *s.BudgetLeft)
		}
		// The second day's hours, midnight to now (noon): its answers in
		// the last, the first day's acceptances in every budget used.
		w, err := e.svc.Series("a", SeriesQuery{Bucket: "hour", Since: offerTestEpoch.Add(12 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		last := w.Points[len(w.Points)-1]
		if len(w.Points) != 13 || w.Points[0].BudgetUsed != 2 || last.Accepted != 0 || last.Declined != 2 || last.BudgetUsed != 2 {
			t.Fatalf("the second day's hours %+v", w.Points)
		}
	}
	check()
	e.restart()
	check()
}

// BenchmarkOfferSeries reads one offer's series from logs of 200,000
// exposures and 100,000 answers spread over 20 offers and 30 days: the
// cost of a call follows the logs' length.
func BenchmarkOfferSeries(b *testing.B) {
	e := openOfferTestEnv(b, nil)
	for i := range 20 {
		e.put(fmt.Sprint("o", i), Offer{Value: 1, Priority: 1})
	}
	set := e.svc.set.Load()
	var shown, resp [][]byte
	for i := range 200_000 {
		o := set.offers[i%20]
		le := offerLogEntry{kind: offerEntryShown, offer: o.id, inc: o.st.inc, cust: fmt.Sprint("c", i%5000), rec: fmt.Sprint("r", i),
			ts: offerTestEpoch.Unix() + int64(i)*13}
		shown = append(shown, encodeOfferLog(nil, &le))
		if i%2 == 0 {
			le.kind, le.resp, le.src, le.ts = offerEntryResponse, offerResp(1+i%3), offerByAPI, le.ts+60
			resp = append(resp, encodeOfferLog(nil, &le))
		}
	}
	for _, l := range []struct {
		kind string
		ents [][]byte
	}{{offerShownLog, shown}, {offerResponseLog, resp}} {
		for len(l.ents) > 0 {
			n := min(len(l.ents), 10_000)
			if _, err := e.store.Records().Append(l.kind, l.ents[:n]); err != nil {
				b.Fatal(err)
			}
			l.ents = l.ents[n:]
		}
	}
	e.now.Store(offerTestEpoch.Add(31 * 24 * time.Hour).Unix())
	b.ResetTimer()
	for b.Loop() {
		s, err := e.svc.Series("o3", SeriesQuery{Bucket: "hour"})
		if err != nil || len(s.Points) == 0 {
			b.Fatal(err)
		}
	}
}
