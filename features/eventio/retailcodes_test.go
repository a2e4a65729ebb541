package eventio

import (
	"errors"
	"io"
	"path/filepath"
	"testing"
)

// The importer marks the demo sample's non-merchandise stock codes not
// recommendable, keeps their events, and leaves articles alone.
func TestRetailNonMerchandiseNotRecommendable(t *testing.T) {
	r, err := Open(filepath.Join(repoRoot(t), "testdata", "demo", "online_retail_sample.csv.gz"), FormatOnlineRetail)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	events := map[string]int{}
	for {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil {
			events[e.ProductID]++
		}
	}
	prods := r.Products()
	hidden := 0
	for id, p := range prods {
		if p.IsRecommendable() == RetailNonMerchandise(id) {
			t.Errorf("%s (%v): recommendable %v", id, p.Attributes["description"], p.IsRecommendable())
		}
		if !p.IsRecommendable() {
			hidden++
		}
	}
	for _, id := range []string{"POST", "M"} {
		if prods[id].IsRecommendable() || events[id] == 0 {
			t.Errorf("%s: recommendable %v, %d events (want false, its events kept)", id, prods[id].IsRecommendable(), events[id])
		}
	}
	if hidden == 0 || hidden > 20 {
		t.Errorf("%d products marked not recommendable", hidden)
	}
	for _, code := range []string{"gift_0001_20", "BANK CHARGES", "AMAZONFEE", "DOT"} {
		if !RetailNonMerchandise(code) {
			t.Errorf("%s is merchandise", code)
		}
	}
	for _, code := range []string{"85123A", "DCGSSGIRL", "22423"} {
		if RetailNonMerchandise(code) {
			t.Errorf("%s is not merchandise", code)
		}
	}
}
