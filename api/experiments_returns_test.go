package api

import (
	"fmt"
	"testing"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/features/crm"
	"github.com/affinity-rec/affinity/recommend"
	"github.com/affinity-rec/affinity/recommend/experiment"
)

// retServer is a real server over a real store in dir with an experiments
// service; close shuts it down in the order serve does, for a restart.
type retServer struct {
	srv *Server
	st  *features.Store
	cs  *crm.Service
	x   *experiment.Service
}

func openRetServer(t *testing.T, dir string) *retServer {
	t.Helper()
	o := testStoreOptions(dir)
	o.Logger = expQuietLog
	st, err := features.Open(o)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := crm.New(st, st.Records(), nil)
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	s := &retServer{st: st, cs: cs}
	t.Cleanup(func() { s.close(t) })
	eng, err := recommend.New(recommend.StoreDeps(st, cs), recommend.DefaultOptions())
	if err != nil {
		t.Fatal(err)
	}
	xo := experiment.DefaultOptions()
	xo.Logger = expQuietLog
	if s.x, err = experiment.New(st.Records(), st, testExperimentParams(), xo); err != nil {
		t.Fatal(err)
	}
	s.srv = serverOver(t, Deps{Store: st, Engine: eng, CRM: cs, Experiments: s.x}, expQuietLog)
	return s
}

func (s *retServer) close(t *testing.T) {
	if s.st == nil {
		return
	}
	if s.x != nil {
		if err := s.x.Close(); err != nil {
			t.Error(err)
		}
	}
	s.cs.Close()
	if err := s.st.Close(); err != nil {
		t.Error(err)
	}
	s.st = nil
}

func (s *retServer) results(t *testing.T) (retVariant, string) {
	t.Helper()
	r := send(t, s.srv, "GET", "/v1/experiments/ret/results", "").want(t, 200)
	var res struct{ Variants []retVariant }
	r.decode(t, &res)
	if len(res.Variants) != 1 {
		t.Fatalf("results %s", r.body)
	}
	return res.Variants[0], string(r.body)
}

// retVariant is the part of a results row this test reads.
type retVariant struct {
	Name               string
	Exposures          int64
	Conversions        int64
	Revenue            float64
	RevenuePerExposure struct{ Value float64 } `json:"revenue_per_exposure"`
}

// TestExperimentReturnsHTTP: a purchase attributed to an exposure, then its
// return with the same recommendation_id: the results' revenue drops by the
// refund, the conversion stays, and a restart gives the same results.
func TestExperimentReturnsHTTP(t *testing.T) {
	dir := t.TempDir()
	s := openRetServer(t, dir)
	send(t, s.srv, "PUT", "/v1/experiments/ret", `{"status":"running","variants":[
		{"name":"fixed","params":{"algorithm":"fixed","products":["p1","p2"]}}]}`).want(t, 200)
	post := func(body string) {
		t.Helper()
		var er struct{ Accepted, Rejected int }
		send(t, s.srv, "POST", "/v1/events", body).want(t, 200).decode(t, &er)
		if er.Accepted != 1 || er.Rejected != 0 {
			t.Fatalf("%s: %+v", body, er)
		}
	}
	post(`{"customer_id":"seed","product_id":"p1","type":"view"}`)
	post(`{"customer_id":"seed","product_id":"p2","type":"view"}`)

	var l listJSON
	send(t, s.srv, "GET", "/v1/customers/alice/recommendations?experiment=ret", "").want(t, 200).decode(t, &l)
	if l.RecommendationID == "" || len(l.Items) != 2 {
		t.Fatalf("enrolled list %+v", l)
	}
	ev := func(prod, typ, extra string) string {
		return fmt.Sprintf(`{"customer_id":"alice","product_id":%q,"type":%q,"recommendation_id":%q%s}`, prod, typ, l.RecommendationID, extra)
	}
	post(ev("p1", "purchase", `,"value":80`))
	post(ev("p2", "purchase", `,"value":20`))
	if v, body := s.results(t); v.Revenue != 100 || v.Conversions != 1 {
		t.Fatalf("before the returns: %s", body)
	}
	post(ev("p1", "return", `,"value":-30`)) // a partial refund
	v, before := s.results(t)
	if v.Revenue != 70 || v.RevenuePerExposure.Value != 70 || v.Conversions != 1 || v.Exposures != 1 {
		t.Fatalf("after a refund of 30: %s; want revenue 70, the conversion kept", before)
	}
	post(ev("p2", "return", "")) // no value: the purchase's 20
	v, before = s.results(t)
	if v.Revenue != 50 || v.Conversions != 1 {
		t.Fatalf("after returning the 20 purchase: %s; want revenue 50", before)
	}

	s.close(t)
	s = openRetServer(t, dir)
	if _, after := s.results(t); after != before {
		t.Fatalf("after restart\n got %s\nwant %s", after, before)
	}
}
