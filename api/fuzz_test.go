package api

import (
	"bytes"
	"io"
	"net/http/httptest"
	"testing"
)

// fuzzServer is shared by a fuzz target's iterations (opening a store per
// input would make fuzzing crawl).
func fuzzServer(f *testing.F) *testServer {
	dir := f.TempDir()
	st, srv := openServer(f, dir, DefaultOptions())
	return &testServer{dir: dir, store: st, srv: srv}
}

// noServerError sends one request; any 5xx fails the fuzz run.
func noServerError(t *testing.T, ts *testServer, method, path, ctype string, body []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ctype)
	resp, err := ts.srv.App().Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		t.Fatalf("%s %s: status %d for %q", method, path, resp.StatusCode, body)
	}
}

// FuzzPostEvents: any body, any content type, never a 5xx or a panic; a 200
// always counts every line as accepted or rejected.
func FuzzPostEvents(f *testing.F) {
	ts := fuzzServer(f)
	f.Add([]byte(`{"customer_id":"c","product_id":"p","type":"view"}`), "application/json")
	f.Add([]byte(`[{"customer_id":"c","product_id":"p","type":"purchase","value":1.5,"timestamp":"2024-01-01T00:00:00Z"}]`), "application/json")
	f.Add([]byte("{\"customer_id\":\"c\",\"product_id\":\"p\",\"type\":\"view\"}\n{}\n"), "application/x-ndjson")
	f.Add([]byte(`[1,"x",null,{}]`), "application/json")
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		noServerError(t, ts, "POST", "/v1/events", ctype, body)
	})
}

// FuzzPutProduct: product bodies from outside never give a 5xx.
func FuzzPutProduct(f *testing.F) {
	ts := fuzzServer(f)
	f.Add([]byte(`{"category":"cups","brand":"acme","price":2.5,"tags":["a"],"available":true,"attributes":{"k":1}}`))
	f.Add([]byte(`{"price":-1}`))
	f.Add([]byte(`{"tags":[1]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		noServerError(t, ts, "PUT", "/v1/products/p1", "application/json", body)
	})
}

// FuzzPutCustomer: customer bodies from outside never give a 5xx.
func FuzzPutCustomer(f *testing.F) {
	ts := fuzzServer(f)
	f.Add([]byte(`{"attributes":{"country":"France","age":41,"vip":true,"tags":["a"]}}`))
	f.Add([]byte(`{"attributes":null}`))
	f.Add([]byte(`{"attributes":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		noServerError(t, ts, "PUT", "/v1/customers/c1", "application/json", body)
	})
}

// FuzzCompressedBody: any bytes under any Content-Encoding, as JSON or
// NDJSON, never give a 5xx or a panic.
func FuzzCompressedBody(f *testing.F) {
	ts := fuzzServer(f)
	ev := []byte(`{"customer_id":"c","product_id":"p","type":"view"}`)
	f.Add(gz(f, ev), "gzip", false)
	f.Add(zl(f, ev), "deflate", true)
	f.Add(rawDeflate(f, ev), "deflate", false)
	f.Add(gz(f, gz(f, ev)), "gzip, gzip", false)
	f.Add(ev, "br", true)
	f.Fuzz(func(t *testing.T, body []byte, coding string, ndjson bool) {
		ctype := "application/json"
		if ndjson {
			ctype = "application/x-ndjson"
		}
		req := httptest.NewRequest("POST", "/v1/events", bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Content-Encoding", coding)
		resp, err := ts.srv.App().Test(req, -1)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("status %d for %q under %q", resp.StatusCode, body, coding)
		}
	})
}
