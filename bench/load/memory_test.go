package load

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func TestParseRSSMetric(t *testing.T) {
	for _, c := range []struct {
		body string
		want int64
		ok   bool
	}{
		{"# HELP process_resident_memory_bytes x\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes 7.002112e+07\n", 70021120, true},
		{"go_goroutines 12\nprocess_resident_memory_bytes 1234\nprocess_virtual_memory_bytes 99\n", 1234, true},
		{"process_resident_memory_bytes_total 5\n", 0, false},
		{"process_resident_memory_bytes NaNx\n", 0, false},
		{`{"items":[]}`, 0, false},
	} {
		got, ok := parseRSSMetric([]byte(c.body))
		if got != c.want || ok != c.ok {
			t.Errorf("parseRSSMetric(%q) = %d, %v; want %d, %v", c.body, got, ok, c.want, c.ok)
		}
	}
}

// TestReportsServerMemory runs a load against a server whose /metrics
// reports a growing resident set: the result has its first, highest and
// last figures.
func TestReportsServerMemory(t *testing.T) {
	var rss atomic.Int64
	rss.Store(100 << 20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/metrics":
			v := rss.Add(10 << 20)
			fmt.Fprintf(w, "process_resident_memory_bytes %d\n", v)
		case "/v1/popular":
			fmt.Fprint(w, `{"items":[{"product_id":"p1","score":1}]}`)
		default:
			fmt.Fprint(w, `{"items":[]}`)
		}
	}))
	defer srv.Close()
	o := testOptions(srv.URL)
	o.Scenario = "popular"
	o.Duration = 1500 * time.Millisecond
	res, err := Run(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := res.ServerMemory
	if m == nil || m.Samples < 2 {
		t.Fatalf("server memory: %+v", m)
	}
	if m.StartBytes < 110<<20 || m.PeakBytes != m.EndBytes || m.EndBytes <= m.StartBytes {
		t.Fatalf("server memory: %+v", m)
	}

	// A target without the series reports nothing rather than zeros.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"items":[{"product_id":"p1","score":1}]}`)
	}))
	defer plain.Close()
	o = testOptions(plain.URL)
	o.Scenario = "popular"
	res, err = Run(context.Background(), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.ServerMemory != nil {
		t.Fatalf("server memory from a target without /metrics: %+v", res.ServerMemory)
	}
}
