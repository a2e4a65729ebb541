package offer

import (
	"bytes"
	"testing"

	"github.com/affinity-rec/affinity/features"
)

// The same for offers: erased while the service was down, finished on its
// next start.
func TestOfferErasureFinishesAfterACrash(t *testing.T) {
	e := openOfferTestEnv(t, nil)
	e.ingest(features.Event{CustomerID: "gone", ProductID: "p1", Type: "purchase"},
		features.Event{CustomerID: "stays", ProductID: "p1", Type: "purchase"})
	e.put("a", Offer{Value: 1, Priority: 1})
	e.choose("gone", 1, "")
	e.choose("stays", 1, "")
	e.svc.Flush()
	if err := e.svc.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.store.EraseCustomer("gone"); err != nil {
		t.Fatal(err)
	}
	if n := countMatches(t, e.store.Records(), offerShownLog, "gone"); n == 0 {
		t.Fatal("test setup: the shown log should still name the customer while the service is down")
	}
	oo := DefaultOptions()
	oo.Logger = e.svc.log
	svc, err := New(e.store.Records(), e.store, e.crm, e.eng, oo)
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	svc.Flush()
	if n := countMatches(t, e.store.Records(), offerShownLog, "gone"); n != 0 {
		t.Fatalf("%d shown entries still name the erased customer", n)
	}
	if n := countMatches(t, e.store.Records(), offerShownLog, "stays"); n != 1 {
		t.Fatalf("the other customer's entries: %d, want 1", n)
	}
	if p, _ := e.store.Records().Pending(offerJournal); len(p) != 0 {
		t.Fatalf("journal not emptied: %v", p)
	}
}

func countMatches(t *testing.T, st interface {
	Scan(string, uint64, func(uint64, []byte) error) error
}, kind, s string) int {
	t.Helper()
	n := 0
	if err := st.Scan(kind, 0, func(_ uint64, v []byte) error {
		if bytes.Contains(v, []byte(s)) {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
