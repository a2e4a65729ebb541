package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer is a stand-in Affinity server: it answers the endpoints the
// load generator calls and checks what it receives. Safe for concurrent use.
type fakeServer struct {
	*httptest.Server
	products, customers []string
	noCustomers         bool   // answer 404 to GET /v1/customers
	wantAuth            string // expected Authorization header, if any
	wantQuery           string // expected experiment/variant query, if any
	// blockEvents, if not nil, holds every POST /v1/events until it is
	// closed or the client gives up: a server whose durable commit stalls.
	blockEvents chan struct{}

	mu       sync.Mutex
	problems []string
	paths    map[string]int // request counts by route
	events   int
	eventIDs map[string]int // posted event ids and how often
}

func newFakeServer(t *testing.T, configure func(*fakeServer)) *fakeServer {
	t.Helper()
	f := &fakeServer{paths: map[string]int{}, eventIDs: map[string]int{}}
	for i := range 50 {
		f.products = append(f.products, fmt.Sprintf("p/%d", i)) // '/' checks path escaping
	}
	for i := range 200 {
		f.customers = append(f.customers, fmt.Sprintf("c%d", i))
	}
	if configure != nil {
		configure(f)
	}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) problem(format string, a ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.problems) < 10 {
		f.problems = append(f.problems, fmt.Sprintf(format, a...))
	}
}

func (f *fakeServer) count(route string) {
	f.mu.Lock()
	f.paths[route]++
	f.mu.Unlock()
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	if f.wantAuth != "" && r.Header.Get("Authorization") != f.wantAuth {
		f.problem("%s %s: Authorization %q", r.Method, r.URL, r.Header.Get("Authorization"))
	}
	path := r.URL.EscapedPath()
	if r.Method == http.MethodGet && path == "/metrics" {
		// The bench samples the target's resident set (memory.go).
		fmt.Fprintln(w, "process_resident_memory_bytes 1.048576e+08")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	isList := r.URL.Query().Get("limit") == "100" || r.URL.Query().Get("limit") == "1000"
	if f.wantQuery != "" && r.Method == http.MethodGet && !isList && !strings.Contains(r.URL.RawQuery, f.wantQuery) {
		f.problem("GET %s: query lacks %q", r.URL, f.wantQuery)
	}
	switch {
	case r.Method == http.MethodGet && path == "/v1/popular":
		f.count("popular")
		var items []string
		for _, p := range f.products {
			items = append(items, fmt.Sprintf(`{"product_id":%q,"score":1}`, p))
		}
		fmt.Fprintf(w, `{"items":[%s],"recommendation_id":"r","algorithm":"popular"}`, strings.Join(items, ","))
	case r.Method == http.MethodGet && path == "/v1/customers":
		f.count("customers")
		if f.noCustomers {
			http.NotFound(w, r)
			return
		}
		b, _ := json.Marshal(map[string]any{"customers": f.customers})
		w.Write(b)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1/products/") && strings.HasSuffix(path, "/related"):
		f.count("related")
		if r.URL.Query().Get("limit") != "10" {
			f.problem("related without limit=10: %s", r.URL)
		}
		id := r.URL.Path[len("/v1/products/") : len(r.URL.Path)-len("/related")]
		if !f.knownProduct(id) {
			f.problem("related for unknown product %q", id)
		}
		fmt.Fprint(w, `{"items":[]}`)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1/customers/") && strings.HasSuffix(path, "/recommendations"):
		f.count("personal")
		fmt.Fprint(w, `{"items":[]}`)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/v1/customers/") && strings.HasSuffix(path, "/next-best-offer"):
		f.count("nbo")
		if r.URL.Query().Get("limit") != "1" {
			f.problem("nbo without limit=1: %s", r.URL)
		}
		fmt.Fprint(w, `{"offers":[]}`)
	case r.Method == http.MethodPost && path == "/v1/events":
		f.postEvents(w, r)
	default:
		f.problem("unexpected %s %s", r.Method, r.URL)
		http.NotFound(w, r)
	}
}

// postEvents checks a POST /v1/events body (1 to 5 events on known
// products) and counts the events and their ids.
func (f *fakeServer) postEvents(w http.ResponseWriter, r *http.Request) {
	f.count("events")
	var evs []struct {
		CustomerID string `json:"customer_id"`
		ProductID  string `json:"product_id"`
		Type       string `json:"type"`
		EventID    string `json:"event_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&evs); err != nil {
		f.problem("events body: %v", err)
	}
	if len(evs) < 1 || len(evs) > 5 {
		f.problem("events: %d in one request", len(evs))
	}
	for _, e := range evs {
		if !f.knownProduct(e.ProductID) || e.CustomerID == "" {
			f.problem("event for unknown ids: %+v", e)
		}
		if e.Type != "view" && e.Type != "cart" && e.Type != "purchase" {
			f.problem("event type %q", e.Type)
		}
		if e.EventID != "" {
			f.mu.Lock()
			f.eventIDs[e.EventID]++
			f.mu.Unlock()
		}
	}
	if f.blockEvents != nil {
		select {
		case <-f.blockEvents:
		case <-r.Context().Done():
		}
	}
	f.mu.Lock()
	f.events += len(evs)
	f.mu.Unlock()
	fmt.Fprintf(w, `{"accepted":%d,"rejected":0,"errors":[]}`, len(evs))
}

// hits returns how many requests reached a route.
func (f *fakeServer) hits(route string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paths[route]
}

func (f *fakeServer) knownProduct(id string) bool {
	for _, p := range f.products {
		if p == id {
			return true
		}
	}
	return false
}

func (f *fakeServer) check(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range f.problems {
		t.Errorf("server saw: %s", p)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use, for progress
// output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func testOptions(url string) Options {
	o := DefaultOptions()
	o.URL = url
	o.Duration = 300 * time.Millisecond
	o.Concurrency = 4
	return o
}

func checkHTML(t *testing.T, res *Result) {
	t.Helper()
	var page bytes.Buffer
	if err := res.WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	html := page.String()
	if n := strings.Count(html, "<svg"); n != 3 {
		t.Errorf("report has %d <svg>, want 3 charts", n)
	}
	for _, bad := range []string{"<script", "<link", "src=", "@import"} {
		if strings.Contains(html, bad) {
			t.Errorf("report is not self-contained: has %q", bad)
		}
	}
	want := []string{"Latency by percentile", "p99.9", res.Scenario, "</html>"}
	if res.hist.TotalCount() > 0 {
		want = append(want, "99%") // the nines axis
	}
	for _, want := range want {
		if !strings.Contains(html, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}
