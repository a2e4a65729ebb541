package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/eventio"
	"github.com/affinity-rec/affinity/recommend"
)

const demoFile = "../testdata/demo/online_retail_sample.csv.gz"

// testServer is a real store in a temp dir behind the real fiber app.
type testServer struct {
	t     *testing.T
	dir   string
	store *features.Store
	srv   *Server
}

func testStoreOptions(dir string) features.Options {
	o := features.DefaultOptions(dir)
	o.SyncWrites = false
	o.RefreshInterval = time.Hour // tests refresh explicitly
	o.Neighbours = features.NeighbourOptions{Similarity: features.SimJaccard, K: 1000, MaxHistory: 100000, MinSupport: 1, Alpha: 0.5}
	o.Clock = func() time.Time { return time.Date(2011, 12, 10, 0, 0, 0, 0, time.UTC) }
	return o
}

func newTestServer(t *testing.T, dir string, ao Options) *testServer {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	st, srv := openServer(t, dir, ao)
	return &testServer{t: t, dir: dir, store: st, srv: srv}
}

// openServer opens a real store in dir behind a real server; the store is
// closed at the end of the test.
func openServer(t testing.TB, dir string, ao Options) (*features.Store, *Server) {
	t.Helper()
	st, err := features.Open(testStoreOptions(dir))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	// Every pair scattered: TestPersonalMatchesIndependentScores checks the
	// served scores against SAR's sum over all of them (the scatter budget
	// is recommend's to test).
	eo := recommend.DefaultOptions()
	eo.ScatterBudget = 0
	eng, err := recommend.New(storeDeps(t, st), eo)
	if err != nil {
		t.Fatal(err)
	}
	if ao.BodyLimit == 0 {
		ao = DefaultOptions()
	}
	srv, err := New(Deps{Store: st, Engine: eng, CRM: crmOf(t, st)}, ao)
	if err != nil {
		t.Fatal(err)
	}
	return st, srv
}

// demoEvents reads the first n purchase events of the shipped demo sample.
func demoEvents(t testing.TB, n int) ([]features.Event, map[string]features.Product) {
	t.Helper()
	r, err := eventio.Open(demoFile, "online-retail")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var evs []features.Event
	for len(evs) < n {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue
		}
		evs = append(evs, e)
	}
	return evs, r.Products()
}

func (ts *testServer) load(evs []features.Event, prods map[string]features.Product) {
	ts.t.Helper()
	if _, err := ts.store.Ingest(ts.t.Context(), evs, features.IngestOptions{}); err != nil {
		ts.t.Fatal(err)
	}
	if prods != nil {
		if err := ts.store.PutProducts(prods); err != nil {
			ts.t.Fatal(err)
		}
	}
	ts.store.Refresh()
}

func (ts *testServer) do(method, path, ctype, body string) (int, map[string]any, http.Header) {
	ts.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := ts.srv.App().Test(req, 10000)
	if err != nil {
		ts.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(b)) > 0 && (strings.Contains(resp.Header.Get("Content-Type"), "json")) {
		if err := json.Unmarshal(b, &m); err != nil {
			ts.t.Fatalf("%s %s: reply is not JSON: %s", method, path, b)
		}
	}
	return resp.StatusCode, m, resp.Header
}

func (ts *testServer) get(path string) map[string]any {
	ts.t.Helper()
	code, m, _ := ts.do("GET", path, "", "")
	if code != 200 {
		ts.t.Fatalf("GET %s: %d %v", path, code, m)
	}
	return m
}

func itemIDs(m map[string]any) []string {
	var ids []string
	items, _ := m["items"].([]any)
	for _, it := range items {
		ids = append(ids, it.(map[string]any)["product_id"].(string))
	}
	return ids
}

func itemScores(m map[string]any) []float64 {
	var s []float64
	items, _ := m["items"].([]any)
	for _, it := range items {
		s = append(s, it.(map[string]any)["score"].(float64))
	}
	return s
}
