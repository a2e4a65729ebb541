package api

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"
)

// clientFrom is an HTTP client whose connections come from the local
// address ip (any of 127.0.0.0/8 reaches a loopback listener on Linux).
func clientFrom(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

func getWithKey(t *testing.T, cl *http.Client, url, key string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-API-Key", key)
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestKeyGuessingIsThrottledPerAddress guesses keys over real HTTP: after
// the allowed failures every request from that address gets a 429
// problem+json with Retry-After, the right key included, while another
// address is not affected. 2,000 wrong keys used to take 0.3 s.
func TestKeyGuessingIsThrottledPerAddress(t *testing.T) {
	keys, _ := ParseKeys("read:readkey1")
	o := DefaultOptions()
	o.Keys = keys
	ts := newTestServer(t, "", o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.App().Listener(ln)
	defer ts.srv.App().Shutdown()
	url := "http://" + ln.Addr().String() + "/v1/popular"
	guesser := clientFrom("127.0.0.1")
	start := time.Now()
	counts := map[int]int{}
	for i := range 300 {
		resp := getWithKey(t, guesser, url, fmt.Sprintf("guess%06d", i))
		counts[resp.StatusCode]++
		if resp.StatusCode == 429 {
			if resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("429 as %q", resp.Header.Get("Content-Type"))
			}
			if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err != nil || s < 1 {
				t.Fatalf("Retry-After %q", resp.Header.Get("Retry-After"))
			}
		}
	}
	// The bucket refills at AuthFailureRate while the guesses run.
	allowed := o.AuthFailures + int(time.Since(start).Seconds()*o.AuthFailureRate) + 1
	if counts[401] < o.AuthFailures || counts[401] > allowed || counts[429] != 300-counts[401] {
		t.Fatalf("300 wrong keys: %v, want at most %d 401 and the rest 429", counts, allowed)
	}
	if resp := getWithKey(t, guesser, url, "readkey1"); resp.StatusCode != 429 {
		t.Fatalf("the right key from a throttled address: %d, want 429 (else it tells the guesser)", resp.StatusCode)
	}
	other := clientFrom("127.0.0.2")
	if resp := getWithKey(t, other, url, "readkey1"); resp.StatusCode != 200 {
		t.Fatalf("the right key from another address: %d", resp.StatusCode)
	}
	if resp := getWithKey(t, other, url, "wrongkey"); resp.StatusCode != 401 {
		t.Fatalf("a wrong key from another address: %d, want 401", resp.StatusCode)
	}
}

func TestAuthThrottleRefillsAndStaysBounded(t *testing.T) {
	a := newAuthThrottle(3, 2, 100)
	t0 := time.Unix(1_000_000, 0)
	for range 3 {
		if _, b := a.blocked("1.2.3.4", t0); b {
			t.Fatal("blocked before its failures are used up")
		}
		a.failed("1.2.3.4", t0)
	}
	wait, b := a.blocked("1.2.3.4", t0)
	if !b || wait != 500*time.Millisecond {
		t.Fatalf("after 3 failures: blocked %v, wait %v (want 0.5 s at 2/s)", b, wait)
	}
	if _, b := a.blocked("1.2.3.4", t0.Add(500*time.Millisecond)); b {
		t.Fatal("still blocked once a failure is forgiven")
	}
	for i := range 10_000 {
		a.failed(fmt.Sprint("10.0.", i/256, ".", i%256), t0)
		if len(a.byAddr) > 100 {
			t.Fatalf("%d addresses tracked, max 100", len(a.byAddr))
		}
	}
}
