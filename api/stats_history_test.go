package api

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStatsHistory serves real connections: the history holds a sample as
// soon as the server listens, later samples turn the counters into rates
// (events ingested per minute, requests per second, p99 latency), the ring
// keeps the last hour oldest first, and Shutdown stops the sampling
// goroutine (waited for, not timed).
func TestStatsHistory(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.App().Listener(ln)
	shut := false
	t.Cleanup(func() {
		if !shut {
			_ = ts.srv.App().Shutdown()
		}
	})
	base := "http://" + ln.Addr().String()
	do := func(method, path, body string) []byte { return statsHTTPDo(t, base, method, path, body) }
	var h statsHistoryReply
	if err := json.Unmarshal(do("GET", "/v1/stats/history", ""), &h); err != nil {
		t.Fatal(err)
	}
	if h.IntervalSeconds != 10 || len(h.Samples) != 1 || h.Samples[0].EventsPerMinute != nil || h.Samples[0].RequestsPerSecond != nil {
		t.Fatalf("first history %+v", h)
	}
	for range 30 {
		do("POST", "/v1/events", `{"customer_id":"c1","product_id":"p1","type":"view"}`)
	}
	// The next tick, taken here rather than waited for, a minute on.
	hist := ts.srv.history
	hist.mu.Lock()
	hist.sampleLocked(hist.prev.at.Add(time.Minute))
	hist.mu.Unlock()
	if err := json.Unmarshal(do("GET", "/v1/stats/history", ""), &h); err != nil {
		t.Fatal(err)
	}
	st := ts.store.Stats()
	s := h.Samples[len(h.Samples)-1]
	if len(h.Samples) != 2 || s.EventsPerMinute == nil || *s.EventsPerMinute != 30 || s.RequestsPerSecond == nil || *s.RequestsPerSecond < 31.0/60 ||
		s.P99Seconds == nil || *s.P99Seconds <= 0 || s.Events != st.Events || s.Customers != st.Customers || s.Products != st.Products {
		t.Fatalf("second sample %+v (store %+v)", s, st)
	}

	// The ring keeps the last historySamples, oldest first.
	checkStatsHistoryRing(t, hist)

	if err := ts.srv.App().Shutdown(); err != nil {
		t.Fatal(err)
	}
	shut = true
	select {
	case <-hist.done:
	case <-time.After(60 * time.Second):
		t.Fatal("the sampling goroutine still runs after Shutdown")
	}
	hist.start() // a late OnListen must not start it again
	if hist.stop != nil {
		t.Fatal("sampling restarted after Shutdown")
	}
}

// statsHTTPDo sends one request to the listening server at base and
// fails the test unless it answers 200; it returns the body.
func statsHTTPDo(t *testing.T, base, method, path, body string) []byte {
	t.Helper()
	req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

// checkStatsHistoryRing samples past the ring's size and checks it keeps
// historySamples, oldest first.
func checkStatsHistoryRing(t *testing.T, hist *statsHistory) {
	t.Helper()
	hist.mu.Lock()
	for i := range historySamples + 5 {
		hist.sampleLocked(hist.prev.at.Add(time.Duration(i+1) * time.Second))
	}
	hist.mu.Unlock()
	all := hist.samples()
	if len(all) != historySamples {
		t.Fatalf("%d samples kept", len(all))
	}
	for i := 1; i < len(all); i++ {
		if !all[i].Time.After(all[i-1].Time) {
			t.Fatalf("samples out of order at %d: %v then %v", i, all[i-1].Time, all[i].Time)
		}
	}
}

// BenchmarkStatsSample is one tick of the history's goroutine over
// request series of 40 routes x 3 statuses (what a busy server keeps):
// the whole cost sampling adds, once every 10 s, outside any request.
func BenchmarkStatsSample(b *testing.B) {
	st, srv := openServer(b, b.TempDir(), Options{})
	_ = st
	for r := range 40 {
		for _, status := range []int{200, 400, 404} {
			srv.metrics.count(routeKey{route: fmt.Sprint("/r", r), method: "GET", status: status}, 0.001*float64(r))
		}
	}
	h := srv.history
	at := time.Now()
	b.ResetTimer()
	for b.Loop() {
		at = at.Add(historyInterval)
		h.mu.Lock()
		h.sampleLocked(at)
		h.mu.Unlock()
	}
}

// TestHistQuantile interpolates within the bucket holding the rank, as
// Prometheus' histogram_quantile does.
func TestHistQuantile(t *testing.T) {
	bounds := []float64{1, 2, 4}
	for _, c := range []struct {
		cum  []float64
		want float64 // -1: nil
	}{
		{[]float64{0, 50, 100, 100}, 2 + 2*49.0/50},
		{[]float64{100, 100, 100, 100}, 0.99},
		{[]float64{0, 0, 0, 10}, 4}, // beyond the last bound: its value
		{[]float64{0, 0, 0, 0}, -1},
	} {
		got := histQuantile(bounds, c.cum, 0.99)
		if c.want < 0 {
			if got != nil {
				t.Fatalf("%v: %v, want nil", c.cum, *got)
			}
			continue
		}
		if got == nil || math.Abs(*got-c.want) > 1e-9 {
			t.Fatalf("%v: %v, want %v", c.cum, got, c.want)
		}
	}
}
