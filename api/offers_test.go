package api

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/affinity-rec/affinity/features"
	"github.com/affinity-rec/affinity/recommend/offer"
)

// offerServer is the real fiber app over a real store in a temp dir, with
// the offer and experiment services. Customers c0..c19 bought p0..p4.
type offerServer struct {
	srv    *Server
	store  *features.Store
	offers *offer.Service
}

func newOfferServer(t testing.TB) *offerServer {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, eng := seededStore(t, func(o *features.Options) {
		o.Logger = quiet
		o.Clock = func() time.Time { return time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC) }
	}, purchases(20, 5, 10, func(c, p int) bool { return (c+p)%3 != 0 }))
	oo := offer.DefaultOptions()
	oo.Logger = quiet
	oo.Seed = 1
	offers, err := offer.New(st.Records(), st, crmOf(t, st), eng, oo)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { offers.Close() })
	x := newTestExperiments(t, st, quiet, 0)
	srv := serverOver(t, Deps{Store: st, Engine: eng, CRM: crmOf(t, st), Experiments: x, Offers: offers}, quiet)
	return &offerServer{srv: srv, store: st, offers: offers}
}

type nboJSON struct {
	Offers []struct {
		OfferID    string   `json:"offer_id"`
		Score      float64  `json:"score"`
		Propensity *float64 `json:"propensity"`
		Value      *float64 `json:"value"`
		Priority   *float64 `json:"priority"`
		Reason     string   `json:"reason"`
		Prior      *float64 `json:"prior"`
		Basis      string   `json:"basis"`
	} `json:"offers"`
	RecommendationID string  `json:"recommendation_id"`
	Experiment       *string `json:"experiment"`
	Variant          *string `json:"variant"`
}

func TestOffersHTTPEndToEnd(t *testing.T) {
	s := newOfferServer(t)
	var put offer.View
	s.do(t, "PUT", "/v1/offers/spring", `{"name":"Spring sale","products":["p1"],"value":20,"priority":2,
		"budget":3,"max_per_customer":1,"channels":["web","email"],"ends_at":"2024-07-01T00:00:00Z"}`).want(t, 200).decode(t, &put)
	if put.OfferID != "spring" || put.Name != "Spring sale" || put.Value != 20 || !put.Active || *put.Performance.BudgetLeft != 3 {
		t.Fatalf("PUT reply %+v", put)
	}
	s.do(t, "PUT", "/v1/offers/fallback", `{"value":1}`).want(t, 200)
	var list struct{ Offers []offer.View }
	s.do(t, "GET", "/v1/offers", "").want(t, 200).decode(t, &list)
	if len(list.Offers) != 2 || list.Offers[0].OfferID != "fallback" || list.Offers[1].OfferID != "spring" {
		t.Fatalf("list %+v", list)
	}

	var nbo nboJSON
	r := s.do(t, "GET", "/v1/customers/c1/next-best-offer?limit=2&channel=web", "").want(t, 200)
	r.decode(t, &nbo)
	if len(nbo.Offers) != 2 || nbo.RecommendationID == "" || nbo.Experiment != nil || nbo.Variant != nil {
		t.Fatalf("next-best-offer %s", r.body)
	}
	for _, o := range nbo.Offers {
		if o.Propensity == nil || o.Value == nil || o.Priority == nil || o.Prior == nil || o.Reason == "" || o.Basis == "" {
			t.Fatalf("missing parts of the score: %s", r.body)
		}
		if d := o.Score - *o.Propensity**o.Value**o.Priority; d > 1e-5 || d < -1e-5 {
			t.Fatalf("score is not propensity x value x priority: %s", r.body)
		}
	}
	for _, key := range []string{`"offer_id"`, `"score"`, `"propensity"`, `"value"`, `"priority"`, `"reason"`, `"recommendation_id"`, `"experiment":null`, `"variant":null`} {
		if !strings.Contains(string(r.body), key) {
			t.Fatalf("reply lacks %s: %s", key, r.body)
		}
	}
	// A purchase quoting the recommendation id accepts the offer promoting p1.
	s.do(t, "POST", "/v1/events", fmt.Sprintf(`{"customer_id":"c1","product_id":"p1","type":"purchase","recommendation_id":%q}`, nbo.RecommendationID)).want(t, 200)
	s.offers.Flush()
	// The other one is answered over HTTP.
	other := "fallback"
	body := fmt.Sprintf(`{"customer_id":"c1","response":"declined","recommendation_id":%q}`, nbo.RecommendationID)
	s.do(t, "POST", "/v1/offers/"+other+"/responses", body).want(t, 200)
	p := s.do(t, "POST", "/v1/offers/"+other+"/responses", body).want(t, 409)
	if p.ctype != "application/problem+json" {
		t.Fatalf("409 content type %q", p.ctype)
	}

	var got offer.View
	s.do(t, "GET", "/v1/offers/spring", "").want(t, 200).decode(t, &got)
	perf := got.Performance
	if perf.Shown != 1 || perf.Accepted != 1 || perf.Open != 0 || *perf.BudgetLeft != 2 ||
		perf.AcceptanceRate.Value != 1 || perf.AcceptanceRate.Low <= 0 || perf.AcceptanceRate.High != 1 {
		t.Fatalf("spring performance %+v", perf)
	}
	s.do(t, "GET", "/v1/offers/fallback", "").want(t, 200).decode(t, &got)
	if got.Performance.Declined != 1 || got.Performance.BudgetLeft != nil {
		t.Fatalf("fallback performance %+v", got.Performance)
	}
	// Capped at 1 for c1: only the fallback now; on sms, nothing from spring either.
	s.do(t, "GET", "/v1/customers/c1/next-best-offer?limit=5&channel=web", "").want(t, 200).decode(t, &nbo)
	if len(nbo.Offers) != 1 || nbo.Offers[0].OfferID != "fallback" {
		t.Fatalf("after the cap: %+v", nbo)
	}
	s.do(t, "DELETE", "/v1/offers/fallback", "").want(t, 204)
	s.do(t, "GET", "/v1/offers/fallback", "").want(t, 404)
	r = s.do(t, "GET", "/v1/customers/c1/next-best-offer?channel=web", "").want(t, 200)
	r.decode(t, &nbo)
	if len(nbo.Offers) != 0 || !strings.Contains(string(r.body), `"offers":[]`) {
		t.Fatalf("nothing eligible must be an empty list: %s", r.body)
	}
	// Unknown customers get offers too (the prior only).
	s.do(t, "GET", "/v1/customers/never-seen/next-best-offer", "").want(t, 200).decode(t, &nbo)
	if len(nbo.Offers) != 1 || nbo.Offers[0].Basis == "" {
		t.Fatalf("cold customer: %+v", nbo)
	}
}

func TestOffersHTTPBadInput(t *testing.T) {
	s := newOfferServer(t)
	s.do(t, "PUT", "/v1/offers/ok", `{"products":["p1"]}`).want(t, 200)
	nbo := s.do(t, "GET", "/v1/customers/c2/next-best-offer", "").want(t, 200)
	var n nboJSON
	nbo.decode(t, &n)
	long := strings.Repeat("x", 300)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		field                    string
	}{
		{"empty body", "PUT", "/v1/offers/o", "", 400, "body"},
		{"malformed", "PUT", "/v1/offers/o", `{"value":`, 400, "body"},
		{"unknown field", "PUT", "/v1/offers/o", `{"valu":3}`, 400, "valu"},
		{"negative value", "PUT", "/v1/offers/o", `{"value":-3}`, 400, "value"},
		{"value type", "PUT", "/v1/offers/o", `{"value":"3"}`, 400, "value"},
		{"ends before it starts", "PUT", "/v1/offers/o", `{"starts_at":"2024-06-02T00:00:00Z","ends_at":"2024-06-01T00:00:00Z"}`, 400, "ends_at"},
		{"unknown product", "PUT", "/v1/offers/o", `{"products":["p1","no-such"]}`, 400, "products"},
		{"bad expression", "PUT", "/v1/offers/o", `{"eligibility":"monetary >> 3"}`, 400, "eligibility"},
		{"unknown variable", "PUT", "/v1/offers/o", `{"eligibility":"spend > 3"}`, 400, "eligibility"},
		{"bad channel", "PUT", "/v1/offers/o", `{"channels":["web site"]}`, 400, "channels"},
		{"negative budget", "PUT", "/v1/offers/o", `{"budget":-1}`, 400, "budget"},
		{"negative cap", "PUT", "/v1/offers/o", `{"max_per_customer":-2}`, 400, "max_per_customer"},
		{"long id", "PUT", "/v1/offers/" + long, `{}`, 400, "offer_id"},
		{"unknown offer", "GET", "/v1/offers/nope", "", 404, ""},
		{"unknown delete", "DELETE", "/v1/offers/nope", "", 404, ""},
		{"limit zero", "GET", "/v1/customers/c1/next-best-offer?limit=0", "", 400, "limit"},
		{"limit too big", "GET", "/v1/customers/c1/next-best-offer?limit=1000", "", 400, "limit"},
		{"limit text", "GET", "/v1/customers/c1/next-best-offer?limit=one", "", 400, "limit"},
		{"bad channel query", "GET", "/v1/customers/c1/next-best-offer?channel=a%20b", "", 400, "channel"},
		{"long customer", "GET", "/v1/customers/" + long + "/next-best-offer", "", 400, "customer_id"},
		{"unknown experiment", "GET", "/v1/customers/c1/next-best-offer?experiment=nope", "", 404, ""},
		{"response value", "POST", "/v1/offers/ok/responses", `{"customer_id":"c2","response":"maybe","recommendation_id":"r"}`, 400, "response"},
		{"response no customer", "POST", "/v1/offers/ok/responses", `{"response":"accepted","recommendation_id":"r"}`, 400, "customer_id"},
		{"response no recommendation", "POST", "/v1/offers/ok/responses", `{"customer_id":"c2","response":"accepted"}`, 400, "recommendation_id"},
		{"response type", "POST", "/v1/offers/ok/responses", `{"customer_id":2}`, 400, "customer_id"},
		{"response unknown offer", "POST", "/v1/offers/nope/responses", `{"customer_id":"c2","response":"accepted","recommendation_id":"r"}`, 404, ""},
		{"response never shown", "POST", "/v1/offers/ok/responses", `{"customer_id":"c2","response":"accepted","recommendation_id":"r-other"}`, 409, ""},
		{"response other customer", "POST", "/v1/offers/ok/responses", fmt.Sprintf(`{"customer_id":"c3","response":"accepted","recommendation_id":%q}`, n.RecommendationID), 409, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := s.do(t, tc.method, tc.path, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if r.ctype != "application/problem+json" {
				t.Fatalf("content type %q", r.ctype)
			}
			var p struct {
				Type, Title, Detail, Field string
				Status                     int
			}
			r.decode(t, &p)
			if p.Field != tc.field || p.Status != tc.status || p.Detail == "" {
				t.Errorf("problem %+v, want field %q", p, tc.field)
			}
			if tc.name == "bad expression" && !strings.Contains(p.Detail, "column") {
				t.Errorf("a bad expression must say where: %q", p.Detail)
			}
		})
	}
}

func TestNBOHTTPExperimentFlags(t *testing.T) {
	s := newOfferServer(t)
	s.do(t, "PUT", "/v1/offers/a", `{"products":["p1"]}`).want(t, 200)
	s.do(t, "PUT", "/v1/experiments/nbo", `{"status":"running","variants":[{"name":"control"},{"name":"greedy","params":{"nbo_policy":"greedy"}}]}`).want(t, 200)
	s.do(t, "PUT", "/v1/experiments/bad", `{"variants":[{"name":"x","params":{"nbo_policy":"coin"}}]}`).want(t, 400)
	var n nboJSON
	s.do(t, "GET", "/v1/customers/c4/next-best-offer?experiment=nbo&variant=greedy", "").want(t, 200).decode(t, &n)
	if n.Experiment == nil || *n.Experiment != "nbo" || n.Variant == nil || *n.Variant != "greedy" || len(n.Offers) != 1 {
		t.Fatalf("forced variant: %+v", n)
	}
	// Greedy ranks by the posterior mean: the propensity is the expectation.
	v, _ := s.offers.Get("a")
	if v.Performance.Shown != 1 {
		t.Fatalf("exposure not recorded: %+v", v.Performance)
	}
	s.do(t, "GET", "/v1/customers/c5/next-best-offer?experiment=nbo", "").want(t, 200).decode(t, &n)
	if n.Variant == nil || (*n.Variant != "control" && *n.Variant != "greedy") {
		t.Fatalf("assigned variant: %+v", n)
	}
}

// FuzzOfferHTTP sends arbitrary bodies to the offer routes: never a 5xx,
// and every 4xx is a problem document.
func FuzzOfferHTTP(f *testing.F) {
	f.Add(`{"products":["p1"],"value":3,"eligibility":"monetary > 1"}`, `{"customer_id":"c1","response":"accepted","recommendation_id":"r"}`)
	f.Add(`{"starts_at":1e400}`, `{"response":null}`)
	f.Add(`{"channels":["\u0000"]}`, `[]`)
	s := newOfferServer(f)
	f.Fuzz(func(t *testing.T, offer, resp string) {
		for _, rq := range [][3]string{{"PUT", "/v1/offers/fz", offer}, {"POST", "/v1/offers/fz/responses", resp}} {
			r := s.do(t, rq[0], rq[1], rq[2])
			if r.status >= 500 {
				t.Fatalf("%s %s %q: status %d %s", rq[0], rq[1], rq[2], r.status, r.body)
			}
			if r.status >= 400 && r.ctype != "application/problem+json" {
				t.Fatalf("%s %s: %d with content type %q", rq[0], rq[1], r.status, r.ctype)
			}
		}
	})
}

func (s *offerServer) do(t testing.TB, method, path, body string) httpReply {
	t.Helper()
	return send(t, s.srv, method, path, body)
}
