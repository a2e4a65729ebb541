package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCustomerCountsAreLive serves real connections: the customer count of
// /readyz, of the metric affinity_store_customers and of the stats
// history's sample agree with /v1/insights/value's, the live customers: an
// erasure takes one off, a merge takes the visitor off (and one merge that
// creates its customer leaves the count as it was).
func TestCustomerCountsAreLive(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	base := listen(t, ts.srv)
	do := func(method, path, body string, status int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != status {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, status)
		}
		return b
	}
	decode := func(b []byte, v any) {
		t.Helper()
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
	}
	sample := time.Now()
	counts := func() string {
		t.Helper()
		var ready, value struct{ Customers int }
		decode(do("GET", "/readyz", "", 200), &ready)
		decode(do("GET", "/v1/insights/value", "", 200), &value)
		metric := -1
		for _, line := range strings.Split(string(do("GET", "/metrics", "", 200)), "\n") {
			if v, ok := strings.CutPrefix(line, "affinity_store_customers "); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("metric line %q", line)
				}
				metric = int(f)
			}
		}
		// A sample taken now rather than waited for (TestStatsHistory).
		hist := ts.srv.history
		hist.mu.Lock()
		sample = sample.Add(time.Minute)
		hist.sampleLocked(sample)
		hist.mu.Unlock()
		var h statsHistoryReply
		decode(do("GET", "/v1/stats/history", "", 200), &h)
		last := h.Samples[len(h.Samples)-1].Customers
		return fmt.Sprintf("readyz %d, metric %d, stats history %d, value insights %d", ready.Customers, metric, last, value.Customers)
	}
	want := func(n int, what string) {
		t.Helper()
		w := fmt.Sprintf("readyz %d, metric %d, stats history %d, value insights %d", n, n, n, n)
		if got := counts(); got != w {
			t.Fatalf("%s: %s; want %d everywhere", what, got, n)
		}
	}
	for _, c := range []string{"a", "b", "anon-1", "anon-2"} {
		do("POST", "/v1/events", `{"customer_id":"`+c+`","product_id":"p1","type":"purchase","value":3}`, 200)
	}
	want(4, "ingested")
	do("DELETE", "/v1/customers/a", "", 204)
	want(3, "a erased")
	do("POST", "/v1/customers/b/merge", `{"from":"anon-1"}`, 200)
	want(2, "anon-1 merged into b")
	do("POST", "/v1/customers/c/merge", `{"from":"anon-2"}`, 200)
	want(2, "anon-2 merged into c, which it created")
}
