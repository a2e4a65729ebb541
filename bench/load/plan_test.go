package load

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func TestPickerRequests(t *testing.T) {
	products := []string{"hot", "p 2", "p/3", "p4"}
	ids := IDs{Products: products, Customers: []string{`c"1`, "c2"}}
	plan, err := newPlan(ScenarioMixed, "http://h/base", "experiment=e1&variant=b", ids, 1)
	if err != nil {
		t.Fatal(err)
	}
	pk := plan.newPicker(3)
	productHits := map[string]int{}
	for range 5000 {
		k, uri, body := pk.next()
		switch k {
		case kindEvents:
			if uri != "http://h/base/v1/events" {
				t.Fatalf("events URI %q", uri)
			}
			var evs []map[string]string
			if err := json.Unmarshal(body, &evs); err != nil {
				t.Fatalf("events body %s: %v", body, err)
			}
			if len(evs) < 1 || len(evs) > 5 {
				t.Fatalf("%d events in one body", len(evs))
			}
			for _, e := range evs {
				productHits[e["product_id"]]++
				if e["customer_id"] != `c"1` && e["customer_id"] != "c2" {
					t.Fatalf("unknown customer in %s", body)
				}
			}
		case kindPopular:
			if uri != "http://h/base/v1/popular?limit=10&experiment=e1&variant=b" {
				t.Fatalf("popular URI %q", uri)
			}
		case kindRelated:
			if !strings.HasPrefix(uri, "http://h/base/v1/products/") || !strings.HasSuffix(uri, "/related?limit=10&experiment=e1&variant=b") {
				t.Fatalf("related URI %q", uri)
			}
			if strings.Contains(uri, "p/3/") || strings.Contains(uri, "p 2") {
				t.Fatalf("id not escaped in %q", uri)
			}
		}
	}
	// Zipf: the first (most popular) product is the most requested.
	for _, p := range products[1:] {
		if productHits[p] >= productHits["hot"] {
			t.Errorf("product %q drawn %d times, hot one %d: want a skew to the first", p, productHits[p], productHits["hot"])
		}
	}
	if _, err := newPlan(ScenarioRelated, "http://h", "", IDs{}, 1); err == nil {
		t.Error("related with no products should fail")
	}
	if _, err := newPlan("bogus", "http://h", "", ids, 1); err == nil {
		t.Error("an unknown scenario should fail")
	}
}

func TestParseIDs(t *testing.T) {
	for _, c := range []struct {
		name, in           string
		products, customer []string
		wantErr            string
	}{
		{name: "both", in: "product:p1\ncustomer:c1\nproduct:p2\n", products: []string{"p1", "p2"}, customer: []string{"c1"}},
		{name: "comments, blanks, spaces, CRLF, dups", in: "# ids\r\n\r\n product: p 1 \r\nproduct:p 1\ncustomer:a:b\n", products: []string{"p 1"}, customer: []string{"a:b"}},
		{name: "empty", in: ""},
		{name: "no colon", in: "product:p1\np2\n", wantErr: "line 2"},
		{name: "unknown kind", in: "item:p1\n", wantErr: "unknown kind"},
		{name: "empty id", in: "customer:\n", wantErr: "line 1"},
		{name: "long id", in: "product:" + strings.Repeat("x", 257) + "\n", wantErr: "1 to 256"},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseIDs(strings.NewReader(c.in))
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("err %v, want one mentioning %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(got.Products) != fmt.Sprint(c.products) || fmt.Sprint(got.Customers) != fmt.Sprint(c.customer) {
				t.Errorf("got %q / %q, want %q / %q", got.Products, got.Customers, c.products, c.customer)
			}
		})
	}
}

func BenchmarkPickerNext(b *testing.B) {
	ids := IDs{}
	for i := range 1000 {
		ids.Products = append(ids.Products, fmt.Sprint("p", i))
		ids.Customers = append(ids.Customers, fmt.Sprint("c", i))
	}
	plan, err := newPlan(ScenarioMixed, "http://h", "", ids, 1)
	if err != nil {
		b.Fatal(err)
	}
	pk := plan.newPicker(0)
	b.ReportAllocs()
	for b.Loop() {
		pk.next()
	}
}
