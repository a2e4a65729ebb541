package api

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestMetricsAfterManyRequests serves real connections (fasthttp reuses
// request buffers across them) with several methods and routes, then reads
// /metrics: label values taken from the request buffer used to change under
// Prometheus and make /metrics fail.
func TestMetricsAfterManyRequests(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	base := listen(t, ts.srv)
	client := &http.Client{}
	send := func(method, path, body string) int {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	for i := range 50 {
		send("POST", "/v1/events", `{"customer_id":"c1","product_id":"p1","type":"view"}`)
		send("GET", "/v1/popular?limit=3", "")
		send("PUT", "/v1/products/p1", `{"category":"x"}`)
		send("DELETE", "/v1/products/nope", "")
		send("GET", "/no/such/path"+strings.Repeat("x", i), "")
	}
	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d\n%.2000s", resp.StatusCode, b)
	}
	for _, want := range []string{
		`affinity_http_requests_total{method="POST",route="/v1/events",status="200"} 50`,
		`affinity_http_requests_total{method="GET",route="/v1/popular",status="200"} 50`,
		`affinity_http_requests_total{method="PUT",route="/v1/products/:id",status="200"} 50`,
		`affinity_http_requests_total{method="DELETE",route="/v1/products/:id",status="404"} 50`,
		`affinity_http_requests_total{method="GET",route="unmatched",status="404"} 50`,
		`affinity_http_request_duration_seconds_count{method="POST",route="/v1/events"} 50`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
