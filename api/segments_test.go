package api

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/features/eventio"
	"github.com/affinity-rec/affinity/recommend"
)

// segServer is a real store (demo sample, every third event) behind the
// real fiber app.
type segServer struct {
	st  *features.Store
	srv *Server
}

var segClock = time.Date(2011, 12, 20, 0, 0, 0, 0, time.UTC)

func newSegServer(t testing.TB, dir string) *segServer {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	o := features.DefaultOptions(dir)
	o.SyncWrites = false
	o.RefreshInterval = time.Hour
	o.Clock = func() time.Time { return segClock }
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	eng, err := recommend.New(storeDeps(t, st), recommend.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	srv := serverOver(t, Deps{Store: st, Engine: eng, CRM: crmOf(t, st)}, o.Logger)
	return &segServer{st: st, srv: srv}
}

func (s *segServer) loadDemo(t testing.TB) {
	t.Helper()
	r, err := eventio.Open("../testdata/demo/online_retail_sample.csv.gz", "online-retail")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var evs []features.Event
	for i := 0; ; i++ {
		e, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			continue
		}
		if i%3 == 0 {
			evs = append(evs, e)
		}
	}
	if _, err := s.st.Ingest(t.Context(), evs, features.IngestOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.st.PutProducts(r.Products()); err != nil {
		t.Fatal(err)
	}
	cs := map[string]features.Customer{}
	for id, a := range r.CustomerAttributes() {
		cs[id] = features.Customer{Attributes: a}
	}
	if err := s.st.PutCustomers(cs); err != nil {
		t.Fatal(err)
	}
	s.st.Refresh()
	if err := s.srv.deps.CRM.RefreshCustomerValue(); err != nil {
		t.Fatal(err)
	}
}

// bruteCount counts customers whose value passes keep.
func bruteCount(st *features.Store, cs *crm.Service, keep func(crm.Value, map[string]any) bool) (n int, some string) {
	for c := 0; c < st.NumCustomers(); c++ {
		v, ok := cs.CustomerValue(uint32(c))
		if !ok {
			continue
		}
		attrs := st.CustomerAttributes(uint32(c))
		if keep(v, attrs) {
			n++
			some = st.CustomerName(uint32(c))
		}
	}
	return n, some
}

func TestSegmentsHTTPEndToEnd(t *testing.T) {
	s := newSegServer(t, "")
	s.loadDemo(t)

	// Define, read, list.
	member := checkSegmentsDefined(t, s)

	// The profile carries value and segments.
	var prof struct {
		CustomerID string         `json:"customer_id"`
		Value      map[string]any `json:"value"`
		Segments   []string       `json:"segments"`
		Events     int            `json:"events"`
	}
	s.do(t, "GET", "/v1/customers/"+member+"/profile", "").want(t, 200).decode(t, &prof)
	if !slices.Contains(prof.Segments, "big") {
		t.Fatalf("profile segments %v", prof.Segments)
	}
	for _, k := range []string{"recency_days", "frequency", "monetary", "tier", "historical_value", "current_value", "potential_value", "r_score", "f_score", "m_score"} {
		if _, ok := prof.Value[k]; !ok {
			t.Fatalf("profile value lacks %s: %v", k, prof.Value)
		}
	}
	c, _ := s.st.CustomerID(member)
	v, _ := s.srv.deps.CRM.CustomerValue(c)
	if prof.Value["monetary"] != v.Monetary || prof.Value["frequency"] != float64(v.Frequency) || prof.Value["tier"] != v.Tier {
		t.Fatalf("profile value %v, store %+v", prof.Value, v)
	}
	if pv, _ := prof.Value["potential_value"].(float64); pv <= 0 {
		t.Fatalf("potential value %v", prof.Value["potential_value"])
	}

	// PTC and popular-in-segment: the contract's list shape, filters.
	checkSegmentLists(t, s)

	// Insights: tiers add up.
	checkSegmentInsights(t, s)

	// Delete; then it is gone.
	s.do(t, "DELETE", "/v1/segments/big", "").want(t, 204)
	s.do(t, "GET", "/v1/segments/big", "").want(t, 404)
	s.do(t, "GET", "/v1/customers/"+member+"/profile", "").want(t, 200).decode(t, &prof)
	if slices.Contains(prof.Segments, "big") {
		t.Fatalf("deleted segment in profile: %v", prof.Segments)
	}
}

// checkSegmentsDefined defines the big and france segments and checks
// their members against brute force, the list and a GET; it returns a
// member of big.
func checkSegmentsDefined(t *testing.T, s *segServer) string {
	t.Helper()
	var seg crm.Segment
	s.do(t, "PUT", "/v1/segments/big", `{"rule":"monetary > 500 && frequency >= 2"}`).want(t, 200).decode(t, &seg)
	wantN, member := bruteCount(s.st, s.srv.deps.CRM, func(v crm.Value, _ map[string]any) bool { return v.Monetary > 500 && v.Frequency >= 2 })
	if seg.Name != "big" || seg.Members != wantN || wantN == 0 {
		t.Fatalf("PUT reply %+v, brute force %d", seg, wantN)
	}
	s.do(t, "PUT", "/v1/segments/france", `{"rule":"attributes.country == \"France\""}`).want(t, 200).decode(t, &seg)
	wantF, _ := bruteCount(s.st, s.srv.deps.CRM, func(_ crm.Value, a map[string]any) bool { return a["country"] == "France" })
	if seg.Members != wantF || wantF == 0 {
		t.Fatalf("france %+v, brute force %d", seg, wantF)
	}
	var list struct{ Segments []crm.Segment }
	s.do(t, "GET", "/v1/segments", "").want(t, 200).decode(t, &list)
	if len(list.Segments) != 2 || list.Segments[0].Name != "big" || list.Segments[1].Members != wantF {
		t.Fatalf("list %+v", list)
	}
	var one map[string]any
	s.do(t, "GET", "/v1/segments/big", "").want(t, 200).decode(t, &one)
	if one["rule"] != "monetary > 500 && frequency >= 2" || one["members"] != float64(wantN) || one["name"] != "big" {
		t.Fatalf("GET %v", one)
	}
	return member
}

// checkSegmentLists checks the segment's products (the contract's list
// shape, a price filter) and popular in the segment.
func checkSegmentLists(t *testing.T, s *segServer) {
	t.Helper()
	var l struct {
		Items []struct {
			ProductID string  `json:"product_id"`
			Score     float64 `json:"score"`
		} `json:"items"`
		RecommendationID string  `json:"recommendation_id"`
		Algorithm        string  `json:"algorithm"`
		Experiment       *string `json:"experiment"`
		Variant          *string `json:"variant"`
	}
	r := s.do(t, "GET", "/v1/segments/france/products?limit=5", "").want(t, 200)
	var raw map[string]any
	r.decode(t, &raw)
	for _, k := range []string{"items", "recommendation_id", "algorithm", "experiment", "variant"} {
		if _, ok := raw[k]; !ok {
			t.Fatalf("list reply lacks %s: %s", k, r.body)
		}
	}
	r.decode(t, &l)
	if len(l.Items) != 5 || l.Algorithm != "segment-lift" || l.RecommendationID == "" || l.Items[0].Score <= 1 || l.Items[4].Score > l.Items[0].Score {
		t.Fatalf("segment products %s", r.body)
	}
	top := l.Items[0].ProductID
	p, _, _ := s.st.GetProduct(top)
	s.do(t, "GET", fmt.Sprintf("/v1/segments/france/products?limit=5&price_min=%v", p.Price+0.001), "").want(t, 200).decode(t, &l)
	for _, it := range l.Items {
		if it.ProductID == top {
			t.Fatalf("price_min did not filter %s", top)
		}
	}
	s.do(t, "GET", "/v1/popular?segment=france&limit=3", "").want(t, 200).decode(t, &l)
	if len(l.Items) != 3 || l.Algorithm != "segment-popular" {
		t.Fatalf("popular in segment %+v", l)
	}
}

// checkSegmentInsights checks the value insights' tiers add up.
func checkSegmentInsights(t *testing.T, s *segServer) {
	t.Helper()
	var ins crm.ValueSummary
	s.do(t, "GET", "/v1/insights/value", "").want(t, 200).decode(t, &ins)
	n := 0
	for _, tr := range ins.Tiers {
		n += tr.Customers
	}
	if ins.Customers == 0 || n != ins.Customers || ins.TopShare <= 0.2 || ins.TopShare > 1 {
		t.Fatalf("insights %+v", ins)
	}
}

// TestSegmentsSurviveRestartHTTP: a segment defined over HTTP is there,
// with the same members, after the store is reopened.
func TestSegmentsSurviveRestartHTTP(t *testing.T) {
	dir := t.TempDir()
	s := newSegServer(t, dir)
	s.loadDemo(t)
	var seg crm.Segment
	s.do(t, "PUT", "/v1/segments/loyal", `{"rule":"tier in [\"loyal\", \"champions\"]"}`).want(t, 200).decode(t, &seg)
	if seg.Members == 0 {
		t.Fatal("no loyal customers")
	}
	if err := s.st.Close(); err != nil {
		t.Fatal(err)
	}
	s2 := newSegServer(t, dir)
	var got crm.Segment
	s2.do(t, "GET", "/v1/segments/loyal", "").want(t, 200).decode(t, &got)
	if got != seg {
		t.Fatalf("after restart %+v, before %+v", got, seg)
	}
}

func TestSegmentsHTTPErrors(t *testing.T) {
	s := newSegServer(t, "")
	s.loadDemo(t)
	s.do(t, "PUT", "/v1/segments/ok", `{"rule":"frequency > 1"}`).want(t, 200)
	for _, tc := range []struct {
		method, path, body string
		status             int
		field, detail      string
	}{
		{"PUT", "/v1/segments/x", `{"rule":"monetary >"}`, 400, "rule", "line 1, column"},
		{"PUT", "/v1/segments/x", `{"rule":"moneytary > 5"}`, 400, "rule", "unknown name moneytary"},
		{"PUT", "/v1/segments/x", `{"rule":"monetary"}`, 400, "rule", "true/false"},
		{"PUT", "/v1/segments/x", `{"rule":"\"ok\" in segments"}`, 400, "rule", "segments"},
		{"PUT", "/v1/segments/x", `{"rule":""}`, 400, "rule", "required"},
		{"PUT", "/v1/segments/x", `{"rule":5}`, 400, "rule", "string"},
		{"PUT", "/v1/segments/x", `{}`, 400, "rule", "required"},
		{"PUT", "/v1/segments/x", `{"rul":"frequency > 1"}`, 400, "rul", "rul is not a known field"},
		{"PUT", "/v1/segments/x", `{"rule":"frequency > 1"} {}`, 400, "body", "after"},
		{"PUT", "/v1/segments/x", `not json`, 400, "body", "not valid JSON"},
		{"PUT", "/v1/segments/x", ``, 400, "body", "empty"},
		{"PUT", "/v1/segments/a%20b", `{"rule":"frequency > 1"}`, 400, "name", "letters"},
		{"PUT", "/v1/segments/" + strings.Repeat("n", 70), `{"rule":"frequency > 1"}`, 400, "name", "64"},
		{"GET", "/v1/segments/nope", "", 404, "", "unknown segment"},
		{"DELETE", "/v1/segments/nope", "", 404, "", "unknown segment"},
		{"GET", "/v1/segments/nope/products", "", 404, "", "unknown segment"},
		{"GET", "/v1/segments/ok/products?limit=0", "", 400, "limit", "limit"},
		{"GET", "/v1/segments/ok/products?price_min=x", "", 400, "price_min", "number"},
		{"GET", "/v1/popular?segment=nope", "", 404, "", "segment"},
		{"GET", "/v1/popular?segment=a%20b", "", 400, "segment", "letters"},
		{"GET", "/v1/popular?segment=ok&window=7d", "", 400, "window", "segment"},
	} {
		r := s.do(t, tc.method, tc.path, tc.body)
		var p Problem
		if r.status != tc.status || r.ctype != "application/problem+json" {
			t.Errorf("%s %s %s: %d %s %s", tc.method, tc.path, tc.body, r.status, r.ctype, r.body)
			continue
		}
		r.decode(t, &p)
		if p.Field != tc.field || !strings.Contains(p.Detail, tc.detail) {
			t.Errorf("%s %s %s: field %q detail %q, want %q containing %q", tc.method, tc.path, tc.body, p.Field, p.Detail, tc.field, tc.detail)
		}
	}
	// Nothing was created by the bad requests.
	var list struct{ Segments []crm.Segment }
	s.do(t, "GET", "/v1/segments", "").want(t, 200).decode(t, &list)
	if len(list.Segments) != 1 {
		t.Fatalf("segments after bad requests: %+v", list.Segments)
	}
}

// FuzzSegmentBody: any body is either a rule string or a 400 naming a
// field; never a panic.
func FuzzSegmentBody(f *testing.F) {
	for _, s := range []string{`{"rule":"frequency > 1"}`, `{"rule":5}`, `{}`, `{"rul":"x"}`, `[]`, `null`, `{"rule":null}`,
		`{"rule":"a"} x`, "", `{"rule":"\u00ff"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		rule, err := decodeSegmentBody(body)
		if err != nil {
			if p := problemFor(err); p.Status != 400 || p.Field == "" {
				t.Fatalf("%q: %v", body, err)
			}
			return
		}
		if _, err := crm.CompileSegmentRule(rule); err != nil {
			var fe *features.FieldError
			if !errors.As(err, &fe) || fe.Field != "rule" {
				t.Fatalf("%q: %v", rule, err)
			}
		}
	})
}

// BenchmarkProfileHTTP is a profile request through the whole app on the
// demo sample (value, segments, potential value).
func BenchmarkProfileHTTP(b *testing.B) {
	s := newSegServer(b, "")
	s.loadDemo(b)
	for _, rule := range []string{"monetary > 500", "tier == \"at_risk\"", "attributes.country == \"France\""} {
		if _, err := s.srv.deps.CRM.PutSegment(fmt.Sprintf("s%d", len(rule)), rule); err != nil {
			b.Fatal(err)
		}
	}
	custs := s.st.SampleCustomers(200)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", "/v1/customers/"+custs[i%len(custs)]+"/profile", nil)
		resp, err := s.srv.App().Test(req, -1)
		if err != nil || resp.StatusCode != 200 {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

func (s *segServer) do(t testing.TB, method, path, body string) httpReply {
	t.Helper()
	return send(t, s.srv, method, path, body)
}
