package offer

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

func TestNBORestartKeepsLearning(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	e.put("a", Offer{Value: 1, Priority: 1, Budget: 50})
	e.put("b", Offer{Value: 1, Priority: 1, MaxPerCustomer: 1})
	var open []Result
	for i := 0; i < 40; i++ {
		cust := fmt.Sprintf("c%d", i)
		res := e.choose(cust, 2, "")
		if i%10 == 9 {
			open = append(open, res)
			continue
		}
		for j, o := range res.Offers {
			resp := []string{"accepted", "declined", "ignored"}[(i+j)%3]
			if err := e.respond(o.OfferID, cust, res.RecommendationID, resp); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := e.svc.List()
	dry := func() Result {
		res, err := e.svc.Choose(context.Background(), Request{CustomerID: "c0", Limit: 2, DryRun: true,
			Params: map[string]any{"nbo_policy": "greedy"}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	beforeChoice := dry()
	e.restart()
	after := e.svc.List()
	if !reflect.DeepEqual(before, after) {
		t.Fatalf("state changed across a restart:\nbefore %+v\nafter  %+v", before, after)
	}
	afterChoice := dry()
	beforeChoice.RecommendationID, afterChoice.RecommendationID = "", ""
	if !reflect.DeepEqual(beforeChoice, afterChoice) {
		t.Fatalf("posterior changed across a restart:\n%+v\n%+v", beforeChoice, afterChoice)
	}
	if after[0].Performance.Open != 4 || after[1].Performance.Open != 4 {
		t.Fatalf("open exposures after restart: %+v", after)
	}
	// Exposures open before the restart can be answered after it, once.
	for i, res := range open {
		cust := fmt.Sprintf("c%d", 10*i+9)
		for _, o := range res.Offers {
			if err := e.respond(o.OfferID, cust, res.RecommendationID, "accepted"); err != nil {
				t.Fatalf("answer after restart: %v", err)
			}
			if err := e.respond(o.OfferID, cust, res.RecommendationID, "accepted"); !errors.Is(err, ErrNoOpenExposure) {
				t.Fatalf("second answer: %v", err)
			}
		}
	}
	// The cap of b holds across the restart.
	if got := offerIDs(e.choose("c3", 2, "")); strings.Join(got, ",") != "a" {
		t.Fatalf("c3 after restart got %v, want only a (b is capped at 1)", got)
	}
}

func TestNBOEraseCustomer(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	e.ingest(features.Event{CustomerID: "gone", ProductID: "p1", Type: "purchase"},
		features.Event{CustomerID: "stays", ProductID: "p1", Type: "purchase"})
	e.put("a", Offer{Value: 1, Priority: 1, MaxPerCustomer: 1})
	e.put("b", Offer{Value: 1, Priority: 1, MaxPerCustomer: 1})
	r1 := e.choose("gone", 1, "")
	if err := e.respond(r1.Offers[0].OfferID, "gone", r1.RecommendationID, "accepted"); err != nil {
		t.Fatal(err)
	}
	r2 := e.choose("gone", 1, "") // left open
	e.choose("stays", 2, "")
	if err := e.store.EraseCustomer("gone"); err != nil {
		t.Fatal(err)
	}
	e.svc.Flush()
	totals := func() (shown, acc, open uint64) {
		for _, v := range e.svc.List() {
			shown += v.Performance.Shown
			acc += v.Performance.Accepted
			open += v.Performance.Open
		}
		return
	}
	check := func() {
		t.Helper()
		shown, acc, open := totals()
		if shown != 4 || acc != 1 || open != 2 {
			t.Fatalf("after erasure: shown %d accepted %d open %d, want 4 1 2", shown, acc, open)
		}
		for _, kind := range []string{offerShownLog, offerResponseLog} {
			var le offerLogEntry
			err := e.store.Records().Scan(kind, 0, func(_ uint64, v []byte) error {
				if err := decodeOfferLog(v, &le); err != nil {
					return err
				}
				if le.cust == "gone" || le.rec == r1.RecommendationID || le.rec == r2.RecommendationID {
					return fmt.Errorf("%s still holds %+v", kind, le)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// The id is free again: caps start afresh for a new customer of that name.
		if got := e.choose("gone", 2, ""); len(got.Offers) != 2 {
			t.Fatalf("re-used id after erasure got %v", offerIDs(got))
		}
		if err := e.respond(r2.Offers[0].OfferID, "gone", r2.RecommendationID, "accepted"); !errors.Is(err, ErrNoOpenExposure) {
			t.Fatalf("an erased exposure was answerable: %v", err)
		}
	}
	check()
	// check's reads for the erased id showed offers without logging them:
	// a read does not bring an erased customer back (api TestReadsDoNotRecreateAnErasedCustomer).
	e.restart()
	shown, acc, open := totals()
	if shown != 4 || acc != 1 || open != 2 {
		t.Fatalf("after restart: shown %d accepted %d open %d, want 4 1 2", shown, acc, open)
	}
}

func FuzzDecodeOfferLog(f *testing.F) {
	f.Add(encodeOfferLog(nil, &offerLogEntry{kind: offerEntryShown, offer: "o", inc: "i", cust: "c", rec: "r", channel: "web", ts: 1700000000, segs: []string{"a", "b"}}))
	f.Add(encodeOfferLog(nil, &offerLogEntry{kind: offerEntryResponse, offer: "o", inc: "i", ts: -5, resp: offerIgnored, src: offerByExpiry}))
	f.Add([]byte{2, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e offerLogEntry
		if err := decodeOfferLog(b, &e); err != nil {
			return
		}
		var again offerLogEntry
		if err := decodeOfferLog(encodeOfferLog(nil, &e), &again); err != nil {
			t.Fatalf("re-encoded entry unreadable: %v", err)
		}
		if len(e.segs) == 0 {
			e.segs, again.segs = nil, nil
		}
		if !reflect.DeepEqual(e, again) {
			t.Fatalf("round trip %+v != %+v", e, again)
		}
	})
}
