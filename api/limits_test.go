package api

import (
	"fmt"
	"io"
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
	// The server answers before reading the body and closes: a client still
	// writing may see the reset instead of the 413 (no lingering close).
	resp, err := http.Post("http://"+ln.Addr().String()+"/v1/events", "application/json", strings.NewReader(big))
	if err != nil {
		if !strings.Contains(err.Error(), "reset") && !strings.Contains(err.Error(), "broken pipe") {
			t.Fatal(err)
		}
	} else {
		resp.Body.Close()
		if resp.StatusCode != 413 || resp.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("oversized body: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
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

// streamServer serves ts over a real loopback listener (streamed bodies
// behave differently from app.Test's in-memory ones).
func streamServer(t *testing.T, ts *testServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.App().Listener(ln)
	t.Cleanup(func() { ts.srv.App().Shutdown() })
	return "http://" + ln.Addr().String()
}

func ndjsonLines(n int, prefix string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, `{"event_id":"%s-%d","customer_id":"c%d","product_id":"p%d","type":"view"}`+"\n", prefix, i, i%50, i%70)
	}
	return b.String()
}

// onlyReader hides a body's length, so the client sends it chunked.
type onlyReader struct{ io.Reader }

func TestNDJSONStreamsPastTheBodyLimit(t *testing.T) {
	o := DefaultOptions()
	o.BodyLimit = 64 << 10
	o.StreamLimit = 2 << 20
	ts := newTestServer(t, "", o)
	url := streamServer(t, ts)
	post := func(ctype string, body io.Reader) (int, string) {
		t.Helper()
		resp, err := http.Post(url+"/v1/events", ctype, body)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	// 12,000 lines (about 1 MiB): over the JSON limit, within the stream's,
	// in more than one chunk; once with a length, once chunked.
	big := ndjsonLines(12000, "a")
	if code, body := post("application/x-ndjson", strings.NewReader(big)); code != 200 || !strings.Contains(body, `"accepted":12000`) {
		t.Fatalf("large NDJSON: %d %s", code, body)
	}
	if code, body := post("application/x-ndjson", onlyReader{strings.NewReader(ndjsonLines(12000, "b"))}); code != 200 || !strings.Contains(body, `"accepted":12000`) {
		t.Fatalf("chunked NDJSON: %d %s", code, body)
	}
	if n := ts.store.Stats().Events; n != 24000 {
		t.Fatalf("%d events stored, want 24000", n)
	}
	// Over the stream limit with a declared length: refused before the body
	// is read, so the client may see the 413 or, still writing, the reset
	// connection that follows it; either way nothing is stored.
	huge := ndjsonLines(30000, "c")
	if resp, err := http.Post(url+"/v1/events", "application/x-ndjson", strings.NewReader(huge)); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("NDJSON over the stream limit: %d", resp.StatusCode)
		}
	}
	if n := ts.store.Stats().Events; n != 24000 {
		t.Fatalf("a refused stream stored events: %d", n)
	}
	// A chunked JSON body over the JSON limit, and a small one.
	arr := "[" + strings.Repeat(`{"customer_id":"c","product_id":"p","type":"view"},`, 2000) + `{"customer_id":"c","product_id":"p","type":"view"}]`
	// Refused part-way, so again the 413 or the reset that follows it.
	if resp, err := http.Post(url+"/v1/events", "application/json", onlyReader{strings.NewReader(arr)}); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Fatalf("chunked JSON over the limit: %d", resp.StatusCode)
		}
	}
	if code, body := post("application/json", onlyReader{strings.NewReader(`{"customer_id":"c","product_id":"p","type":"view"}`)}); code != 200 {
		t.Fatalf("small chunked JSON: %d %s", code, body)
	}
}
