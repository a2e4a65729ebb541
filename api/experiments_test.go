package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/jsonbody"
	"github.com/affinity-rec/affinity/recommend/experiment"
	"github.com/affinity-rec/affinity/recommend/offer"
)

var expQuietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// expServer is a real server over a real store in a temp dir, with
// customers c0..c59 who bought from products p0..p9 and an experiments
// service that flushes every 10 ms.
type expServer struct {
	srv   *Server
	store *features.Store
	x     *experiment.Service
}

func newExpServer(t testing.TB) *expServer {
	t.Helper()
	st, eng := seededStore(t, func(o *features.Options) { o.Logger = expQuietLog },
		purchases(60, 10, 5, func(c, p int) bool { return (c*7+p*3)%4 == 0 }))
	x := newTestExperiments(t, st, expQuietLog, 10*time.Millisecond)
	srv := serverOver(t, Deps{Store: st, Engine: eng, CRM: crmOf(t, st), Experiments: x}, expQuietLog)
	return &expServer{srv: srv, store: st, x: x}
}

type listJSON struct {
	Items []struct {
		ProductID string  `json:"product_id"`
		Score     float64 `json:"score"`
	} `json:"items"`
	RecommendationID string  `json:"recommendation_id"`
	Algorithm        string  `json:"algorithm"`
	Experiment       *string `json:"experiment"`
	Variant          *string `json:"variant"`
}

const homeExperiment = `{"status":"running","variants":[
	{"name":"control","weight":1},
	{"name":"fixed","weight":1,"params":{"algorithm":"fixed","products":["p1","p2","p3"]}}]}`

// homeServed is a list TestExperimentsEndToEnd served: to whom, its
// variant, recommendation id and first product.
type homeServed struct{ cust, variant, rec, first string }

func TestExperimentsEndToEnd(t *testing.T) {
	s := newExpServer(t)
	var put experiment.Experiment
	s.do(t, "PUT", "/v1/experiments/home", homeExperiment).want(t, 200).decode(t, &put)
	if put.ID != "home" || put.Salt != "home" || put.Status != "running" || len(put.Variants) != 2 || put.Variants[0].Weight != 1 {
		t.Fatalf("PUT reply %+v", put)
	}
	var list struct{ Experiments []experiment.Experiment }
	s.do(t, "GET", "/v1/experiments", "").want(t, 200).decode(t, &list)
	if len(list.Experiments) != 1 || list.Experiments[0].ID != "home" {
		t.Fatalf("list %+v", list)
	}

	// Storefront traffic: 60 customers, one list each.
	var lists []homeServed
	for c := range 60 {
		var l listJSON
		s.do(t, "GET", fmt.Sprintf("/v1/customers/c%d/recommendations?experiment=home&limit=5", c), "").want(t, 200).decode(t, &l)
		if l.Experiment == nil || *l.Experiment != "home" || l.Variant == nil || l.RecommendationID == "" || len(l.Items) == 0 {
			t.Fatalf("enrolled reply must name experiment, variant and recommendation_id: %+v", l)
		}
		if *l.Variant == "fixed" && (l.Algorithm != "fixed" || l.Items[0].ProductID != "p1") {
			t.Fatalf("the fixed variant serves its list: %+v", l)
		}
		lists = append(lists, homeServed{fmt.Sprint("c", c), *l.Variant, l.RecommendationID, l.Items[0].ProductID})
	}
	// The same customer keeps their variant (and sees a second list).
	again := map[string]int64{}
	for _, sv := range lists[:5] {
		again[sv.variant]++
		var l listJSON
		s.do(t, "GET", "/v1/customers/"+sv.cust+"/recommendations?experiment=home", "").want(t, 200).decode(t, &l)
		if *l.Variant != sv.variant {
			t.Fatalf("%s moved from %s to %s", sv.cust, sv.variant, *l.Variant)
		}
	}
	// Headers work like the query, and a forced variant wins.
	var l listJSON
	s.do(t, "GET", "/v1/popular?customer_id=qa-1", "", "X-Affinity-Experiment", "home", "X-Affinity-Variant", "fixed").want(t, 200).decode(t, &l)
	if *l.Variant != "fixed" || l.Algorithm != "fixed" {
		t.Fatalf("header flags: %+v", l)
	}
	s.do(t, "GET", "/v1/products/p1/related?experiment=home&variant=fixed&customer_id=qa-2", "").want(t, 200).decode(t, &l)
	if *l.Variant != "fixed" || len(l.Items) != 2 || l.Items[0].ProductID != "p2" {
		t.Fatalf("forced variant on related (the product itself left out): %+v", l)
	}
	// Anonymous with a unit_id is enrolled; without one it gets the control.
	s.do(t, "GET", "/v1/popular?experiment=home", "").want(t, 200).decode(t, &l)
	if *l.Variant != "control" {
		t.Fatalf("anonymous without unit_id: %+v", l)
	}
	s.do(t, "GET", "/v1/popular", "").want(t, 200).decode(t, &l)
	if l.Experiment != nil || l.Variant != nil {
		t.Fatalf("no flags: experiment and variant must be null: %+v", l)
	}

	// Outcomes: every even list is clicked, every fourth bought (value 12.5),
	// plus a click on a product that was not on the list (not counted).
	want := postHomeOutcomes(t, s, lists, again)
	checkHomeResults(t, s, want)
	checkHomeReport(t, s)

	s.do(t, "DELETE", "/v1/experiments/home", "").want(t, 204)
	s.do(t, "GET", "/v1/experiments/home", "").want(t, 404)
	s.do(t, "GET", "/v1/experiments/home/results", "").want(t, 404)
	s.do(t, "GET", "/v1/popular?experiment=home", "").want(t, 404)
}

// postHomeOutcomes posts the outcomes of the served lists; it returns
// the counts each variant should show.
func postHomeOutcomes(t *testing.T, s *expServer, lists []homeServed, again map[string]int64) map[string]*experiment.VariantResult {
	t.Helper()
	want := map[string]*experiment.VariantResult{"control": {}, "fixed": {}}
	var nd strings.Builder
	for i, sv := range lists {
		w := want[sv.variant]
		w.Exposures++
		w.Customers++
		if i%2 == 0 {
			fmt.Fprintf(&nd, `{"customer_id":%q,"product_id":%q,"type":"click","recommendation_id":%q}`+"\n", sv.cust, sv.first, sv.rec)
			w.Clicks++
		}
		if i%4 == 0 {
			fmt.Fprintf(&nd, `{"customer_id":%q,"product_id":%q,"type":"purchase","value":12.5,"recommendation_id":%q}`+"\n", sv.cust, sv.first, sv.rec)
			w.Conversions++
			w.Revenue += 12.5
		}
		if i%3 == 0 {
			fmt.Fprintf(&nd, `{"customer_id":%q,"product_id":"p9","type":"click","recommendation_id":%q}`+"\n", sv.cust, sv.rec)
		}
	}
	for v, n := range again {
		want[v].Exposures += n
	}
	// qa-1 and qa-2 were forced into fixed: counted, but not in the SRM check.
	want["fixed"].Exposures += 2
	want["fixed"].Customers += 2
	r := s.do(t, "POST", "/v1/events", nd.String(), "Content-Type", "application/x-ndjson").want(t, 200)
	var er struct{ Accepted, Rejected int }
	r.decode(t, &er)
	if er.Rejected != 0 {
		t.Fatalf("events rejected: %s", r.body)
	}
	return want
}

// checkHomeResults checks the results' JSON keys and each variant's counts against want.
func checkHomeResults(t *testing.T, s *expServer, want map[string]*experiment.VariantResult) {
	t.Helper()
	res := s.do(t, "GET", "/v1/experiments/home/results", "").want(t, 200)
	var raw map[string]any
	res.decode(t, &raw)
	if got := sortedKeys(raw); got != "control,experiment,srm_flag,srm_p_value,variants" {
		t.Errorf("results keys %s", got)
	}
	vs := raw["variants"].([]any)
	if got := sortedKeys(vs[0].(map[string]any)); got != "clicks,conversion_rate,conversions,ctr,customers,exposures,lift,name,p_value,revenue,revenue_per_exposure,weight" {
		t.Errorf("variant keys %s", got)
	}
	for _, k := range []string{"ctr", "conversion_rate", "revenue_per_exposure", "lift"} {
		if got := sortedKeys(vs[1].(map[string]any)[k].(map[string]any)); got != "high,low,value" {
			t.Errorf("%s keys %s", k, got)
		}
	}
	var results experiment.Results
	res.decode(t, &results)
	if results.Experiment != "home" || results.Control != "control" {
		t.Errorf("results header %+v", results)
	}
	for _, v := range results.Variants {
		w := want[v.Name]
		if v.Exposures != w.Exposures || v.Customers != w.Customers || v.Clicks != w.Clicks || v.Conversions != w.Conversions || v.Revenue != w.Revenue {
			t.Errorf("%s: got exposures %d customers %d clicks %d conversions %d revenue %g; want %d %d %d %d %g",
				v.Name, v.Exposures, v.Customers, v.Clicks, v.Conversions, v.Revenue, w.Exposures, w.Customers, w.Clicks, w.Conversions, w.Revenue)
		}
		if v.CTR.Low > v.CTR.Value || v.CTR.Value > v.CTR.High || v.ConversionRate.High > 1 {
			t.Errorf("%s: interval out of order: %+v", v.Name, v)
		}
	}
}

// checkHomeReport checks the HTML report draws its charts under a strict policy.
func checkHomeReport(t *testing.T, s *expServer) {
	t.Helper()
	rep := s.do(t, "GET", "/v1/experiments/home/report", "").want(t, 200)
	page := string(rep.body)
	if !strings.HasPrefix(rep.ctype, "text/html") || !strings.Contains(page, "<svg") ||
		strings.Count(page, `class="point"`) < 7 || strings.Count(page, `class="ci"`) < 7 {
		t.Fatalf("report (%s) lacks its charts:\n%.600s", rep.ctype, page)
	}
	if csp := rep.hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("report CSP %q", csp)
	}
}

func sortedKeys(m map[string]any) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

type problemJSON struct {
	Type, Title, Detail, Field string
	Status                     int
}

func TestExperimentErrors(t *testing.T) {
	s := newExpServer(t)
	s.do(t, "PUT", "/v1/experiments/home", homeExperiment).want(t, 200)
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"empty body", "PUT", "/v1/experiments/e", "", 400, "body"},
		{"not an object", "PUT", "/v1/experiments/e", `[]`, 400, "body"},
		{"malformed", "PUT", "/v1/experiments/e", `{"variants":`, 400, "body"},
		{"trailing data", "PUT", "/v1/experiments/e", `{"variants":[{"name":"a"}]} {}`, 400, "body"},
		{"unknown field", "PUT", "/v1/experiments/e", `{"variants":[{"name":"a"}],"colour":1}`, 400, "colour"},
		{"misspelt weight", "PUT", "/v1/experiments/e", `{"variants":[{"name":"a","weigth":1}]}`, 400, "variants[0].weigth"},
		{"weight type", "PUT", "/v1/experiments/e", `{"variants":[{"name":"a"},{"name":"b","weight":"x"}]}`, 400, "variants[1].weight"},
		{"negative weight", "PUT", "/v1/experiments/e", `{"variants":[{"name":"a","weight":-1}]}`, 400, "variants[0].weight"},
		{"all zero", "PUT", "/v1/experiments/e", `{"variants":[{"name":"a","weight":0}]}`, 400, "variants"},
		{"status type", "PUT", "/v1/experiments/e", `{"status":5,"variants":[{"name":"a"}]}`, 400, "status"},
		{"status value", "PUT", "/v1/experiments/e", `{"status":"live","variants":[{"name":"a"}]}`, 400, "status"},
		{"no variants", "PUT", "/v1/experiments/e", `{}`, 400, "variants"},
		{"variant not object", "PUT", "/v1/experiments/e", `{"variants":[3]}`, 400, "variants[0]"},
		{"no name", "PUT", "/v1/experiments/e", `{"variants":[{"weight":1}]}`, 400, "variants[0].name"},
		{"duplicate name", "PUT", "/v1/experiments/e", `{"variants":[{"name":"a"},{"name":"a"}]}`, 400, "variants[1].name"},
		{"bad param", "PUT", "/v1/experiments/e", `{"variants":[{"name":"a","params":{"limit":0}}]}`, 400, "variants[0].params.limit"},
		{"unknown param", "PUT", "/v1/experiments/e", `{"variants":[{"name":"a","params":{"algo":"popular"}}]}`, 400, "variants[0].params.algo"},
		{"params type", "PUT", "/v1/experiments/e", `{"variants":[{"name":"a","params":[]}]}`, 400, "variants[0].params"},
		{"long id", "PUT", "/v1/experiments/" + long, `{"variants":[{"name":"a"}]}`, 400, "id"},
		{"empty salt", "PUT", "/v1/experiments/e", `{"salt":"","variants":[{"name":"a"}]}`, 400, "salt"},
		{"unknown get", "GET", "/v1/experiments/nope", "", 404, ""},
		{"unknown delete", "DELETE", "/v1/experiments/nope", "", 404, ""},
		{"unknown results", "GET", "/v1/experiments/nope/results", "", 404, ""},
		{"unknown report", "GET", "/v1/experiments/nope/report", "", 404, ""},
		{"unknown experiment flag", "GET", "/v1/popular?experiment=nope", "", 404, ""},
		{"unknown forced variant", "GET", "/v1/popular?experiment=home&variant=nope&customer_id=c1", "", 400, "variant"},
		{"bad experiment flag", "GET", "/v1/popular?experiment=" + long, "", 400, "experiment"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.ctype != "application/problem+json" {
				t.Fatalf("content type %q", r.ctype)
			}
			var p problemJSON
			r.decode(t, &p)
			if p.Field != tc.field || p.Status != tc.status || p.Detail == "" {
				t.Errorf("problem %+v, want field %q", p, tc.field)
			}
		})
	}
}

func TestExperimentReport(t *testing.T) {
	s := newExpServer(t)
	s.do(t, "PUT", "/v1/experiments/x", `{"status":"running","variants":[{"name":"control"},{"name":"<script>alert(1)</script>"}]}`).want(t, 200)
	// Before any exposure the page says so instead of drawing empty charts.
	empty := string(s.do(t, "GET", "/v1/experiments/x/report", "").want(t, 200).body)
	if !strings.Contains(empty, `id="empty"`) || strings.Contains(empty, "<svg") {
		t.Errorf("an experiment without exposures should show the empty notice and no charts")
	}
	for c := range 20 {
		s.do(t, "GET", fmt.Sprintf("/v1/popular?experiment=x&customer_id=c%d", c), "").want(t, 200)
	}
	page := string(s.do(t, "GET", "/v1/experiments/x/report", "").want(t, 200).body)
	if !strings.Contains(page, "<svg") || strings.Contains(page, `id="empty"`) {
		t.Errorf("with exposures the report draws its charts")
	}
	if strings.Contains(page, "<script>") || !strings.Contains(page, "&lt;script&gt;") {
		t.Fatalf("variant names must be escaped in the report")
	}
	if strings.Contains(page, "ZgotmplZ") {
		t.Fatalf("the template rejected a value it should have written:\n%s", page)
	}
}

func TestExperimentRoutesInOpenAPI(t *testing.T) {
	s := newExpServer(t)
	body := string(s.do(t, "GET", "/openapi.json", "").want(t, 200).body)
	for _, p := range []string{`"/v1/experiments"`, `"/v1/experiments/{id}"`, `"/v1/experiments/{id}/results"`, `"/v1/experiments/{id}/report"`} {
		if !strings.Contains(body, p) {
			t.Errorf("openapi lacks %s", p)
		}
	}
}

func TestExperimentsDisabled(t *testing.T) {
	s := newExpServer(t)
	s.srv.deps.Experiments = nil
	s.do(t, "GET", "/v1/experiments", "").want(t, 501)
	s.do(t, "GET", "/v1/popular?experiment=home", "").want(t, 404)
}

func FuzzDecodeExperimentBody(f *testing.F) {
	f.Add([]byte(homeExperiment))
	f.Add([]byte(`{"variants":[{"name":"a","weight":1e400}]}`))
	f.Add([]byte(`{"status":"draft","salt":"s","variants":[{"name":"a","params":{"products":["p1",2]}}]}`))
	f.Add([]byte(`{"variants":[{"name":"\u0000"}]}`))
	st, err := features.Open(func() features.Options {
		o := features.DefaultOptions("")
		o.InMemory = true
		o.Logger = expQuietLog
		return o
	}())
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	xo := experiment.DefaultOptions()
	xo.Logger = expQuietLog
	x, err := experiment.New(st.Records(), st, testExperimentParams(), xo)
	if err != nil {
		f.Fatal(err)
	}
	defer x.Close()
	f.Fuzz(func(t *testing.T, b []byte) {
		var body experimentBody
		err := jsonbody.Decode(b, &body)
		var e experiment.Experiment
		if err == nil {
			e, err = body.experiment()
		}
		if err != nil {
			p := problemFor(err)
			if p.Status != 400 || p.Field == "" {
				t.Fatalf("decode error is not a 400 naming a field: %+v", p)
			}
			return
		}
		e.ID = "fuzz"
		if _, err := x.Put(context.Background(), e); err != nil {
			var fe *features.FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Put error is not a field error: %v", err)
			}
		}
	})
}

// BenchmarkListEnrolment measures what the experiment flags add to a list
// request, in process (no network): the same /v1/popular request without
// flags, with hash assignment, and with a forced variant. The difference
// of ns/op is the enrolment overhead (flag parsing, Enrol, Expose, the two
// reply fields).
func BenchmarkListEnrolment(b *testing.B) {
	s := newExpServer(b)
	s.do(b, "PUT", "/v1/experiments/home", `{"status":"running","variants":[{"name":"control"},{"name":"treatment","params":{"limit":10}}]}`).want(b, 200)
	h := s.srv.App().Handler()
	for _, bc := range []struct{ name, query string }{
		{"plain", ""},
		{"experiment", "&experiment=home"},
		{"forced", "&experiment=home&variant=treatment"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var ctx fasthttp.RequestCtx
			uris := make([]string, 4096)
			for i := range uris {
				uris[i] = fmt.Sprintf("/v1/popular?limit=10&customer_id=c%d%s", i, bc.query)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.Header.SetMethod("GET")
				ctx.Request.SetRequestURI(uris[i&4095])
				h(&ctx)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
		})
	}
	b.StopTimer()
	if err := s.x.Close(); err != nil {
		b.Fatal(err)
	}
}

func (s *expServer) do(t testing.TB, method, path, body string, hdr ...string) httpReply {
	t.Helper()
	return send(t, s.srv, method, path, body, hdr...)
}

// TestForcedRequestsStayOutOfSRM: QA forcing a variant with variant= must
// not look like a broken assignment, also when the hash would have chosen
// that variant anyway (only the request says it was forced).
func TestForcedRequestsStayOutOfSRM(t *testing.T) {
	s := newExpServer(t)
	s.do(t, "PUT", "/v1/experiments/home", homeExperiment).want(t, 200)
	for i := range 200 {
		s.do(t, "GET", fmt.Sprintf("/v1/customers/u%d/recommendations?experiment=home", i), "").want(t, 200)
	}
	for i := range 300 {
		s.do(t, "GET", fmt.Sprintf("/v1/customers/qa%d/recommendations?experiment=home&variant=fixed", i), "").want(t, 200)
	}
	r, units := s.flushedResults(t, "home")
	if r.SRMFlag {
		t.Fatalf("forced units counted in the sample-ratio check: p = %v, variants %+v", r.SRMPValue, r.Variants)
	}
	if units != 500 {
		t.Fatalf("%d units exposed, want 500 (forced ones count as exposed)", units)
	}
}

// TestAnonymousUnitsAreExposed: an anonymous request enrolled by unit_id is
// logged under that unit, so its outcomes and the SRM check count it.
func TestAnonymousUnitsAreExposed(t *testing.T) {
	s := newExpServer(t)
	s.do(t, "PUT", "/v1/experiments/home", homeExperiment).want(t, 200)
	for i := range 40 {
		s.do(t, "GET", fmt.Sprintf("/v1/popular?experiment=home&unit_id=anon%d", i), "").want(t, 200)
	}
	if _, units := s.flushedResults(t, "home"); units != 40 {
		t.Fatalf("%d anonymous units exposed, want 40", units)
	}
}

// flushedResults flushes the exposure log and returns the experiment's
// results and how many units were exposed across its variants.
func (s *expServer) flushedResults(t *testing.T, exp string) (experiment.Results, int64) {
	t.Helper()
	if err := s.x.Flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	var r experiment.Results
	s.do(t, "GET", "/v1/experiments/"+exp+"/results", "").want(t, 200).decode(t, &r)
	var units int64
	for _, v := range r.Variants {
		units += v.Customers
	}
	return r, units
}

// TestNoExperimentServiceNamedExperiment: a server wired without an
// experiment service answers a list or next-best-offer naming an
// experiment 404, as an unknown experiment (the use cases get a nil
// Experimenter, not a nil *experiment.Service inside one).
func TestNoExperimentServiceNamedExperiment(t *testing.T) {
	st, eng := seededStore(t, nil, purchases(4, 4, 10, func(c, p int) bool { return (c+p)%2 == 0 }))
	oo := offer.DefaultOptions()
	oo.Logger = expQuietLog
	cs := crmOf(t, st)
	offers, err := offer.New(st.Records(), st, cs, eng, oo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { offers.Close() })
	srv := serverOver(t, Deps{Store: st, Engine: eng, CRM: cs, Offers: offers}, expQuietLog)
	for _, path := range []string{"/v1/popular?experiment=x&unit_id=u1", "/v1/customers/c1/recommendations?experiment=x", "/v1/customers/c1/next-best-offer?experiment=x"} {
		var p Problem
		send(t, srv, "GET", path, "").want(t, 404).decode(t, &p)
		if p.Detail != `unknown experiment "x"` {
			t.Errorf("%s: %q", path, p.Detail)
		}
	}
	send(t, srv, "GET", "/v1/experiments", "").want(t, 501)
}
