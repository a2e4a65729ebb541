package eventio

import (
	"path/filepath"
	"testing"
)

// TestOnlineRetailCounts checks the reader against the counts the data
// README gives for the full file.
func TestOnlineRetailCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the full data set")
	}
	path := sharedData(t, "uci-online-retail/online_retail.csv.gz")
	r, err := Open(path, FormatOnlineRetail)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res := readAll(t, r, 1<<20)
	if res.fatal != nil {
		t.Fatal(res.fatal)
	}
	customers := map[string]bool{}
	products := map[string]bool{}
	orders := map[string]bool{}
	pairs := map[[2]string]bool{}
	ids := map[string]bool{}
	for _, ev := range res.events {
		customers[ev.CustomerID] = true
		products[ev.ProductID] = true
		orders[ev.OrderID] = true
		pairs[[2]string{ev.CustomerID, ev.ProductID}] = true
		ids[ev.EventID] = true
	}
	for _, le := range res.errs {
		if !le.Skipped {
			t.Errorf("rejected line: %v", le)
		}
	}
	t.Logf("skipped by reason: %v", res.reasons)
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"lines", len(res.events) + len(res.errs), 541909},
		{"purchase lines", len(res.events), 397924},
		{"distinct event ids", len(ids), 397924},
		{"customers", len(customers), 4339},
		{"products", len(products), 3665},
		{"baskets", len(orders), 18536},
		{"customer-product pairs", len(pairs), 266802},
		{"catalogue", len(r.Products()), 3665},
		{"customer attributes", len(r.CustomerAttributes()), 4339},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %d, want %d", c.name, c.got, c.want)
		}
	}
}

func TestMovieLensCounts(t *testing.T) {
	path := sharedData(t, "movielens-100k/u.data")
	r, err := Open(path, FormatMovieLens)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res := readAll(t, r, 1<<20)
	if res.fatal != nil || len(res.errs) > 0 {
		t.Fatalf("fatal %v, line errors %v", res.fatal, res.reasons)
	}
	users, items := map[string]bool{}, map[string]bool{}
	for _, ev := range res.events {
		users[ev.CustomerID] = true
		items[ev.ProductID] = true
	}
	if len(res.events) != 100000 || len(users) != 943 || len(items) != 1682 {
		t.Errorf("got %d ratings, %d users, %d items; want 100000, 943, 1682", len(res.events), len(users), len(items))
	}
}

// TestDemoSample checks the counts testdata/demo/README.md gives for the
// demo data set shipped with the project.
func TestDemoSample(t *testing.T) {
	r, err := Open(filepath.Join(repoRoot(t), "testdata", "demo", "online_retail_sample.csv.gz"), FormatOnlineRetail)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res := readAll(t, r, 1<<20)
	if res.fatal != nil {
		t.Fatal(res.fatal)
	}
	customers, products, orders := map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, ev := range res.events {
		customers[ev.CustomerID] = true
		products[ev.ProductID] = true
		orders[ev.OrderID] = true
	}
	got := map[string]int{
		"rows":                    len(res.events) + len(res.errs),
		"purchase lines":          len(res.events),
		"customers":               len(customers),
		"products":                len(products),
		"baskets":                 len(orders),
		ReasonCancelled:           res.reasons[ReasonCancelled],
		ReasonNoCustomer:          res.reasons[ReasonNoCustomer],
		"rejected":                len(res.errs) - res.reasons[ReasonCancelled] - res.reasons[ReasonNoCustomer] - res.reasons[ReasonNonPositiveQuantity],
		ReasonNonPositiveQuantity: res.reasons[ReasonNonPositiveQuantity],
	}
	want := map[string]int{
		"rows": 30223, "purchase lines": 28810, "customers": 355, "products": 2857, "baskets": 1297,
		ReasonCancelled: 560, ReasonNoCustomer: 853, ReasonNonPositiveQuantity: 0, "rejected": 0,
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %d, want %d (update testdata/demo/README.md too)", k, got[k], w)
		}
	}
}
