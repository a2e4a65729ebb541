package api

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// request sends body with the given header pairs through app.Test.
func request(t *testing.T, srv *Server, method, path string, body []byte, hdr ...string) httpReply {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := srv.App().Test(req, 30_000)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return httpReply{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type"), body: b, hdr: resp.Header}
}

func gz(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zl(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// zeroBombs are gzip and zlib bodies of 128 MiB of zeros (about 160 KB
// each: under the 256 KiB body limit of the tests until inflated), built
// once for the tests that send them, at the fastest level: compressing
// them at the best took 20 s apiece under the race detector.
var zeroBombs = sync.OnceValues(func() (gzipped, zlibbed []byte) {
	zeros := make([]byte, 128<<20)
	var g, z bytes.Buffer
	gw, _ := gzip.NewWriterLevel(&g, gzip.BestSpeed)
	gw.Write(zeros)
	gw.Close()
	zw, _ := zlib.NewWriterLevel(&z, zlib.BestSpeed)
	zw.Write(zeros)
	zw.Close()
	return g.Bytes(), z.Bytes()
})

func rawDeflate(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func problemField(t *testing.T, r httpReply) Problem {
	t.Helper()
	if r.ctype != "application/problem+json" {
		t.Fatalf("status %d, content type %q: %s", r.status, r.ctype, r.body)
	}
	var p Problem
	r.decode(t, &p)
	return p
}

const oneEvent = `{"customer_id":"c","product_id":"p","type":"view"}`

// TestCompressedBodiesAreDecoded: a single gzip or deflate encoding is
// undone, for JSON bodies, NDJSON streams and definition bodies alike.
func TestCompressedBodiesAreDecoded(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	ndjson := []byte(oneEvent + "\n" + oneEvent + "\n")
	for _, c := range []struct {
		name, coding, ctype string
		body                []byte
		accepted            float64
	}{
		{"gzip JSON", "gzip", "application/json", gz(t, []byte(oneEvent)), 1},
		{"x-gzip JSON", "x-gzip", "application/json", gz(t, []byte(oneEvent)), 1},
		{"zlib deflate", "deflate", "application/json", zl(t, []byte(oneEvent)), 1},
		{"raw deflate", "Deflate", "application/json", rawDeflate(t, []byte(oneEvent)), 1},
		{"gzip NDJSON", "gzip", "application/x-ndjson", gz(t, ndjson), 2},
		{"identity", "identity", "application/json", []byte(oneEvent), 1},
	} {
		r := request(t, ts.srv, "POST", "/v1/events", c.body, "Content-Type", c.ctype, "Content-Encoding", c.coding).want(t, 200)
		var got map[string]any
		r.decode(t, &got)
		if got["accepted"] != c.accepted {
			t.Errorf("%s: %s", c.name, r.body)
		}
	}
	request(t, ts.srv, "PUT", "/v1/products/p9", gz(t, []byte(`{"category":"cups"}`)),
		"Content-Type", "application/json", "Content-Encoding", "gzip").want(t, 200)
	// A request without a body is not refused for its header.
	request(t, ts.srv, "GET", "/v1/products/p9", nil, "Content-Encoding", "gzip, br").want(t, 200)
}

// TestCompressionBombsAreRefused: the decompressed size counts against the
// body limits, and a chain of encodings is refused before anything is
// inflated. Before the fix fiber's c.Body() inflated each whole.
func TestCompressionBombsAreRefused(t *testing.T) {
	o := DefaultOptions()
	o.BodyLimit = 256 << 10
	o.StreamLimit = 1 << 20
	ts := newTestServer(t, "", o)
	bomb, zbomb := zeroBombs()
	if len(bomb) > o.BodyLimit || len(zbomb) > o.BodyLimit {
		t.Fatalf("bombs of %d and %d bytes are over the limit already", len(bomb), len(zbomb))
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for _, c := range []struct {
		name, ctype string
		body        []byte
		coding      []string
		status      int
	}{
		{"gzip bomb", "application/json", bomb, []string{"gzip"}, 413},
		{"deflate bomb", "application/json", zbomb, []string{"deflate"}, 413},
		{"gzip bomb as NDJSON", "application/x-ndjson", bomb, []string{"gzip"}, 413},
		{"gzip bomb into a product", "application/json", bomb, []string{"gzip"}, 413},
		{"double gzip", "application/json", gz(t, bomb), []string{"gzip, gzip"}, 415},
		{"two headers", "application/json", gz(t, bomb), []string{"gzip", "gzip"}, 415},
		{"brotli", "application/json", []byte{0x0b, 0x02, 0x80}, []string{"br"}, 415},
		{"unknown coding", "application/json", []byte(oneEvent), []string{"compress"}, 415},
		{"not gzip", "application/json", []byte(oneEvent), []string{"gzip"}, 400},
		{"truncated gzip", "application/json", gz(t, []byte(oneEvent))[:20], []string{"gzip"}, 400},
	} {
		hdr := []string{"Content-Type", c.ctype}
		for _, v := range c.coding {
			hdr = append(hdr, "Content-Encoding", v)
		}
		method, path := "POST", "/v1/events"
		if strings.Contains(c.name, "product") {
			method, path = "PUT", "/v1/products/p1"
		}
		r := request(t, ts.srv, method, path, c.body, hdr...)
		if r.status != c.status {
			t.Errorf("%s: status %d, want %d: %.200s", c.name, r.status, c.status, r.body)
			continue
		}
		p := problemField(t, r)
		if c.status != 413 && (p.Field != "Content-Encoding" || !strings.Contains(p.Detail, "Content-Encoding")) {
			t.Errorf("%s: %+v does not name Content-Encoding", c.name, p)
		}
		if c.status == 415 && r.hdr.Get("Accept-Encoding") != acceptedEncodings {
			t.Errorf("%s: Accept-Encoding %q", c.name, r.hdr.Get("Accept-Encoding"))
		}
	}
	runtime.ReadMemStats(&after)
	// Loose: inflating one bomb alone allocates 128 MiB.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 96<<20 {
		t.Errorf("the requests allocated %d MiB", grew>>20)
	}
	if n := ts.store.Stats().Events; n != 0 {
		t.Fatalf("%d events stored from refused bodies", n)
	}
}

// TestBoundedReaderStops: the reader over a bomb fails at the limit, having
// handed out exactly limit bytes.
func TestBoundedReaderStops(t *testing.T) {
	zr, err := gzip.NewReader(bytes.NewReader(gz(t, make([]byte, 8<<20))))
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, &boundedReader{r: zr, n: 1000})
	if !errors.Is(err, errBodyTooLarge) || n != 1000 {
		t.Fatalf("read %d bytes, err %v; want 1000 and errBodyTooLarge", n, err)
	}
	n, err = io.Copy(io.Discard, &boundedReader{r: strings.NewReader("abc"), n: 3})
	if err != nil || n != 3 {
		t.Fatalf("a body at the limit: %d, %v", n, err)
	}
}

// TestRejectionsAreBounded: a reply lists the first maxEchoedErrors
// rejections in index order and counts them all, for NDJSON and JSON arrays.
func TestRejectionsAreBounded(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	type reply struct {
		Accepted, Rejected int
		Errors             []struct{ Index int }
		Truncated          bool `json:"errors_truncated"`
		Detail             string
	}
	lines := func(n int, line string) string { return strings.Repeat(line+"\n", n) }
	// An unknown type is rejected by the store, after decoding: the two
	// kinds of rejection interleave and must still come in index order.
	badType := `{"customer_id":"c","product_id":"p","type":"nope"}`
	mixed := lines(2, "{}") + badType + "\n" + lines(12000, "{}") + oneEvent + "\n"
	arr := "[" + strings.Repeat("{},", 300) + oneEvent + "]"
	for _, c := range []struct {
		name, ctype, body string
		status, rejected  int
	}{
		{"NDJSON, one accepted", "application/x-ndjson", mixed, 200, 12003},
		{"NDJSON, none accepted", "application/x-ndjson", lines(20000, "{}"), 400, 20000},
		{"JSON array", "application/json", arr, 200, 300},
	} {
		r := request(t, ts.srv, "POST", "/v1/events", []byte(c.body), "Content-Type", c.ctype).want(t, c.status)
		var got reply
		r.decode(t, &got)
		if c.status == 200 && got.Rejected != c.rejected {
			t.Errorf("%s: rejected %d, want %d", c.name, got.Rejected, c.rejected)
		}
		if c.status == 400 && !strings.Contains(got.Detail, "20000") {
			t.Errorf("%s: detail %q does not count them", c.name, got.Detail)
		}
		if len(got.Errors) != maxEchoedErrors || !got.Truncated {
			t.Fatalf("%s: %d errors echoed, truncated %v", c.name, len(got.Errors), got.Truncated)
		}
		for i, e := range got.Errors {
			if e.Index != i {
				t.Fatalf("%s: errors[%d] has index %d", c.name, i, e.Index)
			}
		}
		if len(r.body) > 64<<10 {
			t.Errorf("%s: a reply of %d bytes", c.name, len(r.body))
		}
	}
}

// TestNDJSONLineLimit: a line over MaxLineBytes is one rejection naming the
// limit, the lines around it are ingested, and a stream that is one huge
// line is refused line by line rather than buffered.
func TestNDJSONLineLimit(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	long := `{"customer_id":"c","product_id":"p","type":"view","order_id":"` + strings.Repeat("x", MaxLineBytes) + `"}`
	body := oneEvent + "\n" + long + "\n" + `{"customer_id":"d","product_id":"p","type":"view"}` + "\n"
	r := request(t, ts.srv, "POST", "/v1/events", []byte(body), "Content-Type", "application/x-ndjson").want(t, 200)
	var got eventsReply
	r.decode(t, &got)
	if got.Accepted != 2 || got.Rejected != 1 || len(got.Errors) != 1 || got.Errors[0].Index != 1 ||
		got.Errors[0].Field != "body" || !strings.Contains(got.Errors[0].Detail, "65536") {
		t.Fatalf("%s", r.body)
	}
	// One 8 MiB line without a newline: a rejection, not a buffer of 8 MiB.
	huge := append([]byte(`{"customer_id":"`), bytes.Repeat([]byte("a"), 8<<20)...)
	r = request(t, ts.srv, "POST", "/v1/events", huge, "Content-Type", "application/x-ndjson").want(t, 400)
	var p Problem
	r.decode(t, &p)
	if len(p.Errors) != 1 || !strings.Contains(p.Detail, "longer than 65536 bytes") {
		t.Fatalf("%s", r.body)
	}
	b, _ := json.Marshal(p)
	if len(b) > 4096 {
		t.Fatalf("reply of %d bytes", len(b))
	}
}

// TestCompressedBodiesOverLoopback: the same over a real connection, with
// chunked bodies (no declared length), where fasthttp streams the body.
func TestCompressedBodiesOverLoopback(t *testing.T) {
	o := DefaultOptions()
	o.BodyLimit = 256 << 10
	o.StreamLimit = 1 << 20
	ts := newTestServer(t, "", o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.srv.App().Listener(ln)
	defer ts.srv.App().Shutdown()
	url := "http://" + ln.Addr().String() + "/v1/events"
	bomb, _ := zeroBombs()
	ndjson := gz(t, []byte(strings.Repeat(oneEvent+"\n", 3)))
	for _, c := range []struct {
		name, ctype string
		body        []byte
		status      int
	}{
		{"NDJSON", "application/x-ndjson", ndjson, 200},
		{"JSON", "application/json", gz(t, []byte(oneEvent)), 200},
		{"NDJSON bomb", "application/x-ndjson", bomb, 413},
		{"JSON bomb", "application/json", bomb, 413},
	} {
		status, b, err := postChunked(url, c.ctype, c.body, c.status != 200)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if status != c.status {
			t.Errorf("%s: %d %s", c.name, status, b)
		}
	}
	if n := ts.store.Stats().Events; n != 4 {
		t.Fatalf("%d events stored, want 4", n)
	}
}

// postChunked posts body gzip-encoded with no length, so the client sends it
// chunked. The server answers a bomb as soon as the limit is passed and closes
// the connection while the client may still be writing; the client then sees
// a broken pipe instead of the reply, depending on timing. So when early is
// set, a transport error is retried (a few times): the reply must still come.
func postChunked(url, ctype string, body []byte, early bool) (int, []byte, error) {
	var err error
	for try := 0; try < 5; try++ {
		req, _ := http.NewRequest("POST", url, io.MultiReader(bytes.NewReader(body)))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Content-Encoding", "gzip")
		var resp *http.Response
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			if early {
				continue
			}
			return 0, nil, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, b, nil
	}
	return 0, nil, err
}
