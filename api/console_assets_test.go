package api

import (
	"bytes"
	"io/fs"
	"testing"

	"github.com/valyala/fasthttp"
)

// The console's files go out compressed when the browser accepts it
// (brotli first, then gzip), each encoding with its own ETag, Vary on
// Accept-Encoding, and a 304 when the browser's copy is current.
func TestConsoleAssetsCompressed(t *testing.T) {
	ts := newTestServer(t, "", Options{})
	want, err := fs.ReadFile(consoleFiles, "console/app.js")
	if err != nil {
		t.Fatal(err)
	}
	unbr := func(b []byte) ([]byte, error) { return fasthttp.AppendUnbrotliBytes(nil, b) }
	gunzip := func(b []byte) ([]byte, error) { return fasthttp.AppendGunzipBytes(nil, b) }
	same := func(b []byte) ([]byte, error) { return b, nil }
	tags := map[string]bool{}
	for _, c := range []struct {
		accept, coding string
		decode         func([]byte) ([]byte, error)
	}{
		{"gzip, deflate, br", "br", unbr},
		{"gzip", "gzip", gunzip},
		{"br;q=0, gzip;q=0.5", "gzip", gunzip},
		{"", "", same},
		{"identity", "", same},
		{"br;q=0.000, gzip;q=0", "", same},
	} {
		r := send(t, ts.srv, "GET", "/console/app.js", "", "Accept-Encoding", c.accept).want(t, 200)
		if got := r.hdr.Get("Content-Encoding"); got != c.coding {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q, want %q", c.accept, got, c.coding)
		}
		if r.hdr.Get("Vary") != "Accept-Encoding" || r.hdr.Get("Cache-Control") != "no-cache" {
			t.Fatalf("Vary %q, Cache-Control %q", r.hdr.Get("Vary"), r.hdr.Get("Cache-Control"))
		}
		body, err := c.decode(r.body)
		if err != nil || !bytes.Equal(body, want) {
			t.Fatalf("Accept-Encoding %q: body does not decode to app.js (%v)", c.accept, err)
		}
		if c.coding != "" && len(r.body) >= len(want) {
			t.Fatalf("%s body %d bytes, raw %d", c.coding, len(r.body), len(want))
		}
		etag := r.hdr.Get("ETag")
		if etag == "" {
			t.Fatal("no ETag")
		}
		tags[c.coding+" "+etag] = true
		// The browser's copy is current: 304, no body, same validators.
		nm := send(t, ts.srv, "GET", "/console/app.js", "", "Accept-Encoding", c.accept, "If-None-Match", "W/"+etag).want(t, 304)
		if len(nm.body) != 0 || nm.hdr.Get("ETag") != etag || nm.hdr.Get("Vary") != "Accept-Encoding" {
			t.Fatalf("304: body %d bytes, ETag %q", len(nm.body), nm.hdr.Get("ETag"))
		}
		// A copy in another encoding is not current.
		send(t, ts.srv, "GET", "/console/app.js", "", "Accept-Encoding", c.accept, "If-None-Match", `"other"`).want(t, 200)
	}
	if len(tags) != 3 {
		t.Fatalf("want one ETag per encoding, got %v", tags)
	}
}

func TestAcceptsEncoding(t *testing.T) {
	for h, want := range map[string]bool{
		"br": true, "gzip, br": true, "BR;q=1": true, "br;q=0.2": true,
		"br;q=0": false, "br; q=0.0": false, "gzip": false, "": false, "brotli": false,
	} {
		if got := accepts(h, "br"); got != want {
			t.Errorf("accepts(%q, br) = %v, want %v", h, got, want)
		}
	}
}
