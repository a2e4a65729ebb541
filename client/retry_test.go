package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/api"
	"github.com/affinity-rec/affinity/client"
)

// faultyFront stands between the client and a real server: the next
// fail[path] requests to a path get a 503 (or have their connection cut,
// with drop), the rest are passed on. It counts what reached it.
type faultyFront struct {
	mu    sync.Mutex
	fail  map[string]int
	drop  bool
	calls map[string]int
	proxy *httputil.ReverseProxy
}

func newFaultyFront(t *testing.T, backend string) (*faultyFront, string) {
	u, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	f := &faultyFront{fail: map[string]int{}, calls: map[string]int{}, proxy: httputil.NewSingleHostReverseProxy(u)}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *faultyFront) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	key := r.Method + " " + r.URL.Path
	f.calls[key]++
	failing := f.fail[key] > 0
	if failing {
		f.fail[key]--
	}
	drop := f.drop
	f.mu.Unlock()
	switch {
	case failing && drop:
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	case failing:
		w.Header().Set("Content-Type", "application/problem+json")
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`{"type":"https://affinity.dev/problems/unavailable","title":"Service Unavailable","status":503,"detail":"draining"}`))
	default:
		f.proxy.ServeHTTP(w, r)
	}
}

func (f *faultyFront) set(key string, n int, drop bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail[key], f.drop, f.calls[key] = n, drop, 0
}

func (f *faultyFront) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[key]
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	front, base := newFaultyFront(t, startServer(t, api.DefaultOptions()))
	c, err := client.New(base, client.Options{MaxAttempts: 3, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const events = "POST /v1/events"
	view := client.Event{CustomerId: "c1", ProductId: "p1", Type: "view"}
	withID := client.Event{EventId: client.Ptr("retry-1"), CustomerId: "c1", ProductId: "p1", Type: "view"}

	front.set("GET /v1/popular", 2, false)
	if _, err := c.Popular(ctx, nil); err != nil || front.count("GET /v1/popular") != 3 {
		t.Errorf("GET after two 503s: %v after %d attempts, want success after 3", err, front.count("GET /v1/popular"))
	}
	front.set("GET /v1/popular", 2, true)
	if _, err := c.Popular(ctx, nil); err != nil || front.count("GET /v1/popular") != 3 {
		t.Errorf("GET after two cut connections: %v after %d attempts", err, front.count("GET /v1/popular"))
	}
	front.set("GET /v1/popular", 5, false)
	if _, err := c.Popular(ctx, nil); !client.IsStatus(err, 503) || front.count("GET /v1/popular") != 3 {
		t.Errorf("GET failing 5 times with MaxAttempts 3: %v after %d attempts", err, front.count("GET /v1/popular"))
	}
	front.set(events, 1, false)
	if _, err := c.PostEvents(ctx, view); !client.IsStatus(err, 503) || front.count(events) != 1 {
		t.Errorf("POST without event_id: %v after %d attempts, want one attempt", err, front.count(events))
	}
	front.set(events, 1, false)
	if _, err := c.PostEvents(ctx, withID, view); !client.IsStatus(err, 503) || front.count(events) != 1 {
		t.Errorf("POST with one event lacking an event_id: %v after %d attempts, want one", err, front.count(events))
	}
	front.set(events, 2, false)
	r, err := c.PostEvents(ctx, withID)
	if err != nil || r.Accepted != 1 || front.count(events) != 3 {
		t.Errorf("POST with event_id after two 503s: %+v, %v after %d attempts", r, err, front.count(events))
	}
	const offers = "POST /v1/offers/o1/responses"
	front.set(offers, 1, false)
	if _, err := c.PostOfferResponseWithResponse(ctx, "o1", client.OfferResponseBody{CustomerId: "c1",
		Response: client.OfferResponseBodyResponseAccepted, RecommendationId: "r1"}); err != nil || front.count(offers) != 1 {
		t.Errorf("offer response (not idempotent): %v after %d attempts, want one", err, front.count(offers))
	}
	front.set("PUT /v1/segments/big", 1, false)
	put, err := c.PutSegmentWithResponse(ctx, "big", client.SegmentBody{Rule: "monetary > 1"})
	if err != nil || put.JSON200 == nil || front.count("PUT /v1/segments/big") != 2 {
		t.Errorf("PUT after a 503: %v after %d attempts", err, front.count("PUT /v1/segments/big"))
	}
}

// TestRetryStopsAtTheDeadline: a backoff longer than the caller's deadline
// is not slept; the last reply is returned.
func TestRetryStopsAtTheDeadline(t *testing.T) {
	front, base := newFaultyFront(t, startServer(t, api.DefaultOptions()))
	c, err := client.New(base, client.Options{MaxAttempts: 5, BaseDelay: time.Hour, MaxDelay: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	// Cut connections carry no Retry-After, so the backoff is the hour.
	front.set("GET /v1/popular", 10, true)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := c.Popular(ctx, nil); err == nil {
		t.Fatal("a failing call succeeded")
	}
	if n := front.count("GET /v1/popular"); n != 1 {
		t.Fatalf("%d attempts; an hour's backoff does not fit a 2 s deadline", n)
	}
}
