package api

import (
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestBodyLimitIs413(t *testing.T) {
	o := DefaultOptions()
	o.BodyLimit = 64 << 10
	ts := newTestServer(t, "", o)
	big := `[` + strings.Repeat(`{"customer_id":"c","product_id":"p","type":"view"},`, 2000) + `{"customer_id":"c","product_id":"p","type":"view"}]`
	// Over a real loopback connection: the limit is enforced while reading.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.App().Listener(ln)
	defer ts.srv.App().Shutdown()
	resp, err := http.Post("http://"+ln.Addr().String()+"/v1/events", "application/json", strings.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("oversized body: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	if n := ts.store.Stats().Events; n != 0 {
		t.Fatalf("%d events stored from a refused body", n)
	}
}

func TestRateLimitIs429WithRetryAfter(t *testing.T) {
	keys, _ := ParseKeys("read:readkey1")
	o := DefaultOptions()
	o.Keys = keys
	o.RateLimit = 2
	ts := newTestServer(t, "", o)
	var last int
	var retry string
	for i := 0; i < 10; i++ {
		req := httptest.NewRequest("GET", "/v1/popular", nil)
		req.Header.Set("X-API-Key", "readkey1")
		resp, err := ts.srv.App().Test(req)
		if err != nil {
			t.Fatal(err)
		}
		last, retry = resp.StatusCode, resp.Header.Get("Retry-After")
		if last == 429 {
			break
		}
	}
	if last != 429 || retry == "" {
		t.Fatalf("10 requests at 2/s with burst 2: last status %d, Retry-After %q", last, retry)
	}
}

func TestParseKeys(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		fail bool
	}{
		{"read:abcdefgh,write:ijklmnop", 2, false},
		{"read:abcdefgh\nadmin:qrstuvwx\n# comment\n", 2, false},
		{"reader:abcdefgh", 0, true},
		{"read:short", 0, true},
		{"nocolon", 0, true},
	} {
		keys, err := ParseKeys(tc.in)
		if (err != nil) != tc.fail || len(keys) != tc.n {
			t.Errorf("ParseKeys(%q) = %d keys, %v", tc.in, len(keys), err)
		}
		if err != nil && strings.Contains(err.Error(), "abcdefgh") {
			t.Errorf("error leaks a key: %v", err)
		}
	}
}
